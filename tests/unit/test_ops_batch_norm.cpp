// BatchNorm: forward vs a naive loop, running statistics, micro-shard invariance, gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

namespace {

struct Naive {
  std::vector<double> y, mean, var_biased, var_unbiased;
};

// Direct two-pass statistics over all rows (every dim but the last), double accumulation.
Naive naive_bn(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const int64_t c = x.dim(-1), m = x.numel() / c;
  std::vector<double> xv = x.to(DType::f64).to_vector<double>();
  std::vector<double> g = gamma.to(DType::f64).to_vector<double>(), b = beta.to(DType::f64).to_vector<double>();
  Naive r{std::vector<double>(xv.size()), std::vector<double>(c), std::vector<double>(c), std::vector<double>(c)};
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = 0;
    for (int64_t i = 0; i < m; ++i) s += xv[i * c + ch];
    const double mu = s / m;
    double q = 0;
    for (int64_t i = 0; i < m; ++i) q += (xv[i * c + ch] - mu) * (xv[i * c + ch] - mu);
    r.mean[ch] = mu;
    r.var_biased[ch] = q / m;
    r.var_unbiased[ch] = q / (m - 1);
    for (int64_t i = 0; i < m; ++i)
      r.y[i * c + ch] = g[ch] * (xv[i * c + ch] - mu) / std::sqrt(r.var_biased[ch] + eps) + b[ch];
  }
  return r;
}

struct Bn {
  Tensor gamma, beta, rm, rv;
  Bn(int64_t c, DType dt) {
    gamma = test::random_tensor({c}, 21, dt, 0.5, 1.5);
    beta = test::random_tensor({c}, 22, dt, -0.5, 0.5);
    rm = test::random_tensor({c}, 23, dt, -0.1, 0.1);
    rv = test::random_tensor({c}, 24, dt, 0.5, 1.5);
  }
};

}  // namespace

TEST(BatchNorm, TrainingForwardMatchesNaiveAndUpdatesRunningStats) {
  for (Shape s : {Shape{4, 5, 7, 3}, Shape{6, 9}, Shape{2, 33, 31, 5}, Shape{3, 1, 1, 128}}) {
    Tensor x = test::random_tensor(s, 31, DType::f64, -3, 5);
    const int64_t c = s.back();
    Bn p(c, DType::f64);
    std::vector<double> rm0 = p.rm.to_vector<double>(), rv0 = p.rv.to_vector<double>();
    Naive ref = naive_bn(x, p.gamma, p.beta, 1e-5);
    Tensor y = ops::batch_norm(x, p.gamma, p.beta, p.rm, p.rv, {}, Shards{});
    std::vector<double> yv = y.to_vector<double>();
    for (size_t i = 0; i < yv.size(); ++i) ASSERT_NEAR(yv[i], ref.y[i], 1e-12) << shape_str(s) << " element " << i;
    for (int64_t ch = 0; ch < c; ++ch) {
      EXPECT_NEAR(p.rm.data<double>()[ch], 0.9 * rm0[ch] + 0.1 * ref.mean[ch], 1e-13);
      EXPECT_NEAR(p.rv.data<double>()[ch], 0.9 * rv0[ch] + 0.1 * ref.var_unbiased[ch], 1e-13);
    }
  }
}

TEST(BatchNorm, Float32ForwardOnAnOffsetMap) {
  // A large common offset: sums of squares would cancel; (count, mean, M2) merging does not.
  Tensor x = test::random_tensor({2, 41, 37, 4}, 32, DType::f64, 100, 101);
  Bn p(4, DType::f64);
  Naive ref = naive_bn(x, p.gamma, p.beta, 1e-5);
  Bn p32(4, DType::f32);
  Tensor y = ops::batch_norm(x.to(DType::f32), p32.gamma, p32.beta, p32.rm, p32.rv, {}, Shards{});
  std::vector<float> yv = y.to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < yv.size(); ++i) worst = std::max(worst, std::fabs(yv[i] - ref.y[i]));
  // Rounding x ≈ 100 to float alone moves x̂ by up to 4e-6·invstd (invstd ≈ 3.5).
  EXPECT_LT(worst, 1e-4);
}

TEST(BatchNorm, InferenceUsesRunningStatistics) {
  Tensor x = test::random_tensor({3, 4, 5, 6}, 33);
  Bn p(6, DType::f64);
  Tensor rm0 = p.rm.clone(), rv0 = p.rv.clone();
  ops::BatchNormArgs args;
  args.training = false;
  Tensor y = ops::batch_norm(x, p.gamma, p.beta, p.rm, p.rv, args, Shards{});
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = i % 6;
    const double expect = p.gamma.data<double>()[c] * (x.data<double>()[i] - rm0.data<double>()[c]) /
                              std::sqrt(rv0.data<double>()[c] + 1e-5) +
                          p.beta.data<double>()[c];
    ASSERT_NEAR(y.data<double>()[i], expect, 1e-12);
  }
  EXPECT_EQ(test::max_abs_diff(p.rm, rm0), 0.0);  // no update in inference
  EXPECT_EQ(test::max_abs_diff(p.rv, rv0), 0.0);
}

TEST(BatchNorm, OneOrFourLocalShardsGiveTheSameResult) {
  Tensor x = test::random_tensor({8, 13, 11, 16}, 34, DType::f32, -1, 3);
  Tensor dy = test::random_tensor({8, 13, 11, 16}, 35, DType::f32);
  Bn p(16, DType::f32);
  auto& be = backend_of(x);
  Tensor y1, m1, i1, v1, y4, m4, i4, v4;
  be.batch_norm_forward_train(x, p.gamma, p.beta, 1e-5, Shards::make(1, 0, 1), y1, m1, i1, v1);
  be.batch_norm_forward_train(x, p.gamma, p.beta, 1e-5, Shards::make(4, 0, 1), y4, m4, i4, v4);
  EXPECT_LT(test::max_abs_diff(y1, y4), 1e-5);
  EXPECT_LT(test::max_abs_diff(m1, m4), 1e-6);
  EXPECT_LT(test::max_abs_diff(i1, i4), 1e-5);
  Tensor dx1, dg1, db1, dx4, dg4, db4;
  be.batch_norm_backward(dy, x, p.gamma, m1, i1, Shards::make(1, 0, 1), dx1, dg1, db1);
  be.batch_norm_backward(dy, x, p.gamma, m1, i1, Shards::make(4, 0, 1), dx4, dg4, db4);
  EXPECT_LT(test::max_abs_diff(dx1, dx4), 1e-6);
  EXPECT_LT(test::max_abs_diff(dg1, dg4), 1e-6 * 1144);  // sums over 1144 values per channel
  EXPECT_LT(test::max_abs_diff(db1, db4), 1e-6 * 1144);
}

TEST(BatchNorm, TrainingGradientMatchesFiniteDifferences) {
  // 10 channels: one 8-lane float64 vector group plus two scalar channels.
  for (Shape s : {Shape{4, 3, 5, 3}, Shape{6, 4}, Shape{2, 7, 1, 2}, Shape{2, 3, 2, 10}}) {
    const int64_t c = s.back();
    Bn p(c, DType::f64);
    for (int shards : {1, 2}) {
      Shards sh = Shards::make(shards, 0, 1);
      auto r = test::gradcheck(
          [&](const std::vector<Tensor>& in) {
            Tensor rm = p.rm.clone(), rv = p.rv.clone();
            return ops::batch_norm(in[0], in[1], in[2], rm, rv, {}, sh);
          },
          {test::random_tensor(s, 36, DType::f64, -2, 2), p.gamma, p.beta});
      EXPECT_TRUE(r.ok) << shape_str(s) << " shards " << shards << ": " << r.report;
    }
  }
}

TEST(BatchNorm, InferenceGradientMatchesFiniteDifferences) {
  Bn p(3, DType::f64);
  ops::BatchNormArgs args;
  args.training = false;
  auto r = test::gradcheck(
      [&](const std::vector<Tensor>& in) { return ops::batch_norm(in[0], in[1], in[2], p.rm, p.rv, args, Shards{}); },
      {test::random_tensor({3, 4, 2, 3}, 37), p.gamma, p.beta});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(BatchNorm, RejectsBadInput) {
  Bn p(3, DType::f64);
  Tensor one = test::random_tensor({1, 3}, 38);
  EXPECT_THROW(ops::batch_norm(one, p.gamma, p.beta, p.rm, p.rv, {}, Shards{}), std::runtime_error);  // 1 value
  Tensor x = test::random_tensor({4, 5}, 39);
  EXPECT_THROW(ops::batch_norm(x, p.gamma, p.beta, p.rm, p.rv, {}, Shards{}), std::runtime_error);  // C mismatch
  Tensor x3 = test::random_tensor({3, 3}, 40);
  EXPECT_THROW(ops::batch_norm(x3, p.gamma, p.beta, p.rm, p.rv, {}, Shards::make(2, 0, 1)), std::runtime_error);
  Tensor x32 = test::random_tensor({4, 3}, 41, DType::f32);
  EXPECT_THROW(ops::batch_norm(x32, p.gamma, p.beta, p.rm, p.rv, {}, Shards{}), std::runtime_error);  // dtype
}
