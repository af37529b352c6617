"""The number-to-words task of ``dlcore train seq2seq``: integers written as digits
(0 to 999,999,999) -> American English words, "120045" -> "one hundred twenty thousand
forty-five".

- :func:`number_to_words`: the exact converter (the task's ground truth), pure Python.
- :class:`NumberVocab`: one joint id space for both sides.  The source is read digit by digit
  (10 tokens).  The target is WORD-level: the 31 number words, "-" (so "forty-five" is the
  three tokens ``forty - five``) and the specials <pad> <bos> <eos>.  Words rather than
  characters because a word is the unit the model has to choose (each digit group maps to a few
  words): the longest answer is 17 word tokens against 100 characters, so decoding takes ~6x
  fewer steps, attention spans are shorter, and an error is one wrong choice rather than a
  misspelling; the vocabulary is closed (every answer is spelled from these 32 word tokens), so
  nothing is out of vocabulary.
- :func:`split_of` / :func:`sample_numbers` / :func:`heldout_numbers`: the data.  Every number
  belongs to exactly one split, fixed by a hash of its value (96% train, 2% validation, 2% test),
  so the held-out numbers are never seen in training BY CONSTRUCTION (the training sampler
  rejects the others).  Numbers are drawn with a uniform number of digits (1..9) so every
  magnitude is covered equally, and with extra zero digits so exact hundreds, thousands and
  millions and the 10..19 and bare-tens cases are common enough to learn.
"""
from __future__ import annotations

import numpy as np

__all__ = ["number_to_words", "NumberVocab", "split_of", "sample_numbers", "heldout_numbers", "MAX_NUMBER"]

MAX_NUMBER = 999_999_999
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
SCALES = ((1_000_000, "million"), (1_000, "thousand"))


def _below_thousand(n):
    """Words of 1 <= n <= 999 (no 'and', hyphenated tens: American usage)."""
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10] + (f"-{ONES[n % 10]}" if n % 10 else ""))
    elif n:
        words.append(ONES[n])
    return words


def _as_int(number, op="number_to_words"):
    if isinstance(number, (bool, np.bool_)):
        raise TypeError(f"{op}: expected an int or a string of digits, got {number!r}")
    if isinstance(number, str):
        text = number.strip().replace(",", "").replace("_", "")
        if not text or not text.isascii() or not text.isdigit():
            raise ValueError(f"{op}: expected a string of digits (commas allowed), got {number!r}")
        value = int(text)
    elif isinstance(number, (int, np.integer)):
        value = int(number)
    else:
        raise TypeError(f"{op}: expected an int or a string of digits, got {type(number).__name__}")
    if not 0 <= value <= MAX_NUMBER:
        raise ValueError(f"{op}: the number must be in [0, {MAX_NUMBER:,}], got {value:,}")
    return value


def number_to_words(number):
    """The English words of an integer 0 <= number <= 999,999,999 (an int or a string of digits,
    commas allowed): ``number_to_words(120045) == "one hundred twenty thousand forty-five"``.
    American style: no "and", tens and units joined by a hyphen, zero groups left out
    (1,000,000 is "one million")."""
    n = _as_int(number)
    if n == 0:
        return "zero"
    words = []
    for scale, name in SCALES:
        if n >= scale:
            words += _below_thousand(n // scale) + [name]
            n %= scale
    return " ".join(words + (_below_thousand(n) if n else []))


class NumberVocab:
    """The joint vocabulary of the task (see the module docstring): ids 0..2 are <pad>, <bos>,
    <eos>; then the ten digits (source side); then the 32 word tokens (target side)."""

    SPECIALS = ("<pad>", "<bos>", "<eos>")
    DIGITS = tuple("0123456789")
    WORDS = tuple(ONES[:20]) + tuple(TENS[2:]) + ("hundred", "thousand", "million", "-")

    def __init__(self):
        self.tokens = self.SPECIALS + self.DIGITS + self.WORDS
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2

    def __len__(self):
        return len(self.tokens)

    @property
    def size(self):
        """Number of tokens (both sides)."""
        return len(self.tokens)

    def encode_source(self, number, op="encode_source"):
        """Digit ids of a number (int or digit string; leading zeros dropped, commas allowed);
        errors name `op`."""
        return [self.ids[c] for c in str(_as_int(number, op))]

    def encode_target(self, words):
        """Word-token ids of a words string ("forty-five" -> forty, -, five); no <bos>/<eos>."""
        out = []
        for word in words.split():
            parts = word.split("-")
            for i, part in enumerate(parts):
                if i:
                    out.append(self.ids["-"])
                if part not in self.ids or self.ids[part] < 3 + len(self.DIGITS):
                    raise ValueError(f"encode_target: {part!r} is not a number word")
                out.append(self.ids[part])
        return out

    def decode_target(self, ids):
        """The words string of target ids (stops at <eos>; <pad>/<bos> skipped; hyphens rejoin)."""
        words = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id) or not 0 <= i < len(self.tokens):
                continue
            words.append(self.tokens[i])
        return " ".join(words).replace(" - ", "-")


# ---- data ------------------------------------------------------------------------------------------
_SPLITS = {"train": 0, "val": 1, "test": 2}


def split_of(numbers):
    """The split of each number (int array): 0 train, 1 validation, 2 test; a fixed function of
    the value (splitmix64's finaliser, then the hash's residue mod 100: 0-1 test, 2-3 validation),
    so it needs no stored list and spreads the held-out numbers over every magnitude."""
    z = np.asarray(numbers, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    r = (z ^ (z >> np.uint64(31))) % np.uint64(100)
    return np.where(r < 2, 2, np.where(r < 4, 1, 0)).astype(np.int64)


def _draw(rng, n, zero_p=0.15, length=None):
    """n numbers: a uniform digit count 1..9 (or `length`), uniform digits (the first nonzero
    unless there is one digit), then each later digit set to 0 with probability zero_p (so exact
    hundreds, thousands and millions are common)."""
    length = rng.integers(1, 10, size=n) if length is None else np.full(n, int(length))
    digits = rng.integers(0, 10, size=(n, 9))
    digits[:, 0] = np.where(length > 1, rng.integers(1, 10, size=n), digits[:, 0])
    zero = rng.random((n, 9)) < zero_p
    zero[:, 0] = False
    digits = np.where(zero, 0, digits)
    keep = np.arange(9)[None, :] < length[:, None]  # digit j of a `length`-digit number, most significant first
    place = 10 ** np.clip(length[:, None] - 1 - np.arange(9)[None, :], 0, None)
    return (digits * place * keep).sum(axis=1).astype(np.int64)


def sample_numbers(rng, n, split="train"):
    """n numbers of `split` ("train", "val" or "test") drawn as described in the module docstring
    from `rng` (a numpy Generator): rejection sampling keeps the splits disjoint."""
    if split not in _SPLITS:
        raise ValueError(f"sample_numbers: split must be one of {sorted(_SPLITS)}, got {split!r}")
    out = []
    need = int(n)
    while need > 0:
        x = _draw(rng, max(2 * need, 64))
        x = x[split_of(x) == _SPLITS[split]][:need]
        out.append(x)
        need -= len(x)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def heldout_numbers(n, split="test", seed=12345):
    """About n DISTINCT numbers of `split` ("test" or "val"), n / 9 per digit count drawn as the
    training numbers are (extra zeros), or every member of the split with that many digits
    where there are fewer (1-4 digits).  A fixed function of (n, split, seed), sorted."""
    if split not in ("val", "test"):
        raise ValueError(f"heldout_numbers: split must be 'val' or 'test', got {split!r}")
    rng = np.random.default_rng(seed + _SPLITS[split])
    per = max(1, int(n) // 9)
    chosen = []
    for length in range(1, 10):
        lo, hi = (0 if length == 1 else 10 ** (length - 1)), 10 ** length
        pool = np.arange(lo, hi, dtype=np.int64) if hi - lo <= 10_000 else None
        if pool is not None and (split_of(pool) == _SPLITS[split]).sum() <= per:
            chosen.append(pool[split_of(pool) == _SPLITS[split]])  # small ranges: all of the split
            continue
        got = {}  # insertion-ordered: the first `per` distinct draws
        for _ in range(1000):
            x = _draw(rng, 8 * per, length=length)
            for v in x[split_of(x) == _SPLITS[split]]:
                got.setdefault(int(v), None)
            if len(got) >= per:
                break
        chosen.append(np.array(list(got)[:per], np.int64))
    return np.sort(np.concatenate(chosen))
