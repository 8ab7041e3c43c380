// Supervised contrastive loss (docs/design.md eqs. 1–2): hand-computed values, properties, gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

namespace {

// Eq. 1–2 literally, with no max subtraction and long double loops: an independent code path.
long double supcon_by_formula(const std::vector<double>& z, const std::vector<int>& y, int d, double tau) {
  const int n = static_cast<int>(y.size());
  auto s = [&](int i, int k) {
    long double dot = 0;
    for (int e = 0; e < d; ++e) dot += static_cast<long double>(z[i * d + e]) * z[k * d + e];
    return dot / tau;
  };
  long double total = 0;
  for (int i = 0; i < n; ++i) {
    long double den = 0;
    for (int k = 0; k < n; ++k)
      if (k != i) den += std::exp(s(i, k));
    int p = 0;
    long double li = 0;
    for (int j = 0; j < n; ++j)
      if (j != i && y[j] == y[i]) {
        li += std::log(std::exp(s(i, j)) / den);
        ++p;
      }
    if (p > 0) total += -li / p;
  }
  return total / n;
}

Tensor normalized_rows(int64_t n, int64_t d, uint64_t seed) {
  Tensor x = test::random_tensor({n, d}, seed);
  NoGrad ng;
  return ops::l2_normalize(x);
}

Tensor labels_of(const std::vector<int>& y) {
  std::vector<int32_t> v(y.begin(), y.end());
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

}  // namespace

TEST(SupCon, HandComputedFourSamples) {
  // Four unit vectors in 2-D; labels: 0 and 2 share class 0, 1 and 3 have no positive.
  const double r = std::sqrt(0.5);
  std::vector<double> z = {1, 0, r, r, 0, 1, -r, r};
  std::vector<int> y = {0, 1, 0, 2};
  const double tau = 0.5;
  // Anchor 0: s = (2r, 0, −2r)/... explicitly: s_01 = r/τ, s_02 = 0, s_03 = −r/τ; one positive (2).
  const double l0 = -std::log(std::exp(0.0) / (std::exp(r / tau) + std::exp(0.0) + std::exp(-r / tau)));
  // Anchor 2: s_20 = 0, s_21 = r/τ, s_23 = r/τ; positive 0.
  const double l2 = -std::log(std::exp(0.0) / (std::exp(0.0) + 2 * std::exp(r / tau)));
  const double expect = (l0 + l2) / 4;  // anchors 1 and 3 contribute 0 but count in N = 4
  EXPECT_NEAR(static_cast<double>(supcon_by_formula(z, y, 2, tau)), expect, 1e-15);
  Tensor loss = ops::supcon_loss(Tensor::from_vector(z, {4, 2}), labels_of(y), tau);
  EXPECT_NEAR(loss.data<double>()[0], expect, 1e-14);
  Tensor loss32 = ops::supcon_loss(Tensor::from_vector(z, {4, 2}).to(DType::f32), labels_of(y), tau);
  EXPECT_NEAR(loss32.data<float>()[0], expect, 1e-6);
}

TEST(SupCon, MatchesFormulaOnRandomBatches) {
  for (int64_t n : {2, 5, 17}) {
    Tensor z = normalized_rows(n, 7, 100 + n);
    Tensor lab = test::random_labels(n, 3, 200 + n);
    std::vector<int> y(lab.data<int32_t>(), lab.data<int32_t>() + n);
    const double expect = static_cast<double>(supcon_by_formula(z.to_vector<double>(), y, 7, 0.07));
    EXPECT_NEAR(ops::supcon_loss(z, lab, 0.07).data<double>()[0], expect, 1e-12 * (1 + std::fabs(expect))) << n;
  }
}

TEST(SupCon, InvariantToPermutingTheBatch) {
  const int64_t n = 12, d = 6;
  Tensor z = normalized_rows(n, d, 1);
  Tensor lab = test::random_labels(n, 4, 2);
  const int perm[n] = {5, 0, 11, 3, 7, 1, 10, 2, 9, 4, 8, 6};
  Tensor zp = Tensor::empty({n, d}, DType::f64), lp = Tensor::empty({n}, DType::i32);
  for (int i = 0; i < n; ++i) {
    for (int e = 0; e < d; ++e) zp.data<double>()[i * d + e] = z.data<double>()[perm[i] * d + e];
    lp.data<int32_t>()[i] = lab.data<int32_t>()[perm[i]];
  }
  Tensor g = backend_of(z).supcon_loss_backward(z, lab, 0.07, 1.0);
  Tensor gp = backend_of(z).supcon_loss_backward(zp, lp, 0.07, 1.0);
  EXPECT_NEAR(ops::supcon_loss(z, lab, 0.07).data<double>()[0], ops::supcon_loss(zp, lp, 0.07).data<double>()[0], 1e-12);
  for (int i = 0; i < n; ++i)
    for (int e = 0; e < d; ++e) EXPECT_NEAR(gp.data<double>()[i * d + e], g.data<double>()[perm[i] * d + e], 1e-12);
}

TEST(SupCon, GradientMatchesFiniteDifferences) {
  Tensor lab = test::random_labels(9, 3, 5);
  for (double tau : {0.07, 0.5}) {
    auto r = test::gradcheck([&](const std::vector<Tensor>& in) { return ops::supcon_loss(in[0], lab, tau); },
                             {normalized_rows(9, 5, 4)});
    EXPECT_TRUE(r.ok) << "tau " << tau << ": " << r.report;
  }
}

TEST(SupCon, ThroughL2NormalizeGradientIsOrthogonalToTheInput) {
  const int64_t n = 10, d = 8;
  Tensor x = test::random_tensor({n, d}, 6, DType::f64, -2, 2);
  x.set_requires_grad(true);
  Tensor lab = test::random_labels(n, 3, 7);
  Tape tape;
  tape.backward(ops::supcon_loss(ops::l2_normalize(x), lab, 0.07));
  const double* g = x.grad().data<double>();
  const double* xv = x.data<double>();
  double gmax = 0;
  for (int64_t i = 0; i < n * d; ++i) gmax = std::max(gmax, std::fabs(g[i]));
  ASSERT_GT(gmax, 1e-3);  // a real gradient, not zero
  for (int64_t i = 0; i < n; ++i) {
    double dot = 0, gn = 0, xn = 0;
    for (int64_t e = 0; e < d; ++e) {
      dot += g[i * d + e] * xv[i * d + e];
      gn += g[i * d + e] * g[i * d + e];
      xn += xv[i * d + e] * xv[i * d + e];
    }
    EXPECT_LE(std::fabs(dot), 1e-12 * std::sqrt(gn * xn) + 1e-15) << "row " << i;
  }
  // And the composition passes a finite-difference check.
  auto r = test::gradcheck(
      [&](const std::vector<Tensor>& in) { return ops::supcon_loss(ops::l2_normalize(in[0]), lab, 0.07); },
      {test::random_tensor({n, d}, 6, DType::f64, -2, 2)});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(SupCon, NoPositivesGivesZeroLossAndGradientWithoutNaN) {
  Tensor z = normalized_rows(5, 4, 8);
  Tensor lab = labels_of({0, 1, 2, 3, 4});
  z.set_requires_grad(true);
  Tape tape;
  Tensor loss = ops::supcon_loss(z, lab, 0.07);
  EXPECT_EQ(loss.data<double>()[0], 0.0);
  tape.backward(loss);
  for (double g : z.grad().to_vector<double>()) EXPECT_EQ(g, 0.0);
  // One sample: no k ≠ i at all.
  Tensor one = normalized_rows(1, 4, 9);
  EXPECT_EQ(ops::supcon_loss(one, labels_of({3}), 0.07).data<double>()[0], 0.0);
}

TEST(SupCon, StableForLargeSimilaritiesInFloat32) {
  // s up to 1/τ = 200: exp(200) overflows float without the row-max subtraction.
  Tensor z = normalized_rows(8, 3, 10).to(DType::f32);
  Tensor lab = test::random_labels(8, 2, 11);
  Tensor loss = ops::supcon_loss(z, lab, 0.005);
  EXPECT_TRUE(std::isfinite(loss.data<float>()[0]));
  Tensor g = backend_of(z).supcon_loss_backward(z, lab, 0.005, 1.0);
  for (float v : g.to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
}

TEST(SupCon, RejectsBadInput) {
  Tensor z = normalized_rows(4, 3, 12);
  EXPECT_THROW(ops::supcon_loss(z, labels_of({0, 1, 0}), 0.07), std::runtime_error);  // wrong label count
  EXPECT_THROW(ops::supcon_loss(z, labels_of({0, 1, 0, 1}), 0.0), std::runtime_error);  // tau
  EXPECT_THROW(ops::supcon_loss(z, Tensor::zeros({4}, DType::f32), 0.07), std::runtime_error);  // label dtype
}
