// max_pool2d 2×2 stride 2 floor: forward vs naive loop, gradient to the first maximum.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

TEST(MaxPool, ForwardMatchesNaiveLoopWithFloor) {
  for (Shape s : {Shape{2, 7, 9, 3}, Shape{1, 8, 8, 16}, Shape{3, 5, 4, 1}}) {
    Tensor x = test::random_tensor(s, 1, DType::f32);
    Tensor y = ops::max_pool2d(x);
    const int64_t N = s[0], H = s[1], W = s[2], C = s[3];
    ASSERT_EQ(y.shape(), (Shape{N, H / 2, W / 2, C}));
    const float* xv = x.data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < H / 2; ++i)
        for (int64_t j = 0; j < W / 2; ++j)
          for (int64_t c = 0; c < C; ++c) {
            float m = -1e30f;
            for (int p = 0; p < 2; ++p)
              for (int q = 0; q < 2; ++q) m = std::max(m, xv[((n * H + 2 * i + p) * W + 2 * j + q) * C + c]);
            ASSERT_EQ(y.data<float>()[((n * (H / 2) + i) * (W / 2) + j) * C + c], m);
          }
  }
}

TEST(MaxPool, GradientGoesToTheFirstMaximum) {
  // One 3×3 image (floor: one window), two channels. Channel 0: all equal → (0,0).
  // Channel 1: maxima tie at (0,1) and (1,0) → (0,1), the first in row-major order.
  std::vector<double> xv(3 * 3 * 2, 0.0);
  auto at = [&](int h, int w, int c) -> double& { return xv[(h * 3 + w) * 2 + c]; };
  at(0, 1, 1) = 5;
  at(1, 0, 1) = 5;
  at(2, 2, 1) = 9;  // outside the window (floor)
  Tensor x = Tensor::from_vector(xv, {1, 3, 3, 2});
  x.set_requires_grad(true);
  Tape tape;
  Tensor y = ops::max_pool2d(x);
  EXPECT_EQ(y.data<double>()[1], 5.0);
  tape.backward(y, Tensor::from_vector(std::vector<double>{2.0, 3.0}, {1, 1, 1, 2}));
  std::vector<double> g = x.grad().to_vector<double>();
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 3; ++w) {
      EXPECT_EQ(g[(h * 3 + w) * 2 + 0], (h == 0 && w == 0) ? 2.0 : 0.0) << h << "," << w;
      EXPECT_EQ(g[(h * 3 + w) * 2 + 1], (h == 0 && w == 1) ? 3.0 : 0.0) << h << "," << w;
    }
}

TEST(MaxPool, GradientMatchesFiniteDifferences) {
  // Random values: distinct, so no window sits at a kink.
  auto r = test::gradcheck([](const std::vector<Tensor>& in) { return ops::max_pool2d(in[0]); },
                           {test::random_tensor({2, 5, 7, 3}, 2)});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(MaxPool, RejectsNonNhwcInput) {
  EXPECT_THROW(ops::max_pool2d(test::random_tensor({4, 5}, 3)), std::runtime_error);
}
