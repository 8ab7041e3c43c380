// Colour → grayscale for RGB sections (docs/data.md, "Colour"): stb_image's luma rule,
// Y = (77 R + 150 G + 29 B) >> 8 (ITU-R BT.601 weights in 8-bit fixed point), so one slide stored
// as RGB TIFF, PNG or JPEG gives the same grayscale. 8- or 16-bit samples; extra samples per pixel
// (alpha) are ignored.
#pragma once
#include <cstdint>

namespace cytocon::data {

// n pixels of `samples` interleaved samples (R, G, B first) → n luma samples. `out` may alias `in`
// (pixel k is written after it is read, and out advances no faster than in).
template <class T>
void rgb_to_luma(const T* in, int64_t n, int samples, T* out) {
  for (int64_t k = 0; k < n; ++k) {
    const T* p = in + k * samples;
    const uint32_t y = (77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8;
    out[k] = static_cast<T>(y);
  }
}

}  // namespace cytocon::data
