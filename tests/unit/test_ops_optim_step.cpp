// LARS and SGD element loops (Backend::lars_step / sgd_step) against hand-computed steps.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/backend.h"

using namespace cytocon;

TEST(OptimStep, LarsAdaptiveStepByHand) {
  Tensor w = Tensor::from_vector(std::vector<double>{3.0, 4.0}, {2});  // ‖w‖ = 5
  Tensor g = Tensor::from_vector(std::vector<double>{0.6, -0.8}, {2});
  Tensor v = Tensor::from_vector(std::vector<double>{0.1, 0.2}, {2});
  Backend::LarsArgs a{0.5, 0.9, 0.01, 0.001, true};
  backend(Device::cpu).lars_step(w, g, v, a);
  // g' = g + wd·w = (0.63, −0.76); trust = η·5/‖g'‖; v = 0.9·v + lr·trust·g'; w −= v.
  const double g0 = 0.63, g1 = -0.76, trust = 0.001 * 5 / std::sqrt(g0 * g0 + g1 * g1);
  const double v0 = 0.09 + 0.5 * trust * g0, v1 = 0.18 + 0.5 * trust * g1;
  EXPECT_NEAR(v.data<double>()[0], v0, 1e-15);
  EXPECT_NEAR(v.data<double>()[1], v1, 1e-15);
  EXPECT_NEAR(w.data<double>()[0], 3.0 - v0, 1e-15);
  EXPECT_NEAR(w.data<double>()[1], 4.0 - v1, 1e-15);
}

TEST(OptimStep, LarsTrustIsOneForZeroNormsAndExcludedParameters) {
  // Zero weights: ‖w‖ = 0 → trust 1 (and wd·w = 0).
  Tensor w = Tensor::zeros({3}, DType::f64), v = Tensor::zeros({3}, DType::f64);
  Tensor g = Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0}, {3});
  backend(Device::cpu).lars_step(w, g, v, {0.1, 0.9, 0.5, 0.001, true});
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{-0.1, -0.2, -0.30000000000000004}));
  // adapt = false (BN, biases): no weight decay, no trust: v = m·v + lr·g.
  Tensor w2 = Tensor::from_vector(std::vector<float>{1.f, 2.f}, {2}), v2 = Tensor::from_vector(std::vector<float>{1.f, 1.f}, {2});
  Tensor g2 = Tensor::from_vector(std::vector<float>{0.5f, -0.5f}, {2});
  backend(Device::cpu).lars_step(w2, g2, v2, {0.1, 0.9, 0.5, 0.001, false});
  EXPECT_FLOAT_EQ(v2.data<float>()[0], 0.9f + 0.05f);
  EXPECT_FLOAT_EQ(w2.data<float>()[1], 2.f - (0.9f - 0.05f));
}

TEST(OptimStep, SgdMomentumByHand) {
  Tensor w = Tensor::from_vector(std::vector<double>{1.0, -2.0}, {2});
  Tensor g = Tensor::from_vector(std::vector<double>{0.5, 0.25}, {2});
  Tensor v = Tensor::from_vector(std::vector<double>{0.1, 0.0}, {2});
  backend(Device::cpu).sgd_step(w, g, v, 0.1, 0.9, 0.01);
  // v = 0.9·v + (g + 0.01·w); w −= 0.1·v
  EXPECT_NEAR(v.data<double>()[0], 0.09 + 0.51, 1e-15);
  EXPECT_NEAR(v.data<double>()[1], 0.25 - 0.02, 1e-15);
  EXPECT_NEAR(w.data<double>()[0], 1.0 - 0.1 * 0.6, 1e-15);
  EXPECT_NEAR(w.data<double>()[1], -2.0 - 0.1 * 0.23, 1e-15);
  Tensor bad = Tensor::zeros({3}, DType::f64);
  EXPECT_THROW(backend(Device::cpu).sgd_step(w, bad, v, 0.1, 0.9, 0.0), std::runtime_error);
}
