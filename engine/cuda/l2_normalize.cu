// Row-wise l2 normalisation z = x / max(‖x‖₂, eps), one thread per row (D = 128: the rows are
// short). Sums in column order with IEEE-rounded intrinsics, as engine/cpu/l2_normalize.cpp:
// bit-identical to the CPU.
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

__device__ inline float row_norm(const float* r, int64_t d) {
  float s = 0.f;
  for (int64_t i = 0; i < d; ++i) s = __fadd_rn(s, __fmul_rn(r[i], r[i]));
  return __fsqrt_rn(s);
}

__global__ void forward_kernel(const float* x, float* z, int64_t n, int64_t d, float eps) {
  CYTOCON_GRID_LOOP(row, n) {
    const float* xr = x + row * d;
    const float norm = row_norm(xr, d), den = norm > eps ? norm : eps;
    for (int64_t i = 0; i < d; ++i) z[row * d + i] = __fdiv_rn(xr[i], den);
  }
}
// ‖x‖ > eps: dx = (dz − z·(z·dz)) / ‖x‖;  otherwise z = x/eps and dx = dz/eps.
__global__ void backward_kernel(const float* dz, const float* x, const float* z, float* dx, int64_t n, int64_t d,
                                float eps) {
  CYTOCON_GRID_LOOP(row, n) {
    const float* zr = z + row * d;
    const float* gr = dz + row * d;
    const float norm = row_norm(x + row * d, d);
    if (norm > eps) {
      float dot = 0.f;
      for (int64_t i = 0; i < d; ++i) dot = __fadd_rn(dot, __fmul_rn(zr[i], gr[i]));
      for (int64_t i = 0; i < d; ++i) dx[row * d + i] = __fdiv_rn(__fsub_rn(gr[i], __fmul_rn(zr[i], dot)), norm);
    } else {
      for (int64_t i = 0; i < d; ++i) dx[row * d + i] = __fdiv_rn(gr[i], eps);
    }
  }
}

}  // namespace

Tensor l2_normalize_forward(const Tensor& x, double eps) {
  check_f32(x, "l2_normalize_forward", "x");
  Tensor z = empty_f32(x.shape());
  if (x.numel())
    forward_kernel<<<blocks_for(x.dim(0), 64), 64, 0, stream()>>>(fp(x), fp(z), x.dim(0), x.dim(1), float(eps));
  CYTOCON_CUDA_LAUNCHED();
  return z;
}

Tensor l2_normalize_backward(const Tensor& dz, const Tensor& x, const Tensor& z, double eps) {
  check_f32(dz, "l2_normalize_backward", "dz");
  check_f32(x, "l2_normalize_backward", "x");
  check_f32(z, "l2_normalize_backward", "z");
  Tensor dx = empty_f32(x.shape());
  if (x.numel())
    backward_kernel<<<blocks_for(x.dim(0), 64), 64, 0, stream()>>>(fp(dz), fp(x), fp(z), fp(dx), x.dim(0), x.dim(1),
                                                                  float(eps));
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

}  // namespace cytocon::cuda
