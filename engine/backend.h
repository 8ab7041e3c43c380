// One dispatch point per op (as dlib's tensor_tools): the autograd layer (engine/ops.h) calls
// backend(device).<kernel>(...). engine/cpu/ implements the reference; engine/cuda/ the GPU; both
// through one forwarding table (engine/backend_table.inc) that checks the arguments
// (engine/op_checks.h) and calls the kernel of the same name (engine/kernels.inc).
// Kernels take and return whole tensors; element type f32 everywhere, f64 too on the CPU
// (gradient checks), bf16 activations on the GPU in precision bf16 (conv, BatchNorm, max-pool). Layouts: activations NHWC, conv weights OHWI [Cout,k,k,Cin], linear [out,in].
//
// Reductions over samples go through `sh` (engine/shards.h): every parameter gradient and every
// BN statistic a kernel returns is the GLOBAL value (all ranks), combined along the fixed tree.
#pragma once
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // ---- elementwise ----
  virtual Tensor add(const Tensor& a, const Tensor& b) = 0;     // a + b
  virtual Tensor scale(const Tensor& a, double s) = 0;          // s * a
  // x in another storage type (the GPU's float32 <-> bfloat16 activations; any pair on the CPU).
  virtual Tensor cast(const Tensor& x, DType dt) = 0;

  // ---- conv2d, valid, no bias: y[n,i,j,o] = Σ_{p,q,c} x[n, s·i+p, s·j+q, c] · w[o,p,q,c] ----
  virtual Tensor conv2d_forward(const Tensor& x, const Tensor& w, int stride) = 0;
  virtual Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride) = 0;
  virtual Tensor conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride,
                                        const Shards& sh) = 0;

  // ---- BatchNorm over all dims but the last (channels): [N,C] or NHWC [N,H,W,C] ----
  // Training: global mean and biased variance (merge_moments); y = γ·(x−μ)·invstd + β.
  // Also returns mean, invstd ([C]) for backward and the unbiased variance for running stats.
  virtual void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                        const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd,
                                        Tensor& var_unbiased) = 0;
  virtual Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                          const Tensor& running_mean, const Tensor& running_var, double eps) = 0;
  // dx, dγ = Σ dy·x̂, dβ = Σ dy (global sums).
  virtual void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                   const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma,
                                   Tensor& dbeta) = 0;
  // BatchNorm followed by ReLU, fused (docs/math.md "BatchNorm + ReLU"): y = max(0, BN(x)), a NaN
  // passing through as in relu_forward; the BN output is never stored. The same arguments and
  // results as the batch_norm_* above, and on the CPU the same bits as those followed by relu_*.
  virtual void batch_norm_relu_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                             const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd,
                                             Tensor& var_unbiased) = 0;
  virtual Tensor batch_norm_relu_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                               const Tensor& running_mean, const Tensor& running_var,
                                               double eps) = 0;
  // batch_norm_backward with dz = dy·[y > 0] in place of dy (y: the fused forward's output),
  // masked on the fly: dx, dγ = Σ dz·x̂, dβ = Σ dz.
  virtual void batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                                        const Tensor& mean, const Tensor& invstd, const Shards& sh, Tensor& dx,
                                        Tensor& dgamma, Tensor& dbeta) = 0;
  // running = (1−m)·running + m·batch, in place.
  virtual void update_running(Tensor& running, const Tensor& batch, double momentum) = 0;

  // ---- ReLU ----
  virtual Tensor relu_forward(const Tensor& x) = 0;
  virtual Tensor relu_backward(const Tensor& dy, const Tensor& y) = 0;  // dy·[y>0]

  // ---- max-pool 2×2, stride 2, floor: NHWC ----
  virtual Tensor max_pool2d_forward(const Tensor& x) = 0;
  // Gradient to the first maximum in row-major window order (p,q) = (0,0),(0,1),(1,0),(1,1).
  virtual Tensor max_pool2d_backward(const Tensor& dy, const Tensor& x) = 0;

  // ---- linear: y = x·wᵀ (+ b); x [N,in], w [out,in], b [out] or undefined ----
  virtual Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) = 0;
  virtual Tensor linear_backward_data(const Tensor& dy, const Tensor& w) = 0;
  // dw = Σ_n dyₙ xₙᵀ, db = Σ_n dyₙ (db only when `with_bias`), global sums.
  virtual void linear_backward_weight(const Tensor& x, const Tensor& dy, bool with_bias, const Shards& sh,
                                      Tensor& dw, Tensor& db) = 0;

  // ---- row-wise l2 normalisation: z = x / max(‖x‖₂, eps) ----
  virtual Tensor l2_normalize_forward(const Tensor& x, double eps) = 0;
  virtual Tensor l2_normalize_backward(const Tensor& dz, const Tensor& x, const Tensor& z, double eps) = 0;

  // ---- supervised contrastive loss (docs/design.md eqs. 1–2) on the full global batch ----
  // z [N,D] normalised rows, labels int32 [N]. Returns the loss (shape [1]) and dL/dz.
  virtual Tensor supcon_loss_forward(const Tensor& z, const Tensor& labels, double tau) = 0;
  virtual Tensor supcon_loss_backward(const Tensor& z, const Tensor& labels, double tau, double dloss) = 0;

  // ---- softmax cross-entropy, mean over the GLOBAL batch (sh.global_n) ----
  virtual Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh) = 0;
  virtual Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Shards& sh,
                                        double dloss) = 0;

  // ---- optimiser steps (engine/optim/ holds the policy; these are the element loops) ----
  // LARS, SimCLR's "classic momentum" (docs/design.md). adapt=true (weights):
  //   g' = g + wd·w; trust = η‖w‖/‖g'‖ if both norms > 0 else 1; v = m·v + lr·trust·g'; w -= v.
  // adapt=false (BN γ/β, biases): v = m·v + lr·g; w -= v. Norms are summed in a fixed order.
  struct LarsArgs {
    double lr, momentum, weight_decay, eta;
    bool adapt;
  };
  virtual void lars_step(Tensor& w, const Tensor& g, Tensor& v, const LarsArgs& a) = 0;
  // SGD with momentum: v = m·v + (g + wd·w); w -= lr·v  (PyTorch's convention).
  virtual void sgd_step(Tensor& w, const Tensor& g, Tensor& v, double lr, double momentum,
                        double weight_decay) = 0;

  // ---- top-k class indices, int32 [N,k]; ties go to the lower class index ----
  virtual Tensor topk(const Tensor& scores, int k) = 0;

  // ---- the trainer's divergence check ----
  // Index of the first tensor in ts holding a NaN or ±Inf, or −1 (float32 tensors are checked,
  // others skipped). On the GPU one flag per tensor comes back to the host, not the tensors.
  virtual int64_t first_non_finite(const std::vector<Tensor>& ts) = 0;
};

Backend& backend(Device d);
Backend& backend_of(const Tensor& t);
void register_backend(Device d, Backend* b);  // the CUDA backend registers itself at start-up
// True when a CUDA device is usable (cudaGetDeviceCount succeeds and reports ≥ 1).
bool cuda_available();

}  // namespace cytocon
