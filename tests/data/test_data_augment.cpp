// Augmentation (paper §3, docs/design.md with errata): parameter distributions by their moments,
// unbiased gamma, intensity transform, blur lowers and sharpening raises high-frequency energy.
#include <gtest/gtest.h>

#include <cmath>

#include "data/augment.h"
#include "data/extract.h"

using namespace cytocon::data;

namespace {

struct Moments {
  double n = 0, s = 0, ss = 0;
  void add(double v) { n += 1, s += v, ss += v * v; }
  double mean() const { return s / n; }
  double var() const { return ss / n - mean() * mean(); }
};

// Mean and variance of U[a, b] within 5 standard errors.
void expect_uniform(const Moments& m, double a, double b) {
  const double mu = (a + b) / 2, var = (b - a) * (b - a) / 12;
  EXPECT_NEAR(m.mean(), mu, 5 * std::sqrt(var / m.n));
  EXPECT_NEAR(m.var(), var, 5 * var * std::sqrt(0.8 / m.n));  // Var of s² for a uniform: 0.8 var²/n
}

TEST(Augment, ParameterDistributions) {
  Moments theta, d, dir, mirror, alpha, beta, z, sigma, delta;
  int blur = 0, sharpen = 0;
  const int N = 40000;
  for (int i = 0; i < N; ++i) {
    const AugmentParams p = draw_augment(1234, 3, i);
    theta.add(p.theta), d.add(p.shift_mm), dir.add(p.shift_dir), mirror.add(p.mirror);
    alpha.add(p.alpha), beta.add(p.beta), z.add(p.z);
    EXPECT_FLOAT_EQ(p.gamma, unbiased_gamma(p.z));
    if (p.filter == Filter::blur) ++blur;
    if (p.filter == Filter::sharpen) ++sharpen, delta.add(p.delta);
    if (p.filter != Filter::none) sigma.add(p.sigma);
  }
  const double pi = 3.14159265358979;
  expect_uniform(theta, -pi, pi);
  expect_uniform(d, 0, 0.2);
  expect_uniform(dir, -pi, pi);
  expect_uniform(alpha, 0.9, 1.0);
  expect_uniform(beta, -0.1, 0.1);
  expect_uniform(z, -0.05, 0.05);
  expect_uniform(sigma, 0.125, 1.0);
  expect_uniform(delta, 0.5, 1.5);
  EXPECT_NEAR(mirror.mean(), 0.5, 5 * std::sqrt(0.25 / N));
  EXPECT_NEAR(blur / double(N), 0.25, 5 * std::sqrt(0.1875 / N));
  EXPECT_NEAR(sharpen / double(N), 0.25, 5 * std::sqrt(0.1875 / N));
}

TEST(Augment, DeterministicAndKeyedBySample) {
  const AugmentParams a = draw_augment(1, 2, 3), b = draw_augment(1, 2, 3), c = draw_augment(1, 2, 4),
                      e = draw_augment(1, 3, 3);
  EXPECT_EQ(a.theta, b.theta);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_NE(a.theta, c.theta);
  EXPECT_NE(a.theta, e.theta);
}

TEST(Augment, UnbiasedGamma) {
  EXPECT_EQ(unbiased_gamma(0.0f), 1.0f);  // Z = 0 is the identity
  for (float zz : {0.01f, 0.03f, 0.05f}) {
    EXPECT_NEAR(unbiased_gamma(zz) * unbiased_gamma(-zz), 1.0f, 1e-6f);  // γ(−Z) = 1/γ(Z)
    EXPECT_LT(unbiased_gamma(zz), 1.0f);
    // 0.5 + Z/√2 maps to 0.5 under x^γ... i.e. (0.5 − Z/√2)^γ = 0.5 + Z/√2.
    const double s = zz / std::sqrt(2.0);
    EXPECT_NEAR(std::pow(0.5 - s, unbiased_gamma(zz)), 0.5 + s, 1e-6);
  }
}

TEST(Augment, IntensityTransform) {
  std::vector<float> x(1001), y;
  for (int i = 0; i <= 1000; ++i) x[i] = i / 1000.0f;
  AugmentParams id;
  y = x;
  apply_intensity(y.data(), y.size(), id);
  EXPECT_EQ(x, y);  // α = 1, β = 0, γ = 1: identity, bit for bit
  AugmentParams p;
  p.alpha = 0.95f, p.beta = 0.05f, p.z = 0.04f, p.gamma = unbiased_gamma(p.z);
  y = x;
  apply_intensity(y.data(), y.size(), p);
  for (int i = 0; i <= 1000; ++i) {
    const float want = std::clamp(p.alpha * std::pow(x[i], p.gamma) + p.beta, 0.0f, 1.0f);
    ASSERT_NEAR(y[i], want, 2e-4f) << x[i];
  }
  p.beta = -0.1f;  // clamps at 0
  y = x;
  apply_intensity(y.data(), y.size(), p);
  EXPECT_EQ(y[0], 0.0f);
}

double high_frequency_energy(const std::vector<float>& x, int S) {  // Σ of squared Laplacian
  double e = 0;
  for (int i = 1; i + 1 < S; ++i)
    for (int j = 1; j + 1 < S; ++j) {
      const double l = 4 * x[i * S + j] - x[(i - 1) * S + j] - x[(i + 1) * S + j] - x[i * S + j - 1] - x[i * S + j + 1];
      e += l * l;
    }
  return e;
}

TEST(Augment, BlurLowersAndSharpeningRaisesHighFrequencyEnergy) {
  const int S = 64;
  std::vector<float> x(S * S), tmp;
  uint32_t h = 1;
  for (auto& v : x) h = h * 1664525u + 1013904223u, v = 0.3f + 0.4f * (h >> 8) / 16777216.0f;
  const double e0 = high_frequency_energy(x, S);
  for (float sigma : {0.3f, 0.5f, 1.0f}) {
    AugmentParams b;
    b.filter = Filter::blur, b.sigma = sigma;
    auto y = x;
    apply_filter(y.data(), S, b, tmp);
    EXPECT_LT(high_frequency_energy(y, S), e0 * (sigma < 0.4f ? 1.0 : 0.5)) << sigma;
    AugmentParams s;
    s.filter = Filter::sharpen, s.sigma = sigma, s.delta = 1.0f;
    y = x;
    apply_filter(y.data(), S, s, tmp);
    EXPECT_GT(high_frequency_energy(y, S), e0 * (sigma < 0.4f ? 1.0 : 1.5)) << sigma;
  }
  // A constant image is unchanged by both (normalised taps, replicated edges).
  std::vector<float> c(S * S, 0.6f);
  AugmentParams b;
  b.filter = Filter::blur, b.sigma = 1.0f;
  apply_filter(c.data(), S, b, tmp);
  for (float v : c) ASSERT_NEAR(v, 0.6f, 1e-6f);
}

TEST(Augment, GaussianTaps) {
  const auto w = gaussian_taps(1.0f);
  ASSERT_EQ(w.size(), 7u);
  double s = 0;
  for (float v : w) s += v;
  EXPECT_NEAR(s, 1.0, 1e-6);
  EXPECT_NEAR(w[4] / w[3], std::exp(-0.5), 1e-6);
}

}  // namespace

namespace {

TEST(Augment, Pow01MatchesStdPow) {
  for (float g : {0.8f, 0.9f, 1.0f, 1.1f, 1.25f}) {
    double worst = 0;
    for (int i = 0; i <= 100000; ++i) {
      const float x = i / 100000.0f;
      worst = std::max(worst, std::abs(double(pow01(x, g)) - std::pow(double(x), double(g))));
    }
    EXPECT_LT(worst, 3e-6) << "gamma " << g;
  }
  EXPECT_LT(pow01(0.0f, 1.2f), 1e-30f);
}

}  // namespace
