// Autograd tape behaviour: recording, accumulation when a tensor is used twice, NoGrad.
#include <gtest/gtest.h>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

TEST(Tape, GradientsAccumulateWhenATensorIsUsedTwice) {
  Tensor x = test::random_tensor({7}, 1);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y = ops::add(ops::relu(x), ops::scale(x, 3.0));  // x feeds two ops
  Tensor r = test::random_tensor({7}, 2);
  tape.backward(y, r);
  ASSERT_TRUE(x.grad().defined());
  for (int i = 0; i < 7; ++i) {
    const double xv = x.data<double>()[i], rv = r.data<double>()[i];
    EXPECT_DOUBLE_EQ(x.grad().data<double>()[i], (xv > 0 ? rv : 0.0) + 3.0 * rv) << i;
  }
}

TEST(Tape, SameTensorTwiceInOneOp) {
  Tensor x = test::random_tensor({5}, 3);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y = ops::add(x, x);
  tape.backward(y, Tensor::full({5}, 1.0, DType::f64));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(x.grad().data<double>()[i], 2.0);
}

TEST(Tape, NoGradRecordsNothing) {
  Tensor x = test::random_tensor({4, 3}, 4);
  x.set_requires_grad(true);
  Tape tape;
  {
    NoGrad ng;
    Tensor y = ops::relu(ops::scale(x, 2.0));
    EXPECT_FALSE(y.requires_grad());
  }
  EXPECT_EQ(tape.size(), 0u);
  Tensor y = ops::relu(x);
  EXPECT_EQ(tape.size(), 1u);
  EXPECT_TRUE(y.requires_grad());
}

TEST(Tape, NothingRecordedWithoutATapeOrWithoutGradInputs) {
  Tensor x = test::random_tensor({4}, 5);
  x.set_requires_grad(true);
  EXPECT_FALSE(ops::relu(x).requires_grad());  // no live tape
  Tape tape;
  Tensor c = test::random_tensor({4}, 6);  // does not require grad
  Tensor y = ops::relu(c);
  EXPECT_EQ(tape.size(), 0u);
  EXPECT_FALSE(y.requires_grad());
}

TEST(Tape, InputsThatDoNotRequireGradGetNoGradient) {
  Tensor x = test::random_tensor({3}, 7), c = test::random_tensor({3}, 8);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y = ops::add(x, c);
  tape.backward(y, Tensor::full({3}, 1.0, DType::f64));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(c.grad().defined());
}

TEST(Tape, BackwardNeedsAScalarLoss) {
  Tensor x = test::random_tensor({3}, 9);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y = ops::relu(x);
  EXPECT_THROW(tape.backward(y), std::runtime_error);
}

TEST(Tape, UnusedBranchIsSkipped) {
  Tensor x = test::random_tensor({3}, 10), w = test::random_tensor({3}, 11);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  Tape tape;
  Tensor used = ops::scale(x, 2.0);
  Tensor unused = ops::relu(w);  // never reaches the output
  (void)unused;
  tape.backward(used, Tensor::full({3}, 1.0, DType::f64));
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}
