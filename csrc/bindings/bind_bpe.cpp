// Bindings of the byte-level BPE hot loops (ops/bpe.h): argument conversion only.  Texts come in
// as bytes (UTF-8, encoded by the Python layer) and are read in place with the GIL released.
#include <string_view>

#include "bindings/common.h"
#include "ops/bpe.h"
#include "ops/bpe_pretok.h"

namespace dl {
namespace {

std::string_view bytes_view(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t n = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &n) != 0) throw py::error_already_set();
  return std::string_view(data, static_cast<size_t>(n));
}

py::array_t<int32_t> ids_to_numpy(std::vector<int32_t>&& ids) {
  auto* heap = new std::vector<int32_t>(std::move(ids));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<int32_t>*>(p); });
  return py::array_t<int32_t>({static_cast<py::ssize_t>(heap->size())}, {sizeof(int32_t)}, heap->data(), owner);
}

}  // namespace

void bind_bpe(py::module_& m) {
  m.def("bpe_pretokenize", [](const py::bytes& text) {
    std::string_view t = bytes_view(text);
    DL_NOGIL;
    return bpe_pretokenize_offsets(t);
  }, py::arg("text"), "GPT-2 pre-token (begin, end) byte offsets of UTF-8 `text`.");
  m.def("bpe_char_classes", [](uint32_t first, uint32_t count) {
    DL_CHECK(count <= 0x110000u && first <= 0x110000u - count, Value, "bpe_char_classes", "range past U+10FFFF");
    std::string out(count, '\0');
    for (uint32_t i = 0; i < count; ++i) out[i] = static_cast<char>(bpe_char_class(first + i));
    return py::bytes(out);
  }, py::arg("first"), py::arg("count"),
     "Pre-tokeniser classes (0 other, 1 letter, 2 number, 3 space) of code points first..first+count-1.");
  m.def("bpe_train", [](const std::vector<std::string>& pieces, int64_t num_merges) {
    DL_NOGIL;
    return bpe_train(pieces, num_merges);
  }, py::arg("pieces"), py::arg("num_merges"),
     "Learns up to num_merges byte-level BPE merges from UTF-8 texts; returns [(left id, right id)].");
  py::class_<BpeEncoder>(m, "BpeEncoder", "Byte-level BPE encoder over a merge list (thread-safe, cached).")
      .def(py::init<const std::vector<std::pair<int32_t, int32_t>>&>(), py::arg("merges"))
      .def("encode", [](BpeEncoder& self, const py::bytes& text) {
        std::string_view t = bytes_view(text);
        std::vector<int32_t> ids;
        {
          DL_NOGIL;
          self.encode(t, ids);
        }
        return ids_to_numpy(std::move(ids));
      }, py::arg("text"), "int32 ids of UTF-8 `text`.")
      .def("encode_batch", [](BpeEncoder& self, const std::vector<py::bytes>& texts) {
        std::vector<std::string_view> views;
        for (const auto& t : texts) views.push_back(bytes_view(t));
        std::vector<std::vector<int32_t>> ids(views.size());
        {
          DL_NOGIL;
          for (size_t i = 0; i < views.size(); ++i) self.encode(views[i], ids[i]);
        }
        py::list out;
        for (auto& v : ids) out.append(ids_to_numpy(std::move(v)));
        return out;
      }, py::arg("texts"), "A list of int32 id arrays, one per UTF-8 text.")
      .def_property_readonly("num_merges", &BpeEncoder::num_merges)
      .def("cache_size", &BpeEncoder::cache_size)
      .def("clear_cache", &BpeEncoder::clear_cache);
}

}  // namespace dl
