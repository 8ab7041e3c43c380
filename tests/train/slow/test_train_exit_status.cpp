// cytocon-train's exit statuses as docs/training.md documents them, through the program on a tiny
// synthetic dataset (the install_stop_handlers path and main()'s status mapping, which the
// in-process tests in trainer/ do not reach):
//   - a real SIGTERM / SIGINT sent to a training process: it stops at a step boundary, writes the
//     checkpoint of that step (the only one: train.checkpoint_every = 0), exits 143 / 130, and
//     --resume continues it bit-identically to a run never interrupted;
//   - a NaN loss: exit status 3, a message naming the step and the last good checkpoint, which
//     survives with everything before it; nothing more is written.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/scratch.h"
#include "engine/io/safetensors.h"

extern char** environ;
namespace fs = std::filesystem;
using cytocon::testing_util::scratch;

namespace {

const std::string kBin = CYTOCON_BIN_DIR;
const std::string kSrc = CYTOCON_SOURCE_DIR;

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Starts `args` with stdout and stderr to `log`; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  int err = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(err, 0) << "cannot start " << args[0];
  return err == 0 ? pid : -1;
}

// The exit status, or -signal if the process was killed by a signal.
int wait_status(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, 0) != pid) return -1000;
  return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1000;
}

int run(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = spawn(args, log);
  return pid > 0 ? wait_status(pid) : -1000;
}

// The steps of log.jsonl, in file order ({} if there is no log yet).
std::vector<int64_t> logged_steps(const std::string& run_dir) {
  std::vector<int64_t> out;
  std::ifstream f(run_dir + "/log.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("step")) out.push_back(j["step"].get<int64_t>());
  }
  return out;
}

// Steps of the checkpoints in run_dir/checkpoints, increasing.
std::vector<int64_t> checkpoint_steps(const std::string& run_dir) {
  std::vector<int64_t> out;
  if (!fs::exists(run_dir + "/checkpoints")) return out;
  for (const auto& e : fs::directory_iterator(run_dir + "/checkpoints")) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step-", 0) == 0 && e.path().extension() == ".safetensors") out.push_back(std::stoll(n.substr(5, 8)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> one_to(int64_t k) {
  std::vector<int64_t> v;
  for (int64_t s = 1; s <= k; ++s) v.push_back(s);
  return v;
}

class TrainExit : public ::testing::Test {
 public:
  void SetUp() override {
    for (const char* prog : {"cytocon-synth", "cytocon-train"})
      if (!fs::exists(kBin + "/" + prog)) GTEST_SKIP() << prog << " is not built";
    fs::create_directories(scratch());
    data_ = (scratch() / "data").string();
    if (!fs::exists(data_ + "/manifest.csv")) {
      ASSERT_EQ(0, run({kBin + "/cytocon-synth", "--out", data_, "--brains", "2", "--sections", "2", "--areas", "3",
                        "--seed", "3", "--size", "1024x768"},
                       log("synth")))
          << read(log("synth"));
    }
  }

  std::string log(const std::string& name) const { return (scratch() / (name + ".log")).string(); }

  // cytocon-train on the demo config, 8 patches per step (one step per epoch), then `extra`.
  std::vector<std::string> train(const std::string& out, std::vector<std::string> extra) const {
    std::vector<std::string> a = {kBin + "/cytocon-train", "--quiet", "--config", kSrc + "/configs/demo.toml"};
    for (std::string s : {"data.dir=" + data_, std::string("data.patches_per_area=4"), std::string("train.batch_size=8"),
                          std::string("train.device=cpu"), "train.out=" + out})
      a.insert(a.end(), {"--set", s});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  std::string data_;
};

// Sends `signo` to a training process once it has logged 2 steps; `stopped_at`: the step it
// stopped at.
void check_stop_on_signal(TrainExit& t, int signo, const std::string& run_dir, int64_t& stopped_at) {
  // 100000 epochs of one step: the run cannot end by itself before the signal arrives.
  auto args = t.train(run_dir, {"--set", "train.epochs=100000", "--set", "train.checkpoint_every=0"});
  const std::string name = signo == SIGINT ? "sigint" : "sigterm";
  fs::remove_all(run_dir);  // every run starts fresh (gtest_repeat, a rerun after a failure)
  pid_t pid = spawn(args, t.log(name));
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (logged_steps(run_dir).size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(0, ::kill(pid, signo));
  const int status = wait_status(pid);
  const std::string out = read(t.log(name));
  ASSERT_EQ(status, 128 + signo) << out;  // 143 for SIGTERM, 130 for SIGINT

  // Stopped at a step boundary: the checkpoint is of the last logged step, the only checkpoint
  // (none was due), each step logged once, no final weights.
  const std::vector<int64_t> steps = logged_steps(run_dir);
  ASSERT_GE(steps.size(), 2u) << out;
  stopped_at = steps.back();
  EXPECT_EQ(steps, one_to(stopped_at));
  EXPECT_EQ(checkpoint_steps(run_dir), std::vector<int64_t>{stopped_at});
  EXPECT_FALSE(fs::exists(run_dir + "/final.safetensors"));
  EXPECT_NE(out.find(std::string(signo == SIGINT ? "SIGINT" : "SIGTERM") + " at step " + std::to_string(stopped_at)),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("--resume " + run_dir), std::string::npos) << out;
}

}  // namespace

TEST_F(TrainExit, SigtermStopsAtAStepWithACheckpointAndResumesBitIdentically) {
  const std::string cut = (scratch() / "sigterm").string(), whole = (scratch() / "whole").string();
  int64_t k = 0;
  check_stop_on_signal(*this, SIGTERM, cut, k);
  if (HasFatalFailure()) return;
  fs::remove_all(whole);

  const std::string target = std::to_string(k + 2);
  ASSERT_EQ(0, run({kBin + "/cytocon-train", "--quiet", "--resume", cut, "--set", "train.max_steps=" + target},
                   log("resume")))
      << read(log("resume"));
  EXPECT_NE(read(log("resume")).find("finished at step " + target), std::string::npos) << read(log("resume"));
  EXPECT_EQ(logged_steps(cut), one_to(k + 2));
  ASSERT_EQ(0, run(train(whole, {"--set", "train.epochs=100000", "--set", "train.checkpoint_every=0", "--set",
                                 "train.max_steps=" + target}),
                   log("whole")))
      << read(log("whole"));
  auto a = cytocon::io::read_safetensors(whole + "/final.safetensors");
  auto b = cytocon::io::read_safetensors(cut + "/final.safetensors");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& t : a.tensors) {
    const cytocon::Tensor& u = b.get(t.name);
    ASSERT_EQ(t.value.nbytes(), u.nbytes()) << t.name;
    EXPECT_EQ(0, std::memcmp(t.value.raw(), u.raw(), u.nbytes())) << t.name << " differs after the SIGTERM and resume";
  }
}

TEST_F(TrainExit, SigintStopsWithStatus130AndACheckpoint) {
  int64_t k = 0;
  check_stop_on_signal(*this, SIGINT, (scratch() / "sigint").string(), k);
}

TEST_F(TrainExit, NanLossExitsWithStatus3KeepingTheLastGoodCheckpoint) {
  const std::string run_dir = (scratch() / "nan").string();
  fs::remove_all(run_dir);
  ASSERT_EQ(0, run(train(run_dir, {"--set", "train.stage=supcon", "--set", "train.max_steps=2", "--set",
                                   "train.epochs=100", "--set", "train.checkpoint_every=1", "--set",
                                   "train.keep_checkpoints=5"}),
                   log("nan_good")))
      << read(log("nan_good"));
  const std::string final_before = read(run_dir + "/final.safetensors");
  ASSERT_FALSE(final_before.empty());

  // Continued with a temperature so small that zᵢ·zⱼ/τ overflows: step 3's loss is not finite.
  const std::vector<std::string> resume = {kBin + "/cytocon-train", "--quiet", "--resume", run_dir, "--set",
                                           "train.max_steps=4"};
  std::vector<std::string> bad = resume;
  bad.insert(bad.end(), {"--set", "train.temperature=1e-300"});
  EXPECT_EQ(3, run(bad, log("nan")));
  const std::string out = read(log("nan"));
  EXPECT_TRUE(out.find("loss is NaN") != std::string::npos || out.find("loss is Inf") != std::string::npos) << out;
  EXPECT_NE(out.find("at step 3"), std::string::npos) << out;
  EXPECT_NE(out.find(run_dir + "/checkpoints/step-00000002.safetensors"), std::string::npos) << out;
  EXPECT_EQ(checkpoint_steps(run_dir), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(logged_steps(run_dir), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(read(run_dir + "/final.safetensors"), final_before);  // nothing more written

  // The last good checkpoint continues the run (config.toml now records the temperature that
  // diverged, as the configuration of the latest attempt: set it back).
  std::vector<std::string> good = resume;
  good.insert(good.end(), {"--set", "train.temperature=0.07"});
  ASSERT_EQ(0, run(good, log("nan_resume"))) << read(log("nan_resume"));
  EXPECT_EQ(logged_steps(run_dir), (std::vector<int64_t>{1, 2, 3, 4}));
}
