// Derived centrelines against the true mid-line on the default cytocon-synth dataset (4 brains ×
// 5 sections of 3072 × 2304 px at 4 µm/px, seed 1: the demo's data). Prints the figures quoted in
// docs/data.md, "Derived centrelines"; asserts the aim where the true mid-line is drawn.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "centreline_accuracy.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

TEST(DerivedCentrelineSynthDefault, DemoDataset) {
  if (access((std::string(CYTOCON_BIN_DIR) + "/cytocon-synth").c_str(), X_OK) != 0)
    GTEST_SKIP() << "cytocon-synth was not built (needs CLI11)";
  const std::string dir = temp_dir("synCLdef");
  ASSERT_EQ(std::system((std::string(CYTOCON_BIN_DIR) + "/cytocon-synth --out " + dir + " > /dev/null").c_str()), 0);
  DatasetOptions o;
  o.quiet = true;
  auto ds = Dataset::open(dir, o);
  CentrelineAccuracy acc;
  measure_derived_centrelines(*ds, 100, acc);
  using Acc = CentrelineAccuracy;
  std::printf("derive_centrelines: %.3f s for %zu sections\n", acc.seconds, ds->sections().size());
  std::printf("true mid-line -> derived, %zu points: median %.4f mm (%.2f %%), 95th %.4f mm (%.2f %%)\n",
              acc.miss_mm.size(), Acc::quantile(acc.miss_mm, 0.5), 100 * Acc::quantile(acc.miss_share, 0.5),
              Acc::quantile(acc.miss_mm, 0.95), 100 * Acc::quantile(acc.miss_share, 0.95));
  std::printf("derived -> true mid-line, %zu points (%lld more beyond the drawn runs' ends): median %.4f mm (%.2f %%), "
              "95th %.4f mm (%.2f %%)\n",
              acc.err_mm.size(), (long long)acc.unreferenced, Acc::quantile(acc.err_mm, 0.5),
              100 * Acc::quantile(acc.err_share, 0.5), Acc::quantile(acc.err_mm, 0.95), 100 * Acc::quantile(acc.err_share, 0.95));
  for (const auto& [area, n] : acc.drawn_points)
    std::printf("  %-5s drawn %5lld derived %5lld\n", area.c_str(), (long long)n, (long long)acc.derived_points[area]);
  EXPECT_LT(Acc::quantile(acc.miss_share, 0.5), 0.05);
  for (const auto& [area, n] : acc.drawn_points) EXPECT_GE(acc.derived_points[area], 0.9 * n) << area;
}
