// Elementwise kernels: add, scale, ReLU, the BN running-statistics update, storage conversion,
// the finiteness check.
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) y[i] = a[i] + b[i];
}
__global__ void scale_kernel(const float* a, float s, float* y, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) y[i] = s * a[i];
}
__global__ void relu_kernel(const float* x, float* y, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) y[i] = (x[i] > 0.f || x[i] != x[i]) ? x[i] : 0.f;  // NaN passes, as on the CPU
}
__global__ void relu_backward_kernel(const float* dy, const float* y, float* dx, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}
// flag = 1 if x holds a NaN or ±Inf; every writer writes the same value (no atomics needed).
__global__ void non_finite_kernel(const float* x, int64_t n, int* flag) {
  CYTOCON_GRID_LOOP(i, n) if (!isfinite(x[i])) *flag = 1;
}
// r = (1−m)·r + m·b, rounded as the CPU's (no fused multiply-add): bit-identical
__global__ void running_kernel(float* r, const float* b, float keep, float m, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) r[i] = __fadd_rn(__fmul_rn(keep, r[i]), __fmul_rn(m, b[i]));
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_f32(a, "add", "a");
  check_f32(b, "add", "b");
  check(a.shape() == b.shape(), "cuda add: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) + " differ");
  Tensor y = empty_f32(a.shape());
  if (y.numel()) add_kernel<<<blocks_for(y.numel()), kThreads, 0, stream()>>>(fp(a), fp(b), fp(y), y.numel());
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor convert(const Tensor& x, DType dt) {
  check_act(x, "convert", "x");
  check(dt == DType::f32 || dt == DType::bf16,
        std::string("cuda convert: to ") + dtype_name(dt) + ", expected float32 or bfloat16");
  if (dt == x.dtype()) return x.clone();
  Tensor y = Tensor::empty(x.shape(), dt, Device::cuda);
  const int64_t n = x.numel();
  if (n && dt == DType::bf16)
    convert_kernel<float, bf16><<<blocks_for(n), kThreads, 0, stream()>>>(fp(x), tp<bf16>(y), n);
  else if (n)
    convert_kernel<bf16, float><<<blocks_for(n), kThreads, 0, stream()>>>(tp<bf16>(x), fp(y), n);
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor scale(const Tensor& a, double s) {
  check_f32(a, "scale", "a");
  Tensor y = empty_f32(a.shape());
  if (y.numel())
    scale_kernel<<<blocks_for(y.numel()), kThreads, 0, stream()>>>(fp(a), static_cast<float>(s), fp(y), y.numel());
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor relu_forward(const Tensor& x) {
  check_f32(x, "relu", "x");
  Tensor y = empty_f32(x.shape());
  if (y.numel()) relu_kernel<<<blocks_for(y.numel()), kThreads, 0, stream()>>>(fp(x), fp(y), y.numel());
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  check_f32(dy, "relu_backward", "dy");
  check_f32(y, "relu_backward", "y");
  check(dy.shape() == y.shape(), "cuda relu_backward: dy " + shape_str(dy.shape()) + " vs y " + shape_str(y.shape()));
  Tensor dx = empty_f32(y.shape());
  if (dx.numel())
    relu_backward_kernel<<<blocks_for(dx.numel()), kThreads, 0, stream()>>>(fp(dy), fp(y), fp(dx), dx.numel());
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

void update_running(Tensor& running, const Tensor& batch, double momentum) {
  check_f32(running, "update_running", "running");
  check_f32(batch, "update_running", "batch");
  check(running.shape() == batch.shape(), "cuda update_running: running " + shape_str(running.shape()) +
                                              " vs batch " + shape_str(batch.shape()));
  const int64_t n = running.numel();
  if (n)
    running_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(fp(running), fp(batch),
                                                             1.f - static_cast<float>(momentum),  // as the CPU
                                                             static_cast<float>(momentum), n);
  CYTOCON_CUDA_LAUNCHED();
}

// One flag per tensor on the device, one copy back: the trainer's check after every step costs a
// few small kernels instead of copying every parameter to the host.
int64_t first_non_finite(const std::vector<Tensor>& ts) {
  if (ts.empty()) return -1;
  Scratch flags(sizeof(int) * ts.size());
  CYTOCON_CUDA_CHECK(cudaMemsetAsync(flags.get(), 0, flags.bytes(), stream()));
  for (size_t i = 0; i < ts.size(); ++i) {
    check(ts[i].device() == Device::cuda, "cuda first_non_finite: tensor " + std::to_string(i) + " is on the " +
                                              device_name(ts[i].device()) + ", expected cuda");
    const int64_t n = ts[i].numel();
    if (ts[i].dtype() != DType::f32 || n == 0) continue;
    non_finite_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(fp(ts[i]), n, flags.as<int>() + i);
    CYTOCON_CUDA_LAUNCHED();
  }
  std::vector<int> host(ts.size());
  to_host(host.data(), flags.get(), flags.bytes());
  for (size_t i = 0; i < host.size(); ++i)
    if (host[i]) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace cytocon::cuda
