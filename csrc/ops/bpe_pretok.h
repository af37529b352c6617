// GPT-2's pre-tokenisation, hand-compiled.  GPT-2 splits text with the regular expression
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// before BPE, so merges never cross a word boundary.  A scanner that tries the alternatives in
// order gives the same pieces as the regex engine, at a few hundred MB/s instead of ~10.
// Here \s is Python's str.isspace (the 25 code points listed below), \p{L} and \p{N} are the
// Unicode general categories L* and N* from bpe_unicode.h.
#pragma once
#include <cstdint>
#include <string_view>

#include "ops/bpe_unicode.h"

namespace dl {

enum : int { kBpeOther = 0, kBpeLetter = 1, kBpeNumber = 2, kBpeSpace = 3 };

inline int bpe_char_class(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return kBpeLetter;
    if (cp >= '0' && cp <= '9') return kBpeNumber;
    if ((cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20)) return kBpeSpace;
    return kBpeOther;
  }
  switch (cp) {  // str.isspace beyond ASCII
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return kBpeSpace;
    default:
      if (cp >= 0x2000 && cp <= 0x200A) return kBpeSpace;
  }
  int lo = 0, hi = bpe_unicode::kNumRanges - 1;  // binary search over the sorted ranges
  while (lo <= hi) {
    int mid = (lo + hi) >> 1;
    const auto& r = bpe_unicode::kRanges[mid];
    if (cp < r.lo) hi = mid - 1;
    else if (cp > r.hi) lo = mid + 1;
    else return r.cls;
  }
  return kBpeOther;
}

// Decodes the code point at s[i] (its length into len).  An invalid or truncated sequence counts
// as a single byte of class "other", so any input is split without reading out of bounds.
inline uint32_t bpe_decode_utf8(const unsigned char* s, size_t n, size_t i, int& len) {
  unsigned char c = s[i];
  if (c < 0x80) { len = 1; return c; }
  int need = (c >= 0xF0 && c <= 0xF4) ? 3 : (c >= 0xE0 && c < 0xF0) ? 2 : (c >= 0xC2 && c < 0xE0) ? 1 : -1;
  if (need < 0 || i + static_cast<size_t>(need) >= n) { len = 1; return 0xFFFFFFFFu; }
  uint32_t cp = c & (0x3F >> need);
  for (int k = 1; k <= need; ++k) {
    unsigned char d = s[i + k];
    if ((d & 0xC0) != 0x80) { len = 1; return 0xFFFFFFFFu; }
    cp = (cp << 6) | (d & 0x3F);
  }
  len = need + 1;
  return cp;
}

// Calls emit(begin, end) for each pre-token of text, in order; the pieces tile the text.
template <class Emit>
void bpe_pretokenize(std::string_view text, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  // class of the code point at byte i, its length in len (end of text: class -1)
  auto cls_at = [&](size_t i, int& len) -> int {
    if (i >= n) { len = 0; return -1; }
    if (s[i] < 0x80) { len = 1; return bpe_char_class(s[i]); }
    uint32_t cp = bpe_decode_utf8(s, n, i, len);
    return cp == 0xFFFFFFFFu ? kBpeOther : bpe_char_class(cp);
  };
  // end of the run of characters of class c starting at i (c != other: runs of one class;
  // for "other" the run is of characters that are not letter, number or space)
  auto run_end = [&](size_t i, int c) {
    int len;
    while (i < n && cls_at(i, len) == c) i += len;
    return i;
  };
  size_t i = 0;
  while (i < n) {
    const size_t start = i;
    unsigned char c = s[i];
    // 's 't 're 've 'm 'll 'd (lowercase only, as in GPT-2)
    if (c == '\'' && i + 1 < n) {
      unsigned char d = s[i + 1];
      if (d == 's' || d == 't' || d == 'm' || d == 'd') { emit(start, i + 2); i += 2; continue; }
      if (i + 2 < n) {
        unsigned char e = s[i + 2];
        if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) {
          emit(start, i + 3); i += 3; continue;
        }
      }
    }
    int len;
    int k = cls_at(i, len);
    size_t j = i;
    int k2 = k;
    if (c == ' ') {  // " ?X+": an optional single space in front of a letter/number/other run
      int len2;
      int next = cls_at(i + 1, len2);
      if (next == kBpeLetter || next == kBpeNumber || next == kBpeOther) { j = i + 1; k2 = next; }
    }
    if (k2 != kBpeSpace) {
      i = run_end(j, k2);
      emit(start, i);
      continue;
    }
    // whitespace: \s+(?!\S) takes the run but leaves its last character to the next piece when
    // a non-space follows (then that character starts " word" or stands alone); \s+ otherwise.
    size_t e = run_end(i, kBpeSpace);
    if (e < n) {
      size_t last = e;  // start of the run's last character
      do { --last; } while (last > i && (s[last] & 0xC0) == 0x80);
      if (last > i) e = last;
    }
    emit(start, e);
    i = e;
  }
}

}  // namespace dl
