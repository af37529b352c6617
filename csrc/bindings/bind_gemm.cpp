// gemm family: matmul, gemm, linear, linear_backward, fma_peak_gflops.
#include "bindings/common.h"
#include "bindings/int_args.h"
#include "core/parallel.h"
#include "ops/gemm.h"

namespace dl {
namespace {
py::object opt(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }
// Multiply-adds of a product of x and y, near enough to decide whether to release the GIL
// (x's elements times y's last dim; for a transposed y it may be off by K / N).
int64_t products(const Tensor& x, const Tensor& y) { return x.numel() * (y.ndim() > 0 ? y.size(y.ndim() - 1) : 1); }
}  // namespace

void bind_gemm(py::module_& m) {
  // NumPy in, NumPy out (see to_numpy); otherwise a TensorImpl.
  m.def("matmul", [](py::handle a, py::handle b) -> py::object {
    Tensor x = as_tensor(a, "matmul", "a"), y = as_tensor(b, "matmul", "b"), z;
    {
      DL_NOGIL_IF(products(x, y) >= kKeepGilWork);
      z = matmul(x, y);
    }
    if (is_ndarray(a) && is_ndarray(b)) return to_numpy(z);
    return py::cast(std::move(z));
  }, py::arg("a"), py::arg("b"));
  m.def("gemm", [](py::handle a, py::handle b, py::handle c, double alpha, double beta, bool trans_a, bool trans_b) {
    Tensor x = as_tensor(a, "gemm", "a"), y = as_tensor(b, "gemm", "b");
    Tensor z = c.is_none() ? Tensor() : as_tensor(c, "gemm", "c", true);
    DL_NOGIL_IF(products(x, y) >= kKeepGilWork);
    return gemm(x, y, z, alpha, beta, trans_a, trans_b);
  }, py::arg("a"), py::arg("b"), py::arg("c") = py::none(), py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
     py::arg("trans_a") = false, py::arg("trans_b") = false);
  m.def("linear", [](py::handle x, py::handle w, py::handle bias, py::object activation) {
    Tensor tx = as_tensor(x, "linear", "x"), tw = as_tensor(w, "linear", "weight");
    Tensor tb = as_optional_tensor(bias, "linear", "bias");
    std::string act;
    if (!activation.is_none()) {
      if (!py::isinstance<py::str>(activation))
        fail(ErrorKind::Type, "linear", "expected activation None or a str, got ",
             py::str(py::type::handle_of(activation).attr("__name__")).cast<std::string>());
      act = activation.cast<std::string>();
    }
    DL_NOGIL;
    return linear(tx, tw, tb, act);
  }, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("activation") = py::none());
  m.def("linear_backward", [](py::handle g, py::handle x, py::handle w, bool nx, bool nw, bool nb) {
    Tensor tg = as_tensor(g, "linear_backward", "grad_out"), tx = as_tensor(x, "linear_backward", "x"),
           tw = as_tensor(w, "linear_backward", "weight");
    Tensor gx, gw, gb;
    {
      DL_NOGIL;
      linear_backward(tg, tx, tw, nx, nw, nb, &gx, &gw, &gb);
    }
    return py::make_tuple(opt(gx), opt(gw), opt(gb));
  }, py::arg("grad_out"), py::arg("x"), py::arg("weight"), py::arg("need_x") = true, py::arg("need_weight") = true,
     py::arg("need_bias") = true);
  m.def("fma_peak_gflops", [](py::object threads, double seconds) {
    const int64_t want = threads.is_none() ? num_threads() : int_arg(threads, "fma_peak_gflops", "threads");
    check_thread_count(want, "fma_peak_gflops");  // before narrowing to int
    const int n = static_cast<int>(want);
    DL_NOGIL;
    return fma_peak_gflops(n, seconds);
  }, py::arg("threads") = py::none(), py::arg("seconds") = 0.2,
     "This machine's measured peak (float32 GFLOP/s) of a register-only FMA loop for the active ISA.");
}

}  // namespace dl
