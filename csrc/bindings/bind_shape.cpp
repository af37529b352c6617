// Bindings of the shape family: argument conversion only.
#include "bindings/common.h"
#include "bindings/int_args.h"
#include "ops/shape.h"

namespace dl {
namespace {

int64_t to_int(py::handle h, const char* op, const char* what) { return int_arg(h, op, what); }

// A sequence of ints (or one int); unlike parse_shape, negative entries pass through (-1 in
// reshape, negative pads, negative dims).
std::vector<int64_t> int_list(py::handle obj, const char* op, const char* what) {
  return int_list_arg(obj, op, what);
}

Shape shape_list(py::handle obj, const char* op, const char* what) {
  const std::vector<int64_t> v = int_list(obj, op, what);
  return Shape(v.begin(), v.end());
}

std::vector<Tensor> tensor_list(py::handle obj, const char* op) {
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj) || py::isinstance<py::array>(obj) ||
      py::isinstance<Tensor>(obj) || py::hasattr(obj, "_impl"))
    fail(ErrorKind::Type, op, "expected a sequence of arrays");
  std::vector<Tensor> out;
  // Owned items: a sequence that makes its items on the fly would free each one under a handle.
  const py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
  const size_t n = seq.size();
  for (size_t i = 0; i < n; ++i) {
    const py::object item = seq[i];
    out.push_back(as_tensor(item, op, "tensors"));
  }
  return out;
}

std::vector<IndexItem> parse_key(py::handle key, const char* op) {
  std::vector<IndexItem> out;
  auto one = [&](py::handle h) {
    IndexItem it{};
    if (h.is_none()) {
      it.kind = IndexItem::NewAxis;
    } else if (h.ptr() == Py_Ellipsis) {
      it.kind = IndexItem::Ellipsis;
    } else if (PySlice_Check(h.ptr())) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(h.ptr(), &start, &stop, &step) < 0) {
        PyErr_Clear();
        fail(ErrorKind::Value, op, "slice step cannot be zero");
      }
      it.kind = IndexItem::Slice;
      it.start = start;
      it.stop = stop;
      it.step = step;
    } else if (!py::isinstance<py::bool_>(h) && (py::isinstance<py::int_>(h) || py::hasattr(h, "__index__"))) {
      it.kind = IndexItem::Int;
      it.value = to_int(h, op, "indices");
    } else {
      fail(ErrorKind::Type, op, "only integers, slices, None and ... are supported as indices, got ",
           py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>(),
           " (use index_select for integer arrays, masked_fill for boolean masks)");
    }
    out.push_back(it);
  };
  if (py::isinstance<py::tuple>(key)) {
    for (py::handle h : py::reinterpret_borrow<py::tuple>(key)) one(h);
  } else {
    one(key);
  }
  return out;
}

}  // namespace

void bind_shape(py::module_& m) {
  m.def("reshape", [](py::handle x, py::handle shape) {
    Tensor t = as_tensor(x, "reshape", "x");
    Shape s = shape_list(shape, "reshape", "shape");
    DL_NOGIL;
    return reshape(t, s);
  }, py::arg("x"), py::arg("shape"));
  m.def("view", [](py::handle x, py::handle shape) {
    Tensor t = as_tensor(x, "view", "x");
    return view(t, shape_list(shape, "view", "shape"));
  }, py::arg("x"), py::arg("shape"));
  m.def("flatten", [](py::handle x, int64_t s, int64_t e) {
    Tensor t = as_tensor(x, "flatten", "x");
    DL_NOGIL;
    return flatten(t, s, e);
  }, py::arg("x"), py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  m.def("squeeze", [](py::handle x, py::handle dim) {
    Tensor t = as_tensor(x, "squeeze", "x");
    if (dim.is_none()) return squeeze(t, nullptr);
    std::vector<int64_t> dims = int_list(dim, "squeeze", "dim");
    return squeeze(t, &dims);
  }, py::arg("x"), py::arg("dim") = py::none());
  m.def("unsqueeze", [](py::handle x, int64_t dim) { return unsqueeze(as_tensor(x, "unsqueeze", "x"), dim); },
        py::arg("x"), py::arg("dim"));
  m.def("transpose", [](py::handle x, int64_t a, int64_t b) {
    return transpose(as_tensor(x, "transpose", "x"), a, b);
  }, py::arg("x"), py::arg("dim0"), py::arg("dim1"));
  m.def("permute", [](py::handle x, py::handle dims) {
    return permute(as_tensor(x, "permute", "x"), int_list(dims, "permute", "dims"));
  }, py::arg("x"), py::arg("dims"));
  m.def("contiguous", [](py::handle x) {
    Tensor t = as_tensor(x, "contiguous", "x");
    check_cpu(t, "contiguous");
    DL_NOGIL;
    return contiguous(t);
  }, py::arg("x"));
  m.def("expand", [](py::handle x, py::handle shape) {
    return expand(as_tensor(x, "expand", "x"), shape_list(shape, "expand", "shape"));
  }, py::arg("x"), py::arg("shape"));
  m.def("broadcast_to", [](py::handle x, py::handle shape) {
    return broadcast_to(as_tensor(x, "broadcast_to", "x"), shape_list(shape, "broadcast_to", "shape"));
  }, py::arg("x"), py::arg("shape"));
  m.def("narrow", [](py::handle x, int64_t dim, int64_t start, int64_t length) {
    return narrow(as_tensor(x, "narrow", "x"), dim, start, length);
  }, py::arg("x"), py::arg("dim"), py::arg("start"), py::arg("length"));

  m.def("cat", [](py::handle xs, int64_t axis) {
    std::vector<Tensor> ts = tensor_list(xs, "cat");
    DL_NOGIL;
    return cat(ts, axis);
  }, py::arg("tensors"), py::arg("axis") = 0);
  m.def("stack", [](py::handle xs, int64_t axis) {
    std::vector<Tensor> ts = tensor_list(xs, "stack");
    DL_NOGIL;
    return stack(ts, axis);
  }, py::arg("tensors"), py::arg("axis") = 0);
  m.def("split", [](py::handle x, py::handle sizes, int64_t axis) {
    return split(as_tensor(x, "split", "x"), int_list(sizes, "split", "sizes"), axis);
  }, py::arg("x"), py::arg("sizes"), py::arg("axis") = 0);
  m.def("tensor_split", [](py::handle x, int64_t n, int64_t axis) {
    return split_n(as_tensor(x, "tensor_split", "x"), n, axis);
  }, py::arg("x"), py::arg("sections"), py::arg("axis") = 0);

  m.def("index", [](py::handle x, py::handle key) {
    return index(as_tensor(x, "index", "x"), parse_key(key, "index"));
  }, py::arg("x"), py::arg("key"));
  m.def("slice_copy", [](py::handle x, py::handle key) {
    Tensor t = as_tensor(x, "slice_copy", "x");
    Tensor v = index(t, parse_key(key, "slice_copy"), "slice_copy");
    check_cpu(v, "slice_copy");
    DL_NOGIL;
    return v.clone();
  }, py::arg("x"), py::arg("key"), "x[key] (basic indexing) as a new contiguous tensor; errors name slice_copy.");
  m.def("index_put_", [](py::handle x, py::handle key, py::handle value) {
    Tensor t = as_tensor(x, "index_put_", "x", true);
    std::vector<IndexItem> k = parse_key(key, "index_put_");
    Tensor v = as_tensor(value, "index_put_", "value");
    DL_NOGIL;
    index_put_(t, k, v);
  }, py::arg("x"), py::arg("key"), py::arg("value"));
  m.def("index_select", [](py::handle x, int64_t axis, py::handle indices) {
    Tensor t = as_tensor(x, "index_select", "x"), i = as_tensor(indices, "index_select", "indices");
    DL_NOGIL;
    return index_select(t, axis, i);
  }, py::arg("x"), py::arg("axis"), py::arg("indices"));
  m.def("index_select_backward", [](py::handle grad, int64_t axis, py::handle indices, py::handle input_shape) {
    const char* op = "index_select_backward";
    Tensor g = as_tensor(grad, op, "grad"), i = as_tensor(indices, op, "indices");
    Shape s = parse_shape(input_shape, op);
    DL_NOGIL;
    return index_select_backward(g, axis, i, s);
  }, py::arg("grad"), py::arg("axis"), py::arg("indices"), py::arg("input_shape"));

  m.def("pad", [](py::handle x, py::handle padv, const std::string& mode, double value) {
    Tensor t = as_tensor(x, "pad", "x");
    std::vector<int64_t> p = int_list(padv, "pad", "pad");
    DL_NOGIL;
    return pad(t, p, mode, value);
  }, py::arg("x"), py::arg("pad"), py::arg("mode") = "constant", py::arg("value") = 0.0);
  m.def("pad_backward", [](py::handle grad, py::handle input_shape, py::handle padv, const std::string& mode) {
    Tensor g = as_tensor(grad, "pad_backward", "grad_out");
    Shape s = parse_shape(input_shape, "pad_backward");
    std::vector<int64_t> p = int_list(padv, "pad_backward", "pad");
    DL_NOGIL;
    return pad_backward(g, s, p, mode);
  }, py::arg("grad_out"), py::arg("input_shape"), py::arg("pad"), py::arg("mode") = "constant");

  m.def("embedding", [](py::handle weight, py::handle indices, py::handle padding_idx) {
    Tensor w = as_tensor(weight, "embedding", "weight"), i = as_tensor(indices, "embedding", "indices");
    const bool has = !padding_idx.is_none();
    const int64_t p = has ? to_int(padding_idx, "embedding", "padding_idx") : 0;
    DL_NOGIL;
    return embedding(w, i, has, p);
  }, py::arg("weight"), py::arg("indices"), py::arg("padding_idx") = py::none());
  m.def("embedding_backward", [](py::handle grad, py::handle indices, int64_t num, py::handle padding_idx) {
    const char* op = "embedding_backward";
    Tensor g = as_tensor(grad, op, "grad_out"), i = as_tensor(indices, op, "indices");
    const bool has = !padding_idx.is_none();
    const int64_t p = has ? to_int(padding_idx, op, "padding_idx") : 0;
    DL_NOGIL;
    return embedding_backward(g, i, num, has, p);
  }, py::arg("grad_out"), py::arg("indices"), py::arg("num_embeddings"), py::arg("padding_idx") = py::none());

  m.def("masked_fill", [](py::handle x, py::handle mask, double value, bool inplace) {
    const char* op = inplace ? "masked_fill_" : "masked_fill";
    Tensor t = as_tensor(x, op, "x", inplace), mk = as_tensor(mask, op, "mask");
    DL_NOGIL;
    return masked_fill(t, mk, value, inplace);
  }, py::arg("x"), py::arg("mask"), py::arg("value"), py::arg("inplace") = false);
}

}  // namespace dl
