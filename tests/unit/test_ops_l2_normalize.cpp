// Row-wise l2 normalisation: values, gradients, the eps branch.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

TEST(L2Normalize, UnitRowsMatchingNaiveLoop) {
  Tensor x = test::random_tensor({5, 7}, 1, DType::f32, -3, 3);
  Tensor z = ops::l2_normalize(x);
  for (int r = 0; r < 5; ++r) {
    double n = 0;
    for (int i = 0; i < 7; ++i) n += double(x.data<float>()[r * 7 + i]) * x.data<float>()[r * 7 + i];
    n = std::sqrt(n);
    for (int i = 0; i < 7; ++i) EXPECT_NEAR(z.data<float>()[r * 7 + i], x.data<float>()[r * 7 + i] / n, 1e-6);
  }
}

TEST(L2Normalize, GradientMatchesFiniteDifferences) {
  auto r = test::gradcheck([](const std::vector<Tensor>& in) { return ops::l2_normalize(in[0]); },
                           {test::random_tensor({4, 6}, 2, DType::f64, -2, 2)});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(L2Normalize, ZeroRowUsesEps) {
  Tensor x = Tensor::zeros({2, 3}, DType::f64);
  x.data<double>()[3] = 1e-3;  // row 1 below eps = 0.01
  x.set_requires_grad(true);
  Tape tape;
  Tensor z = ops::l2_normalize(x, 0.01);
  EXPECT_EQ(z.data<double>()[0], 0.0);
  EXPECT_NEAR(z.data<double>()[3], 0.1, 1e-15);
  tape.backward(z, Tensor::full({2, 3}, 1.0, DType::f64));
  for (double g : x.grad().to_vector<double>()) EXPECT_NEAR(g, 100.0, 1e-9);  // dz / eps, no NaN
}
