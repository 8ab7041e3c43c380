// Rank-count invariance of the GPU reductions: two ranks simulated by two threads sharing the
// GPU (ThreadComm, an all-gather through device copies) must reproduce the bits of one rank on
// the whole batch — BN statistics and gradients, linear and first-layer conv weight gradients,
// the cross-entropy loss — and the per-sample outputs must be the matching rows. This exercises
// the cross-rank half of the device trees (combine_shards_device, the Moments merge).
// cuDNN is not used here (its handle is not for concurrent threads): the conv is the 1-channel
// direct kernel.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/shards.h"
#include "gpu_test.h"

using namespace cytocon;
using namespace cytocon::gputest;

namespace {

// R threads of one process acting as ranks; all_gather copies every rank's device buffer.
class ThreadComm final : public Comm {
 public:
  explicit ThreadComm(int ranks) : ranks_(ranks), send_(ranks) {}
  void set_rank(int r) { rank_of_thread() = r; }
  int rank() const override { return rank_of_thread(); }
  int size() const override { return ranks_; }
  void all_gather(const void* send, void* recv, size_t bytes, Device dev) override {
    send_[rank()] = send;
    barrier();  // every rank has enqueued the kernels writing its `send` (one shared stream)
    for (int r = 0; r < ranks_; ++r) copy_bytes(static_cast<char*>(recv) + r * bytes, dev, send_[r], dev, bytes);
    barrier();  // nobody overwrites its `send` before every copy is enqueued
  }
  void all_reduce_sum(float*, size_t, Device) override { fail("ThreadComm: all_reduce_sum is not used here"); }
  void broadcast(void*, size_t, int, Device) override { fail("ThreadComm: broadcast is not used here"); }
  void barrier() override {
    std::unique_lock<std::mutex> lock(mu_);
    check(!failed_, "ThreadComm: another rank failed");
    const int gen = generation_;
    if (++waiting_ == ranks_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen || failed_; });
      check(generation_ != gen, "ThreadComm: another rank failed");
    }
  }
  // A rank that threw: the others stop waiting for it (a failure, not a hang until the timeout).
  void give_up() {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
    cv_.notify_all();
  }
  [[noreturn]] void abort(const std::string& message) override { fail(message); }

 private:
  static int& rank_of_thread() {
    thread_local int r = 0;
    return r;
  }
  int ranks_;
  std::vector<const void*> send_;
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0, generation_ = 0;
  bool failed_ = false;
};

// Rows [first, first + count) of a CPU tensor along dim 0.
Tensor rows(const Tensor& t, int64_t first, int64_t count) {
  Shape s = t.shape();
  const int64_t per = t.numel() / s[0];
  s[0] = count;
  Tensor out = Tensor::empty(s, t.dtype());
  const size_t bytes = dtype_size(t.dtype());
  std::memcpy(out.raw(), static_cast<const char*>(t.raw()) + first * per * bytes, count * per * bytes);
  return out;
}

struct Results {
  Tensor y, mean, invstd, var, dx, dgamma, dbeta, dw_lin, db_lin, dw_conv, ce;
};

Results run(const Shards& sh, const Tensor& x, const Tensor& dy, const Tensor& feat, const Tensor& dfeat,
            const Tensor& img, const Tensor& dimg, const Tensor& logits, const Tensor& labels) {
  Backend& b = backend(Device::cuda);
  const int64_t c = x.dim(-1);
  Tensor gamma = gpu(cpu_f32({c}, 90, 0.5, 1.5)), beta = gpu(cpu_f32({c}, 91));
  Results r;
  b.batch_norm_forward_train(gpu(x), gamma, beta, 1e-5, sh, r.y, r.mean, r.invstd, r.var);
  b.batch_norm_backward(gpu(dy), gpu(x), gamma, r.mean, r.invstd, sh, r.dx, r.dgamma, r.dbeta);
  b.linear_backward_weight(gpu(feat), gpu(dfeat), true, sh, r.dw_lin, r.db_lin);
  r.dw_conv = b.conv2d_backward_weight(gpu(img), gpu(dimg), {16, 5, 5, 1}, 4, sh);
  r.ce = b.cross_entropy_forward(gpu(logits), labels.to(Device::cuda), sh);
  return r;
}

TEST(GpuRanks, TwoRanksGiveTheBitsOfOne) {
  CYTOCON_REQUIRE_GPU();
  const int64_t n = 8;
  const Tensor x = cpu_f32({n, 6, 5, 16}, 80, -1.0, 2.0), dy = cpu_f32({n, 6, 5, 16}, 81);
  // dw_lin is 128 x 160 floats (80 KiB): across ranks it goes the slice-wise way (all-to-all,
  // kSliceExchangeBytes); the BN sums and the conv weight gradient go the all-gather way.
  const Tensor feat = cpu_f32({n, 160}, 82), dfeat = cpu_f32({n, 128}, 83);
  const Tensor img = cpu_f32({n, 21, 25, 1}, 84, 0.0, 1.0), dimg = cpu_f32({n, 5, 6, 16}, 85);
  const Tensor logits = cpu_f32({n, 7}, 86, -3.0, 3.0), labels = test::random_labels(n, 7, 87);

  const Results one = run(Shards::make(4, 0, 1), x, dy, feat, dfeat, img, dimg, logits, labels);

  ThreadComm comm(2);
  Results two[2];
  std::string errors[2];
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      comm.set_rank(r);
      try {
        const int64_t f = r * n / 2, m = n / 2;
        two[r] = run(Shards::make(4, r, 2, &comm), rows(x, f, m), rows(dy, f, m), rows(feat, f, m), rows(dfeat, f, m),
                     rows(img, f, m), rows(dimg, f, m), rows(logits, f, m), rows(labels, f, m));
      } catch (const std::exception& e) {
        errors[r] = e.what();
        comm.give_up();
      }
    });
  for (auto& t : threads) t.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int r = 0; r < 2; ++r) {
    const Results& t = two[r];
    EXPECT_TRUE(same_bits(t.mean, one.mean)) << r;
    EXPECT_TRUE(same_bits(t.invstd, one.invstd)) << r;
    EXPECT_TRUE(same_bits(t.var, one.var)) << r;
    EXPECT_TRUE(same_bits(t.dgamma, one.dgamma)) << r;
    EXPECT_TRUE(same_bits(t.dbeta, one.dbeta)) << r;
    EXPECT_TRUE(same_bits(t.dw_lin, one.dw_lin)) << r;
    EXPECT_TRUE(same_bits(t.db_lin, one.db_lin)) << r;
    EXPECT_TRUE(same_bits(t.dw_conv, one.dw_conv)) << r;
    EXPECT_TRUE(same_bits(t.ce, one.ce)) << r;
    EXPECT_TRUE(same_bits(t.y, rows(one.y.to(Device::cpu), r * n / 2, n / 2))) << r;
    EXPECT_TRUE(same_bits(t.dx, rows(one.dx.to(Device::cpu), r * n / 2, n / 2))) << r;
  }
}

}  // namespace
