// conv2d op (autograd + backend sharding): forward vs a naive loop, gradients by finite
// differences, and the weight gradient independent of the local micro-shard count.
#include <gtest/gtest.h>

#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

namespace {
// y[n,i,j,o] = Σ_{p,q,c} x[n, s·i+p, s·j+q, c]·w[o,p,q,c], NHWC / OHWI, double accumulation.
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, int s) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3), O = w.dim(0), K = w.dim(1);
  const int64_t oh = (H - K) / s + 1, ow = (W - K) / s + 1;
  std::vector<double> xv = x.to(DType::f64).to_vector<double>(), wv = w.to(DType::f64).to_vector<double>();
  std::vector<double> y(N * oh * ow * O);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < O; ++o) {
          double acc = 0;
          for (int64_t p = 0; p < K; ++p)
            for (int64_t q = 0; q < K; ++q)
              for (int64_t c = 0; c < C; ++c)
                acc += xv[((n * H + s * i + p) * W + s * j + q) * C + c] * wv[((o * K + p) * K + q) * C + c];
          y[((n * oh + i) * ow + j) * O + o] = acc;
        }
  return y;
}
}  // namespace

TEST(Conv2dOp, ForwardMatchesNaiveLoop) {
  struct Case { Shape x; int64_t cout, k; int s; };
  for (const Case& c : {Case{{2, 9, 11, 3}, 5, 3, 1}, Case{{1, 21, 17, 1}, 4, 5, 4}, Case{{3, 8, 7, 2}, 3, 2, 2},
                        Case{{2, 6, 6, 4}, 7, 1, 1}}) {
    Tensor x = test::random_tensor(c.x, 1, DType::f32);
    Tensor w = test::random_tensor({c.cout, c.k, c.k, c.x[3]}, 2, DType::f32);
    Tensor y = ops::conv2d(x, w, c.s, Shards{});
    std::vector<double> ref = naive_conv(x, w, c.s);
    ASSERT_EQ(y.numel(), static_cast<int64_t>(ref.size())) << shape_str(c.x);
    std::vector<float> yv = y.to_vector<float>();
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(yv[i], ref[i], 1e-5) << shape_str(c.x) << " at " << i;
  }
}

TEST(Conv2dOp, GradientMatchesFiniteDifferences) {
  for (int s : {1, 2, 4}) {
    const int64_t k = s == 4 ? 5 : 3;
    Shards sh = Shards::make(2, 0, 1);
    auto r = test::gradcheck([&](const std::vector<Tensor>& in) { return ops::conv2d(in[0], in[1], s, sh); },
                             {test::random_tensor({2, 9, 10, 2}, 3), test::random_tensor({3, k, k, 2}, 4)});
    EXPECT_TRUE(r.ok) << "stride " << s << ": " << r.report;
  }
}

TEST(Conv2dOp, NoDataGradientForAnInputThatDoesNotNeedIt) {
  Tensor x = test::random_tensor({2, 5, 5, 1}, 5);
  Tensor w = test::random_tensor({2, 3, 3, 1}, 6);
  w.set_requires_grad(true);
  Tape tape;
  tape.backward(ops::conv2d(x, w, 1, Shards{}), test::random_tensor({2, 3, 3, 2}, 7));
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
}

TEST(Conv2dOp, WeightGradientIndependentOfLocalShards) {
  Tensor x = test::random_tensor({8, 12, 12, 3}, 8, DType::f32);
  Tensor dy = test::random_tensor({8, 10, 10, 4}, 9, DType::f32);
  auto& be = backend_of(x);
  Tensor d1 = be.conv2d_backward_weight(x, dy, {4, 3, 3, 3}, 1, Shards::make(1, 0, 1));
  for (int s : {2, 4, 8}) {
    Tensor ds = be.conv2d_backward_weight(x, dy, {4, 3, 3, 3}, 1, Shards::make(s, 0, 1));
    EXPECT_LT(test::max_abs_diff(d1, ds), 1e-6 * 800) << s << " shards";  // sums of 800 products
  }
  // Shards of 3 samples do not divide a local batch of 8.
  EXPECT_THROW(be.conv2d_backward_weight(x, dy, {4, 3, 3, 3}, 1, Shards::make(16, 0, 1)), std::runtime_error);
}

TEST(Conv2dOp, RejectsBadShapes) {
  Tensor x = test::random_tensor({1, 4, 4, 2}, 10);
  EXPECT_THROW(ops::conv2d(x, test::random_tensor({3, 3, 3, 1}, 11), 1, Shards{}), std::runtime_error);  // Cin
  EXPECT_THROW(ops::conv2d(x, test::random_tensor({3, 5, 5, 2}, 12), 1, Shards{}), std::runtime_error);  // too small
  EXPECT_THROW(ops::conv2d(x, test::random_tensor({3, 3, 3, 2}, 13, DType::f32), 1, Shards{}), std::runtime_error);
}
