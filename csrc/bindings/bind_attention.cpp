// Bindings of scaled_dot_product_attention (argument conversion only).  The Python layer
// (dlcore.ops.attention) folds broadcast dims and passes the canonical 4-d operands.
#include "bindings/common.h"
#include "ops/attention.h"

namespace dl {
namespace {

AttnOptions options(py::handle mask, py::handle mask_off, int64_t mask_rs, int64_t mask_cs, py::handle alibi,
                    bool causal, py::handle scale, double dropout_p, uint64_t seed, const char* op) {
  AttnOptions o;
  o.mask = as_optional_tensor(mask, op, "attn_mask");
  o.mask_off = as_optional_tensor(mask_off, op, "mask_offsets");
  o.mask_rs = mask_rs;
  o.mask_cs = mask_cs;
  o.alibi = as_optional_tensor(alibi, op, "alibi_slopes");
  o.causal = causal;
  o.has_scale = !scale.is_none();
  if (o.has_scale) o.scale = scale.cast<double>();
  o.dropout_p = dropout_p;
  o.seed = seed;
  return o;
}

}  // namespace

void bind_attention(py::module_& m) {
  m.def("sdpa_forward", [](py::handle q, py::handle k, py::handle v, py::handle mask, py::handle mask_off,
                           int64_t mask_rs, int64_t mask_cs, py::handle alibi, bool causal, py::handle scale,
                           double dropout_p, uint64_t seed) {
    const char* op = "scaled_dot_product_attention";
    Tensor tq = as_tensor(q, op, "query"), tk = as_tensor(k, op, "key"), tv = as_tensor(v, op, "value");
    AttnOptions o = options(mask, mask_off, mask_rs, mask_cs, alibi, causal, scale, dropout_p, seed, op);
    DL_NOGIL;
    return sdpa_forward(tq, tk, tv, o);
  }, "(out, logsumexp) of canonical (B, H, L, E) operands; see dlcore.ops.scaled_dot_product_attention.");
  m.def("sdpa_backward", [](py::handle g, py::handle q, py::handle k, py::handle v, py::handle out,
                            py::handle lse, py::handle mask, py::handle mask_off, int64_t mask_rs, int64_t mask_cs,
                            py::handle alibi, bool causal, py::handle scale, double dropout_p, uint64_t seed) {
    const char* op = "scaled_dot_product_attention_backward";
    Tensor tg = as_tensor(g, op, "grad_out"), tq = as_tensor(q, op, "query"), tk = as_tensor(k, op, "key");
    Tensor tv = as_tensor(v, op, "value"), to = as_tensor(out, op, "out"), tl = as_tensor(lse, op, "logsumexp");
    AttnOptions o = options(mask, mask_off, mask_rs, mask_cs, alibi, causal, scale, dropout_p, seed, op);
    DL_NOGIL;
    return sdpa_backward(tg, tq, tk, tv, to, tl, o);  // converted after the GIL is back
  }, "(grad_q, grad_k, grad_v); see dlcore.ops.scaled_dot_product_attention_backward.");
  m.def("sdpa_last_workspace_bytes", &sdpa_last_workspace_bytes,
        "Scratch bytes of this thread's most recent attention call (independent of L x S).");
}

}  // namespace dl
