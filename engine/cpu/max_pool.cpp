#include "engine/cpu/max_pool.h"

#include <algorithm>

namespace cytocon::cpu {

template <class T>
void max_pool_forward(const PoolGeom& g, const T* x, T* y) {
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

template <class T>
void max_pool_backward(const PoolGeom& g, const T* dy, const T* x, T* dx) {
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
        const T* a = x0 + 2 * j * C;
        const T* b = x1 + 2 * j * C;
        T* da = d0 + 2 * j * C;
        T* db = d1 + 2 * j * C;
        const T* d = dyr + j * C;
        for (int64_t c = 0; c < C; ++c) {
          // Index of the first maximum: strict '>' keeps the earlier position on ties.
          T m = a[c];
          int k = 0;
          if (a[C + c] > m) m = a[C + c], k = 1;
          if (b[c] > m) m = b[c], k = 2;
          if (b[C + c] > m) k = 3;
          da[c] = k == 0 ? d[c] : T(0);
          da[C + c] = k == 1 ? d[c] : T(0);
          db[c] = k == 2 ? d[c] : T(0);
          db[C + c] = k == 3 ? d[c] : T(0);
        }
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

template void max_pool_forward<float>(const PoolGeom&, const float*, float*);
template void max_pool_forward<double>(const PoolGeom&, const double*, double*);
template void max_pool_backward<float>(const PoolGeom&, const float*, const float*, float*);
template void max_pool_backward<double>(const PoolGeom&, const double*, const double*, double*);

}  // namespace cytocon::cpu
