// 2×2 max-pool, stride 2, floor, NHWC. The gradient goes to the first maximum of the window in
// row-major order (0,0),(0,1),(1,0),(1,1) — the CPU reference's rule. Windows do not overlap, so
// the backward pass writes each input element at most once (no atomics). Storage T: float32, or
// bfloat16 activations in precision bf16 (a maximum is exact in either).
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon::cuda {
namespace {

// Index (0..3) of the first maximum of the window whose top-left input element is at `base`.
template <class T, class I>
__device__ inline int first_max(const T* x, I base, I row, I col) {
  const float v[4] = {ld(x[base]), ld(x[base + col]), ld(x[base + row]), ld(x[base + row + col])};
  int best = 0;
  for (int t = 1; t < 4; ++t)
    if (v[t] > v[best]) best = t;
  return best;
}

// I: the index type — 32-bit when the tensor allows it (integer division is the main cost of
// these memory-bound kernels), 64-bit otherwise.
template <class I>
struct Window {
  I base, col, row;
  __device__ Window(I t, I h, I w, I c) {
    const I oh = h / 2, ow = w / 2;
    I q = t / c;
    const I ch = t - q * c;
    const I j = q % ow;
    q /= ow;
    const I i = q % oh, b = q / oh;
    base = ((b * h + 2 * i) * w + 2 * j) * c + ch;
    col = c;
    row = w * c;
  }
};

template <class T, class I>
__global__ void pool_forward(const T* x, T* y, I total, I h, I w, I c) {
  for (I t = blockIdx.x * I(blockDim.x) + threadIdx.x; t < total; t += I(gridDim.x) * blockDim.x) {
    const Window<I> v(t, h, w, c);
    const int k = first_max(x, v.base, v.row, v.col);
    y[t] = x[v.base + (k >> 1) * v.row + (k & 1) * v.col];
  }
}

template <class T, class I>
__global__ void pool_backward(const T* dy, const T* x, T* dx, I total, I h, I w, I c) {
  for (I t = blockIdx.x * I(blockDim.x) + threadIdx.x; t < total; t += I(gridDim.x) * blockDim.x) {
    const Window<I> v(t, h, w, c);
    const int k = first_max(x, v.base, v.row, v.col);
    const T zero = st<T>(0.f);
    dx[v.base] = zero;
    dx[v.base + v.col] = zero;
    dx[v.base + v.row] = zero;
    dx[v.base + v.row + v.col] = zero;
    dx[v.base + (k >> 1) * v.row + (k & 1) * v.col] = dy[t];
  }
}

bool fits_32(const Tensor& x) { return x.numel() < (int64_t(1) << 31); }

template <class T>
Tensor forward(const Tensor& x) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y = Tensor::empty({n, h / 2, w / 2, c}, x.dtype(), Device::cuda);
  if (y.numel() && fits_32(x))
    pool_forward<T, uint32_t><<<blocks_for(y.numel()), kThreads, 0, stream()>>>(
        tp<T>(x), tp<T>(y), uint32_t(y.numel()), uint32_t(h), uint32_t(w), uint32_t(c));
  else if (y.numel())
    pool_forward<T, int64_t><<<blocks_for(y.numel()), kThreads, 0, stream()>>>(tp<T>(x), tp<T>(y), y.numel(), h, w,
                                                                              c);
  CYTOCON_CUDA_LAUNCHED();
  return y;
}

template <class T>
Tensor backward(const Tensor& dy, const Tensor& x) {
  const int64_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
  // Zero first: the odd last row/column (floor) never receives a gradient.
  Tensor dx = ((h | w) & 1) ? Tensor::zeros(x.shape(), x.dtype(), Device::cuda)
                            : Tensor::empty(x.shape(), x.dtype(), Device::cuda);
  if (dy.numel() && fits_32(x))
    pool_backward<T, uint32_t><<<blocks_for(dy.numel()), kThreads, 0, stream()>>>(
        tp<T>(dy), tp<T>(x), tp<T>(dx), uint32_t(dy.numel()), uint32_t(h), uint32_t(w), uint32_t(c));
  else if (dy.numel())
    pool_backward<T, int64_t><<<blocks_for(dy.numel()), kThreads, 0, stream()>>>(tp<T>(dy), tp<T>(x), tp<T>(dx),
                                                                                 dy.numel(), h, w, c);
  CYTOCON_CUDA_LAUNCHED();
  return dx;
}

}  // namespace

Tensor max_pool2d_forward(const Tensor& x) {
  return by_storage(x, "max_pool2d_forward", "x", [&](auto t) { return forward<decltype(t)>(x); });
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& x) {
  return by_storage(x, "max_pool2d_backward", "x", [&](auto t) { return backward<decltype(t)>(dy, x); });
}

}  // namespace cytocon::cuda
