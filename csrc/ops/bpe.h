// Byte-level BPE (as in GPT-2): the pre-tokeniser, the trainer and the encoder.  The Python layer
// (python/dlcore/data/tokenizers.py) owns the vocabulary, special tokens, JSON and decoding; these
// are only the hot loops, on UTF-8 bytes.
//
// Token ids: 0..255 are the bytes themselves; merge number r (0-based) creates id 256 + r.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dl {

// The pre-tokeniser (GPT-2's split rules) lives in ops/bpe_pretok.h.

// Pre-token offsets as (begin, end) pairs, for tests and the Python reference comparison.
std::vector<std::pair<int64_t, int64_t>> bpe_pretokenize_offsets(std::string_view text);

// Learns up to `num_merges` merges from `pieces` (texts that are pre-tokenised separately: the
// Python layer cuts special tokens out).  Pre-token frequencies are counted once; then each step
// merges the most frequent adjacent pair, ties going to the smallest (left id, right id), with
// incremental pair counts and a lazy max-heap.  Stops early when no pair is left.
// Returns the merges as (left id, right id); merge r makes id 256 + r.
std::vector<std::pair<int32_t, int32_t>> bpe_train(const std::vector<std::string>& pieces, int64_t num_merges);

// The encoder: merges by rank, a cache of pre-tokens already seen, thread-safe.
class BpeEncoder {
 public:
  explicit BpeEncoder(const std::vector<std::pair<int32_t, int32_t>>& merges);
  // Appends the ids of `text` (pre-tokenised here) to out.
  void encode(std::string_view text, std::vector<int32_t>& out);
  int64_t num_merges() const { return static_cast<int64_t>(merges_.size()); }
  int64_t cache_size();
  void clear_cache();

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out);
  std::vector<std::pair<int32_t, int32_t>> merges_;
  std::unordered_map<uint64_t, int32_t> rank_;  // (left << 32 | right) -> merge rank
  std::unordered_map<std::string, std::vector<int32_t>> cache_;
  std::mutex mutex_;
};

}  // namespace dl
