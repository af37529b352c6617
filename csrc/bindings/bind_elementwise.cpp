// Bindings of the elementwise family: argument conversion only.
#include <string>

#include "bindings/common.h"
#include "ops/elementwise.h"

namespace dl {
namespace {

// Python numbers are "weak" operands for type promotion (see EwOperand), and so are NumPy scalars
// (np.float32(2), np.int8(3)): PyTorch reads those as Python numbers too.  Exact type checks: a
// Python float is held in float64 until it is promoted.
EwOperand operand(py::handle obj, const char* op, const char* arg) {
  static PyObject* np_generic = py::object(py::module_::import("numpy").attr("generic")).release().ptr();
  EwOperand o;
  PyObject* p = obj.ptr();
  if (PyBool_Check(p)) {
    o.t = Tensor::empty({}, DType::Bool, cpu_device(), op);
    *o.t.data<bool>() = obj.cast<bool>();
    o.python_scalar = true;
  } else if (PyFloat_CheckExact(p)) {
    o.t = Tensor::empty({}, DType::Float64, cpu_device(), op);  // full precision until promoted
    *o.t.data<double>() = obj.cast<double>();
    o.python_scalar = true;
  } else if (PyLong_CheckExact(p)) {
    o.t = as_tensor(obj, op, arg);
    o.python_scalar = true;
  } else if (PyObject_IsInstance(p, np_generic) == 1) {
    return operand(obj.attr("item")(), op, arg);  // a NumPy scalar: its Python number
  } else {
    o.t = as_tensor(obj, op, arg);
  }
  return o;
}

struct Named {
  const char* name;
  EwOp op;
};

}  // namespace

void bind_elementwise(py::module_& m) {
  static const Named binary[] = {
      {"add", EwOp::Add},   {"sub", EwOp::Sub},         {"mul", EwOp::Mul},         {"div", EwOp::Div},
      {"pow", EwOp::Pow},   {"maximum", EwOp::Maximum}, {"minimum", EwOp::Minimum}, {"eq", EwOp::Eq},
      {"ne", EwOp::Ne},     {"lt", EwOp::Lt},           {"le", EwOp::Le},           {"gt", EwOp::Gt},
      {"ge", EwOp::Ge},     {"floor_divide", EwOp::FloorDivide}, {"remainder", EwOp::Remainder},
      {"fmod", EwOp::Fmod}, {"bitwise_and", EwOp::BitAnd},   {"bitwise_or", EwOp::BitOr},
      {"bitwise_xor", EwOp::BitXor},
  };
  for (const Named& b : binary) {
    m.def(b.name, [b](py::handle x, py::handle y) {
      EwOperand a = operand(x, b.name, "a"), c = operand(y, b.name, "b");
      DL_NOGIL_IF(a.t.numel() >= kKeepGilWork || c.t.numel() >= kKeepGilWork);
      return ew_binary(b.op, a, c, b.name);
    }, py::arg("a"), py::arg("b"));
  }

  static const Named unary[] = {
      {"neg", EwOp::Neg},       {"abs", EwOp::Abs},         {"exp", EwOp::Exp},   {"log", EwOp::Log},
      {"sqrt", EwOp::Sqrt},     {"rsqrt", EwOp::Rsqrt},     {"tanh", EwOp::Tanh}, {"sigmoid", EwOp::Sigmoid},
      {"relu", EwOp::Relu},     {"silu", EwOp::Silu},       {"bitwise_not", EwOp::BitNot},
  };
  for (const Named& u : unary) {
    m.def(u.name, [u](py::handle x) {
      Tensor t = as_tensor(x, u.name, "x");
      DL_NOGIL_IF(t.numel() >= kKeepGilWork);
      return ew_unary(u.op, t, u.name);
    }, py::arg("x"));
  }
  static const Named backward[] = {
      {"neg_backward", EwOp::NegBackward},       {"abs_backward", EwOp::AbsBackward},
      {"exp_backward", EwOp::ExpBackward},       {"log_backward", EwOp::LogBackward},
      {"sqrt_backward", EwOp::SqrtBackward},     {"rsqrt_backward", EwOp::RsqrtBackward},
      {"tanh_backward", EwOp::TanhBackward},     {"sigmoid_backward", EwOp::SigmoidBackward},
      {"relu_backward", EwOp::ReluBackward},     {"silu_backward", EwOp::SiluBackward},
  };
  for (const Named& u : backward) {
    m.def(u.name, [u](py::handle g, py::handle x) {
      Tensor tg = as_tensor(g, u.name, "grad"), tx = as_tensor(x, u.name, "x");
      DL_NOGIL;
      return ew_unary_backward(u.op, tg, tx, u.name);
    }, py::arg("grad"), py::arg("x"));
  }

  m.def("leaky_relu", [](py::handle x, double slope) {
    Tensor t = as_tensor(x, "leaky_relu", "x");
    DL_NOGIL;
    return ew_unary(EwOp::LeakyRelu, t, "leaky_relu", slope);
  }, py::arg("x"), py::arg("negative_slope") = 0.01);
  m.def("leaky_relu_backward", [](py::handle g, py::handle x, double slope) {
    Tensor tg = as_tensor(g, "leaky_relu_backward", "grad"), tx = as_tensor(x, "leaky_relu_backward", "x");
    DL_NOGIL;
    return ew_unary_backward(EwOp::LeakyReluBackward, tg, tx, "leaky_relu_backward", slope);
  }, py::arg("grad"), py::arg("x"), py::arg("negative_slope") = 0.01);

  m.def("gelu", [](py::handle x, const std::string& approximate) {
    DL_CHECK(approximate == "none" || approximate == "tanh", Value, "gelu",
             "expected approximate='none' or 'tanh', got '", approximate, "'");
    Tensor t = as_tensor(x, "gelu", "x");
    DL_NOGIL;
    return ew_unary(approximate == "tanh" ? EwOp::GeluTanh : EwOp::GeluErf, t, "gelu");
  }, py::arg("x"), py::arg("approximate") = "none");
  m.def("gelu_backward", [](py::handle g, py::handle x, const std::string& approximate) {
    DL_CHECK(approximate == "none" || approximate == "tanh", Value, "gelu_backward",
             "expected approximate='none' or 'tanh', got '", approximate, "'");
    Tensor tg = as_tensor(g, "gelu_backward", "grad"), tx = as_tensor(x, "gelu_backward", "x");
    DL_NOGIL;
    return ew_unary_backward(approximate == "tanh" ? EwOp::GeluTanhBackward : EwOp::GeluErfBackward, tg, tx,
                             "gelu_backward");
  }, py::arg("grad"), py::arg("x"), py::arg("approximate") = "none");

  m.def("softplus", [](py::handle x, double beta, double threshold) {
    DL_CHECK(beta != 0.0, Value, "softplus", "expected a nonzero beta, got 0");
    Tensor t = as_tensor(x, "softplus", "x");
    DL_NOGIL;
    return ew_unary(EwOp::Softplus, t, "softplus", beta, threshold);
  }, py::arg("x"), py::arg("beta") = 1.0, py::arg("threshold") = 20.0);
  m.def("softplus_backward", [](py::handle g, py::handle x, double beta, double threshold) {
    Tensor tg = as_tensor(g, "softplus_backward", "grad"), tx = as_tensor(x, "softplus_backward", "x");
    DL_NOGIL;
    return ew_unary_backward(EwOp::SoftplusBackward, tg, tx, "softplus_backward", beta, threshold);
  }, py::arg("grad"), py::arg("x"), py::arg("beta") = 1.0, py::arg("threshold") = 20.0);

  m.def("where", [](py::handle cond, py::handle x, py::handle y) {
    Tensor c = as_tensor(cond, "where", "condition");
    EwOperand a = operand(x, "where", "x"), b = operand(y, "where", "y");
    DL_NOGIL;
    return ew_where(c, a, b);
  }, py::arg("condition"), py::arg("x"), py::arg("y"));
  m.def("pow_backward", [](py::handle g, py::handle x, py::handle y) {
    Tensor tg = as_tensor(g, "pow_backward", "grad");
    EwOperand a = operand(x, "pow_backward", "a"), b = operand(y, "pow_backward", "b");
    DL_NOGIL;
    return ew_pow_backward(tg, a, b);  // converted to a tuple after the GIL is back
  }, py::arg("grad"), py::arg("a"), py::arg("b"));
  m.def("cast", [](py::handle x, py::handle dtype) {
    Tensor t = as_tensor(x, "cast", "x");
    const DType to = parse_dtype(dtype, "cast");
    DL_NOGIL_IF(t.numel() >= kKeepGilWork);
    return ew_cast(t, to, "cast");
  }, py::arg("x"), py::arg("dtype"), "x converted to dtype (x itself when it already has it).");
  m.def("result_type", [](py::handle x, py::handle y) {
    return std::string(dtype_name(ew_result_type(operand(x, "result_type", "a"), operand(y, "result_type", "b"))));
  }, py::arg("a"), py::arg("b"), "dtype name of combining a and b (PyTorch promotion, weak Python scalars).");
}

}  // namespace dl
