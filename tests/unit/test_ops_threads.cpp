// Every op gives bit-identical results with 1 and 2 OpenMP threads (threads split only
// independent outputs; sums over samples use fixed blocks and micro-shards).
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <functional>
#include <vector>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

namespace {

// Runs f with 1 and then 2 threads; f returns the tensors to compare (values and gradients).
void expect_thread_independent(const char* what, const std::function<std::vector<Tensor>()>& f) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<Tensor> one = f();
  omp_set_num_threads(2);
  std::vector<Tensor> two = f();
  omp_set_num_threads(saved);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(one[i].shape(), two[i].shape()) << what << " output " << i;
    EXPECT_EQ(std::memcmp(one[i].raw(), two[i].raw(), one[i].nbytes()), 0) << what << ": output " << i
                                                                           << " differs between 1 and 2 threads";
  }
}

// Forward with a tape, backward with a fixed cotangent; returns the output and input gradients.
std::vector<Tensor> run(const std::function<Tensor(std::vector<Tensor>&)>& op, std::vector<Tensor> inputs) {
  for (Tensor& t : inputs) {
    t = t.clone();
    if (t.dtype() == DType::f32) t.set_requires_grad(true);
  }
  Tape tape;
  Tensor y = op(inputs);
  tape.backward(y, y.numel() == 1 ? Tensor::full({1}, 1.0, DType::f32) : test::random_tensor(y.shape(), 99, DType::f32));
  std::vector<Tensor> out{y};
  for (Tensor& t : inputs)
    if (t.requires_grad()) out.push_back(t.grad());
  return out;
}

Tensor f32(const Shape& s, uint64_t seed) { return test::random_tensor(s, seed, DType::f32); }

}  // namespace

TEST(Threads, EveryOpIsBitIdenticalWithOneAndTwoThreads) {
  const Shards sh = Shards::make(2, 0, 1);
  expect_thread_independent("relu", [] { return run([](auto& in) { return ops::relu(in[0]); }, {f32({4, 40, 40, 16}, 1)}); });
  expect_thread_independent("add/scale", [] {
    return run([](auto& in) { return ops::add(ops::scale(in[0], 0.5), in[1]); }, {f32({1 << 16}, 2), f32({1 << 16}, 3)});
  });
  expect_thread_independent("max_pool2d", [] { return run([](auto& in) { return ops::max_pool2d(in[0]); }, {f32({2, 41, 40, 16}, 4)}); });
  expect_thread_independent("batch_norm", [&] {
    return run(
        [&](auto& in) {
          Tensor rm = Tensor::zeros({16}), rv = Tensor::full({16}, 1.0, DType::f32);
          return ops::batch_norm(in[0], in[1], in[2], rm, rv, {}, sh);
        },
        {f32({4, 40, 40, 16}, 5), f32({16}, 6), f32({16}, 7)});
  });
  expect_thread_independent("batch_norm 1d", [&] {
    return run(
        [&](auto& in) {
          Tensor rm = Tensor::zeros({128}), rv = Tensor::full({128}, 1.0, DType::f32);
          return ops::batch_norm(in[0], in[1], in[2], rm, rv, {}, sh);
        },
        {f32({600, 128}, 8), f32({128}, 9), f32({128}, 10)});
  });
  expect_thread_independent("conv2d", [&] {
    return run([&](auto& in) { return ops::conv2d(in[0], in[1], 1, sh); }, {f32({2, 20, 20, 8}, 11), f32({16, 3, 3, 8}, 12)});
  });
  expect_thread_independent("linear", [&] {
    return run([&](auto& in) { return ops::linear(in[0], in[1], in[2], sh); },
               {f32({64, 128}, 13), f32({128, 128}, 14), f32({128}, 15)});
  });
  Tensor labels = test::random_labels(96, 8, 16);
  expect_thread_independent("supcon(l2_normalize)", [&] {
    return run([&](auto& in) { return ops::supcon_loss(ops::l2_normalize(in[0]), labels, 0.07); }, {f32({96, 128}, 17)});
  });
  Tensor classes = test::random_labels(256, 128, 18);
  expect_thread_independent("cross_entropy", [&] {
    return run([&](auto& in) { return ops::cross_entropy(in[0], classes, sh); }, {f32({256, 128}, 19)});
  });
}
