// Softmax cross-entropy: hand computation, global mean, gradients, label validation.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

TEST(CrossEntropy, HandComputedValueAndGradient) {
  // Two samples, three classes.
  Tensor l = Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0, 0.5, -1.0, 0.0}, {2, 3});
  Tensor y = Tensor::from_vector(std::vector<int32_t>{2, 0}, {2});
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(std::exp(0.5) + std::exp(-1.0) + std::exp(0.0)) - 0.5;
  l.set_requires_grad(true);
  Tape tape;
  Tensor loss = ops::cross_entropy(l, y, Shards{});
  EXPECT_NEAR(loss.data<double>()[0], (l0 + l1) / 2, 1e-15);
  tape.backward(loss);
  const double z0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(l.grad().data<double>()[0], std::exp(1.0) / z0 / 2, 1e-15);
  EXPECT_NEAR(l.grad().data<double>()[2], (std::exp(3.0) / z0 - 1) / 2, 1e-15);
}

TEST(CrossEntropy, MeanOverTheGlobalBatchAndShardInvariance) {
  Tensor l = test::random_tensor({8, 5}, 1, DType::f32, -4, 4);
  Tensor y = test::random_labels(8, 5, 2);
  const float one = ops::cross_entropy(l, y, Shards::make(1, 0, 1)).data<float>()[0];
  EXPECT_NEAR(ops::cross_entropy(l, y, Shards::make(4, 0, 1)).data<float>()[0], one, 1e-6);
  // As rank 0 of 2 (single process: no exchange), the mean is over the global 16 samples.
  EXPECT_NEAR(ops::cross_entropy(l, y, Shards::make(4, 0, 2)).data<float>()[0], one / 2, 1e-6);
  Tensor g = backend_of(l).cross_entropy_backward(l, y, Shards::make(4, 0, 2), 1.0);
  Tensor g1 = backend_of(l).cross_entropy_backward(l, y, Shards::make(1, 0, 1), 0.5);
  EXPECT_LT(test::max_abs_diff(g, g1), 1e-8);
}

TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  Tensor y = test::random_labels(6, 4, 3);
  auto r = test::gradcheck([&](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], y, Shards::make(2, 0, 1)); },
                           {test::random_tensor({6, 4}, 4, DType::f64, -3, 3)});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(CrossEntropy, StableForLargeLogits) {
  Tensor l = Tensor::from_vector(std::vector<float>{1000.f, 0.f, -1000.f}, {1, 3});
  Tensor y = Tensor::from_vector(std::vector<int32_t>{1}, {1});
  EXPECT_NEAR(ops::cross_entropy(l, y, Shards{}).data<float>()[0], 1000.f, 1e-3);
}

TEST(CrossEntropy, RejectsLabelsOutOfRange) {
  Tensor l = test::random_tensor({3, 4}, 5);
  Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 4, 1}, {3});
  try {
    ops::cross_entropy(l, y, Shards{});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("label 4 of sample 1"), std::string::npos) << e.what();
  }
  Tensor neg = Tensor::from_vector(std::vector<int32_t>{0, -1, 1}, {3});
  EXPECT_THROW(ops::cross_entropy(l, neg, Shards{}), std::runtime_error);
}
