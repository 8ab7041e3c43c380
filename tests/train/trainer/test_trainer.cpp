// The training loop's guarantees, in process on tiny in-memory data (tiny preset, 4 patches per
// batch): a run interrupted at step k (SIGTERM) and resumed equals a run never interrupted, bit
// for bit; a NaN loss stops the run and keeps the last good checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>

#include "common/scratch.h"
#include "engine/io/checkpoint.h"
#include "train/run_dir.h"
#include "train/stop_signal.h"
#include "train/trainer.h"
#include "train/trainer/trainer_fixture.h"

using namespace cytocon;
using namespace cytocon::config;
using namespace cytocon::train;
using namespace cytocon::train::testing;
using cytocon::testing_util::fresh_dir;
namespace fs = std::filesystem;

namespace {

void check_resume_is_bit_identical(const std::string& stage) {
  const int64_t kill_at = 1;  // SIGTERM arrives during step 2 (0-based 1): checkpoint of step 2
  std::string whole = fresh_dir(stage + "_whole"), cut = fresh_dir(stage + "_cut");
  TinySource a;
  RunResult ra = run_training(tiny_config(stage, whole), 2, a, quiet_env());
  ASSERT_EQ(ra.status, RunStatus::finished) << ra.message;
  ASSERT_EQ(ra.step, 4);
  for (const char* f : {"config.toml", "log.jsonl", "loss.png", "final.safetensors"})
    EXPECT_TRUE(fs::exists(whole + "/" + f)) << f;

  TinySource b;
  b.signal_at = kill_at;
  RunResult rb = run_training(tiny_config(stage, cut), 2, b, quiet_env());
  set_stop_requested(0);
  ASSERT_EQ(rb.status, RunStatus::interrupted) << rb.message;
  EXPECT_EQ(rb.step, kill_at + 1);
  EXPECT_EQ(rb.signal, SIGTERM);
  EXPECT_FALSE(fs::exists(cut + "/final.safetensors"));

  TinySource c;
  RunResult rc = run_training(tiny_config(stage, cut), 2, c, quiet_env(), cut);
  ASSERT_EQ(rc.status, RunStatus::finished) << rc.message;
  EXPECT_EQ(rc.step, 4);
  EXPECT_EQ(rc.loss, ra.loss);
  expect_same_tensors(whole + "/final.safetensors", cut + "/final.safetensors");
  // The checkpoints also hold the optimiser velocities: same bits too.
  expect_same_tensors(RunDir(whole).latest_checkpoint(), RunDir(cut).latest_checkpoint());
  EXPECT_EQ(logged_losses(whole), logged_losses(cut));  // the log holds each step once, with the same loss
  EXPECT_EQ(logged_losses(whole).size(), 4u);
  auto st = io::load_checkpoint(RunDir(cut).latest_checkpoint());
  EXPECT_EQ(st.step, 4);
  EXPECT_EQ(st.mode, "deterministic");
  EXPECT_EQ(st.precision, "fp32");
  EXPECT_EQ(RunDir(cut).checkpoints().size(), 2u);  // keep_checkpoints
}

}  // namespace

TEST(Trainer, SupconResumeAfterSigtermIsBitIdentical) { check_resume_is_bit_identical("supcon"); }

TEST(Trainer, CeResumeAfterSigtermIsBitIdentical) { check_resume_is_bit_identical("ce"); }

namespace {
// The run stopped at step 3 with a message naming NaN, and left checkpoints 1 and 2 (valid,
// checksummed, finite), no checkpoint 3 and no final weights.
void expect_stopped_after_two_good_steps(const RunResult& r, const std::string& run) {
  EXPECT_EQ(r.status, RunStatus::diverged);
  EXPECT_EQ(r.step, 2);
  EXPECT_NE(r.message.find("NaN"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("step 3"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(RunDir(run).checkpoint_path(2)), std::string::npos) << r.message;
  EXPECT_EQ(r.checkpoint, RunDir(run).checkpoint_path(2));
  auto cps = RunDir(run).checkpoints();
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps.back().first, 2);
  EXPECT_FALSE(fs::exists(run + "/final.safetensors"));
  auto st = io::load_checkpoint(cps.back().second);
  for (const auto& t : st.model) {
    if (t.value.dtype() != DType::f32) continue;
    for (float v : t.value.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << t.name;
  }
}
}  // namespace

TEST(Trainer, NanLossStopsAndKeepsLastGoodCheckpoint) {
  // Two good steps, then the run is continued with a temperature so small that zᵢ·zⱼ/τ
  // overflows: the loss of step 3 is NaN before any update.
  std::string run = fresh_dir("nan_loss");
  Config c = tiny_config("supcon", run);
  c.train.checkpoint_every = 1;
  c.train.keep_checkpoints = 5;
  c.train.max_steps = 2;
  TinySource s;
  ASSERT_EQ(run_training(c, 2, s, quiet_env()).status, RunStatus::finished);
  fs::remove(run + "/final.safetensors");  // the weights of step 2; the check below wants none of step 3
  c.train.max_steps = 0;
  c.train.temperature = 1e-300;
  TinySource s2;
  RunResult r = run_training(c, 2, s2, quiet_env(), run);
  EXPECT_NE(r.message.find("loss is NaN"), std::string::npos) << r.message;
  expect_stopped_after_two_good_steps(r, run);
}

TEST(Trainer, NanInDataStopsBeforeCheckpointingPoisonedWeights) {
  // A NaN pixel in the third batch: BN statistics and ReLU pass it on to the loss; the run must
  // stop at that step and never checkpoint weights it touched (the trainer also checks the
  // parameters after every update, in case a NaN ever hides from the loss).
  std::string run = fresh_dir("nan_data");
  Config c = tiny_config("supcon", run);
  c.train.checkpoint_every = 1;
  c.train.keep_checkpoints = 5;
  TinySource s;
  s.nan_at = 2;
  expect_stopped_after_two_good_steps(run_training(c, 2, s, quiet_env()), run);
}

TEST(Trainer, FreshRunRefusesADirectoryWithCheckpoints) {
  std::string run = fresh_dir("twice");
  Config c = tiny_config("ce", run);
  c.train.max_steps = 1;
  TinySource s;
  ASSERT_EQ(run_training(c, 2, s, quiet_env()).status, RunStatus::finished);
  TinySource s2;
  try {
    run_training(c, 2, s2, quiet_env());
    FAIL() << "a second fresh run in the same directory must fail";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
}
