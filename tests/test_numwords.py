"""The number-to-words task of issue 19 (dlcore.zoo.numwords): the converter against an
independent parser and hand-written edge cases, the word-level vocabulary, and the data splits
(held-out numbers disjoint from training by construction, every magnitude covered)."""
from __future__ import annotations

import numpy as np
import pytest

from dlcore.zoo.numwords import (MAX_NUMBER, NumberVocab, heldout_numbers, number_to_words, sample_numbers,
                                 split_of)

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}


def _words_to_int(text):
    """An independent reading of the words (the converter's inverse), strict about the form."""
    total, group = 0, 0
    for word in text.split():
        if word == "hundred":
            assert 1 <= group <= 9
            group *= 100
        elif word in ("thousand", "million"):
            assert group > 0
            total += group * (1000 if word == "thousand" else 1_000_000)
            group = 0
        elif "-" in word:
            tens, unit = word.split("-")
            assert _UNITS[unit] in range(1, 10)
            group += _TENS[tens] + _UNITS[unit]
        else:
            group += _TENS[word] if word in _TENS else _UNITS[word]
    return total + group


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (10, "ten"), (11, "eleven"), (15, "fifteen"), (19, "nineteen"), (20, "twenty"),
    (21, "twenty-one"), (45, "forty-five"), (99, "ninety-nine"), (100, "one hundred"), (101, "one hundred one"),
    (110, "one hundred ten"), (115, "one hundred fifteen"), (999, "nine hundred ninety-nine"),
    (1000, "one thousand"), (1001, "one thousand one"), (12000, "twelve thousand"),
    (120045, "one hundred twenty thousand forty-five"), (1_000_000, "one million"),
    (1_000_001, "one million one"), (20_000_020, "twenty million twenty"),
    (700_000_000, "seven hundred million"), (5_000_300, "five million three hundred"),
    (MAX_NUMBER, "nine hundred ninety-nine million nine hundred ninety-nine thousand nine hundred ninety-nine"),
])
def test_number_to_words_edge_cases(n, words):
    assert number_to_words(n) == words
    assert number_to_words(str(n)) == words
    assert number_to_words(f"{n:,}") == words  # commas as thousands separators


def test_number_to_words_round_trips_through_an_independent_parser():
    rng = np.random.default_rng(0)
    for n in list(range(0, 2100)) + [int(x) for x in sample_numbers(rng, 3000)] + [10 ** k for k in range(9)]:
        text = number_to_words(n)
        assert _words_to_int(text) == n, (n, text)
        assert "  " not in text and text == text.strip()


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (MAX_NUMBER + 1, ValueError), ("12a", ValueError),
                                      ("", ValueError), ("-5", ValueError), ("１２", ValueError), (1.5, TypeError),
                                      (True, TypeError), (None, TypeError)])
def test_number_to_words_rejects_bad_input(bad, exc):
    with pytest.raises(exc, match="^number_to_words: "):
        number_to_words(bad)


def test_vocab_is_word_level_and_round_trips():
    v = NumberVocab()
    assert len(v) == v.size == 45 and (v.pad_id, v.bos_id, v.eos_id) == (0, 1, 2)
    ids = v.encode_target("one hundred twenty thousand forty-five")
    assert [v.tokens[i] for i in ids] == ["one", "hundred", "twenty", "thousand", "forty", "-", "five"]
    assert v.decode_target(ids + [v.eos_id, v.ids["one"]]) == "one hundred twenty thousand forty-five"
    assert v.decode_target([v.bos_id] + ids) == "one hundred twenty thousand forty-five"
    assert v.encode_source("007") == v.encode_source(7) == [v.ids["7"]]
    assert max(len(v.encode_target(number_to_words(n))) for n in (MAX_NUMBER, 777_777_777, 373_373_373)) == 17
    with pytest.raises(ValueError, match="^encode_target: "):
        v.encode_target("one 5")
    with pytest.raises(ValueError, match="^translate: "):
        v.encode_source("twelve", "translate")


def test_splits_are_disjoint_by_construction_and_cover_every_magnitude():
    rng = np.random.default_rng(1)
    train = sample_numbers(rng, 20000)
    assert (split_of(train) == 0).all()
    test, val = heldout_numbers(900, "test"), heldout_numbers(900, "val")
    assert (split_of(test) == 2).all() and (split_of(val) == 1).all()
    assert len(np.unique(test)) == len(test) and not set(test) & set(train) and not set(test) & set(val)
    digits = np.array([len(str(n)) for n in train])
    counts = np.bincount(digits, minlength=10)[1:]
    assert counts.min() > 0.8 * counts.mean()  # a uniform number of digits
    assert {len(str(n)) for n in test} >= set(range(4, 10))
    assert np.mean(train % 1000 == 0) > 0.01  # exact thousands (and millions) are common enough to learn
    assert ((train >= 10) & (train < 20)).any()
    frac = np.bincount(split_of(np.arange(200_000)), minlength=3) / 200_000
    np.testing.assert_allclose(frac, [0.96, 0.02, 0.02], atol=0.003)
    np.testing.assert_array_equal(heldout_numbers(900, "test"), test)  # a fixed set
    with pytest.raises(ValueError, match="^sample_numbers: "):
        sample_numbers(rng, 3, "dev")
