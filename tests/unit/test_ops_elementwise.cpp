// add, scale: values and gradients (with relu in the chain); the trainer's non-finite check.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"

using namespace cytocon;

TEST(Elementwise, AddAndScaleValues) {
  Tensor a = test::random_tensor({3, 5}, 1, DType::f32), b = test::random_tensor({3, 5}, 2, DType::f32);
  Tensor c = ops::add(a, b), d = ops::scale(a, -2.5);
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(c.data<float>()[i], a.data<float>()[i] + b.data<float>()[i]);
    EXPECT_EQ(d.data<float>()[i], -2.5f * a.data<float>()[i]);
  }
  EXPECT_THROW(ops::add(a, test::random_tensor({5, 3}, 3, DType::f32)), std::runtime_error);
  EXPECT_THROW(ops::add(a, test::random_tensor({3, 5}, 3, DType::f64)), std::runtime_error);
  EXPECT_THROW(ops::scale(Tensor::zeros({2}, DType::i32), 2.0), std::runtime_error);
}

TEST(Elementwise, GradientsMatchFiniteDifferences) {
  auto r = test::gradcheck(
      [](const std::vector<Tensor>& in) { return ops::relu(ops::add(ops::scale(in[0], 1.5), in[1])); },
      {test::random_tensor({4, 3, 2, 5}, 4), test::random_tensor({4, 3, 2, 5}, 5)});
  EXPECT_TRUE(r.ok) << r.report;
}

// The trainer's divergence check: the first float32 tensor holding a NaN or ±Inf, wherever it is
// in the tensor; other dtypes are not looked at; none → −1.
TEST(Elementwise, FirstNonFiniteFindsNaNAndInf) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Backend& b = backend(Device::cpu);
  auto make = [](std::vector<float> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
  EXPECT_EQ(b.first_non_finite({}), -1);
  EXPECT_EQ(b.first_non_finite({make({1, 2}), make({3e38f, -3e38f})}), -1);
  EXPECT_EQ(b.first_non_finite({make({1, 2}), make({0, 1, nan}), make({inf})}), 1);
  EXPECT_EQ(b.first_non_finite({make({1}), make({-inf, 0})}), 1);
  EXPECT_EQ(b.first_non_finite({Tensor::full({2}, std::nan(""), DType::f64), make({0})}), -1);
}
