// Recurrent layers (vanilla RNN with tanh or ReLU, LSTM with optional projection, GRU), PyTorch's
// gate order and equations, forward and back-propagation through time with the time loop in C++.
//
// The unit of work is one layer in one direction over a whole (time-major) sequence:
//   forward:  G = x W_ih^T + b_ih for all T steps as one GEMM; per step one recurrent GEMM
//             (h W_hh^T + b_hh, accumulated into G's rows of that step unless the cell is a GRU,
//             whose reset gate multiplies the hidden projection alone) and one fused, vectorised
//             gate pass (rnn_cpu.cpp, per ISA) that writes the new state and what backward needs;
//   backward: per step (reverse order) the fused gate-gradient pass and one GEMM for dh_{t-1};
//             then dx, dW_ih, dW_hh, db_* (and dW_hr) for all steps at once, one GEMM each.
// Cells are the same code with T = 1.  Multi-layer / bidirectional / dropout stacks compose these
// layers (python/dlcore/ops/rnn.py): dropout draws from the seeded generator there.
//
// `lengths` (int64, one per batch row) makes a padded batch behave like a packed sequence: at
// step t a row is active iff t < lengths[b]; inactive rows keep their state, output zeros and
// receive no gradient (the reverse direction starts each row at its own last step).
#pragma once
#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace dl {

enum RnnMode : int { kRnnTanh = 0, kRnnRelu = 1, kRnnLstm = 2, kRnnGru = 3 };

// Gates per mode: 1 (rnn), 4 (lstm: i, f, g, o), 3 (gru: r, z, n).
static inline int64_t rnn_gates(int mode) { return mode == kRnnLstm ? 4 : mode == kRnnGru ? 3 : 1; }

// One step's fused gate pass over B rows (kernel "rnn_gates_forward", rnn_cpu.cpp).
struct RnnGateFwdArgs {
  DType dtype;
  int mode;
  int64_t B, H;          // batch rows, hidden size
  int64_t hs;            // state width of h (H, or proj_size for a projected LSTM)
  bool proj;             // LSTM with projection: h_out gets o * tanh(c) (the GEMM with W_hr follows)
  const void* gi;        // (B, G*H) input projection (+ b_ih); for non-GRU modes also + h W_hh^T + b_hh
  const void* gh;        // GRU: (B, 3H) hidden projection incl. b_hh; else unused
  const void* h_prev;    // (B, hs)
  const void* c_prev;    // LSTM: (B, H)
  const uint8_t* active; // (B) or nullptr (all active)
  void* act;             // LSTM (B, 4H) i f g o; GRU (B, 3H) r z n; RNN unused
  void* ghn;             // GRU: (B, H) n-part of the hidden projection (incl. bias), for dr
  void* c_out;           // LSTM: (B, H)
  void* h_out;           // (B, hs) new state; with proj (B, H) o*tanh(c), inactive rows 0
};
using RnnGateFwdFn = void (*)(const RnnGateFwdArgs&);

// One step's fused gate-gradient pass (kernel "rnn_gates_backward").
struct RnnGateBwdArgs {
  DType dtype;
  int mode;
  int64_t B, H, hs;
  const void* dh;        // (B, H) gradient w.r.t. the cell output (o*tanh(c) before projection)
  const void* dstate;    // (B, hs) gradient w.r.t. the state h_t (carried + output)
  const void* dc;        // LSTM: (B, H) gradient w.r.t. c_t (carried)
  const void* act;       // saved activations (see forward)
  const void* h;         // RNN: (B, H) h_t (derivative of the nonlinearity)
  const void* c;         // LSTM: (B, H) c_t
  const void* c_prev;    // LSTM: (B, H)
  const void* h_prev;    // GRU: (B, H)
  const void* ghn;       // GRU: (B, H)
  const uint8_t* active;
  void* dgi;             // (B, G*H) gradient w.r.t. the input projection (pre-activations)
  void* dgh;             // GRU: (B, 3H) gradient w.r.t. the hidden projection (n-part times r)
  void* dc_prev;         // LSTM: (B, H)
  void* dh_prev;         // (B, hs): the direct part of dh_{t-1} (GRU: dh*z; inactive rows: dstate)
};
using RnnGateBwdFn = void (*)(const RnnGateBwdArgs&);

// The recurrent product of every step, C (+)= A W^T (+ bias), with W (N x K) packed once per
// sequence into the GEMM's B panels (kernel "rnn_recurrent_gemm"): a step then streams the
// packed panels instead of re-packing the whole weight.  phase kRnnMatBytes returns the packed
// size in bytes, kRnnMatPack packs w into packed, kRnnMatMultiply multiplies (returns 0).
enum RnnMatPhase : int { kRnnMatBytes = 0, kRnnMatPack = 1, kRnnMatMultiply = 2 };
struct RnnMatArgs {
  DType dtype;
  int phase;
  int64_t M, N, K;
  const void* w;         // W (N, K): element (n, k) at w[n * w_ns + k * w_ks] (kRnnMatPack)
  int64_t w_ns, w_ks;
  void* packed;          // the packed panels (written by kRnnMatPack, read by kRnnMatMultiply)
  const void* a;         // (M, K) row-major, rows a_rs apart
  int64_t a_rs;
  void* c;               // (M, N), rows c_rs apart
  int64_t c_rs;
  bool accumulate;       // C += ... instead of C = ...
  const void* bias;      // (N) or nullptr
};
using RnnMatFn = int64_t (*)(const RnnMatArgs&);

struct RnnLayerWeights {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr;  // b_*, w_hr may be undefined
};

struct RnnLayerOut {
  Tensor y;    // (T, B, hs): outputs, zero at padded steps
  Tensor h_n;  // (B, hs)
  Tensor c_n;  // (B, H) LSTM only
  Tensor ws;   // workspace kept for backward (opaque)
};

struct RnnLayerGrads {
  Tensor dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr;
};

// One layer, one direction.  x (T, B, I); h0 (B, hs); c0 (B, H) for LSTM; lengths int64 (B) or
// undefined.  `op` names the public op in error messages.
RnnLayerOut rnn_layer_forward(int mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                              const RnnLayerWeights& w, const Tensor& lengths, bool reverse, const char* op);
// dy (T, B, hs) or undefined; dh_n (B, hs) or undefined; dc_n (B, H) or undefined.
RnnLayerGrads rnn_layer_backward(int mode, const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n,
                                 const Tensor& x, const Tensor& h0, const Tensor& c0, const RnnLayerWeights& w,
                                 const Tensor& lengths, bool reverse, const Tensor& ws, const char* op);

// Both directions of a bidirectional layer (index 0 forward, 1 reverse), run concurrently on
// two threads when dlcore has 2 or 3 (each direction's kernels then run on one thread: the
// same results, as every kernel's are independent of the thread count); one after the other,
// each on every thread, otherwise.
using RnnPair = std::array<Tensor, 2>;
std::array<RnnLayerOut, 2> rnn_bidir_layer_forward(int mode, const Tensor& x, const RnnPair& h0, const RnnPair& c0,
                                                   const std::array<RnnLayerWeights, 2>& w, const Tensor& lengths,
                                                   const char* op);
std::array<RnnLayerGrads, 2> rnn_bidir_layer_backward(int mode, const RnnPair& dy, const RnnPair& dh_n,
                                                      const RnnPair& dc_n, const Tensor& x, const RnnPair& h0,
                                                      const RnnPair& c0, const std::array<RnnLayerWeights, 2>& w,
                                                      const Tensor& lengths, const RnnPair& ws, const char* op);

}  // namespace dl
