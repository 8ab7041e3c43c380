// top-k: order, ties to the lower index, argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/ops.h"

using namespace cytocon;

TEST(TopK, BestFirstTiesToLowerIndex) {
  Tensor s = Tensor::from_vector(std::vector<float>{0.1f, 0.7f, 0.7f, 0.2f, 0.7f,  //
                                                    5.f, 4.f, 3.f, 2.f, 1.f},
                                 {2, 5});
  Tensor t = ops::topk(s, 3);
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 4, 0, 1, 2}));
  EXPECT_EQ(ops::topk(s, 5).to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 4, 3, 0, 0, 1, 2, 3, 4}));
}

TEST(TopK, RejectsBadArguments) {
  Tensor s = Tensor::zeros({2, 3}, DType::f64);
  EXPECT_THROW(ops::topk(s, 0), std::runtime_error);
  EXPECT_THROW(ops::topk(s, 4), std::runtime_error);
  s.data<double>()[4] = NAN;
  EXPECT_THROW(ops::topk(s, 1), std::runtime_error);
}
