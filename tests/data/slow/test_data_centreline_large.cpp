// Cost and accuracy of derived centrelines on a section of real size: 48,000 × 32,000 px at
// 2 µm/px (96 × 64 mm) holding eight folded 2 mm ribbons cut by both image edges, close enough
// to be rasterised as one group, so the grid is at its cell bound (docs/data.md, "Derived
// centrelines", cost). Prints the time, the peak resident memory and the error.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "centreline_accuracy.h"
#include "folded_ribbon.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

TEST(DerivedCentrelineLarge, WholeSectionSize) {
  FoldedRibbon f;
  f.um_per_px = 2;
  f.width_mm = 96;
  f.height_mm = 64;
  f.rows_mm = {8, 15, 22, 29, 36, 43, 50, 57};
  const Annotations a = f.annotations();
  const SectionSize size{f.px(f.width_mm), f.px(f.height_mm)};
  const auto t0 = std::chrono::steady_clock::now();
  const auto cs = derive_centrelines(a, f.um_per_px, size);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  EXPECT_EQ(cs.size(), 8u);
  std::vector<double> err;
  std::vector<std::vector<Point2>> mids;
  for (size_t b = 0; b < f.rows_mm.size(); ++b) mids.push_back(f.mid_line(b));
  for (const auto& p : sample_centrelines(Annotations{cs, a.polygons, {}}, f.px(0.1))) {
    double d = INFINITY;
    for (const auto& m : mids)
      for (size_t i = 0; i + 1 < m.size(); ++i) d = std::min(d, segment_distance(p.p, m[i], m[i + 1]));
    err.push_back(d / f.px(f.thickness_mm));
  }
  using Acc = CentrelineAccuracy;
  std::printf("%zu polygons, %.0f x %.0f px: derive_centrelines %.2f s, peak RSS %.0f MB; %zu points, error median "
              "%.2f %%, 95th %.2f %%, max %.2f %% of the thickness\n",
              a.polygons.size(), size.width, size.height, sec, ru.ru_maxrss / 1024.0, err.size(),
              100 * Acc::quantile(err, 0.5), 100 * Acc::quantile(err, 0.95), 100 * Acc::quantile(err, 1));
  EXPECT_LT(Acc::quantile(err, 0.5), 0.02);
  EXPECT_LT(Acc::quantile(err, 1.0), 0.05);
}
