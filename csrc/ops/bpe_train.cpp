// BPE training: pre-token frequencies counted once, then incremental pair counts with a lazy
// max-heap, so a merge costs time in proportion to the words that contain its pair, not to the
// corpus.  Single-threaded on purpose: the result must not depend on the thread count, and the
// whole corpus (~5 MB, ~40k distinct pre-tokens) trains a 4k vocabulary in well under a second.
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

struct HeapEntry {
  int64_t count;
  uint64_t pair;
};
// Max-heap order: higher count first; on equal counts the smaller (left, right) pair first.
// That tie-break is the documented rule (BPETokenizer.train) and what the reference follows.
struct HeapLess {
  bool operator()(const HeapEntry& x, const HeapEntry& y) const {
    return x.count < y.count || (x.count == y.count && x.pair > y.pair);
  }
};

}  // namespace

std::vector<std::pair<int64_t, int64_t>> bpe_pretokenize_offsets(std::string_view text) {
  std::vector<std::pair<int64_t, int64_t>> out;
  bpe_pretokenize(text, [&](size_t b, size_t e) { out.emplace_back(static_cast<int64_t>(b), static_cast<int64_t>(e)); });
  return out;
}

std::vector<std::pair<int32_t, int32_t>> bpe_train(const std::vector<std::string>& pieces, int64_t num_merges) {
  DL_CHECK(num_merges >= 0, Value, "bpe_train", "num_merges must be >= 0, got ", num_merges);
  DL_CHECK(num_merges < (int64_t{1} << 31) - 256, Value, "bpe_train", "num_merges too large: ", num_merges);
  // 1. unique pre-tokens with their counts (views into `pieces`, which outlive this function)
  std::unordered_map<std::string_view, int64_t> freq;
  for (const auto& p : pieces) {
    std::string_view text(p);
    bpe_pretokenize(text, [&](size_t b, size_t e) { ++freq[text.substr(b, e - b)]; });
  }
  // sorted, so word numbering (and so every container's contents) is the same on every run
  std::vector<std::pair<std::string_view, int64_t>> uniq(freq.begin(), freq.end());
  std::sort(uniq.begin(), uniq.end());
  std::vector<std::vector<int32_t>> words(uniq.size());
  std::vector<int64_t> counts(uniq.size());
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words holding it (may repeat)
  for (size_t w = 0; w < uniq.size(); ++w) {
    const auto& s = uniq[w].first;
    counts[w] = uniq[w].second;
    words[w].assign(reinterpret_cast<const unsigned char*>(s.data()),
                    reinterpret_cast<const unsigned char*>(s.data()) + s.size());
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t k = pair_key(words[w][i], words[w][i + 1]);
      pair_count[k] += counts[w];
      auto& v = where[k];
      if (v.empty() || v.back() != static_cast<int32_t>(w)) v.push_back(static_cast<int32_t>(w));
    }
  }
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, HeapLess> heap;
  for (const auto& [k, c] : pair_count) heap.push({c, k});

  // 2. merges.  Counts of pairs that exist only ever fall (a merge consumes them); pairs that
  // rise are new (they contain the new id) and get a fresh heap entry.  So a popped entry whose
  // stored count differs from the live one is stale: push it back with the live count.
  std::vector<std::pair<int32_t, int32_t>> merges;
  std::unordered_map<uint64_t, int64_t> delta;
  std::vector<int32_t> merged;
  while (static_cast<int64_t>(merges.size()) < num_merges && !heap.empty()) {
    HeapEntry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    int64_t live = it == pair_count.end() ? 0 : it->second;
    if (live != top.count) {
      if (live > 0) heap.push({live, top.pair});
      continue;
    }
    if (live <= 0) continue;
    const int32_t a = static_cast<int32_t>(top.pair >> 32), b = static_cast<int32_t>(top.pair & 0xFFFFFFFFu);
    const int32_t id = 256 + static_cast<int32_t>(merges.size());
    merges.emplace_back(a, b);
    std::vector<int32_t> affected = std::move(where[top.pair]);
    where.erase(top.pair);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    delta.clear();
    for (int32_t w : affected) {
      auto& sym = words[w];
      const int64_t f = counts[w];
      bool found = false;
      for (size_t i = 0; i + 1 < sym.size(); ++i)
        if (sym[i] == a && sym[i + 1] == b) { found = true; break; }
      if (!found) continue;  // a stale entry of `where`
      // Remove the word's old pairs, merge left to right without overlap, add its new pairs:
      // simple and exact for every overlap case ("a a a" with a+a), and words are short.
      for (size_t i = 0; i + 1 < sym.size(); ++i) delta[pair_key(sym[i], sym[i + 1])] -= f;
      merged.clear();
      for (size_t i = 0; i < sym.size();) {
        if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) { merged.push_back(id); i += 2; }
        else merged.push_back(sym[i++]);
      }
      sym.assign(merged.begin(), merged.end());
      for (size_t i = 0; i + 1 < sym.size(); ++i) {
        uint64_t k = pair_key(sym[i], sym[i + 1]);
        delta[k] += f;
        if (sym[i] == id || sym[i + 1] == id) {
          auto& v = where[k];
          if (v.empty() || v.back() != w) v.push_back(w);
        }
      }
    }
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& c = pair_count[k];
      c += d;
      if (d > 0) heap.push({c, k});
      if (c == 0) pair_count.erase(k);
    }
  }
  return merges;
}

}  // namespace dl
