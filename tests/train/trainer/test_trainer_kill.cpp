// Resume after a hard kill between checkpoints (issue 6, docs/training.md "Steps, epochs and
// restarts"): a run with a checkpoint every 2 steps is SIGKILLed while it fetches the batch of
// step 4, so log.jsonl already holds step 3 but the newest checkpoint is step 2. --resume must
// drop the log record of step 3 and continue bit-identically to a run never interrupted: same
// weights, same optimiser state, each step logged once with the same loss.
//
// The killed run is a gtest death test in the "threadsafe" style: the child re-executes this
// binary and runs the real trainer in a fresh process (no fork after OpenMP has started threads),
// which dies by SIGKILL: no destructor, no flush, nothing of the trainer's clean exit runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/rng.h"
#include "train/run_dir.h"
#include "train/run_log.h"
#include "train/trainer.h"

using namespace cytocon;
using namespace cytocon::train;
namespace fs = std::filesystem;

namespace {

constexpr int kS = 561;  // the tiny preset's input size
constexpr int kN = 4;    // global batch
constexpr int64_t kBatches = 3;  // per epoch, so the checkpoint of step 2 lies inside epoch 1

// Batches that are a pure function of (epoch, batch) (as in test_trainer.cpp), 3 per epoch.
// With kill_at >= 0 the process SIGKILLs itself when the batch with that global index is fetched.
class TinySource final : public BatchSource {
 public:
  int64_t batches_per_epoch() const override { return kBatches; }
  void start(int64_t epoch, int64_t batch) override { pos_ = epoch * batches_per_epoch() + batch; }
  TrainBatch next() override {
    int64_t step = pos_++;
    if (step == kill_at) ::kill(::getpid(), SIGKILL);
    Rng rng(99, Purpose::test, static_cast<uint32_t>(step));
    std::vector<float> x(static_cast<size_t>(kN) * kS * kS);
    std::vector<int32_t> y(kN);
    for (int n = 0; n < kN; ++n) {
      y[n] = static_cast<int32_t>((step + n) % 2);
      float base = y[n] ? 0.7f : 0.3f;
      for (int i = 0; i < kS * kS; ++i)
        x[static_cast<size_t>(n) * kS * kS + i] = base + 0.2f * (rng.uniform(static_cast<uint32_t>(n * kS * kS + i)) - 0.5f);
    }
    return {Tensor::from_vector(x, {kN, kS, kS, 1}), Tensor::from_vector(y, {kN})};
  }
  int64_t kill_at = -1;

 private:
  int64_t pos_ = 0;
};

Config kill_config(const std::string& stage, const std::string& out) {
  Config c;
  c.model.preset = "tiny";
  c.data.dir = "unused";
  c.train.stage = stage;
  c.train.epochs = 2;  // 6 steps
  c.train.batch_size = kN;
  c.train.shards = 2;
  c.train.checkpoint_every = 2;
  c.train.keep_checkpoints = 2;
  c.train.lr = 0.5;  // every step moves the weights visibly
  c.train.out = out;
  resolve(c);
  return c;
}

TrainerEnv quiet_env() {
  TrainerEnv e;
  e.progress = nullptr;
  return e;
}

// One folder per test process, passed to the death test's child through the environment (the
// child is a new process with another pid and must write where the parent looks). Removed after
// the process's tests unless one failed.
fs::path scratch() {
  static const fs::path p = [] {
    const char* kVar = "CYTOCON_TEST_TRAINER_KILL_DIR";
    if (const char* inherited = std::getenv(kVar)) return fs::path(inherited);
    fs::path mine = fs::temp_directory_path() / ("cytocon_test_trainer_kill_" + std::to_string(::getpid()));
    ::setenv(kVar, mine.c_str(), 1);
    return mine;
  }();
  return p;
}

class RemoveScratch : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Failed()) fs::remove_all(scratch());
  }
};
[[maybe_unused]] ::testing::Environment* const kRemoveScratch = ::testing::AddGlobalTestEnvironment(new RemoveScratch);

// Every tensor of two safetensors files has the same bytes.
void expect_same_tensors(const std::string& a, const std::string& b) {
  auto ta = io::read_safetensors(a), tb = io::read_safetensors(b);
  ASSERT_EQ(ta.tensors.size(), tb.tensors.size());
  for (const auto& t : ta.tensors) {
    const Tensor& u = tb.get(t.name);
    ASSERT_EQ(t.value.nbytes(), u.nbytes()) << t.name;
    EXPECT_EQ(0, std::memcmp(t.value.raw(), u.raw(), t.value.nbytes())) << t.name << " differs";
  }
}

std::vector<int64_t> logged_steps(const std::string& run) {
  std::vector<int64_t> out;
  for (const auto& r : read_log(run + "/log.jsonl")) out.push_back(r.step);
  return out;
}

std::vector<double> logged_losses(const std::string& run) {
  std::vector<double> out;
  for (const auto& r : read_log(run + "/log.jsonl")) out.push_back(r.loss);
  return out;
}

// The killed child: trains until it fetches the batch of step 4 (global batch 3) and dies there.
void train_until_killed(const std::string& stage, const std::string& cut) {
  TinySource s;
  s.kill_at = 3;
  run_training(kill_config(stage, cut), 2, s, quiet_env());
  std::_Exit(0);  // not reached; exit 0 would fail the death test's KilledBySignal
}

// `torn`: before resuming, also append half a record without its newline, as a kill in the middle
// of the log write would leave it; the resume must drop it like the records past the checkpoint.
void check_resume_after_kill(const std::string& stage, bool torn) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string cut = (scratch() / (stage + (torn ? "_torn_cut" : "_cut"))).string();
  const std::string whole = (scratch() / (stage + (torn ? "_torn_whole" : "_whole"))).string();
  fs::remove_all(cut);  // the child re-runs this line too (threadsafe style): still empty then
  EXPECT_EXIT(train_until_killed(stage, cut), ::testing::KilledBySignal(SIGKILL), "");

  // What the kill left: steps 1-3 logged, the checkpoint of step 2 only, no final weights.
  ASSERT_EQ(logged_steps(cut), (std::vector<int64_t>{1, 2, 3}));
  auto cps = RunDir(cut).checkpoints();
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].first, 2);
  EXPECT_FALSE(fs::exists(cut + "/final.safetensors"));
  if (torn) {
    std::ofstream(cut + "/log.jsonl", std::ios::app) << R"({"stage":")" << stage << R"(","epoch":2,"st)";
    ASSERT_THROW(read_log(cut + "/log.jsonl"), std::exception);  // the torn line is really there
  }

  TinySource resumed;
  RunResult rc = run_training(kill_config(stage, cut), 2, resumed, quiet_env(), cut);
  ASSERT_EQ(rc.status, RunStatus::finished) << rc.message;
  EXPECT_EQ(rc.step, 6);

  fs::remove_all(whole);
  TinySource once;
  RunResult ra = run_training(kill_config(stage, whole), 2, once, quiet_env());
  ASSERT_EQ(ra.status, RunStatus::finished) << ra.message;
  EXPECT_EQ(rc.loss, ra.loss);
  expect_same_tensors(whole + "/final.safetensors", cut + "/final.safetensors");
  // The checkpoints hold the optimiser velocities as well: same bits too.
  expect_same_tensors(RunDir(whole).latest_checkpoint(), RunDir(cut).latest_checkpoint());
  EXPECT_EQ(io::load_checkpoint(RunDir(cut).latest_checkpoint()).step, 6);
  // Each step logged exactly once (step 3 was dropped and logged again by the resumed run), with
  // the uninterrupted run's losses.
  EXPECT_EQ(logged_steps(cut), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(logged_losses(cut), logged_losses(whole));
}

}  // namespace

TEST(TrainerKill, CeResumeAfterSigkillBetweenCheckpointsIsBitIdentical) { check_resume_after_kill("ce", false); }

TEST(TrainerKill, SupconResumeAfterSigkillWithTornLogLineIsBitIdentical) { check_resume_after_kill("supcon", true); }
