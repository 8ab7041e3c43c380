// Linear layers (the projection head and the classifier: 128×128, C×128), own kernels rather
// than cuBLAS: the matrices are tiny, and a plain loop per output makes every sum's order fixed
// and independent of the batch size. Weight gradients: one partial per micro-shard (samples in
// order), combined by the fixed tree on the device (reduce.cuh). Every sum runs in the CPU
// reference's order (engine/cpu/linear.cpp) with IEEE-rounded intrinsics (no fused multiply-add),
// so the results are bit-identical to the CPU's.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"
#include "engine/cuda/reduce.cuh"

namespace cytocon::cuda {
namespace {

// y[n,o] = Σ_i x[n,i]·w[o,i] (+ b[o])
__global__ void forward_kernel(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in,
                               int64_t out) {
  CYTOCON_GRID_LOOP(t, n * out) {
    const int64_t o = t % out, s = t / out;
    const float* xr = x + s * in;
    const float* wr = w + o * in;
    float acc = 0.f;
    for (int64_t i = 0; i < in; ++i) acc = __fadd_rn(acc, __fmul_rn(xr[i], wr[i]));
    y[t] = b ? __fadd_rn(acc, b[o]) : acc;
  }
}
// dx[n,i] = Σ_o dy[n,o]·w[o,i]
__global__ void backward_data_kernel(const float* dy, const float* w, float* dx, int64_t n, int64_t in, int64_t out) {
  CYTOCON_GRID_LOOP(t, n * in) {
    const int64_t i = t % in, s = t / in;
    const float* d = dy + s * out;
    float acc = 0.f;
    for (int64_t o = 0; o < out; ++o) acc = __fadd_rn(acc, __fmul_rn(d[o], w[o * in + i]));
    dx[t] = acc;
  }
}
// partials[p][e]: e < out·in: Σ_{n∈shard p} dy[n,o]·x[n,i]; e ≥ out·in (bias): Σ dy[n,o].
__global__ void backward_weight_kernel(const float* x, const float* dy, float* partials, int parts, int64_t per,
                                       int64_t in, int64_t out, int64_t len) {
  CYTOCON_GRID_LOOP(t, parts * len) {
    const int64_t e = t % len, p = t / len;
    const bool bias = e >= out * in;
    const int64_t o = bias ? e - out * in : e / in, i = bias ? 0 : e % in;
    float acc = 0.f;
    for (int64_t s = p * per; s < (p + 1) * per; ++s)
      acc = __fadd_rn(acc, bias ? dy[s * out + o] : __fmul_rn(dy[s * out + o], x[s * in + i]));
    partials[t] = acc;
  }
}

}  // namespace

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_f32(x, "linear_forward", "x");
  check_f32(w, "linear_forward", "w");
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (b.defined()) {
    check_f32(b, "linear_forward", "b");
  }
  Tensor y = empty_f32({n, out});
  if (y.numel())
    forward_kernel<<<blocks_for(y.numel()), kThreads, 0, stream()>>>(fp(x), fp(w), b.defined() ? fp(b) : nullptr,
                                                                    fp(y), n, in, out);
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor linear_backward_data(const Tensor& dy, const Tensor& w) {
  check_f32(dy, "linear_backward_data", "dy");
  check_f32(w, "linear_backward_data", "w");
  const int64_t n = dy.dim(0), out = w.dim(0), in = w.dim(1);
  Tensor dx = empty_f32({n, in});
  if (dx.numel())
    backward_data_kernel<<<blocks_for(dx.numel()), kThreads, 0, stream()>>>(fp(dy), fp(w), fp(dx), n, in, out);
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

void linear_backward_weight(const Tensor& x, const Tensor& dy, bool with_bias, const Shards& sh, Tensor& dw,
                            Tensor& db) {
  check_f32(x, "linear_backward_weight", "x");
  check_f32(dy, "linear_backward_weight", "dy");
  const int64_t n = x.dim(0), in = x.dim(1), out = dy.dim(1), len = out * in + (with_bias ? out : 0);
  const bool fast = sh.mode == ReduceMode::fast || cuda_mode().reduce == ReduceMode::fast;
  const int parts = fast ? 1 : sh.count;
  const int64_t per = parts == 1 ? n : sh.shard_size(n);
  Tensor partials = empty_f32({parts, len});
  backward_weight_kernel<<<blocks_for(parts * len), kThreads, 0, stream()>>>(fp(x), fp(dy), fp(partials), parts, per,
                                                                            in, out, len);
  CYTOCON_CUDA_LAUNCHED();
  if (fast)
    sh.communicator().all_reduce_sum(fp(partials), static_cast<size_t>(len), Device::cuda);
  else
    combine_shards_device(sh, fp(partials), len);
  dw = empty_f32({out, in});
  CYTOCON_CUDA_CHECK(
      cudaMemcpyAsync(fp(dw), fp(partials), sizeof(float) * out * in, cudaMemcpyDeviceToDevice, stream()));
  db = Tensor();
  if (with_bias) {
    db = empty_f32({out});
    CYTOCON_CUDA_CHECK(cudaMemcpyAsync(fp(db), fp(partials) + out * in, sizeof(float) * out,
                                       cudaMemcpyDeviceToDevice, stream()));
  }
}

}  // namespace cytocon::cuda
