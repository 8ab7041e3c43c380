// Derived centrelines against the true mid-line of cytocon-synth sections (docs/data.md,
// "Derived centrelines", measured accuracy). The figures are printed; the asserted bounds are
// the aim (median under 5 % of the local thickness) where the true mid-line is drawn, and
// loose bounds elsewhere.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "centreline_accuracy.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

TEST(DerivedCentrelineSynth, CloseToTheTrueMidLine) {
  if (access((std::string(CYTOCON_BIN_DIR) + "/cytocon-synth").c_str(), X_OK) != 0)
    GTEST_SKIP() << "cytocon-synth was not built (needs CLI11)";
  const std::string dir = temp_dir("synCL");
  const std::string cmd = std::string(CYTOCON_BIN_DIR) + "/cytocon-synth --out " + dir +
                          " --brains 2 --sections 3 --areas 8 --um-per-px 8 --size 1536x1152 --seed 5 > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  DatasetOptions o;
  o.quiet = true;
  auto ds = Dataset::open(dir, o);
  CentrelineAccuracy acc;
  measure_derived_centrelines(*ds, 100, acc);
  ASSERT_GT(acc.err_mm.size(), 100u);
  const double med = CentrelineAccuracy::quantile(acc.err_share, 0.5),
               p95 = CentrelineAccuracy::quantile(acc.err_share, 0.95);
  std::printf("derive_centrelines: %.3f s for %zu sections\n", acc.seconds, ds->sections().size());
  std::printf("%lld derived points beyond the drawn runs' ends (no reference)\n", (long long)acc.unreferenced);
  std::printf("derived vs true mid-line, %zu points: median %.4f mm (%.2f %% of thickness), 95th %.4f mm (%.2f %%)\n",
              acc.err_mm.size(), CentrelineAccuracy::quantile(acc.err_mm, 0.5), 100 * med,
              CentrelineAccuracy::quantile(acc.err_mm, 0.95), 100 * p95);
  std::printf("true mid-line vs derived, %zu points: median %.4f mm (%.2f %%), 95th %.4f mm (%.2f %%)\n",
              acc.miss_mm.size(), CentrelineAccuracy::quantile(acc.miss_mm, 0.5),
              100 * CentrelineAccuracy::quantile(acc.miss_share, 0.5), CentrelineAccuracy::quantile(acc.miss_mm, 0.95),
              100 * CentrelineAccuracy::quantile(acc.miss_share, 0.95));
  for (const auto& [area, n] : acc.drawn_points)
    std::printf("  %-5s drawn %4lld derived %4lld\n", area.c_str(), (long long)n, (long long)acc.derived_points[area]);
  // Where the true mid-line is drawn, a derived line runs within 5 % of the thickness of it
  // (the aim), and every area gets at least as many points as along the drawn lines.
  EXPECT_LT(CentrelineAccuracy::quantile(acc.miss_share, 0.5), 0.05);
  EXPECT_LT(CentrelineAccuracy::quantile(acc.miss_share, 0.95), 0.5);
  // Derived points also run through the folded gyri, where the synth draws no mid-line and its
  // overlapping polygons make one thick piece: looser there (figures in docs/data.md).
  EXPECT_LT(med, 0.25);
  for (const auto& [area, n] : acc.drawn_points) EXPECT_GE(acc.derived_points[area], 0.9 * n) << area;
}
