// Max-pool 2×2, stride 2, floor, NHWC: x [n,h,w,c] → y [n,h/2,w/2,c] (integer division).
// y[n,i,j,c] = max_{p,q∈{0,1}} x[n,2i+p,2j+q,c]. Backward sends dy to the FIRST maximum in
// row-major window order (0,0),(0,1),(1,0),(1,1); windows do not overlap, so every input gets at
// most one value and the rows/columns cut off by the floor get zero.
#pragma once
#include <cstdint>

namespace cytocon::cpu {

struct PoolGeom {
  int64_t n, h, w, c;
  int64_t oh() const { return h / 2; }
  int64_t ow() const { return w / 2; }
};

template <class T> void max_pool_forward(const PoolGeom& g, const T* x, T* y);
template <class T> void max_pool_backward(const PoolGeom& g, const T* dy, const T* x, T* dx);

}  // namespace cytocon::cpu
