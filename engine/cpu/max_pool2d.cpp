// Max-pool 2×2, stride 2, floor, NHWC: x [n,h,w,c] → y [n,h/2,w/2,c] (integer division).
// y[n,i,j,c] = max_{p,q∈{0,1}} x[n,2i+p,2j+q,c]. Backward sends dy to the FIRST maximum in
// row-major window order (0,0),(0,1),(1,0),(1,1); windows do not overlap, so every input gets at
// most one value and the rows/columns cut off by the floor get zero.
#include <algorithm>

#include "engine/cpu/dispatch.h"
#include "engine/cpu/kernels.h"

namespace cytocon::cpu {

struct PoolGeom {
  int64_t n, h, w, c;
  int64_t oh() const { return h / 2; }
  int64_t ow() const { return w / 2; }
};

template <class T>
void max_pool2d_forward(const PoolGeom& g, const T* x, T* y) {
  const int64_t oh = g.oh(), ow = g.ow(), C = g.c, row = g.w * C;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < oh; ++i) {
      const T* x0 = x + (n * g.h + 2 * i) * row;  // input row 2i
      const T* x1 = x0 + row;                     // input row 2i+1
      T* yr = y + (n * oh + i) * ow * C;
      for (int64_t j = 0; j < ow; ++j) {
        const T* a = x0 + 2 * j * C;
        const T* b = x1 + 2 * j * C;
        T* o = yr + j * C;
        for (int64_t c = 0; c < C; ++c) {
          // Same comparison order as the backward's first-maximum rule.
          T m = a[c];
          m = a[C + c] > m ? a[C + c] : m;
          m = b[c] > m ? b[c] : m;
          m = b[C + c] > m ? b[C + c] : m;
          o[c] = m;
        }
      }
    }
}

namespace {
// One row of windows' channels: x positions (0,0),(0,1),(1,0),(1,1) are x00..x11, their gradient
// slots g00..g11. The maximum m as in the forward; the first position holding m takes dy
// (branch-free, so the channel loop vectorises); this is the strict-'>' first-maximum rule.
template <class T>
inline void window_backward(int64_t C, const T* __restrict x00, const T* __restrict x01, const T* __restrict x10,
                            const T* __restrict x11, const T* __restrict d, T* __restrict g00, T* __restrict g01,
                            T* __restrict g10, T* __restrict g11) {
  for (int64_t c = 0; c < C; ++c) {
    T m = x00[c];
    m = x01[c] > m ? x01[c] : m;
    m = x10[c] > m ? x10[c] : m;
    m = x11[c] > m ? x11[c] : m;
    // r: the part of dy not yet given to an earlier position.
    T r = d[c];
    g00[c] = x00[c] == m ? r : T(0);
    r = x00[c] == m ? T(0) : r;
    g01[c] = x01[c] == m ? r : T(0);
    r = x01[c] == m ? T(0) : r;
    g10[c] = x10[c] == m ? r : T(0);
    r = x10[c] == m ? T(0) : r;
    g11[c] = r;
  }
}
}  // namespace

template <class T>
void max_pool2d_backward(const PoolGeom& g, const T* dy, const T* x, T* dx) {
  const int64_t oh = g.oh(), ow = g.ow(), C = g.c, row = g.w * C;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t i = 0; i < oh; ++i) {
      const T* x0 = x + (n * g.h + 2 * i) * row;
      const T* x1 = x0 + row;
      T* d0 = dx + (n * g.h + 2 * i) * row;
      T* d1 = d0 + row;
      const T* dyr = dy + (n * oh + i) * ow * C;
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t o = 2 * j * C;
        window_backward(C, x0 + o, x0 + o + C, x1 + o, x1 + o + C, dyr + j * C, d0 + o, d0 + o + C, d1 + o, d1 + o + C);
      }
      // An odd width leaves the last column of both rows outside every window.
      if (g.w % 2) {
        std::fill(d0 + 2 * ow * C, d0 + row, T(0));
        std::fill(d1 + 2 * ow * C, d1 + row, T(0));
      }
    }
  // An odd height leaves the last row of every image outside every window.
  if (g.h % 2)
    for (int64_t n = 0; n < g.n; ++n) std::fill(dx + (n * g.h + g.h - 1) * row, dx + (n * g.h + g.h) * row, T(0));
}

Tensor max_pool2d_forward(const Tensor& x) {
  const PoolGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3)};
  Tensor y = Tensor::empty({g.n, g.oh(), g.ow(), g.c}, x.dtype());
  dispatch(x.dtype(), "max_pool2d", [&](auto t) {
    using T = decltype(t);
    max_pool2d_forward<T>(g, x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& x) {
  const PoolGeom g{x.dim(0), x.dim(1), x.dim(2), x.dim(3)};
  Tensor dx = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), "max_pool2d backward", [&](auto t) {
    using T = decltype(t);
    max_pool2d_backward<T>(g, dy.data<T>(), x.data<T>(), dx.data<T>());
  });
  return dx;
}

}  // namespace cytocon::cpu
