// BatchNorm + ReLU fused (docs/math.md "BatchNorm + ReLU"): the same bits as batch_norm followed
// by relu (outputs, all gradients, running statistics; float32 and float64; 1 and 2 threads;
// training and inference), gradients against central differences, NaN as relu passes it.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

namespace {

// One taped forward/backward of either variant; everything the op produces or updates.
struct Outcome {
  Tensor y, dx, dgamma, dbeta, rm, rv;
};

Outcome run(bool fused, const Tensor& x0, DType dt, bool training, const Shards& sh) {
  const int64_t c = x0.dim(-1);
  Tensor x = x0.to(dt).clone();
  Tensor gamma = test::random_tensor({c}, 51, dt, 0.5, 1.5), beta = test::random_tensor({c}, 52, dt, -0.5, 0.5);
  Outcome r;
  r.rm = test::random_tensor({c}, 53, dt, -0.1, 0.1);
  r.rv = test::random_tensor({c}, 54, dt, 0.5, 1.5);
  for (Tensor* t : {&x, &gamma, &beta}) t->set_requires_grad(true);
  ops::BatchNormArgs args;
  args.training = training;
  Tape tape;
  r.y = fused ? ops::batch_norm_relu(x, gamma, beta, r.rm, r.rv, args, sh)
              : ops::relu(ops::batch_norm(x, gamma, beta, r.rm, r.rv, args, sh));
  tape.backward(r.y, test::random_tensor(x.shape(), 55, dt));
  r.dx = x.grad();
  r.dgamma = gamma.grad();
  r.dbeta = beta.grad();
  return r;
}

::testing::AssertionResult same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined() || a.shape() != b.shape() || a.dtype() != b.dtype())
    return ::testing::AssertionFailure() << "undefined, or shape/dtype differ";
  if (std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "bits differ (max |diff| " << test::max_abs_diff(a, b) << ")";
}

void expect_same(const Outcome& a, const Outcome& b, const std::string& what) {
  EXPECT_TRUE(same_bits(a.y, b.y)) << what << ": y";
  EXPECT_TRUE(same_bits(a.dx, b.dx)) << what << ": dx";
  EXPECT_TRUE(same_bits(a.dgamma, b.dgamma)) << what << ": dgamma";
  EXPECT_TRUE(same_bits(a.dbeta, b.dbeta)) << what << ": dbeta";
  EXPECT_TRUE(same_bits(a.rm, b.rm)) << what << ": running_mean";
  EXPECT_TRUE(same_bits(a.rv, b.rv)) << what << ": running_var";
}

// The smallest |BN(x)| (the distance from the ReLU kink), training and inference mode.
double kink_margin(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm0, const Tensor& rv0) {
  NoGrad no_grad;
  double m = INFINITY;
  for (bool training : {true, false}) {
    ops::BatchNormArgs args;
    args.training = training;
    Tensor rm = rm0.clone(), rv = rv0.clone();
    for (double e : ops::batch_norm(x, gamma, beta, rm, rv, args, Shards{}).to_vector<double>())
      m = std::min(m, std::fabs(e));
  }
  return m;
}

}  // namespace

// Shapes: 16 channels (whole SIMD groups in float32 and float64), 3 channels (scalar channel
// loops only), 20 channels of a [N,C] matrix (a group plus scalar channels, as the projection head).
TEST(BatchNormRelu, SameBitsAsBatchNormThenRelu) {
  const int saved = omp_get_max_threads();
  for (Shape s : {Shape{8, 13, 11, 16}, Shape{4, 5, 7, 3}, Shape{8, 20}}) {
    Tensor x = test::random_tensor(s, 50, DType::f64, -1, 3);
    for (DType dt : {DType::f32, DType::f64})
      for (int shards : {1, 4})
        for (bool training : {true, false})
          for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            const Shards sh = Shards::make(shards, 0, 1);
            const std::string what = shape_str(s) + " " + dtype_name(dt) + " shards " + std::to_string(shards) +
                                     (training ? " training" : " inference") + " threads " + std::to_string(threads);
            const Outcome fused = run(true, x, dt, training, sh);
            expect_same(fused, run(false, x, dt, training, sh), what);
            // ReLU masks about half the outputs: the mask is exercised, not vacuous.
            int64_t zeros = 0;
            for (double e : fused.y.to(DType::f64).to_vector<double>()) zeros += e == 0.0;
            EXPECT_GT(zeros, s[0]) << what;
            EXPECT_LT(zeros, fused.y.numel() - s[0]) << what;
          }
  }
  omp_set_num_threads(saved);
}

TEST(BatchNormRelu, OneOrTwoThreadsGiveTheSameBits) {
  const int saved = omp_get_max_threads();
  // Large enough (> kParallelMin elements) that the elementwise passes run threaded.
  Tensor x = test::random_tensor({8, 33, 31, 16}, 56, DType::f32, -2, 2);
  omp_set_num_threads(1);
  const Outcome one = run(true, x, DType::f32, true, Shards::make(4, 0, 1));
  omp_set_num_threads(2);
  const Outcome two = run(true, x, DType::f32, true, Shards::make(4, 0, 1));
  omp_set_num_threads(saved);
  expect_same(one, two, "1 vs 2 threads");
}

TEST(BatchNormRelu, GradientMatchesFiniteDifferences) {
  // Central differences are only valid away from the kink of max(0, ·): each case takes the
  // first seed whose BN outputs all lie at least 1e-3 from 0 (a step h = 1e-6 moves them by
  // O(h)). 10 channels: one float64 SIMD group plus two scalar channels.
  for (Shape s : {Shape{4, 3, 5, 3}, Shape{6, 4}, Shape{2, 3, 2, 10}}) {
    const int64_t c = s.back();
    Tensor gamma = test::random_tensor({c}, 57, DType::f64, 0.5, 1.5);
    Tensor beta = test::random_tensor({c}, 58, DType::f64, -0.5, 0.5);
    Tensor rm0 = test::random_tensor({c}, 59, DType::f64, -0.1, 0.1);
    Tensor rv0 = test::random_tensor({c}, 60, DType::f64, 0.5, 1.5);
    Tensor x;
    for (uint64_t seed = 100; seed < 400 && !x.defined(); ++seed) {
      Tensor t = test::random_tensor(s, seed, DType::f64, -2, 2);
      if (kink_margin(t, gamma, beta, rm0, rv0) > 1e-3) x = t;
    }
    ASSERT_TRUE(x.defined()) << shape_str(s) << ": no input away from the ReLU kink";
    for (bool training : {true, false})
      for (int shards : {1, 2}) {
        ops::BatchNormArgs args;
        args.training = training;
        const Shards sh = Shards::make(shards, 0, 1);
        auto r = test::gradcheck(
            [&](const std::vector<Tensor>& in) {
              Tensor rm = rm0.clone(), rv = rv0.clone();
              return ops::batch_norm_relu(in[0], in[1], in[2], rm, rv, args, sh);
            },
            {x, gamma, beta});
        EXPECT_TRUE(r.ok) << shape_str(s) << (training ? " training" : " inference") << " shards " << shards << ": "
                          << r.report;
      }
  }
}

TEST(BatchNormRelu, NaNPassesThroughAsInRelu) {
  // One NaN input: in training it poisons its channel's statistics, so that whole channel is NaN
  // (relu passes NaN; the mask [y > 0] is false there) and the other channels are finite; in
  // inference only that element is NaN. Either way: the bits of batch_norm then relu.
  Tensor x = test::random_tensor({4, 3, 3, 5}, 61, DType::f64, -1, 3);
  x.data<double>()[7] = std::numeric_limits<double>::quiet_NaN();  // channel 7 % 5 = 2
  for (DType dt : {DType::f32, DType::f64})
    for (bool training : {true, false}) {
      const Outcome fused = run(true, x, dt, training, Shards{});
      expect_same(fused, run(false, x, dt, training, Shards{}), std::string(dtype_name(dt)) + " NaN");
      const std::vector<double> y = fused.y.to(DType::f64).to_vector<double>();
      for (size_t i = 0; i < y.size(); ++i) {
        const bool expect_nan = training ? i % 5 == 2 : i == 7;
        EXPECT_EQ(std::isnan(y[i]), expect_nan) << dtype_name(dt) << " element " << i;
      }
    }
}

TEST(BatchNormRelu, RejectsBadInput) {
  Tensor gamma = Tensor::full({3}, 1.0, DType::f64), beta = Tensor::full({3}, 0.0, DType::f64);
  Tensor rm = Tensor::zeros({3}, DType::f64), rv = Tensor::full({3}, 1.0, DType::f64);
  Tensor x = test::random_tensor({4, 5}, 62);
  EXPECT_THROW(ops::batch_norm_relu(x, gamma, beta, rm, rv, {}, Shards{}), std::runtime_error);  // C mismatch
  Tensor one = test::random_tensor({1, 3}, 63);
  EXPECT_THROW(ops::batch_norm_relu(one, gamma, beta, rm, rv, {}, Shards{}), std::runtime_error);  // 1 value
  // The backward's mask must have x's shape.
  Tensor x3 = test::random_tensor({4, 3}, 64), y, mean, invstd, var, dx, dg, db;
  Backend& be = backend_of(x3);
  be.batch_norm_relu_forward_train(x3, gamma, beta, 1e-5, Shards{}, y, mean, invstd, var);
  EXPECT_THROW(be.batch_norm_relu_backward(x3, test::random_tensor({2, 3}, 65), x3, gamma, mean, invstd, Shards{}, dx,
                                           dg, db),
               std::runtime_error);
}
