// What the in-process trainer tests share: tiny in-memory batches, the tiny-preset run config,
// and comparisons of run directories (weights and checkpoints byte for byte, the log's steps).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/rng.h"
#include "train/run_log.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

namespace cytocon::train::testing {

constexpr int kS = 561;  // the tiny preset's input size
constexpr int kN = 4;    // global batch

// Batches that are a pure function of (epoch, batch): smooth random images whose mean brightness
// depends on the class, so the loss has something to learn. Hooks, by global batch index: a
// SIGTERM request when the batch is taken (it arrives while that step trains), a NaN pixel, or a
// SIGKILL of the whole process while the batch is fetched.
class TinySource final : public BatchSource {
 public:
  explicit TinySource(int64_t batches_per_epoch = 2) : batches_(batches_per_epoch) {}
  int64_t batches_per_epoch() const override { return batches_; }
  void start(int64_t epoch, int64_t batch) override { pos_ = epoch * batches_per_epoch() + batch; }
  TrainBatch next() override {
    int64_t step = pos_++;
    if (step == kill_at) ::kill(::getpid(), SIGKILL);
    if (step == signal_at) set_stop_requested(SIGTERM);
    Rng rng(99, Purpose::test, static_cast<uint32_t>(step));
    std::vector<float> x(static_cast<size_t>(kN) * kS * kS);
    std::vector<int32_t> y(kN);
    for (int n = 0; n < kN; ++n) {
      y[n] = static_cast<int32_t>((step + n) % 2);
      float base = y[n] ? 0.7f : 0.3f;
      for (int i = 0; i < kS * kS; ++i)
        x[static_cast<size_t>(n) * kS * kS + i] = base + 0.2f * (rng.uniform(static_cast<uint32_t>(n * kS * kS + i)) - 0.5f);
    }
    if (step == nan_at) x[12345] = std::nanf("");
    return {Tensor::from_vector(x, {kN, kS, kS, 1}), Tensor::from_vector(y, {kN})};
  }
  int64_t signal_at = -1, nan_at = -1, kill_at = -1;

 private:
  int64_t batches_;
  int64_t pos_ = 0;
};

// 2 epochs of the tiny preset, a checkpoint every 2 steps (2 kept), an lr large enough that every
// step moves the weights visibly.
inline config::Config tiny_config(const std::string& stage, const std::string& out) {
  config::Config c;
  c.model.preset = config::ModelPreset::tiny;
  c.data.dir = "unused";
  c.train.stage = config::parse_choice<config::Stage>("stage", stage);
  c.train.epochs = 2;
  c.train.batch_size = kN;
  c.train.shards = 2;
  c.train.checkpoint_every = 2;
  c.train.keep_checkpoints = 2;
  c.train.lr = 0.5;
  c.train.out = out;
  config::resolve(c);
  return c;
}

inline TrainerEnv quiet_env() {
  TrainerEnv e;
  e.progress = nullptr;
  return e;
}

// Every tensor of two safetensors files has the same bytes.
inline void expect_same_tensors(const std::string& a, const std::string& b) {
  auto ta = io::read_safetensors(a), tb = io::read_safetensors(b);
  ASSERT_EQ(ta.tensors.size(), tb.tensors.size());
  for (const auto& t : ta.tensors) {
    const Tensor& u = tb.get(t.name);
    ASSERT_EQ(t.value.nbytes(), u.nbytes()) << t.name;
    EXPECT_EQ(0, std::memcmp(t.value.raw(), u.raw(), t.value.nbytes())) << t.name << " differs";
  }
}

inline std::vector<int64_t> logged_steps(const std::string& run) {
  std::vector<int64_t> out;
  for (const auto& r : read_log(run + "/log.jsonl")) out.push_back(r.step);
  return out;
}

inline std::vector<double> logged_losses(const std::string& run) {
  std::vector<double> out;
  for (const auto& r : read_log(run + "/log.jsonl")) out.push_back(r.loss);
  return out;
}

}  // namespace cytocon::train::testing
