// Bindings of the index_ops family (gather, scatter, cumsum, mask and row puts): argument
// conversion only.
#include "bindings/common.h"
#include "ops/index_ops.h"

namespace dl {

void bind_index(py::module_& m) {
  m.def("gather", [](py::handle x, int64_t dim, py::handle index) {
    Tensor t = as_tensor(x, "gather", "input"), i = as_tensor(index, "gather", "index");
    DL_NOGIL;
    return gather(t, dim, i);
  }, py::arg("input"), py::arg("dim"), py::arg("index"));
  m.def("scatter", [](py::handle x, int64_t dim, py::handle index, py::handle src, bool add) {
    const char* op = add ? "scatter_add" : "scatter";
    Tensor t = as_tensor(x, op, "input"), i = as_tensor(index, op, "index"), s = as_tensor(src, op, "src");
    DL_NOGIL;
    return scatter(t, dim, i, s, add);
  }, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("add") = false);
  m.def("cumsum", [](py::handle x, int64_t dim, bool reverse) {
    Tensor t = as_tensor(x, reverse ? "cumsum_backward" : "cumsum", "input");
    DL_NOGIL;
    return cumsum(t, dim, reverse);
  }, py::arg("input"), py::arg("dim"), py::arg("reverse") = false);
  m.def("masked_rows", [](py::handle x, py::handle mask) {
    Tensor t = as_tensor(x, "masked_select", "input"), mk = as_tensor(mask, "masked_select", "mask");
    DL_NOGIL;
    return masked_rows(t, mk);
  }, py::arg("input"), py::arg("mask"));
  m.def("masked_put_", [](py::handle x, py::handle mask, py::handle values) {
    const char* op = "masked_put_";
    Tensor t = as_tensor(x, op, "input", true), mk = as_tensor(mask, op, "mask"), v = as_tensor(values, op, "values");
    DL_NOGIL;
    masked_put_(t, mk, v);
  }, py::arg("input"), py::arg("mask"), py::arg("values"));
  m.def("index_put_rows_", [](py::handle x, int64_t lead, py::handle rows, py::handle values, bool accumulate) {
    const char* op = "index_put_";
    Tensor t = as_tensor(x, op, "input", true), r = as_tensor(rows, op, "indices"), v = as_tensor(values, op, "values");
    DL_NOGIL;
    index_put_rows_(t, lead, r, v, accumulate, op);
  }, py::arg("input"), py::arg("lead"), py::arg("rows"), py::arg("values"), py::arg("accumulate") = false);
}

}  // namespace dl
