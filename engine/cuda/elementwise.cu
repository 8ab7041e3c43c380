// Elementwise kernels: add, scale, cast (storage conversion), the trainer's finiteness check.
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
// flag = 1 if x holds a NaN or ±Inf; every writer writes the same value (no atomics needed).
__global__ void non_finite_kernel(const float* x, int64_t n, int* flag) {
  CYTOCON_GRID_LOOP(i, n) if (!isfinite(x[i])) *flag = 1;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_f32(a, "add", "a");
  check_f32(b, "add", "b");
  Tensor y = empty_f32(a.shape());
  if (y.numel()) add_kernel<<<blocks_for(y.numel()), kThreads, 0, stream()>>>(fp(a), fp(b), fp(y), y.numel());
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor cast(const Tensor& x, DType dt) {
  check_act(x, "cast", "x");
  check(dt == DType::f32 || dt == DType::bf16,
        std::string("cuda cast: to ") + dtype_name(dt) + ", expected float32 or bfloat16");
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

// One flag per tensor on the device, one copy back: the trainer's check after every step costs a
// few small kernels instead of copying every parameter to the host.
int64_t first_non_finite(const std::vector<Tensor>& ts) {
  if (ts.empty()) return -1;
  Scratch flags(sizeof(int) * ts.size());
  CYTOCON_CUDA_CHECK(cudaMemsetAsync(flags.get(), 0, flags.bytes(), stream()));
  for (size_t i = 0; i < ts.size(); ++i) {
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
