#include "map/tissue.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/tensor.h"

namespace cytocon::map {

namespace {

constexpr double kTissueUm = 32;  // pixel size at which tissue is told from glass

// One output row of f x f box averages: f input rows starting at `rows`, `stride` floats apart.
void box_average_row(const float* rows, int64_t stride, int64_t f, int64_t out_w, float* out) {
  for (int64_t x = 0; x < out_w; ++x) {
    double sum = 0;
    for (int64_t dy = 0; dy < f; ++dy)
      for (int64_t dx = 0; dx < f; ++dx) sum += rows[dy * stride + x * f + dx];
    out[x] = static_cast<float>(sum / static_cast<double>(f * f));
  }
}

}  // namespace

Thumbnail read_thumbnail(const data::Image& img, int max_side) {
  check(max_side >= 16, "thumbnail size must be >= 16 px, got " + std::to_string(max_side));
  const auto& levels = img.levels();
  size_t level = 0;
  for (size_t l = 1; l < levels.size(); ++l)
    if (std::max(levels[l].width, levels[l].height) >= max_side) level = l;
  const data::Level& L = levels[level];
  const int64_t f = std::max<int64_t>(1, (std::max(L.width, L.height) + max_side - 1) / max_side);
  Thumbnail t;
  t.width = std::max<int64_t>(1, L.width / f);
  t.height = std::max<int64_t>(1, L.height / f);
  t.downsample = L.downsample * static_cast<double>(f);
  t.value.assign(static_cast<size_t>(t.width * t.height), 0.0f);
  std::vector<float> strip(static_cast<size_t>(L.width * f));
  for (int64_t y = 0; y < t.height; ++y) {
    img.read_region(static_cast<int>(level), 0, y * f, L.width, f, strip.data(), 1.0f);
    box_average_row(strip.data(), L.width, f, t.width, &t.value[y * t.width]);
  }
  return t;
}

float otsu_threshold(const std::vector<float>& values) {
  std::vector<double> hist(256, 0.0);
  for (float v : values) hist[std::clamp(static_cast<int>(v * 255.0f + 0.5f), 0, 255)] += 1;
  const double n = static_cast<double>(values.size());
  double total = 0;
  for (int i = 0; i < 256; ++i) total += i * hist[i];
  double w0 = 0, sum0 = 0, best = -1;
  int best_t = 127;
  for (int t = 0; t < 255; ++t) {  // class 0 = bins 0..t
    w0 += hist[t];
    sum0 += t * hist[t];
    const double w1 = n - w0;
    if (w0 == 0 || w1 == 0) continue;
    const double m0 = sum0 / w0, m1 = (total - sum0) / w1;
    const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) best = between, best_t = t;
  }
  return (best_t + 0.5f) / 255.0f;  // between bins t and t+1
}

std::vector<uint8_t> find_tissue(const Thumbnail& fine, double um_per_px, double min_area_mm2,
                                 const std::string& image_name) {
  // Cells are dark dots on paler neuropil: average them out first, to pixels of >= kTissueUm.
  const int64_t f = std::max<int64_t>(1, std::llround(kTissueUm / (fine.downsample * um_per_px)));
  Thumbnail t;
  t.width = std::max<int64_t>(1, fine.width / f), t.height = std::max<int64_t>(1, fine.height / f);
  t.downsample = fine.downsample * static_cast<double>(f);
  t.value.assign(static_cast<size_t>(t.width * t.height), 0.0f);
  for (int64_t y = 0; y < t.height; ++y)
    box_average_row(&fine.value[y * f * fine.width], fine.width, f, t.width, &t.value[y * t.width]);
  const float thr = otsu_threshold(t.value);
  const int64_t W = t.width, H = t.height;
  std::vector<uint8_t> mask(t.value.size());
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = t.value[i] < thr;
  const double px_mm2 = std::pow(t.downsample * um_per_px / 1000.0, 2);
  const int64_t min_px = static_cast<int64_t>(std::ceil(min_area_mm2 / px_mm2));
  // 8-connected components by an explicit stack (row-major seeds: deterministic).
  std::vector<int32_t> comp(mask.size(), -1);
  std::vector<int64_t> stack, members;
  int64_t kept = 0;
  for (int64_t seed = 0; seed < W * H; ++seed) {
    if (!mask[seed] || comp[seed] >= 0) continue;
    members.clear();
    stack.assign(1, seed);
    comp[seed] = 1;
    while (!stack.empty()) {
      const int64_t i = stack.back();
      stack.pop_back();
      members.push_back(i);
      const int64_t x = i % W, y = i / W;
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
          const int64_t j = ny * W + nx;
          if (mask[j] && comp[j] < 0) comp[j] = 1, stack.push_back(j);
        }
    }
    if (static_cast<int64_t>(members.size()) < min_px)
      for (int64_t i : members) mask[i] = 0;
    else
      kept += static_cast<int64_t>(members.size());
  }
  check(kept > 0, image_name + ": no tissue found (Otsu threshold " + std::to_string(thr) +
                      ", components of at least " + std::to_string(min_area_mm2) +
                      " mm²); give an annotation with centrelines or outlines instead");
  std::vector<uint8_t> out(fine.value.size());  // back on the thumbnail's pixels
  for (int64_t y = 0; y < fine.height; ++y)
    for (int64_t x = 0; x < fine.width; ++x)
      out[y * fine.width + x] = mask[std::min(H - 1, y / f) * W + std::min(W - 1, x / f)];
  return out;
}

void sample_grid_points(SectionMap& s, const Thumbnail& t, const std::vector<uint8_t>& tissue, double grid_um) {
  check(grid_um > 0, "--grid-um must be > 0, got " + std::to_string(grid_um));
  const double step = grid_um / s.um_per_px;
  s.sampling = "grid";
  for (double y = 0.5 * step; y < s.height; y += step)
    for (double x = 0.5 * step; x < s.width; x += step) {
      const int64_t tx = std::min<int64_t>(t.width - 1, static_cast<int64_t>(x / t.downsample));
      const int64_t ty = std::min<int64_t>(t.height - 1, static_cast<int64_t>(y / t.downsample));
      if (tissue[ty * t.width + tx]) s.points.push_back({{x, y}, -1, 0, -1});
    }
}

}  // namespace cytocon::map
