#include "bindings/common.h"
#include "ops/random.h"

namespace dl {
namespace {

// Seeds and offsets are unsigned 64-bit; other ints are taken modulo 2^64 (so -1 is 2^64 - 1).
uint64_t to_u64(py::handle h) {
  py::object v = py::int_(py::reinterpret_borrow<py::object>(h));
  py::object mask = py::int_(1).attr("__lshift__")(64).attr("__sub__")(1);
  return v.attr("__and__")(mask).cast<uint64_t>();
}

void check_int(py::handle h, const char* op, const char* what) {
  if (py::isinstance<py::bool_>(h) || (!py::isinstance<py::int_>(h) && !py::hasattr(h, "__index__")))
    fail(ErrorKind::Type, op, "expected an integer ", what, ", got ", std::string(py::str(py::type::of(h))));
}

}  // namespace

void bind_random(py::module_& m) {
  // Generator state.
  m.def("manual_seed", [](py::handle seed) {
    check_int(seed, "manual_seed", "seed");
    manual_seed(to_u64(seed));
  }, py::arg("seed"));
  m.def("seed", &seed_nondeterministic);
  m.def("initial_seed", &initial_seed);
  m.def("get_rng_state", [] {
    RngState s = get_rng_state();
    return py::make_tuple(s.seed, s.offset);
  });
  m.def("set_rng_state", [](py::tuple state) {
    DL_CHECK(state.size() == 2, Value, "set_rng_state", "expected a (seed, offset) tuple, got ",
             state.size(), " items");
    check_int(state[0], "set_rng_state", "seed");
    check_int(state[1], "set_rng_state", "offset");
    set_rng_state(RngState{to_u64(state[0]),
                           to_u64(state[1])});
  }, py::arg("state"));

  // Raw Philox, for known-answer tests.
  m.def("philox4x32_10", [](std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
    std::array<uint32_t, 4> out{};
    philox4x32_10(counter.data(), key.data(), out.data());
    return py::make_tuple(out[0], out[1], out[2], out[3]);
  }, py::arg("counter"), py::arg("key"));
  m.def("random_bits", [](int64_t n, py::handle seed, py::handle offset) {
    check_int(seed, "random_bits", "seed");
    check_int(offset, "random_bits", "offset");
    const uint64_t s = to_u64(seed), o = to_u64(offset);
    DL_NOGIL;
    return random_bits(n, s, o);
  }, py::arg("n"), py::arg("seed"), py::arg("offset") = 0);

  // Ops on the global generator.
  m.def("uniform", [](py::handle shape, double low, double high, py::handle dtype) {
    Shape s = parse_shape(shape, "uniform");
    DType d = parse_dtype(dtype, "uniform");
    DL_NOGIL;
    return uniform(s, low, high, d);
  }, py::arg("shape"), py::arg("low") = 0.0, py::arg("high") = 1.0, py::arg("dtype") = "float32");
  m.def("normal", [](py::handle shape, double mean, double std, py::handle dtype) {
    Shape s = parse_shape(shape, "normal");
    DType d = parse_dtype(dtype, "normal");
    DL_NOGIL;
    return normal(s, mean, std, d);
  }, py::arg("shape"), py::arg("mean") = 0.0, py::arg("std") = 1.0, py::arg("dtype") = "float32");
  m.def("bernoulli_scalar", [](double p, py::handle shape, py::handle dtype) {
    Shape s = parse_shape(shape, "bernoulli");
    DType d = parse_dtype(dtype, "bernoulli");
    DL_NOGIL;
    return bernoulli_scalar(s, p, d);
  }, py::arg("p"), py::arg("shape"), py::arg("dtype") = "float32");
  m.def("bernoulli", [](py::handle p) {
    Tensor t = as_tensor(p, "bernoulli", "p");
    DL_NOGIL;
    return bernoulli(t);
  }, py::arg("p"));
  m.def("dropout_mask", [](py::handle shape, double p, py::handle dtype) {
    Shape s = parse_shape(shape, "dropout_mask");
    DType d = parse_dtype(dtype, "dropout_mask");
    DL_NOGIL;
    return dropout_mask(s, p, d);
  }, py::arg("shape"), py::arg("p"), py::arg("dtype") = "float32");
  m.def("randint", [](int64_t low, int64_t high, py::handle shape) {
    Shape s = parse_shape(shape, "randint");
    DL_NOGIL;
    return randint(low, high, s);
  }, py::arg("low"), py::arg("high"), py::arg("shape"));
  m.def("randperm", [](int64_t n) {
    DL_NOGIL;
    return randperm(n);
  }, py::arg("n"));
}

}  // namespace dl
