// relu: values, the gradient at zero, NaN passing through.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/ops.h"

using namespace cytocon;

TEST(Relu, ValuesAndZeroGradientAtZero) {
  Tensor x = Tensor::from_vector(std::vector<double>{-1.0, 0.0, 2.0, -0.0, 3.5}, {5});
  Tensor y = ops::relu(x);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0.0, 0.0, 2.0, 0.0, 3.5}));
  Tensor dx = backend_of(y).relu_backward(Tensor::full({5}, 1.0, DType::f64), y);
  EXPECT_EQ(dx.to_vector<double>(), (std::vector<double>{0.0, 0.0, 1.0, 0.0, 1.0}));
}

TEST(Relu, PropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor y = ops::relu(Tensor::from_vector(std::vector<float>{nan, -1.f, 1.f}, {3}));
  EXPECT_TRUE(std::isnan(y.data<float>()[0]));
  EXPECT_EQ(y.data<float>()[1], 0.f);
  EXPECT_EQ(y.data<float>()[2], 1.f);
}
