// CPU patch extraction: one inverse-mapping bilinear pass, intensity, blur/sharpen (extract.h).
#include "data/extract.h"

#include <algorithm>
#include <cmath>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "engine/tensor.h"

namespace cytocon::data {

PatchTransform patch_transform(const Image& img, const Section& sec, const SampleRef& s,
                               const AugmentParams& a, const ExtractConfig& cfg) {
  PatchTransform t;
  t.level = img.level_for(sec.um_per_px, cfg.um_per_px);
  const double ds = img.levels()[t.level].downsample;
  const double scale = cfg.um_per_px / (sec.um_per_px * ds);  // level px per output px
  const double shift = a.shift_mm * 1000.0 / sec.um_per_px;     // full-res px
  const double px = s.x + shift * std::cos(static_cast<double>(a.shift_dir));
  const double py = s.y + shift * std::sin(static_cast<double>(a.shift_dir));
  const double cx = px / ds - 0.5, cy = py / ds - 0.5;
  const double m = a.mirror ? -1.0 : 1.0;
  const double ct = std::cos(static_cast<double>(a.theta)), st = std::sin(static_cast<double>(a.theta));
  t.axx = scale * ct;
  t.axy = -scale * st * m;
  t.ayx = scale * st;
  t.ayy = scale * ct * m;
  const double c = 0.5 * (cfg.patch_px - 1);
  t.ox = cx - (t.axx + t.axy) * c;
  t.oy = cy - (t.ayx + t.ayy) * c;
  return t;
}

size_t level_bytes(const Dataset& ds, Split split, const ExtractConfig& cfg) {
  size_t bytes = 0;
  for (size_t k = 0; k < ds.sections().size(); ++k) {
    const Section& sec = ds.sections()[k];
    if (sec.split != split) continue;
    const Image& img = ds.image(static_cast<int>(k));
    const Level& L = img.levels()[img.level_for(sec.um_per_px, cfg.um_per_px)];
    bytes += static_cast<size_t>(L.width) * static_cast<size_t>(L.height) * static_cast<size_t>(img.bits() / 8);
  }
  return bytes;
}

Box footprint(const PatchTransform& t, int S) {
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (int ci = 0; ci < 2; ++ci)
    for (int cj = 0; cj < 2; ++cj) {
      const double i = ci * (S - 1.0), j = cj * (S - 1.0);
      const double x = t.ox + t.axx * j + t.axy * i, y = t.oy + t.ayx * j + t.ayy * i;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  Box b;
  b.x0 = static_cast<int64_t>(std::floor(xmin)) - 1;
  b.y0 = static_cast<int64_t>(std::floor(ymin)) - 1;
  b.w = static_cast<int64_t>(std::floor(xmax)) + 2 - b.x0 + 1;
  b.h = static_cast<int64_t>(std::floor(ymax)) + 2 - b.y0 + 1;
  return b;
}

void apply_intensity(float* x, int64_t n, const AugmentParams& a) {
  const float al = a.alpha, be = a.beta;
  if (a.gamma == 1.0f) {
    for (int64_t i = 0; i < n; ++i) x[i] = clamp01(al * x[i] + be);
    return;
  }
  const float g = a.gamma;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = clamp01(al * pow01(clamp01(x[i]), g) + be);
  }
}

std::vector<float> gaussian_taps(float sigma) {
  const int r = std::max(1, static_cast<int>(std::ceil(3.0f * sigma)));
  std::vector<float> w(2 * r + 1);
  double sum = 0;
  for (int k = -r; k <= r; ++k) sum += (w[k + r] = static_cast<float>(std::exp(-0.5 * k * k / (double(sigma) * sigma))));
  for (float& v : w) v = static_cast<float>(v / sum);
  return w;
}

void apply_filter(float* x, int S, const AugmentParams& a, std::vector<float>& tmp) {
  if (a.filter == Filter::none) return;
  const std::vector<float> w = gaussian_taps(a.sigma);
  const int r = static_cast<int>(w.size() / 2);
  tmp.resize(static_cast<size_t>(S) * S);
  // Horizontal pass x → tmp, on a copy of each row padded with replicated edge pixels.
  std::vector<float> pad(S + 2 * r);
  for (int i = 0; i < S; ++i) {
    const float* row = x + static_cast<int64_t>(i) * S;
    float* out = tmp.data() + static_cast<int64_t>(i) * S;
    std::fill(pad.begin(), pad.begin() + r, row[0]);
    std::copy(row, row + S, pad.begin() + r);
    std::fill(pad.begin() + r + S, pad.end(), row[S - 1]);
    std::fill(out, out + S, 0.0f);
    for (int k = 0; k <= 2 * r; ++k) {
      const float wk = w[k];
      const float* src = pad.data() + k;
      for (int j = 0; j < S; ++j) out[j] += wk * src[j];
    }
  }
  // Vertical pass tmp → G(x), combined with x: blur x ← G(x); sharpen x ← x + δ(x − G(x)).
  const bool sharpen = a.filter == Filter::sharpen;
  const float d = a.delta;
  std::vector<float> acc(S);
  for (int i = 0; i < S; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int k = -r; k <= r; ++k) {
      const float* src = tmp.data() + static_cast<int64_t>(std::clamp(i + k, 0, S - 1)) * S;
      const float wk = w[k + r];
      for (int j = 0; j < S; ++j) acc[j] += wk * src[j];
    }
    float* row = x + static_cast<int64_t>(i) * S;
    if (sharpen)
      for (int j = 0; j < S; ++j) row[j] = clamp01(row[j] + d * (row[j] - acc[j]));
    else  // a convex combination, clamped only against rounding
      for (int j = 0; j < S; ++j) row[j] = clamp01(acc[j]);
  }
}

void extract_patch(const Dataset& ds, const SampleRef& s, const AugmentParams& a,
                   const ExtractConfig& cfg, float* out, ExtractScratch& scratch) {
  extract_patch(ds.image(s.section), ds.sections()[s.section], s, a, cfg, out, scratch);
}

void extract_patch(const Image& img, const Section& sec, const SampleRef& s, const AugmentParams& a,
                   const ExtractConfig& cfg, float* out, ExtractScratch& scratch) {
  const int S = cfg.patch_px;
  check(S > 0, "patch size must be > 0, got " + std::to_string(S));
  const PatchTransform t = patch_transform(img, sec, s, a, cfg);
  const Box b = footprint(t, S);
  scratch.region.resize(static_cast<size_t>(b.w * b.h));
  img.read_region(t.level, b.x0, b.y0, b.w, b.h, scratch.region.data(), cfg.background);
  // Bilinear resampling in region-relative coordinates (small numbers: float is exact enough).
  const float* __restrict R = scratch.region.data();
  check(b.w * b.h < (int64_t(1) << 31), "patch footprint too large");
  const int Wi = static_cast<int>(b.w);
  const float axx = static_cast<float>(t.axx), ayx = static_cast<float>(t.ayx);
  // The footprint's one-pixel margin keeps every tap inside the region: x, y ≥ 0 and
  // ⌊x⌋ ≤ w − 2, ⌊y⌋ ≤ h − 2 (so truncation is floor).
  // Output blocks of 32×64 pixels keep the region taps of a rotated grid in cache.
  constexpr int kBi = 32, kBj = 64;
  for (int bi = 0; bi < S; bi += kBi)
  for (int bj = 0; bj < S; bj += kBj)
  for (int i = bi; i < std::min(S, bi + kBi); ++i) {
    const int jend = std::min(S, bj + kBj);
    const float rx = static_cast<float>(t.ox - b.x0 + t.axy * i);
    const float ry = static_cast<float>(t.oy - b.y0 + t.ayy * i);
    float* __restrict o = out + static_cast<int64_t>(i) * S;
    int j = bj;
#if defined(__AVX2__)
    // Eight pixels at a time with gathers: the same IEEE operations in the same order as the
    // scalar loop below, so both give the same bits.
    const __m256 rxv = _mm256_set1_ps(rx), ryv = _mm256_set1_ps(ry);
    const __m256 axv = _mm256_set1_ps(axx), ayv = _mm256_set1_ps(ayx);
    const __m256i wm2 = _mm256_set1_epi32(static_cast<int>(b.w) - 2), hm2 = _mm256_set1_epi32(static_cast<int>(b.h) - 2);
    const __m256i wv = _mm256_set1_epi32(Wi), lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (; j + 8 <= jend; j += 8) {
      const __m256 jv = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(j), lane));
      const __m256 x = _mm256_add_ps(rxv, _mm256_mul_ps(axv, jv)), y = _mm256_add_ps(ryv, _mm256_mul_ps(ayv, jv));
      const __m256i xi = _mm256_min_epi32(_mm256_cvttps_epi32(x), wm2);
      const __m256i yi = _mm256_min_epi32(_mm256_cvttps_epi32(y), hm2);
      const __m256 tx = _mm256_sub_ps(x, _mm256_cvtepi32_ps(xi)), ty = _mm256_sub_ps(y, _mm256_cvtepi32_ps(yi));
      const __m256i k = _mm256_add_epi32(_mm256_mullo_epi32(yi, wv), xi);
      const __m256 p00 = _mm256_i32gather_ps(R, k, 4), p01 = _mm256_i32gather_ps(R + 1, k, 4);
      const __m256 p10 = _mm256_i32gather_ps(R + Wi, k, 4), p11 = _mm256_i32gather_ps(R + Wi + 1, k, 4);
      const __m256 top = _mm256_add_ps(p00, _mm256_mul_ps(tx, _mm256_sub_ps(p01, p00)));
      const __m256 bot = _mm256_add_ps(p10, _mm256_mul_ps(tx, _mm256_sub_ps(p11, p10)));
      _mm256_storeu_ps(o + j, _mm256_add_ps(top, _mm256_mul_ps(ty, _mm256_sub_ps(bot, top))));
    }
#endif
    for (; j < jend; ++j) {
      const float x = rx + axx * static_cast<float>(j), y = ry + ayx * static_cast<float>(j);
      const int xi = std::min(static_cast<int>(x), static_cast<int>(b.w) - 2);
      const int yi = std::min(static_cast<int>(y), static_cast<int>(b.h) - 2);
      const float tx = x - static_cast<float>(xi), ty = y - static_cast<float>(yi);
      const int k = yi * Wi + xi;
      const float top = R[k] + tx * (R[k + 1] - R[k]);
      const float bot = R[k + Wi] + tx * (R[k + Wi + 1] - R[k + Wi]);
      o[j] = top + ty * (bot - top);
    }
  }
  apply_intensity(out, static_cast<int64_t>(S) * S, a);
  apply_filter(out, S, a, scratch.tmp);
}

}  // namespace cytocon::data
