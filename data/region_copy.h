// Copying part of a decoded block (rows of 8- or 16-bit samples) into a float region, shared by
// the TIFF and stb readers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "data/image.h"

namespace cytocon::data {

// Block pixels [bx0, bx0+bw) × [by0, by0+bh) (block origin in level pixels, `stride` samples per
// block row) intersected with the region [x0, x0+w) × [y0, y0+h) go to out (row pitch w), as
// v·m.a + m.b (Image::intensity_map).
template <class T>
void copy_block_to_region(const T* block, int64_t stride, int64_t bx0, int64_t by0, int64_t bw,
                          int64_t bh, int64_t x0, int64_t y0, int64_t w, int64_t h, float* out,
                          IntensityMap m) {
  const int64_t xa = std::max(bx0, x0), xb = std::min(bx0 + bw, x0 + w);
  const int64_t ya = std::max(by0, y0), yb = std::min(by0 + bh, y0 + h);
  if (xa >= xb || ya >= yb) return;
  for (int64_t y = ya; y < yb; ++y) {
    const T* src = block + (y - by0) * stride + (xa - bx0);
    float* dst = out + (y - y0) * w + (xa - x0);
    for (int64_t x = 0; x < xb - xa; ++x) dst[x] = static_cast<float>(src[x]) * m.a + m.b;
  }
}

// The same rows copied as stored samples (Image::read_samples): `bytes` per sample.
inline void copy_block_samples(const uint8_t* block, int64_t stride, int64_t bx0, int64_t by0, int64_t bw,
                               int64_t bh, int64_t x0, int64_t y0, int64_t w, int64_t h, uint8_t* out,
                               int bytes) {
  const int64_t xa = std::max(bx0, x0), xb = std::min(bx0 + bw, x0 + w);
  const int64_t ya = std::max(by0, y0), yb = std::min(by0 + bh, y0 + h);
  if (xa >= xb || ya >= yb) return;
  for (int64_t y = ya; y < yb; ++y)
    std::memcpy(out + ((y - y0) * w + (xa - x0)) * bytes, block + ((y - by0) * stride + (xa - bx0)) * bytes,
                static_cast<size_t>((xb - xa) * bytes));
}

// Fills the parts of the region outside [0, W) × [0, H) with `background`.
inline void fill_outside(int64_t W, int64_t H, int64_t x0, int64_t y0, int64_t w, int64_t h,
                         float* out, float background) {
  for (int64_t y = 0; y < h; ++y) {
    float* row = out + y * w;
    const int64_t gy = y0 + y;
    if (gy < 0 || gy >= H) {
      std::fill(row, row + w, background);
      continue;
    }
    const int64_t left = std::clamp<int64_t>(-x0, 0, w);
    const int64_t right = std::clamp<int64_t>(W - x0, 0, w);
    std::fill(row, row + left, background);
    if (right > left) std::fill(row + right, row + w, background);
    else std::fill(row + left, row + w, background);
  }
}

}  // namespace cytocon::data
