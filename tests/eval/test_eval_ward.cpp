// Ward by nearest-neighbour chain against a brute-force O(n³) Lance-Williams implementation:
// the same merges (ids, sizes), the same heights and the same flat partitions.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/rng.h"
#include "eval/ward.h"

using namespace cytocon;
using namespace cytocon::eval;

namespace {

// Greedy Ward on the full matrix of squared distances with the Lance-Williams update
// d²(k, i∪j) = ((n_i+n_k) d²(k,i) + (n_j+n_k) d²(k,j) − n_k d²(i,j)) / (n_i+n_j+n_k).
std::vector<Merge> brute_force_ward(const std::vector<double>& x, int64_t n, int64_t d) {
  std::vector<double> D(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t t = 0; t < d; ++t) s += (x[i * d + t] - x[j * d + t]) * (x[i * d + t] - x[j * d + t]);
      D[i * n + j] = s;
    }
  std::vector<int64_t> size(n, 1), id(n);
  std::vector<bool> alive(n, true);
  for (int64_t i = 0; i < n; ++i) id[i] = i;
  std::vector<Merge> out;
  for (int64_t step = 0; step < n - 1; ++step) {
    double best = std::numeric_limits<double>::infinity();
    int64_t bi = -1, bj = -1;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j)
        if (alive[i] && alive[j] && D[i * n + j] < best) best = D[i * n + j], bi = i, bj = j;
    out.push_back({std::min(id[bi], id[bj]), std::max(id[bi], id[bj]), std::sqrt(best), size[bi] + size[bj]});
    for (int64_t k = 0; k < n; ++k) {
      if (!alive[k] || k == bi || k == bj) continue;
      double ni = size[bi], nj = size[bj], nk = size[k];
      double v = ((ni + nk) * D[k * n + bi] + (nj + nk) * D[k * n + bj] - nk * best) / (ni + nj + nk);
      D[k * n + bi] = D[bi * n + k] = v;
    }
    alive[bj] = false;
    size[bi] += size[bj];
    id[bi] = n + step;
  }
  return out;
}

std::vector<double> random_points(int64_t n, int64_t d, uint64_t seed) {
  Rng r(seed, Purpose::test);
  std::vector<double> x(n * d);
  for (int64_t i = 0; i < n * d; ++i) x[i] = r.normal(static_cast<uint32_t>(i));
  return x;
}

}  // namespace

TEST(Ward, ThreePointsOnALineByHand) {
  // {0,1} merge at Δ = 1/2 (height 1); then {0,1}+{5}: Δ = 2·1/3·4.5² = 13.5, height √27.
  std::vector<double> x = {0, 1, 5};
  std::vector<Merge> m = ward_linkage(x.data(), 3, 1);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].a, 0);
  EXPECT_EQ(m[0].b, 1);
  EXPECT_DOUBLE_EQ(m[0].height, 1.0);
  EXPECT_EQ(m[1].a, 2);
  EXPECT_EQ(m[1].b, 3);
  EXPECT_NEAR(m[1].height, std::sqrt(27.0), 1e-12);
  EXPECT_EQ(m[1].size, 3);
}

TEST(Ward, MatchesBruteForceOnRandomSets) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const int64_t n = 5 + static_cast<int64_t>(seed * 7 % 60), d = 1 + static_cast<int64_t>(seed % 6);
    std::vector<double> x = random_points(n, d, seed);
    std::vector<Merge> fast = ward_linkage(x.data(), n, d);
    std::vector<Merge> ref = brute_force_ward(x, n, d);
    ASSERT_EQ(fast.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_EQ(fast[i].a, ref[i].a) << "seed " << seed << " merge " << i;
      EXPECT_EQ(fast[i].b, ref[i].b) << "seed " << seed << " merge " << i;
      EXPECT_EQ(fast[i].size, ref[i].size) << "seed " << seed << " merge " << i;
      EXPECT_NEAR(fast[i].height, ref[i].height, 1e-9 * (1 + ref[i].height)) << "seed " << seed;
    }
    for (int k : {1, 2, 3, 5, 10})
      EXPECT_EQ(cut_tree(fast, n, k), cut_tree(ref, n, k)) << "seed " << seed << " k " << k;
  }
}

TEST(Ward, CutLabelsBySizeThenSmallestMember) {
  // 1-D groups: {10,11} (members 0,1), {0,0.1,0.2} (members 2,3,4), {50} (5), {30,30.1} (6,7).
  std::vector<double> x = {10, 11, 0, 0.1, 0.2, 50, 30, 30.1};
  std::vector<Merge> m = ward_linkage(x.data(), 8, 1);
  std::vector<int32_t> l = cut_tree(m, 8, 4);
  // Size 3 first (label 1); sizes 2: smallest member 0 before 6 (labels 2, 3); size 1 last.
  EXPECT_EQ(l, (std::vector<int32_t>{2, 2, 1, 1, 1, 4, 3, 3}));
  EXPECT_EQ(cut_tree(m, 8, 1), std::vector<int32_t>(8, 1));
  std::vector<int32_t> all = cut_tree(m, 8, 100);  // k clamped to n: every point alone
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(all[i], i + 1);
}

TEST(Ward, FloatIsThreadCountInvariant) {
  const int64_t n = 3000, d = 16;
  std::vector<double> xd = random_points(n, d, 99);
  std::vector<float> x(xd.begin(), xd.end());
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<Merge> one = ward_linkage(x.data(), n, d);
  omp_set_num_threads(std::max(2, saved));
  std::vector<Merge> many = ward_linkage(x.data(), n, d);
  omp_set_num_threads(saved);
  ASSERT_EQ(one.size(), many.size());
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].a, many[i].a);
    ASSERT_EQ(one[i].b, many[i].b);
    ASSERT_EQ(one[i].height, many[i].height);  // bit for bit
  }
}

TEST(Ward, RejectsNonFiniteFeatures) {
  std::vector<float> x = {0, 1, NAN, 2};
  EXPECT_THROW(ward_linkage(x.data(), 2, 2), std::exception);
}

TEST(Ward, IdenticalPointsMergeInIndexOrderAtHeightZero) {
  // A collapsed encoder gives identical features: every Δ is 0, ties go to the smallest members.
  std::vector<float> x(6 * 3, 0.5f);
  std::vector<Merge> m = ward_linkage(x.data(), 6, 3);
  for (const Merge& mm : m) EXPECT_EQ(mm.height, 0.0);
  EXPECT_EQ(m[0].a, 0);
  EXPECT_EQ(m[0].b, 1);
  EXPECT_EQ(cut_tree(m, 6, 2).size(), 6u);
}
