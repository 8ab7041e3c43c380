// End to end through the programs, as a user runs them: cytocon-synth writes a tiny dataset,
// cytocon-train runs supcon, the linear probe on its encoder and the ce baseline for a few steps
// each, cytocon-eval evaluates the probe on X_te and X_un. Checks the files each step promises
// (docs/design.md, Interfaces), that --resume continues a finished run to a larger max_steps with the
// same bits as a run never stopped, and that config errors from the command line name the key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/io/safetensors.h"

namespace fs = std::filesystem;

namespace {

const std::string kBin = CYTOCON_BIN_DIR;
const std::string kSrc = CYTOCON_SOURCE_DIR;

// Per process: ctest runs each test of this file as its own process, in parallel under -j, and
// they must not share the log of the last command (nor the run directories).
fs::path scratch() {
  static const fs::path p = fs::temp_directory_path() / ("cytocon_smoke_" + std::to_string(::getpid()));
  return p;
}

std::string log_path() { return (scratch() / "last.log").string(); }

int run(const std::string& cmd) {
  fs::create_directories(scratch());
  std::string full = cmd + " > " + log_path() + " 2>&1";
  int status = std::system(full.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string last_output() {
  std::ifstream f(log_path());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST(Smoke, SynthTrainEval) {
  for (const char* prog : {"cytocon-synth", "cytocon-train", "cytocon-eval"})
    if (!fs::exists(kBin + "/" + prog)) GTEST_SKIP() << prog << " is not built";
  fs::path root = scratch() / "e2e";
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string data = (root / "data").string();
  ASSERT_EQ(0, run(kBin + "/cytocon-synth --out " + data + " --brains 3 --sections 3 --areas 8 --seed 3 --size 1536x1152"))
      << last_output();
  ASSERT_TRUE(fs::exists(data + "/manifest.csv"));

  const std::string train = kBin + "/cytocon-train --quiet --config " + kSrc + "/configs/demo.toml --set data.dir=" +
                            data + " --set data.patches_per_area=4 --set train.batch_size=8 --set train.max_steps=2";
  const std::string sup = (root / "supcon").string();
  ASSERT_EQ(0, run(train + " --set train.out=" + sup)) << last_output();
  for (const char* f : {"config.toml", "log.jsonl", "loss.png", "final.safetensors"})
    EXPECT_TRUE(fs::exists(sup + "/" + f)) << f;
  EXPECT_NE(read(sup + "/config.toml").find("stage = \"supcon\""), std::string::npos);

  const std::string lin = (root / "linear").string();
  ASSERT_EQ(0, run(train + " --set train.stage=linear --set train.init=" + sup + "/final.safetensors --set train.out=" + lin))
      << last_output();
  ASSERT_TRUE(fs::exists(lin + "/final.safetensors"));

  // Resuming a finished run with more steps continues it.
  ASSERT_EQ(0, run(kBin + "/cytocon-train --quiet --resume " + lin + " --set train.max_steps=3")) << last_output();
  EXPECT_NE(last_output().find("finished at step 3"), std::string::npos) << last_output();

  // The real loader restarts mid-epoch: 2 steps, then --resume to 4, equals 4 steps in one go,
  // tensor for tensor (the in-process tests in trainer/ use in-memory batches).
  const std::string ce = (root / "ce").string(), ce_cut = (root / "ce_cut").string();
  ASSERT_EQ(0, run(train + " --set train.stage=ce --set train.max_steps=4 --set train.out=" + ce)) << last_output();
  ASSERT_EQ(0, run(train + " --set train.stage=ce --set train.out=" + ce_cut)) << last_output();
  ASSERT_EQ(0, run(kBin + "/cytocon-train --quiet --resume " + ce_cut + " --set train.max_steps=4")) << last_output();
  auto whole = cytocon::io::read_safetensors(ce + "/final.safetensors");
  auto cut = cytocon::io::read_safetensors(ce_cut + "/final.safetensors");
  ASSERT_EQ(whole.tensors.size(), cut.tensors.size());
  for (const auto& t : whole.tensors) {
    const cytocon::Tensor& u = cut.get(t.name);
    ASSERT_EQ(t.value.nbytes(), u.nbytes()) << t.name;
    EXPECT_EQ(0, std::memcmp(t.value.raw(), u.raw(), u.nbytes())) << t.name << " differs after resume";
  }

  for (const char* split : {"test", "unseen"}) {
    const std::string out = (root / (std::string("eval_") + split)).string();
    // A sparse centreline sampling and a short t-SNE keep it quick.
    ASSERT_EQ(0, run(kBin + "/cytocon-eval --quiet --checkpoint " + lin + "/final.safetensors --data " + data +
                     " --split " + split + " --spacing-um 400 --tsne-iterations 50 --out " + out))
        << last_output();
    std::string metrics = read(out + "/metrics.json");
    for (const char* key : {"\"top1\"", "\"top3\"", "\"f1_weighted\"", "\"per_class\""})
      EXPECT_NE(metrics.find(key), std::string::npos) << key << " missing in " << metrics;
    EXPECT_TRUE(fs::exists(out + "/predictions.csv"));
    EXPECT_TRUE(fs::exists(out + "/report.md"));
  }
  if (!HasFailure()) fs::remove_all(scratch());  // kept for inspection when something failed
}

TEST(Smoke, ConfigErrorsNameTheKey) {
  if (!fs::exists(kBin + "/cytocon-train")) GTEST_SKIP() << "cytocon-train is not built";
  EXPECT_EQ(1, run(kBin + "/cytocon-train --config " + kSrc + "/configs/demo.toml --set train.stag=ce"));
  EXPECT_NE(last_output().find("unknown key train.stag"), std::string::npos) << last_output();
  EXPECT_EQ(1, run(kBin + "/cytocon-train --config " + kSrc + "/configs/demo.toml --set data.dir=/x --set model.preset=huge"));
  EXPECT_NE(last_output().find("paper|tiny"), std::string::npos) << last_output();
  if (!HasFailure()) fs::remove_all(scratch());
}
