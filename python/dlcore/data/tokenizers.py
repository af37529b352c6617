"""Tokenizers: characters (``CharTokenizer``) and byte-level BPE as in GPT-2 (``BPETokenizer``).

Both share one interface: ``train(text, vocab_size, special_tokens=())`` (returns the tokenizer),
``encode``/``decode``, ``encode_batch``/``decode_batch``, ``vocab_size``, ``token_to_id``/
``id_to_token``, ``save``/``load`` (JSON; ``to_json``/``from_json`` for strings, e.g. a checkpoint's
metadata) and special tokens: strings such as ``"<|endoftext|>"`` that get one id each, after the
ordinary tokens.  ``encode(text, allowed_special="all")`` turns every special token found in the text
into its id; ``"none"`` (or a set naming only some) encodes them as ordinary text instead.

Byte-level BPE: the text is split into pre-tokens with GPT-2's rules (contractions, an optional
space followed by a run of letters, of digits or of other symbols, whitespace runs; see
``csrc/ops/bpe_pretok.h``), each pre-token is a sequence of UTF-8 bytes (ids 0..255), and merge number
r joins two adjacent ids into id 256 + r.  Any string round-trips exactly.  Training counts the
pre-tokens once and repeatedly merges the most frequent adjacent pair; **ties go to the pair with the
smallest (left id, right id)**, so training is deterministic.  The hot loops are C++
(``dlcore._core.bpe_train`` and ``BpeEncoder``, which caches the pre-tokens it has encoded).
"""
from __future__ import annotations

import json
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from .shakespeare import text_file

_FORMAT_VERSION = 1


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's printable stand-in for each byte (a space is "Ġ", a newline "Ċ"): the strings
    ``id_to_token`` shows for byte-level tokens, as in GPT-2's own vocabulary files."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


_BYTE_CHARS = bytes_to_unicode()


def _utf8(text: str, op: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError(f"{op}: expected text as str, got {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{op}: the text is not valid Unicode ({e.reason} at index {e.start})") from None


class _Tokenizer:
    """Special tokens, batching, validation and JSON shared by both tokenizers."""

    _kind = ""

    def __init__(self):
        self.special_tokens: Dict[str, int] = {}
        self._special_re = None

    # -- special tokens -------------------------------------------------------------------------
    def _set_specials(self, specials: Sequence[str], first_id: int, op: str) -> None:
        if isinstance(specials, str):
            raise TypeError(f"{op}: special_tokens must be a sequence of str, got one str {specials!r}")
        specials = list(specials)
        for s in specials:
            if not isinstance(s, str) or not s:
                raise ValueError(f"{op}: special tokens must be non-empty str, got {s!r}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"{op}: special tokens repeat: {specials}")
        self.special_tokens = {s: first_id + i for i, s in enumerate(specials)}
        self._special_re = self._specials_pattern(specials)

    @staticmethod
    def _specials_pattern(specials):
        if not specials:
            return None
        # longest first, so a special token that contains another one wins
        return re.compile("|".join(re.escape(s) for s in sorted(specials, key=lambda s: (-len(s), s))))

    def _split_specials(self, text: str, allowed_special, op: str):
        """Yields (segment, None) for ordinary text and ("", id) for each allowed special token."""
        if allowed_special == "all":
            pattern = self._special_re
        elif allowed_special == "none" or allowed_special is None:
            pattern = None
        else:
            if isinstance(allowed_special, str):
                raise ValueError(f"{op}: allowed_special must be 'all', 'none' or a set of special tokens, "
                                 f"got {allowed_special!r}")
            allowed = set(allowed_special)
            unknown = allowed - set(self.special_tokens)
            if unknown:
                raise ValueError(f"{op}: {sorted(unknown)} are not special tokens of this tokenizer")
            pattern = self._specials_pattern(sorted(allowed))
        if pattern is None:
            yield text, None
            return
        pos = 0
        for m in pattern.finditer(text):
            if m.start() > pos:
                yield text[pos:m.start()], None
            yield "", self.special_tokens[m.group()]
            pos = m.end()
        if pos < len(text):
            yield text[pos:], None

    # -- shared interface -------------------------------------------------------------------------
    def _check_ids(self, ids, op: str) -> np.ndarray:
        arr = np.asarray(ids) if not isinstance(ids, np.ndarray) else ids
        if arr.ndim != 1:
            if arr.size == 0:
                arr = arr.reshape(0)
            else:
                raise ValueError(f"{op}: expected a flat sequence of token ids, got shape {arr.shape}")
        if arr.size == 0:
            return np.zeros(0, np.int64)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{op}: token ids must be integers, got {arr.dtype}")
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            raise IndexError(f"{op}: unknown token id {int(arr[np.argmax(bad)])} (vocab_size {self.vocab_size})")
        return arr.astype(np.int64, copy=False)

    def encode_batch(self, texts: Iterable[str], allowed_special="all") -> List[List[int]]:
        """``encode`` of each text of `texts`: a list of id lists."""
        if isinstance(texts, str):
            raise TypeError(f"{self._kind}.encode_batch: expected a sequence of str, got one str")
        return [self.encode(t, allowed_special) for t in texts]

    def decode_batch(self, batch: Iterable[Sequence[int]], errors: str = "replace") -> List[str]:
        """``decode`` of each id sequence of `batch`."""
        return [self.decode(ids, errors) for ids in batch]

    def token_to_id(self, token: str) -> Optional[int]:
        """The id of `token` (as ``id_to_token`` spells it), or None when it is not in the vocabulary."""
        if token in self.special_tokens:
            return self.special_tokens[token]
        return self._token_ids().get(token)

    def id_to_token(self, id: int) -> Optional[str]:
        """The string of token `id` (a special token as itself), or None when `id` is out of range."""
        toks = self._tokens()
        if not isinstance(id, (int, np.integer)) or isinstance(id, bool):
            raise TypeError(f"{self._kind}.id_to_token: expected an int id, got {type(id).__name__}")
        return toks[id] if 0 <= id < len(toks) else None

    def get_vocab(self) -> Dict[str, int]:
        """{token string: id} over the whole vocabulary (the first id when two tokens print alike)."""
        return dict(self._token_ids(), **self.special_tokens)

    def _token_ids(self) -> Dict[str, int]:
        if getattr(self, "_token_ids_cache", None) is None:
            ids = {}
            for i, t in enumerate(self._tokens()[: self.vocab_size - len(self.special_tokens)]):
                ids.setdefault(t, i)
            self._token_ids_cache = ids
        return self._token_ids_cache

    def save(self, path) -> None:
        """Writes the tokenizer as JSON to `path` (``load`` reads it back)."""
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path):
        """The tokenizer saved at `path` by ``save``.  Raises FileNotFoundError for a missing
        file and ValueError for a file that is not a valid tokenizer of this kind."""
        op = f"{cls.__name__}.load"
        try:
            text = text_file(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"{op}: no such file: {os.fspath(path)}") from None
        except ValueError as e:
            raise ValueError(f"{op}: {e}") from None
        return cls.from_json(text, op=op)

    @classmethod
    def _parse(cls, text: str, op: str) -> dict:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{op}: not valid JSON ({e})") from None
        if not isinstance(data, dict) or data.get("type") != f"dlcore.{cls.__name__}":
            got = data.get("type") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{op}: expected a dlcore.{cls.__name__} JSON object, got type {got!r}")
        if data.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{op}: unsupported format version {data.get('version')!r} (expected {_FORMAT_VERSION})")
        specials = data.get("special_tokens", [])
        if not isinstance(specials, list) or not all(isinstance(s, str) for s in specials):
            raise ValueError(f"{op}: special_tokens must be a list of str")
        return data


class CharTokenizer(_Tokenizer):
    """One token per Unicode character of the training text (ids in code-point order), then the
    special tokens.  ``CharTokenizer().train(text)`` or ``CharTokenizer(chars)``."""

    _kind = "CharTokenizer"

    def __init__(self, chars: Iterable[str] = (), special_tokens: Sequence[str] = ()):
        """A tokenizer over the distinct characters of `chars` (sorted) and `special_tokens`."""
        super().__init__()
        self._set_vocab(sorted(set(chars)), special_tokens, "CharTokenizer")

    def _set_vocab(self, chars, specials, op):
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"{op}: vocabulary entries must be single characters, got {c!r}")
        self.chars = list(chars)
        self._codes = np.array([ord(c) for c in self.chars], np.uint32)  # sorted: searchsorted below
        self._lookup = {c: i for i, c in enumerate(self.chars)}
        self._set_specials(specials, len(self.chars), op)
        self._token_ids_cache = None

    @property
    def vocab_size(self) -> int:
        """Number of ids: distinct characters plus special tokens."""
        return len(self.chars) + len(self.special_tokens)

    def train(self, text: str, vocab_size: Optional[int] = None, special_tokens: Sequence[str] = ()):
        """Learns the characters of `text` (special tokens in it are not counted as characters).
        `vocab_size`, when given, is an upper bound: ValueError if the text needs more ids.
        Returns self."""
        op = "CharTokenizer.train"
        _utf8(text, op)
        pieces = [text]
        if special_tokens:
            if isinstance(special_tokens, str):
                raise TypeError(f"{op}: special_tokens must be a sequence of str, got one str {special_tokens!r}")
            pat = self._specials_pattern(list(special_tokens))
            pieces = pat.split(text)
        chars = sorted(set().union(*map(set, pieces)))
        need = len(chars) + len(special_tokens)
        if vocab_size is not None:
            if not isinstance(vocab_size, (int, np.integer)) or isinstance(vocab_size, bool):
                raise TypeError(f"{op}: vocab_size must be an int, got {type(vocab_size).__name__}")
            if vocab_size < need:
                raise ValueError(f"{op}: vocab_size {vocab_size} is too small: the text has {len(chars)} distinct "
                                 f"characters and there are {len(special_tokens)} special tokens")
        self._set_vocab(chars, special_tokens, op)
        return self

    def _encode_plain(self, text: str, op: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        if len(self._codes) == 0:
            idx = np.zeros(len(codes), np.int64)
            ok = np.zeros(len(codes), bool)
        else:
            idx = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
            ok = self._codes[idx] == codes
        if not ok.all():
            c = chr(int(codes[np.argmin(ok)]))
            raise ValueError(f"{op}: character {c!r} (U+{ord(c):04X}) is not in the vocabulary")
        return idx

    def encode(self, text: str, allowed_special="all") -> List[int]:
        """Ids of the characters of `text` (special tokens as one id each, see the module
        docstring).  ValueError names the first character that is not in the vocabulary."""
        op = "CharTokenizer.encode"
        _utf8(text, op)
        out = []
        for seg, sid in self._split_specials(text, allowed_special, op):
            if sid is None:
                out.extend(self._encode_plain(seg, op).tolist())
            else:
                out.append(sid)
        return out

    def decode(self, ids: Sequence[int], errors: str = "replace") -> str:
        """The text of `ids`.  IndexError for an id outside the vocabulary; `errors` is accepted
        for symmetry with BPETokenizer (characters always decode)."""
        arr = self._check_ids(ids, "CharTokenizer.decode")
        toks = self._tokens()
        return "".join([toks[i] for i in arr.tolist()])

    def _tokens(self) -> List[str]:
        return self.chars + list(self.special_tokens)

    def to_json(self) -> str:
        """The tokenizer as a JSON string (``from_json`` reads it back)."""
        return json.dumps({"type": "dlcore.CharTokenizer", "version": _FORMAT_VERSION, "chars": "".join(self.chars),
                           "special_tokens": list(self.special_tokens)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, op: str = "CharTokenizer.from_json"):
        """The tokenizer of a ``to_json`` string.  ValueError for anything else."""
        data = cls._parse(text, op)
        chars = data.get("chars")
        if not isinstance(chars, str) or len(set(chars)) != len(chars) or list(chars) != sorted(chars):
            raise ValueError(f"{op}: chars must be a str of distinct characters in code-point order")
        return cls(chars, data.get("special_tokens", []))


class BPETokenizer(_Tokenizer):
    """Byte-level BPE as in GPT-2 (see the module docstring): ``BPETokenizer().train(text, 4096)``.

    Ids: 0..255 the bytes, 256 + r the result of merge r, then the special tokens.  ``merges`` is
    the list of (left id, right id) pairs in the order learned."""

    _kind = "BPETokenizer"

    def __init__(self, merges: Sequence[Sequence[int]] = (), special_tokens: Sequence[str] = ()):
        """A tokenizer from a merge list (pairs of ids; merge r makes id 256 + r) and special tokens."""
        super().__init__()
        self._set_merges(merges, special_tokens, "BPETokenizer")

    def _set_merges(self, merges, specials, op):
        from .. import _core

        try:
            pairs = [(int(a), int(b)) for a, b in merges]
        except (TypeError, ValueError):
            raise ValueError(f"{op}: merges must be pairs of int ids") from None
        # The C++ encoder validates that each merge only joins ids that exist before it.
        try:
            encoder = _core.BpeEncoder(pairs)
        except ValueError as e:
            raise ValueError(f"{op}: {str(e).split(': ', 1)[-1]}") from None
        except TypeError:
            raise ValueError(f"{op}: merge ids out of range") from None
        self.merges = pairs
        self._encoder = encoder
        self._bytes = [bytes([i]) for i in range(256)]
        for a, b in pairs:
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._set_specials(specials, 256 + len(pairs), op)
        self._bytes += [s.encode("utf-8") for s in self.special_tokens]
        self._token_ids_cache = None
        self._tokens_cache = None

    @property
    def vocab_size(self) -> int:
        """Number of ids: 256 bytes + merges + special tokens."""
        return 256 + len(self.merges) + len(self.special_tokens)

    def train(self, text: Union[str, Sequence[str]], vocab_size: int, special_tokens: Sequence[str] = ()):
        """Learns ``vocab_size - 256 - len(special_tokens)`` merges from `text` (a str, or a
        sequence of str trained as separate documents).  Special tokens found in the text are cut
        out before counting.  Merges the most frequent adjacent pair each step, ties to the smallest
        (left id, right id); stops early (a smaller vocabulary) when no pair is left.  Returns self."""
        op = "BPETokenizer.train"
        from .. import _core

        if not isinstance(vocab_size, (int, np.integer)) or isinstance(vocab_size, bool):
            raise TypeError(f"{op}: vocab_size must be an int, got {type(vocab_size).__name__}")
        if isinstance(special_tokens, str):
            raise TypeError(f"{op}: special_tokens must be a sequence of str, got one str {special_tokens!r}")
        special_tokens = list(special_tokens)
        if vocab_size < 256 + len(special_tokens):
            raise ValueError(f"{op}: vocab_size must be at least 256 (the bytes) + {len(special_tokens)} special "
                             f"tokens = {256 + len(special_tokens)}, got {vocab_size}")
        docs = [text] if isinstance(text, str) else list(text)
        pat = self._specials_pattern([s for s in special_tokens if isinstance(s, str) and s])
        pieces = []
        for d in docs:
            _utf8(d, op)
            pieces += pat.split(d) if pat is not None else [d]
        merges = _core.bpe_train([p.encode("utf-8") for p in pieces], int(vocab_size) - 256 - len(special_tokens))
        self._set_merges(merges, special_tokens, op)
        return self

    def encode(self, text: str, allowed_special="all") -> List[int]:
        """The ids of `text`.  allowed_special: "all" (default) encodes every special token found in
        the text as its id, "none" encodes them as ordinary text, a set allows just those."""
        return self.encode_array(text, allowed_special).tolist()

    def encode_array(self, text: str, allowed_special="all") -> np.ndarray:
        """``encode`` as an int32 NumPy array (no list of Python ints: for whole corpora)."""
        op = "BPETokenizer.encode"
        _utf8(text, op)
        if not self.special_tokens or allowed_special in ("none", None):
            return self._encoder.encode(_utf8(text, op))
        parts = []
        for seg, sid in self._split_specials(text, allowed_special, op):
            parts.append(self._encoder.encode(seg.encode("utf-8")) if sid is None else np.array([sid], np.int32))
        return np.concatenate(parts) if parts else np.zeros(0, np.int32)

    def encode_batch(self, texts: Iterable[str], allowed_special="all") -> List[List[int]]:
        """``encode`` of each text of `texts` (one C++ call when no special token is involved)."""
        op = "BPETokenizer.encode_batch"
        if isinstance(texts, str):
            raise TypeError(f"{op}: expected a sequence of str, got one str")
        texts = list(texts)
        if self.special_tokens and allowed_special not in ("none", None):
            return super().encode_batch(texts, allowed_special)
        return [a.tolist() for a in self._encoder.encode_batch([_utf8(t, op) for t in texts])]

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The UTF-8 bytes of `ids` (for streaming: a prefix of the ids may end inside a character)."""
        arr = self._check_ids(ids, "BPETokenizer.decode")
        return b"".join(map(self._bytes.__getitem__, arr.tolist()))

    def decode(self, ids: Sequence[int], errors: str = "replace") -> str:
        """The text of `ids`; `errors` is how bytes that are not UTF-8 (a sequence cut inside a
        character) decode: "replace" (U+FFFD, default) or "strict".  IndexError for unknown ids."""
        return self.decode_bytes(ids).decode("utf-8", errors)

    def _tokens(self) -> List[str]:
        if self._tokens_cache is None:
            n = 256 + len(self.merges)
            self._tokens_cache = ["".join(_BYTE_CHARS[c] for c in b) for b in self._bytes[:n]] + list(self.special_tokens)
        return self._tokens_cache

    def to_json(self) -> str:
        """The tokenizer as a JSON string: merges as id pairs (the readable token strings beside
        them are ignored on load), special tokens in id order."""
        toks = self._tokens()
        return json.dumps({"type": "dlcore.BPETokenizer", "version": _FORMAT_VERSION, "pretokenizer": "gpt2",
                           "merges": [[a, b] for a, b in self.merges],
                           "merged_tokens": toks[256:256 + len(self.merges)],
                           "special_tokens": list(self.special_tokens)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, op: str = "BPETokenizer.from_json"):
        """The tokenizer of a ``to_json`` string.  ValueError for anything else."""
        data = cls._parse(text, op)
        if data.get("pretokenizer", "gpt2") != "gpt2":
            raise ValueError(f"{op}: unknown pretokenizer {data.get('pretokenizer')!r}")
        merges = data.get("merges")
        if not isinstance(merges, list) or not all(
                isinstance(m, list) and len(m) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in m)
                for m in merges):
            raise ValueError(f"{op}: merges must be a list of [left id, right id] int pairs")
        return cls._build(merges, data.get("special_tokens", []), op)

    @classmethod
    def _build(cls, merges, specials, op):
        tok = cls.__new__(cls)
        _Tokenizer.__init__(tok)
        tok._set_merges(merges, specials, op)
        return tok


def load_tokenizer(path):
    """A CharTokenizer or BPETokenizer saved by ``save`` at `path` (the kind is read from the file)."""
    text = text_file(path)
    try:
        kind = json.loads(text).get("type")
    except (json.JSONDecodeError, AttributeError):
        raise ValueError(f"load_tokenizer: {os.fspath(path)} is not a tokenizer JSON file") from None
    cls = {"dlcore.CharTokenizer": CharTokenizer, "dlcore.BPETokenizer": BPETokenizer}.get(kind)
    if cls is None:
        raise ValueError(f"load_tokenizer: {os.fspath(path)} is not a tokenizer JSON file (type {kind!r})")
    return cls.from_json(text, op="load_tokenizer")
