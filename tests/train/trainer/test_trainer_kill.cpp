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

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/scratch.h"
#include "engine/io/checkpoint.h"
#include "train/run_dir.h"
#include "train/run_log.h"
#include "train/trainer.h"
#include "train/trainer/trainer_fixture.h"

using namespace cytocon;
using namespace cytocon::train;
using namespace cytocon::train::testing;
using cytocon::testing_util::scratch;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kBatches = 3;  // per epoch, so the checkpoint of step 2 lies inside epoch 1

// The killed child: trains until it fetches the batch of step 4 (global batch 3) and dies there.
void train_until_killed(const std::string& stage, const std::string& cut) {
  TinySource s(kBatches);
  s.kill_at = 3;
  run_training(tiny_config(stage, cut), 2, s, quiet_env());
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

  TinySource resumed(kBatches);
  RunResult rc = run_training(tiny_config(stage, cut), 2, resumed, quiet_env(), cut);
  ASSERT_EQ(rc.status, RunStatus::finished) << rc.message;
  EXPECT_EQ(rc.step, 6);

  fs::remove_all(whole);
  TinySource once(kBatches);
  RunResult ra = run_training(tiny_config(stage, whole), 2, once, quiet_env());
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
