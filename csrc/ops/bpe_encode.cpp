// BPE encoding: pre-tokenise, then per pre-token apply merges by rank.  A cache of pre-tokens
// already seen makes natural text (where most words repeat) cost a hash lookup per word; an unseen
// word is merged with a min-heap over its adjacent pairs and a linked list of its symbols, so even
// a 100 kB run of one character costs O(n log n), not O(n^2).
#include <algorithm>
#include <queue>

#include "core/error.h"
#include "ops/bpe.h"
#include "ops/bpe_pretok.h"

namespace dl {
namespace {

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// The cache holds pre-tokens of at most this many bytes, and at most this many of them (then it
// starts over): memory stays bounded on adversarial input while natural text stays cached.
constexpr size_t kCacheMaxWord = 64;
constexpr size_t kCacheMaxEntries = size_t{1} << 20;

}  // namespace

BpeEncoder::BpeEncoder(const std::vector<std::pair<int32_t, int32_t>>& merges) : merges_(merges) {
  rank_.reserve(merges.size() * 2);
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto [a, b] = merges[r];
    const int64_t limit = 256 + static_cast<int64_t>(r);  // ids that exist before merge r
    DL_CHECK(a >= 0 && b >= 0 && a < limit && b < limit, Value, "BPETokenizer", "merge ", r, " joins ids ", a,
             " and ", b, " but only ids below ", limit, " exist before it");
    bool fresh = rank_.emplace(pair_key(a, b), static_cast<int32_t>(r)).second;
    DL_CHECK(fresh, Value, "BPETokenizer", "merge ", r, " repeats the pair (", a, ", ", b, ")");
  }
}

int64_t BpeEncoder::cache_size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(cache_.size());
}

void BpeEncoder::clear_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.clear();
}

void BpeEncoder::encode(std::string_view text, std::vector<int32_t>& out) {
  std::lock_guard<std::mutex> lock(mutex_);  // the cache is shared by every caller
  out.reserve(out.size() + text.size() / 3);
  bpe_pretokenize(text, [&](size_t b, size_t e) { encode_word(text.substr(b, e - b), out); });
}

void BpeEncoder::encode_word(std::string_view word, std::vector<int32_t>& out) {
  const auto* s = reinterpret_cast<const unsigned char*>(word.data());
  const size_t n = word.size();
  if (n == 1) { out.push_back(s[0]); return; }
  const bool cacheable = n <= kCacheMaxWord;
  std::string key;
  if (cacheable) {
    key.assign(word);
    auto it = cache_.find(key);
    if (it != cache_.end()) { out.insert(out.end(), it->second.begin(), it->second.end()); return; }
  }
  std::vector<int32_t> ids(s, s + n);
  std::vector<int32_t> next(n), prev(n);
  for (size_t i = 0; i < n; ++i) { next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1; prev[i] = static_cast<int32_t>(i) - 1; }
  std::vector<char> alive(n, 1);
  // (rank, position): lowest rank first, leftmost first among equals, which is exactly the order
  // in which training applied merge r to a word (left to right, no overlap).
  using Entry = std::pair<int32_t, int32_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int32_t p) {
    if (p < 0 || next[p] < 0) return;
    auto it = rank_.find(pair_key(ids[p], ids[next[p]]));
    if (it != rank_.end()) heap.push({it->second, p});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(n); ++i) push(i);
  while (!heap.empty()) {
    auto [r, p] = heap.top();
    heap.pop();
    if (!alive[p] || next[p] < 0) continue;
    const int32_t q = next[p];
    auto it = rank_.find(pair_key(ids[p], ids[q]));
    if (it == rank_.end() || it->second != r) continue;  // stale: the pair changed since
    ids[p] = 256 + r;
    alive[q] = 0;
    next[p] = next[q];
    if (next[q] >= 0) prev[next[q]] = p;
    push(prev[p]);
    push(p);
  }
  const size_t start = out.size();
  for (int32_t p = 0; p >= 0; p = next[p]) out.push_back(ids[p]);
  if (cacheable) {
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::move(key), std::vector<int32_t>(out.begin() + start, out.end()));
  }
}

}  // namespace dl
