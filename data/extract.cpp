// CPU patch extraction: one inverse-mapping bilinear pass, intensity, blur/sharpen (extract.h).
#include "data/extract.h"

#include <algorithm>
#include <cmath>

#include "data/resample.h"
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
  resample_bilinear(scratch.region.data(), b, t, S, out);
  apply_intensity(out, static_cast<int64_t>(S) * S, a);
  apply_filter(out, S, a, scratch.tmp);
}

}  // namespace cytocon::data
