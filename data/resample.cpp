// Bilinear resampling of a level region to the patch grid (data/resample.h).
#include "data/resample.h"

#include <algorithm>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CYTOCON_RESAMPLE_AVX2 1
#endif

#include "engine/tensor.h"

namespace cytocon::data {

namespace {

// Output blocks of 32×64 pixels keep the region taps of a rotated grid in cache.
constexpr int kBi = 32, kBj = 64;

// Region-relative coordinates are small numbers: float is exact enough. The footprint's one-pixel
// margin keeps every tap inside the region: x, y ≥ 0 and ⌊x⌋ ≤ w − 2, ⌊y⌋ ≤ h − 2 (so truncation
// is floor).
struct Grid {
  float axx, ayx;
  int w, h;
  float row_x(const PatchTransform& t, const Box& b, int i) const { return static_cast<float>(t.ox - b.x0 + t.axy * i); }
  float row_y(const PatchTransform& t, const Box& b, int i) const { return static_cast<float>(t.oy - b.y0 + t.ayy * i); }
};

Grid grid_of(const Box& b, const PatchTransform& t) {
  check(b.w * b.h < (int64_t(1) << 31), "patch footprint too large");
  return {static_cast<float>(t.axx), static_cast<float>(t.ayx), static_cast<int>(b.w), static_cast<int>(b.h)};
}

// Pixels [j, jend) of one output row.
inline void row_portable(const float* __restrict R, const Grid& g, float rx, float ry, int j, int jend,
                         float* __restrict o) {
  for (; j < jend; ++j) {
    const float x = rx + g.axx * static_cast<float>(j), y = ry + g.ayx * static_cast<float>(j);
    const int xi = std::min(static_cast<int>(x), g.w - 2);
    const int yi = std::min(static_cast<int>(y), g.h - 2);
    const float tx = x - static_cast<float>(xi), ty = y - static_cast<float>(yi);
    const int k = yi * g.w + xi;
    const float top = R[k] + tx * (R[k + 1] - R[k]);
    const float bot = R[k + g.w] + tx * (R[k + g.w + 1] - R[k + g.w]);
    o[j] = top + ty * (bot - top);
  }
}

}  // namespace

void resample_bilinear_portable(const float* R, const Box& b, const PatchTransform& t, int S, float* out) {
  const Grid g = grid_of(b, t);
  for (int bi = 0; bi < S; bi += kBi)
    for (int bj = 0; bj < S; bj += kBj)
      for (int i = bi; i < std::min(S, bi + kBi); ++i)
        row_portable(R, g, g.row_x(t, b, i), g.row_y(t, b, i), bj, std::min(S, bj + kBj), out + static_cast<int64_t>(i) * S);
}

#ifdef CYTOCON_RESAMPLE_AVX2

bool resample_avx2_available() {
  static const bool ok = __builtin_cpu_supports("avx2");
  return ok;
}

__attribute__((target("avx2"))) void resample_bilinear_avx2(const float* R, const Box& b, const PatchTransform& t,
                                                             int S, float* out) {
  const Grid g = grid_of(b, t);
  const __m256 axv = _mm256_set1_ps(g.axx), ayv = _mm256_set1_ps(g.ayx);
  const __m256i wm2 = _mm256_set1_epi32(g.w - 2), hm2 = _mm256_set1_epi32(g.h - 2);
  const __m256i wv = _mm256_set1_epi32(g.w), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int bi = 0; bi < S; bi += kBi)
    for (int bj = 0; bj < S; bj += kBj)
      for (int i = bi; i < std::min(S, bi + kBi); ++i) {
        const int jend = std::min(S, bj + kBj);
        const float rx = g.row_x(t, b, i), ry = g.row_y(t, b, i);
        float* __restrict o = out + static_cast<int64_t>(i) * S;
        const __m256 rxv = _mm256_set1_ps(rx), ryv = _mm256_set1_ps(ry);
        int j = bj;
        for (; j + 8 <= jend; j += 8) {
          const __m256 jv = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(j), lane));
          const __m256 x = _mm256_add_ps(rxv, _mm256_mul_ps(axv, jv)), y = _mm256_add_ps(ryv, _mm256_mul_ps(ayv, jv));
          const __m256i xi = _mm256_min_epi32(_mm256_cvttps_epi32(x), wm2);
          const __m256i yi = _mm256_min_epi32(_mm256_cvttps_epi32(y), hm2);
          const __m256 tx = _mm256_sub_ps(x, _mm256_cvtepi32_ps(xi)), ty = _mm256_sub_ps(y, _mm256_cvtepi32_ps(yi));
          const __m256i k = _mm256_add_epi32(_mm256_mullo_epi32(yi, wv), xi);
          // Eight consecutive taps (no rotation, scale 1): loads of the same values as the gathers.
          const int k0 = _mm_cvtsi128_si32(_mm256_castsi256_si128(k));
          const __m256i run = _mm256_add_epi32(_mm256_set1_epi32(k0), lane);
          __m256 p00, p01, p10, p11;
          if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(k, run)) == -1) {
            p00 = _mm256_loadu_ps(R + k0), p01 = _mm256_loadu_ps(R + k0 + 1);
            p10 = _mm256_loadu_ps(R + k0 + g.w), p11 = _mm256_loadu_ps(R + k0 + g.w + 1);
          } else {
            p00 = _mm256_i32gather_ps(R, k, 4), p01 = _mm256_i32gather_ps(R + 1, k, 4);
            p10 = _mm256_i32gather_ps(R + g.w, k, 4), p11 = _mm256_i32gather_ps(R + g.w + 1, k, 4);
          }
          const __m256 top = _mm256_add_ps(p00, _mm256_mul_ps(tx, _mm256_sub_ps(p01, p00)));
          const __m256 bot = _mm256_add_ps(p10, _mm256_mul_ps(tx, _mm256_sub_ps(p11, p10)));
          _mm256_storeu_ps(o + j, _mm256_add_ps(top, _mm256_mul_ps(ty, _mm256_sub_ps(bot, top))));
        }
        row_portable(R, g, rx, ry, j, jend, o);
      }
}

#else

bool resample_avx2_available() { return false; }
void resample_bilinear_avx2(const float*, const Box&, const PatchTransform&, int, float*) {
  fail("resample_bilinear_avx2: not built for this CPU");
}

#endif

void resample_bilinear(const float* R, const Box& b, const PatchTransform& t, int S, float* out) {
  if (resample_avx2_available()) return resample_bilinear_avx2(R, b, t, S, out);
  resample_bilinear_portable(R, b, t, S, out);
}

}  // namespace cytocon::data
