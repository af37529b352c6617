"""CharTokenizer and byte-level BPETokenizer (dlcore.data.tokenizers, csrc/ops/bpe*.cpp) against the
plain-Python reference in tests/reference/bpe.py: pre-tokenisation, merges, ids, round trips,
special tokens, JSON, errors."""
import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlcore
from dlcore import _core
from dlcore.data import BPETokenizer, CharTokenizer, load_tokenizer
from tests.reference import bpe as ref

# Characters whose classes are the same in every Unicode version since 6: ASCII, every kind of
# whitespace (including those only str.isspace counts), accented Latin, Greek, Cyrillic, CJK,
# digits of other scripts, No/Nl numbers, combining marks, symbols, emoji.
ALPHABET = ("abcXYZ019 '\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u2028\u3000.,!?-_'\"sdtmlrve"
            "éüßÆ\u0301αΩжЯ日本語٣४½²Ⅻ€→😀🙂\U0001F600")
TEXT = st.text(alphabet=st.sampled_from(ALPHABET), max_size=60)
GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
HYPO = settings(max_examples=150, derandomize=True, deadline=None, database=None)


def pieces(text):
    b = text.encode("utf-8")
    return [b[i:j].decode("utf-8") for i, j in _core.bpe_pretokenize(b)]


CASES = ["Hello world's  end\n\n  x", "a  b\t\tc  ", "  ", " 's 're?'s 12 ab3 ½x ünïcödé 日本語  \u3000a", "'",
         "x'", "'ll'l'LL", "  !!  ??\n", " \n", "", "I'm sure they'd've done it'S", "a\u2028\u2028b", "😀 😀😀 x"]


@pytest.mark.parametrize("text", CASES)
def test_pretokenize_matches_reference(text):
    assert pieces(text) == ref.pretokenize(text)
    assert "".join(pieces(text)) == text


@HYPO
@given(TEXT)
def test_pretokenize_matches_reference_random(text):
    assert pieces(text) == ref.pretokenize(text)


@HYPO
@given(TEXT)
def test_pretokenize_matches_gpt2_regex(text):
    regex = pytest.importorskip("regex")
    text = text.translate({c: "x" for c in range(0x1C, 0x20)})  # the regex module's \s lacks these
    assert pieces(text) == regex.findall(GPT2, text)


def test_character_classes_match_unicodedata():
    if unicodedata.unidata_version != "14.0.0":
        pytest.skip(f"table is Unicode 14.0.0, this Python's unicodedata is {unicodedata.unidata_version}")
    got = _core.bpe_char_classes(0, 0x110000)
    code = {"O": 0, "L": 1, "N": 2, "S": 3}
    want = bytes(code[ref.char_class(chr(c))] for c in range(0x110000))
    assert got == want


def test_pretokenize_invalid_utf8_tiles_the_input():
    data = b"\xff\xfeab \xc3 \xe6\x97 cd\xf0\x9f\x98"  # stray, truncated and cut sequences
    offs = _core.bpe_pretokenize(data)
    assert offs[0][0] == 0 and offs[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(offs, offs[1:]))


SMALL_TEXTS = [
    "the cat sat on the mat. the bat ate the rat's hat!! 123 4567 the end",
    "aaaa aaa aa a aaaaaaa ababab bababa abab",
    "Unicode: naïve café, 日本語の文章, ελληνικά, 😀😀 😀!\n\n  tabs\tand  spaces  ",
    "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 3,
]


@pytest.mark.parametrize("text", SMALL_TEXTS)
@pytest.mark.parametrize("num_merges", [1, 7, 60])
def test_train_matches_reference(text, num_merges):
    merges, words = ref.train([text], num_merges)
    tok = BPETokenizer().train(text, 256 + num_merges)
    assert tok.merges == merges
    assert tok.vocab_size == 256 + len(merges)
    assert tok.encode(text) == ref.encode(text, merges)
    for w, ids in words.items():  # each training word encodes to its final training segmentation
        assert tok.encode(w) == list(ids)


@HYPO
@given(st.lists(st.text(alphabet="ab c\n", max_size=20), max_size=5), st.integers(1, 30))
def test_train_matches_reference_random(docs, num_merges):
    # a tiny alphabet: many equal counts, so the tie-break rule is exercised
    merges, _ = ref.train(docs, num_merges)
    tok = BPETokenizer().train(docs, 256 + num_merges)
    assert tok.merges == merges
    text = "".join(docs)
    assert tok.encode(text) == ref.encode(text, merges)


def test_tie_break_smallest_pair():
    # "ab" and "cd" both occur twice: (97, 98) < (99, 100), so "ab" is merged first
    assert BPETokenizer().train(["cd", "ab", "cd", "ab"], 257).merges == [(97, 98)]
    # pre-tokens " ab" x2, " cd" x2: (32, 97), (32, 99), (97, 98), (99, 100) all twice
    assert BPETokenizer().train(" cd ab cd ab", 258).merges == [(32, 97), (32, 99)]


def test_long_runs_encode_like_reference():
    text = "a" * 257 + " " + "ab" * 100 + " " * 50 + "x"
    tok = BPETokenizer().train(text, 256 + 12)
    assert tok.encode(text) == ref.encode(text, tok.merges)
    long = "a" * 200_000  # heap-based merging: fast even for a huge pre-token
    assert tok.decode(tok.encode(long)) == long


def test_training_is_deterministic_across_thread_counts():
    text = " ".join(SMALL_TEXTS) * 5
    results = []
    for n in (1, 2, 3):
        dlcore.set_num_threads(n)
        results.append(BPETokenizer().train(text, 400).merges)
    dlcore.set_num_threads(2)
    assert results[0] == results[1] == results[2]


@settings(max_examples=200, derandomize=True, deadline=None, database=None)
@given(st.text(max_size=200))
def test_bpe_round_trip_any_unicode(text):
    tok = _trained()
    ids = tok.encode(text)
    assert tok.decode(ids, errors="strict") == text
    assert all(0 <= i < tok.vocab_size for i in ids)


@settings(max_examples=100, derandomize=True, deadline=None, database=None)
@given(st.text(max_size=100))
def test_char_round_trip_any_unicode(text):
    tok = CharTokenizer().train(text)
    assert tok.decode(tok.encode(text)) == text


_TOK = {}


def _trained():
    if "bpe" not in _TOK:
        text = " ".join(SMALL_TEXTS) * 3 + " <|endoftext|> "
        _TOK["bpe"] = BPETokenizer().train(text, 340, special_tokens=["<|endoftext|>", "<|pad|>"])
    return _TOK["bpe"]


def test_special_tokens_are_single_ids():
    tok = _trained()
    eot, pad = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|pad|>")
    assert (eot, pad) == (tok.vocab_size - 2, tok.vocab_size - 1)
    assert tok.special_tokens == {"<|endoftext|>": eot, "<|pad|>": pad}
    ids = tok.encode("the cat<|endoftext|><|pad|> sat")
    assert ids == tok.encode("the cat") + [eot, pad] + tok.encode(" sat")
    assert tok.decode(ids) == "the cat<|endoftext|><|pad|> sat"
    # not allowed: ordinary text, byte by byte merged like any other text
    plain = tok.encode("x<|endoftext|>", allowed_special="none")
    assert eot not in plain and tok.decode(plain) == "x<|endoftext|>"
    assert tok.encode("<|pad|><|endoftext|>", allowed_special={"<|pad|>"})[0] == pad
    assert eot not in tok.encode("<|pad|><|endoftext|>", allowed_special={"<|pad|>"})
    # specials are cut out of the training text: no merge learned from their characters alone
    assert all(not tok.id_to_token(256 + r).startswith("<|") for r in range(len(tok.merges)))


def test_longest_special_wins_and_specials_inside_words():
    tok = BPETokenizer().train("abc", 300, special_tokens=["<s>", "<s><s>"])
    a, aa = tok.token_to_id("<s>"), tok.token_to_id("<s><s>")
    assert tok.encode("x<s><s><s>y") == tok.encode("x") + [aa, a] + tok.encode("y")
    assert tok.encode_batch(["<s>", "z<s>"]) == [[a], tok.encode("z") + [a]]


def test_batch_equals_single():
    tok = _trained()
    texts = SMALL_TEXTS + ["", "<|endoftext|>x"]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]
    assert tok.encode_batch(texts, allowed_special="none") == [tok.encode(t, "none") for t in texts]
    assert tok.decode_batch(tok.encode_batch(texts)) == texts
    assert tok.encode_array(texts[0]).dtype == np.int32
    assert tok.encode_array(texts[0]).tolist() == tok.encode(texts[0])


def test_token_strings():
    tok = _trained()
    assert tok.id_to_token(32) == "Ġ" and tok.id_to_token(10) == "Ċ" and tok.id_to_token(97) == "a"
    assert tok.token_to_id("Ġ") == 32 and tok.token_to_id("no such token") is None
    assert tok.id_to_token(tok.vocab_size) is None and tok.id_to_token(-1) is None
    for i in range(256, 256 + len(tok.merges)):
        assert tok.token_to_id(tok.id_to_token(i)) <= i  # the first id spelled that way
    a, b = tok.merges[0]
    assert tok.id_to_token(256) == tok.id_to_token(a) + tok.id_to_token(b)
    assert tok.get_vocab()["<|pad|>"] == tok.vocab_size - 1


def test_save_load_round_trip(tmp_path):
    tok = _trained()
    path = tmp_path / "bpe.json"
    tok.save(path)
    back = BPETokenizer.load(path)
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    text = SMALL_TEXTS[2] + "<|endoftext|>"
    assert back.encode(text) == tok.encode(text)
    assert isinstance(load_tokenizer(path), BPETokenizer)
    assert BPETokenizer.from_json(tok.to_json()).merges == tok.merges
    data = json.loads(path.read_text("utf-8"))
    assert data["type"] == "dlcore.BPETokenizer" and data["merged_tokens"][0] == tok.id_to_token(256)

    char = CharTokenizer().train("hello wörld", special_tokens=["<eos>"])
    char.save(tmp_path / "char.json")
    back = load_tokenizer(tmp_path / "char.json")
    assert isinstance(back, CharTokenizer) and back.chars == char.chars
    assert back.encode("hello<eos>") == char.encode("hello<eos>")


def test_char_tokenizer():
    tok = CharTokenizer().train("hello world", special_tokens=["<eos>"])
    assert tok.chars == sorted(set("hello world")) and tok.vocab_size == 9
    assert tok.encode("hello") == [tok.chars.index(c) for c in "hello"]
    assert tok.encode("he<eos>") == tok.encode("he") + [8]
    assert tok.decode([8]) == "<eos>"
    with pytest.raises(ValueError, match="'<'"):  # as ordinary text its characters are unknown
        tok.encode("<eos>", allowed_special="none")
    assert tok.id_to_token(0) == " " and tok.token_to_id("<eos>") == 8
    assert tok.encode_batch(["he", "lo"]) == [tok.encode("he"), tok.encode("lo")]
    # special tokens in the training text are not counted as characters
    assert CharTokenizer().train("ab<x>", special_tokens=["<x>"]).chars == ["a", "b"]


def test_char_tokenizer_errors():
    tok = CharTokenizer().train("abc")
    with pytest.raises(ValueError, match=r"^CharTokenizer.encode: character 'z' \(U\+007A\)"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="^CharTokenizer.train: vocab_size 2 is too small"):
        CharTokenizer().train("abc", vocab_size=2)
    with pytest.raises(IndexError, match="^CharTokenizer.decode: unknown token id 3"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="^CharTokenizer.load: not valid JSON"):
        CharTokenizer.from_json("{", op="CharTokenizer.load")
    with pytest.raises(ValueError, match="^CharTokenizer.from_json: chars must be"):
        CharTokenizer.from_json(json.dumps({"type": "dlcore.CharTokenizer", "version": 1, "chars": "ba"}))


def test_bpe_errors(tmp_path):
    with pytest.raises(ValueError, match=r"^BPETokenizer.train: vocab_size must be at least 256 .* = 258, got 257"):
        BPETokenizer().train("abc", 257, special_tokens=["<a>", "<b>"])
    with pytest.raises(ValueError, match="^BPETokenizer.train: vocab_size must be at least"):
        BPETokenizer().train("abc", 100)
    with pytest.raises(TypeError, match="^BPETokenizer.train: vocab_size must be an int"):
        BPETokenizer().train("abc", 300.0)
    with pytest.raises(ValueError, match="^BPETokenizer.train: special tokens repeat"):
        BPETokenizer().train("abc", 300, special_tokens=["<a>", "<a>"])
    with pytest.raises(TypeError, match="^BPETokenizer.train: expected text as str"):
        BPETokenizer().train(b"abc", 300)
    tok = _trained()
    for bad in ([0, tok.vocab_size], [-1], [10**12]):
        with pytest.raises(IndexError, match="^BPETokenizer.decode: unknown token id"):
            tok.decode(bad)
    with pytest.raises(TypeError, match="^BPETokenizer.decode: token ids must be integers"):
        tok.decode([1.5])
    with pytest.raises(ValueError, match="^BPETokenizer.encode: the text is not valid Unicode"):
        tok.encode("a\ud800b")
    with pytest.raises(ValueError, match="^BPETokenizer.encode: .* are not special tokens"):
        tok.encode("a", allowed_special={"<nope>"})
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json", "utf-8")
    with pytest.raises(ValueError, match="^BPETokenizer.load: not valid JSON"):
        BPETokenizer.load(bad_json)
    with pytest.raises(FileNotFoundError, match="^BPETokenizer.load: no such file"):
        BPETokenizer.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="^BPETokenizer.from_json: expected a dlcore.BPETokenizer"):
        BPETokenizer.from_json(CharTokenizer("ab").to_json())
    good = json.loads(tok.to_json())
    for field, value, msg in [("version", 99, "unsupported format version"),
                              ("merges", [[1, 2, 3]], "merges must be a list"),
                              ("merges", [[1, 300]], "merge 0 joins ids 1 and 300 but only ids below 256"),
                              ("merges", [[1, 2], [1, 2]], r"merge 1 repeats the pair \(1, 2\)"),
                              ("special_tokens", [1], "special_tokens must be a list of str")]:
        with pytest.raises(ValueError, match=f"^BPETokenizer.from_json: {msg}"):
            BPETokenizer.from_json(json.dumps(dict(good, **{field: value})))
    with pytest.raises(ValueError, match="^load_tokenizer: .* is not a tokenizer JSON file"):
        load_tokenizer(bad_json)


def test_encoder_cache_is_reused_and_bounded_per_word():
    tok = BPETokenizer().train(SMALL_TEXTS[3], 300)
    tok._encoder.clear_cache()
    first = tok.encode(SMALL_TEXTS[3])
    n = tok._encoder.cache_size()
    assert n > 0 and tok.encode(SMALL_TEXTS[3]) == first and tok._encoder.cache_size() == n
    tok.encode(" " + "q" * 1000)  # a long pre-token is encoded but not cached
    assert tok._encoder.cache_size() == n
