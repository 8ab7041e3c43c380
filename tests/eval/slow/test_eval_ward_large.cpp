// Ward on 20,000 points × 128 dimensions (the size of X_te features): completes, gives n-1
// merges with non-decreasing heights and k = 10 clusters, and prints the seconds it took (a
// figure for docs/eval.md, not an assertion). Label slow.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "engine/rng.h"
#include "eval/ward.h"

using namespace cytocon;
using namespace cytocon::eval;

namespace {

// n points around `centres` Gaussian centres (spread 4) with unit noise; centres = 0: one blob.
std::vector<float> features(int64_t n, int64_t d, int centres) {
  Rng noise(5, Purpose::test), centre(6, Purpose::test);
  std::vector<float> x(n * d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double c = centres ? 4 * centre.normal(static_cast<uint32_t>((i % centres) * d + j)) : 0.0;
      x[i * d + j] = static_cast<float>(noise.normal(static_cast<uint32_t>(i * d + j)) + c);
    }
  return x;
}

void run(int centres) {
  const int64_t n = 20000, d = 128;
  std::vector<float> x = features(n, d, centres);
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  std::vector<Merge> m = ward_linkage(x.data(), n, d);
  std::vector<int32_t> labels = cut_tree(m, n, 10);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("[ward] n=%lld d=%lld %s: %.1f s wall, %.1f s CPU\n", static_cast<long long>(n),
              static_cast<long long>(d), centres ? "100 Gaussian centres" : "one Gaussian blob", wall, cpu);
  ASSERT_EQ(static_cast<int64_t>(m.size()), n - 1);
  for (size_t i = 1; i < m.size(); ++i) ASSERT_LE(m[i - 1].height, m[i].height);
  EXPECT_EQ(m.back().size, n);
  EXPECT_EQ(*std::max_element(labels.begin(), labels.end()), 10);
}

}  // namespace

TEST(WardLarge, TwentyThousandClusteredFeatures) { run(100); }
TEST(WardLarge, TwentyThousandUnstructuredFeatures) { run(0); }
