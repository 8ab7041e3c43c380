// linear and flatten: forward vs naive loops, gradients, micro-shard invariance.
#include <gtest/gtest.h>

#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

TEST(Linear, ForwardMatchesNaiveLoop) {
  for (bool bias : {false, true}) {
    Tensor x = test::random_tensor({7, 13}, 1, DType::f32), w = test::random_tensor({5, 13}, 2, DType::f32);
    Tensor b = bias ? test::random_tensor({5}, 3, DType::f32) : Tensor();
    Tensor y = ops::linear(x, w, b, Shards{});
    ASSERT_EQ(y.shape(), (Shape{7, 5}));
    for (int n = 0; n < 7; ++n)
      for (int o = 0; o < 5; ++o) {
        double acc = bias ? b.data<float>()[o] : 0.0;
        for (int i = 0; i < 13; ++i) acc += double(x.data<float>()[n * 13 + i]) * w.data<float>()[o * 13 + i];
        EXPECT_NEAR(y.data<float>()[n * 5 + o], acc, 1e-5);
      }
  }
}

TEST(Linear, GradientMatchesFiniteDifferences) {
  Shards sh = Shards::make(2, 0, 1);
  auto r = test::gradcheck([&](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], in[2], sh); },
                           {test::random_tensor({6, 5}, 4), test::random_tensor({3, 5}, 5), test::random_tensor({3}, 6)});
  EXPECT_TRUE(r.ok) << r.report;
  auto r2 = test::gradcheck([&](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], Tensor(), sh); },
                            {test::random_tensor({4, 3}, 7), test::random_tensor({2, 3}, 8)});
  EXPECT_TRUE(r2.ok) << r2.report;
}

TEST(Linear, WeightGradientIndependentOfLocalShards) {
  Tensor x = test::random_tensor({16, 9}, 9, DType::f32), dy = test::random_tensor({16, 4}, 10, DType::f32);
  auto& be = backend_of(x);
  Tensor dw1, db1;
  be.linear_backward_weight(x, dy, true, Shards::make(1, 0, 1), dw1, db1);
  for (int s : {2, 4, 16}) {
    Tensor dw, db;
    be.linear_backward_weight(x, dy, true, Shards::make(s, 0, 1), dw, db);
    EXPECT_LT(test::max_abs_diff(dw, dw1), 1e-5) << s;
    EXPECT_LT(test::max_abs_diff(db, db1), 1e-5) << s;
  }
  // Half of a 2-rank global batch: this rank's partial is its subtree root (single process).
  Tensor dw, db;
  be.linear_backward_weight(x, dy, false, Shards::make(4, 0, 2), dw, db);
  EXPECT_FALSE(db.defined());
  EXPECT_LT(test::max_abs_diff(dw, dw1), 1e-5);
}

TEST(Linear, RejectsMismatchedShapes) {
  EXPECT_THROW(ops::linear(test::random_tensor({2, 3}, 1), test::random_tensor({4, 5}, 2), Tensor(), Shards{}),
               std::runtime_error);
  EXPECT_THROW(ops::linear(test::random_tensor({2, 3}, 1), test::random_tensor({4, 3}, 2), test::random_tensor({3}, 3),
                           Shards{}),
               std::runtime_error);
}

TEST(Flatten, ReshapesAndPassesGradientsBack) {
  Tensor x = test::random_tensor({3, 2, 2, 5}, 11);
  Tensor y = ops::flatten(x);
  EXPECT_EQ(y.shape(), (Shape{3, 20}));
  EXPECT_EQ(y.to_vector<double>(), x.to_vector<double>());
  auto r = test::gradcheck(
      [&](const std::vector<Tensor>& in) { return ops::linear(ops::flatten(in[0]), in[1], Tensor(), Shards{}); },
      {test::random_tensor({3, 1, 1, 4}, 12), test::random_tensor({2, 4}, 13)});
  EXPECT_TRUE(r.ok) << r.report;
}
