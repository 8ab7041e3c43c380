// Viterbi decoding and border error (map/sequence.h) on hand-made probability sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/errors.h"
#include "map/sequence.h"

using namespace cytocon;
using map::argmax;
using map::border_errors;
using map::viterbi;

namespace {

std::vector<float> random_probs(int64_t n, int64_t C, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(0.01f, 1.0f);
  std::vector<float> p(n * C);
  for (int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int64_t c = 0; c < C; ++c) s += p[i * C + c] = u(g);
    for (int64_t c = 0; c < C; ++c) p[i * C + c] /= s;
  }
  return p;
}

double path_cost(const std::vector<float>& p, int64_t C, const std::vector<int32_t>& s, double dx, double lam) {
  double cost = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    cost -= dx * std::log(static_cast<double>(p[i * C + s[i]]));
    if (i > 0 && s[i] != s[i - 1]) cost += lam;
  }
  return cost;
}

}  // namespace

TEST(MapViterbi, HandMadeSequenceHasTheKnownOptimum) {
  // Areas 0,0,1(noise),0,0,2,2,2: one noisy point inside area 0, then a true change to area 2.
  const std::vector<float> p = {0.8f, 0.1f, 0.1f, 0.7f, 0.2f, 0.1f, 0.3f, 0.6f, 0.1f, 0.8f, 0.1f, 0.1f,
                                0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.2f, 0.1f, 0.7f, 0.1f, 0.1f, 0.8f};
  EXPECT_EQ(argmax(p.data(), 8, 3), (std::vector<int32_t>{0, 0, 1, 0, 0, 2, 2, 2}));
  // Δ = 0.1 mm: the blip saves 0.1·ln(0.6/0.3) ≈ 0.069 but costs two switches.
  EXPECT_EQ(viterbi(p.data(), 8, 3, 0.1, 0.05), (std::vector<int32_t>{0, 0, 0, 0, 0, 2, 2, 2}));
  // Below half of 0.069 per switch the blip stays.
  EXPECT_EQ(viterbi(p.data(), 8, 3, 0.1, 0.03), (std::vector<int32_t>{0, 0, 1, 0, 0, 2, 2, 2}));
  // Σ ln p: area 0 = −9.3, area 2 = −10.6 over the line; a huge penalty keeps one area, 0.
  EXPECT_EQ(viterbi(p.data(), 8, 3, 0.1, 1e6), std::vector<int32_t>(8, 0));
}

TEST(MapViterbi, MatchesExhaustiveSearch) {
  const int64_t n = 6, C = 3;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::vector<float> p = random_probs(n, C, seed);
    for (double lam : {0.0, 0.05, 0.2, 1.0}) {
      double best = 1e300;
      for (int code = 0; code < 729; ++code) {
        std::vector<int32_t> s(n);
        for (int i = 0, c = code; i < n; ++i, c /= 3) s[i] = c % 3;
        best = std::min(best, path_cost(p, C, s, 0.1, lam));
      }
      std::vector<int32_t> v = viterbi(p.data(), n, C, 0.1, lam);
      EXPECT_NEAR(path_cost(p, C, v, 0.1, lam), best, 1e-12) << "seed " << seed << " lambda " << lam;
    }
  }
}

TEST(MapViterbi, ZeroPenaltyIsArgmaxAndLargePenaltyIsOneArea) {
  const int64_t n = 200, C = 7;
  std::vector<float> p = random_probs(n, C, 42);
  EXPECT_EQ(viterbi(p.data(), n, C, 0.2, 0.0), argmax(p.data(), n, C));
  std::vector<int32_t> one = viterbi(p.data(), n, C, 0.2, 1e9);
  std::vector<double> total(C, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < C; ++c) total[c] += std::log(static_cast<double>(p[i * C + c]));
  const int32_t best = static_cast<int32_t>(std::max_element(total.begin(), total.end()) - total.begin());
  EXPECT_EQ(one, std::vector<int32_t>(n, best));
  // Only λ/Δ matters: doubling both doubles every cost (exactly, in binary floating point).
  EXPECT_EQ(viterbi(p.data(), n, C, 0.1, 0.03), viterbi(p.data(), n, C, 0.2, 0.06));
  EXPECT_TRUE(viterbi(p.data(), 0, C, 0.1, 1).empty());
}

TEST(MapViterbi, BadArgumentsFail) {
  float p[2] = {0.5f, 0.5f};
  EXPECT_TRUE(testing_util::contains(testing_util::error_of([&] { viterbi(p, 1, 2, 0.1, -1); }), "penalty"));
  EXPECT_TRUE(testing_util::contains(testing_util::error_of([&] { viterbi(p, 1, 2, 0, 1); }), "spacing"));
}

TEST(MapBorderError, HandMadeSequences) {
  const std::vector<double> pos = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7};
  const std::vector<int32_t> truth = {0, 0, 0, 1, 1, 1, 2, 2};  // borders at 0.25 and 0.55
  // Exact prediction: both errors 0.
  for (double e : border_errors(pos, truth, truth)) EXPECT_NEAR(e, 0, 1e-12);
  // Borders predicted one point late (0.35, 0.65): 0.1 mm each.
  std::vector<double> late = border_errors(pos, truth, {0, 0, 0, 0, 1, 1, 1, 2});
  ASSERT_EQ(late.size(), 2u);
  EXPECT_NEAR(late[0], 0.1, 1e-12);
  EXPECT_NEAR(late[1], 0.1, 1e-12);
  // One area everywhere: the line's ends (0, 0.7) are the only predicted borders.
  std::vector<double> flat = border_errors(pos, truth, std::vector<int32_t>(8, 1));
  ASSERT_EQ(flat.size(), 2u);
  EXPECT_NEAR(flat[0], 0.25, 1e-12);
  EXPECT_NEAR(flat[1], 0.15, 1e-12);
  // Unknown reference points (−1) make no border; a border elsewhere still counts.
  std::vector<double> gaps = border_errors(pos, {0, 0, -1, 1, 1, 1, 2, 2}, truth);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_NEAR(gaps[0], 0, 1e-12);
  EXPECT_TRUE(border_errors({}, {}, {}).empty());
  // The other direction: a border predicted between every two points has small border errors
  // (0.05 mm) but its spurious borders lie up to 0.15 mm from a reference border or an end.
  std::vector<int32_t> noisy = {0, 1, 0, 1, 0, 1, 0, 1};
  for (double e : border_errors(pos, truth, noisy)) EXPECT_NEAR(e, 0.0, 1e-12);  // borders at every midpoint
  std::vector<double> sp = map::spurious_border_errors(pos, truth, noisy);
  ASSERT_EQ(sp.size(), 7u);  // midpoints 0.05 ... 0.65 against 0, 0.25, 0.55, 0.7
  EXPECT_NEAR(sp[0], 0.05, 1e-12);
  EXPECT_NEAR(sp[1], 0.1, 1e-12);
  EXPECT_NEAR(sp[3], 0.1, 1e-12);
  EXPECT_NEAR(sp[6], 0.05, 1e-12);
  for (double e : map::spurious_border_errors(pos, truth, truth)) EXPECT_NEAR(e, 0, 1e-12);
  EXPECT_TRUE(map::spurious_border_errors(pos, std::vector<int32_t>(8, -1), noisy).empty());
  EXPECT_TRUE(testing_util::contains(testing_util::error_of([&] { border_errors(pos, truth, {0}); }), "predicted"));
}
