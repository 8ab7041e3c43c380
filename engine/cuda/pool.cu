// 2×2 max-pool, stride 2, floor, NHWC. The gradient goes to the first maximum of the window in
// row-major order (0,0),(0,1),(1,0),(1,1) — the CPU reference's rule. Windows do not overlap, so
// the backward pass writes each input element at most once (no atomics).
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

// Index (0..3) of the first maximum of the window whose top-left input element is at `base`.
__device__ inline int first_max(const float* x, int64_t base, int64_t row, int64_t col) {
  const float v[4] = {x[base], x[base + col], x[base + row], x[base + row + col]};
  int best = 0;
  for (int t = 1; t < 4; ++t)
    if (v[t] > v[best]) best = t;
  return best;
}

__global__ void pool_forward(const float* x, float* y, int64_t n, int64_t h, int64_t w, int64_t c) {
  const int64_t oh = h / 2, ow = w / 2, total = n * oh * ow * c;
  CYTOCON_GRID_LOOP(t, total) {
    const int64_t ch = t % c, j = (t / c) % ow, i = (t / (c * ow)) % oh, b = t / (c * ow * oh);
    const int64_t base = ((b * h + 2 * i) * w + 2 * j) * c + ch, col = c, row = w * c;
    const int k = first_max(x, base, row, col);
    y[t] = x[base + (k >> 1) * row + (k & 1) * col];
  }
}

__global__ void pool_backward(const float* dy, const float* x, float* dx, int64_t n, int64_t h, int64_t w,
                              int64_t c) {
  const int64_t oh = h / 2, ow = w / 2, total = n * oh * ow * c;
  CYTOCON_GRID_LOOP(t, total) {
    const int64_t ch = t % c, j = (t / c) % ow, i = (t / (c * ow)) % oh, b = t / (c * ow * oh);
    const int64_t base = ((b * h + 2 * i) * w + 2 * j) * c + ch, col = c, row = w * c;
    const int k = first_max(x, base, row, col);
    dx[base] = 0.f;
    dx[base + col] = 0.f;
    dx[base + row] = 0.f;
    dx[base + row + col] = 0.f;
    dx[base + (k >> 1) * row + (k & 1) * col] = dy[t];
  }
}

void check_input(const Tensor& x, const char* op) {
  check_f32(x, op, "x");
  check(x.ndim() == 4, std::string("cuda ") + op + ": x must be NHWC [N,H,W,C], got " + shape_str(x.shape()));
}

}  // namespace

Tensor max_pool_forward(const Tensor& x) {
  check_input(x, "max_pool_forward");
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y = empty_f32({n, h / 2, w / 2, c});
  if (y.numel()) pool_forward<<<blocks_for(y.numel()), kThreads, 0, stream()>>>(fp(x), fp(y), n, h, w, c);
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

Tensor max_pool_backward(const Tensor& dy, const Tensor& x) {
  check_input(x, "max_pool_backward");
  check_f32(dy, "max_pool_backward", "dy");
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  check(dy.shape() == Shape({n, h / 2, w / 2, c}),
        "cuda max_pool_backward: dy " + shape_str(dy.shape()) + ", expected " + shape_str({n, h / 2, w / 2, c}));
  // Zero first: the odd last row/column (floor) never receives a gradient.
  Tensor dx = ((h | w) & 1) ? zeros_f32(x.shape()) : empty_f32(x.shape());
  if (dy.numel())
    pool_backward<<<blocks_for(dy.numel()), kThreads, 0, stream()>>>(fp(dy), fp(x), fp(dx), n, h, w, c);
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

}  // namespace cytocon::cuda
