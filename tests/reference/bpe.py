"""Plain-Python references for byte-level BPE (csrc/ops/bpe*.cpp, dlcore.data.tokenizers).

Written for clarity, not speed: GPT-2's pre-tokenisation as a character-by-character scanner over
`unicodedata` categories (letters L*, numbers N*, whitespace = str.isspace), training that recounts
every pair after every merge, and encoding that applies the merges in rank order, each one left to
right over the word.
"""
import collections
import unicodedata

CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def char_class(ch):
    """"L" letter, "N" number, "S" whitespace, "O" other."""
    if ch.isspace():
        return "S"
    cat = unicodedata.category(ch)[0]
    return cat if cat in "LN" else "O"


def pretokenize(text):
    """GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    applied leftmost-first: at each position the first alternative that matches wins."""
    out, i, n = [], 0, len(text)
    while i < n:
        for c in CONTRACTIONS:
            if text.startswith(c, i):
                out.append(c)
                i += len(c)
                break
        else:
            j = i + 1 if text[i] == " " and i + 1 < n and char_class(text[i + 1]) != "S" else i
            k = char_class(text[j])
            if k != "S":  # ' ?' then a run of one class (L, N, or "other")
                e = j
                while e < n and char_class(text[e]) == k:
                    e += 1
            else:  # whitespace: \s+(?!\S) leaves the last space before a non-space to the next piece
                e = i
                while e < n and text[e].isspace():
                    e += 1
                if e < n and e - i >= 2:
                    e -= 1
            out.append(text[i:e])
            i = e
    return out


def merge_word(word, pair, new_id):
    """`word` (a tuple of ids) with each occurrence of `pair` replaced by new_id, left to right."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def train(texts, num_merges):
    """Merges [(left id, right id)] learned from `texts` (a list of str): each step merges the most
    frequent adjacent pair over all pre-tokens, ties to the smallest (left, right); merge r makes id
    256 + r.  Also returns the final segmentation {pre-token: ids}."""
    counts = collections.Counter(p for t in texts for p in pretokenize(t))
    words = {w: tuple(w.encode("utf-8")) for w in counts}
    merges = []
    while len(merges) < num_merges:
        pairs = collections.Counter()
        for w, ids in words.items():
            for p in zip(ids, ids[1:]):
                pairs[p] += counts[w]
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        new_id = 256 + len(merges)
        merges.append(best)
        words = {w: merge_word(ids, best, new_id) for w, ids in words.items()}
    return merges, words


def encode(text, merges):
    """Ids of `text`: per pre-token, the merges applied in the order learned."""
    out = []
    for w in pretokenize(text):
        ids = tuple(w.encode("utf-8"))
        for r, pair in enumerate(merges):
            if len(ids) < 2:
                break
            ids = merge_word(ids, tuple(pair), 256 + r)
        out.extend(ids)
    return out
