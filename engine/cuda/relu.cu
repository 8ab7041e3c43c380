// ReLU: y = max(x, 0), a NaN passing through as on the CPU; backward dx = dy·[y > 0].
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

__global__ void relu_kernel(const float* x, float* y, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) y[i] = (x[i] > 0.f || x[i] != x[i]) ? x[i] : 0.f;  // NaN passes, as on the CPU
}
__global__ void relu_backward_kernel(const float* dy, const float* y, float* dx, int64_t n) {
  CYTOCON_GRID_LOOP(i, n) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

}  // namespace

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
  Tensor dx = empty_f32(y.shape());
  if (dx.numel())
    relu_backward_kernel<<<blocks_for(dx.numel()), kThreads, 0, stream()>>>(fp(dy), fp(y), fp(dx), dx.numel());
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

}  // namespace cytocon::cuda
