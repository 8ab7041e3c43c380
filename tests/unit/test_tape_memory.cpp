// Backward closures keep only what backward reads: after relu(batch_norm(conv(x))) under a Tape
// the BatchNorm output (ReLU's backward reads ReLU's output, BN's reads BN's input) is freed once
// the forward drops it, the gradients are the same as when it is kept alive, and the tape frees
// what the closures saved once backward has run. Live bytes are counted by a CPU allocator that
// this test installs after the backend's own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "common/gradcheck.h"
#include "engine/ops.h"
#include "engine/tape.h"

using namespace cytocon;

namespace {

class CountingAllocator : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    std::lock_guard<std::mutex> lock(mu_);
    live_[p] = bytes;
    return p;
  }
  void deallocate(void* p, size_t) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(p);  // blocks from the previous allocator are not counted
    }
    std::free(p);
  }
  void memset_zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
  size_t live_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t s = 0;
    for (const auto& kv : live_) s += kv.second;
    return s;
  }

 private:
  std::mutex mu_;
  std::map<void*, size_t> live_;
};

CountingAllocator& counting() {
  static CountingAllocator* a = [] {
    ops::relu(Tensor::zeros({1}));  // the CPU backend installs its allocator first
    auto* c = new CountingAllocator;  // never deleted: tensors may outlive any scope
    register_allocator(Device::cpu, c);
    return c;
  }();
  return *a;
}

struct Net {
  Tensor w = test::random_tensor({4, 3, 3, 2}, 11, DType::f32);  // OHWI
  Tensor gamma = test::random_tensor({4}, 12, DType::f32, 0.5, 1.5);
  Tensor beta = test::random_tensor({4}, 13, DType::f32);
  Tensor rm = Tensor::zeros({4}), rv = Tensor::full({4}, 1.0, DType::f32);
  Net() {
    w.set_requires_grad(true);
    gamma.set_requires_grad(true);
    beta.set_requires_grad(true);
  }
};

const Shape kInput = {4, 18, 18, 2};  // NHWC; conv 3×3 → [4, 16, 16, 4]
const int64_t kMapBytes = 4 * 16 * 16 * 4 * 4;

}  // namespace

TEST(TapeMemory, BatchNormOutputIsFreedAndGradientsUnchanged) {
  CountingAllocator& alloc = counting();
  const Shards sh = Shards::make(2, 0, 1);
  Tensor x = test::random_tensor(kInput, 14, DType::f32);
  Tensor r = test::random_tensor({4, 16, 16, 4}, 15, DType::f32);

  // Reference: the BN output is kept alive by this scope.
  Net ref;
  {
    Tape tape;
    Tensor c = ops::conv2d(x, ref.w, 1, sh);
    Tensor y = ops::batch_norm(c, ref.gamma, ref.beta, ref.rm, ref.rv, {}, sh);
    tape.backward(ops::relu(y), r);
  }

  Net net;
  Tape tape;
  const size_t before = alloc.live_bytes();
  Tensor out = ops::relu(ops::batch_norm(ops::conv2d(x, net.w, 1, sh), net.gamma, net.beta, net.rm, net.rv, {}, sh));
  const size_t after_forward = alloc.live_bytes();
  // Live: the conv output (BN's backward reads it), the ReLU output, per-channel statistics.
  // Were the BN output still referenced, a third map would be live.
  EXPECT_GE(after_forward - before, size_t(2 * kMapBytes));
  EXPECT_LT(after_forward - before, size_t(2 * kMapBytes + kMapBytes / 2));

  tape.backward(out, r);
  EXPECT_EQ(tape.size(), 0u);
  const Tensor* got[] = {&net.w, &net.gamma, &net.beta};
  const Tensor* want[] = {&ref.w, &ref.gamma, &ref.beta};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(got[i]->grad().defined()) << i;
    EXPECT_EQ(got[i]->grad().to_vector<float>(), want[i]->grad().to_vector<float>()) << i;
  }
  // The closures are gone: what they saved (the conv output) and the intermediate gradients
  // are freed; the ReLU output (its gradient is r) and the parameter gradients remain.
  const size_t after_backward = alloc.live_bytes();
  EXPECT_GE(after_backward - before, size_t(kMapBytes));
  EXPECT_LT(after_backward - before, size_t(kMapBytes + kMapBytes / 2));
}

TEST(TapeMemory, GradSlotHoldsNoStorage) {
  CountingAllocator& alloc = counting();
  const size_t before = alloc.live_bytes();
  GradSlot slot;
  {
    Tensor t = Tensor::zeros({1000});
    t.set_requires_grad(true);
    slot = t.grad_ref();
    EXPECT_EQ(alloc.live_bytes() - before, 4000u);
  }
  EXPECT_EQ(alloc.live_bytes(), before);  // the slot outlives the tensor, not its buffer
  EXPECT_TRUE(slot.requires_grad());
  EXPECT_EQ(slot.shape(), Shape{1000});
  slot.accumulate(Tensor::full({1000}, 2.0, DType::f32));
  slot.accumulate(Tensor::full({1000}, 3.0, DType::f32));
  EXPECT_EQ(slot.grad().to_vector<float>()[999], 5.0f);
  EXPECT_THROW(slot.accumulate(Tensor::zeros({999})), std::exception);
  EXPECT_FALSE(Tensor().grad_ref().requires_grad());
}
