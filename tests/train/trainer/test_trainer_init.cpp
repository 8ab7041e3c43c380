// The ce stage from imported safetensors weights (`train.init`): the paper's "distance" baseline,
// whose weights the user brings from PyTorch (docs/training.md, "Stages"). The file here is
// written byte by byte as PyTorch's safetensors export of a state_dict would be: conv weights
// OIHW, BN statistics, int64 `num_batches_tracked` scalars, a foreign head, no metadata. The run
// must start from exactly its encoder.* tensors (layout converted), with the classifier from
// train.seed, and ignore everything else in the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/scratch.h"
#include "engine/io/safetensors.h"
#include "models/weights.h"
#include "train/run_dir.h"
#include "train/stages.h"
#include "train/trainer.h"
#include "train/trainer/trainer_fixture.h"

using namespace cytocon;
using namespace cytocon::config;
using namespace cytocon::train;
using namespace cytocon::train::testing;
using cytocon::testing_util::scratch;
namespace fs = std::filesystem;

namespace {

constexpr int kClasses = 2;

Config ce_config(const std::string& out, const std::string& init) {
  Config c;
  c.model.preset = ModelPreset::tiny;
  c.data.dir = "unused";
  c.train.stage = Stage::ce;
  c.train.batch_size = kN;
  c.train.shards = 2;
  c.train.max_steps = 1;
  c.train.seed = 1;
  c.train.init = init;
  c.train.out = out;
  resolve(c);
  return c;
}

// One tensor of the file: PyTorch shape and float32 values in PyTorch layout.
struct FileTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<float> memory;  // what the network must hold after loading it (channels-last)
};

// The "distance" weights: for every encoder tensor of the tiny network, values that no seed of
// ours produces (conv weights of a network initialised with another seed, transposed here to OIHW
// with explicit index arithmetic; BN weights, biases and statistics shifted off their 1/0 init).
std::vector<FileTensor> distance_weights() {
  models::Network other(network_config(ce_config("unused", ""), kClasses));
  other.init(7);
  std::vector<FileTensor> out;
  int k = 0;
  for (const auto& t : models::model_state(other)) {
    if (t.name.rfind("encoder.", 0) != 0) continue;
    const std::vector<float> mem = t.value.to_vector<float>();
    const Shape& s = t.value.shape();
    FileTensor f{t.name, {}, {}, {}};
    if (s.size() == 4) {  // memory OHWI [O,H,W,I] → file OIHW [O,I,H,W]
      const int64_t O = s[0], H = s[1], W = s[2], I = s[3];
      f.shape = {O, I, H, W};
      f.values.resize(mem.size());
      for (int64_t o = 0; o < O; ++o)
        for (int64_t i = 0; i < I; ++i)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w)
              f.values[((o * I + i) * H + h) * W + w] = mem[((o * H + h) * W + w) * I + i];
      f.memory = mem;
    } else {
      f.shape.assign(s.begin(), s.end());
      f.values = mem;
      for (size_t j = 0; j < f.values.size(); ++j) f.values[j] += 0.01f * static_cast<float>(k + 1 + j % 5);
      f.memory = f.values;
    }
    ++k;
    out.push_back(std::move(f));
  }
  return out;
}

// Writes the tensors as Python's safetensors.torch.save_file does for a state_dict: F32 tensors,
// an I64 scalar `num_batches_tracked` beside every BN, and a head that is not ours.
void write_pytorch_file(const std::string& path, const std::vector<FileTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  auto add = [&](const std::string& name, const char* dtype, std::vector<int64_t> shape, const void* p, size_t n) {
    header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + n}}};
    data.append(static_cast<const char*>(p), n);
  };
  const int64_t tracked = 123;
  for (const auto& t : tensors) {
    add(t.name, "F32", t.shape, t.values.data(), t.values.size() * sizeof(float));
    const std::string suffix = ".running_mean";
    if (t.name.size() > suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      add(t.name.substr(0, t.name.size() - suffix.size()) + ".num_batches_tracked", "I64", {}, &tracked, sizeof tracked);
  }
  const std::vector<float> head(3 * 128, 0.5f);
  add("distance_head.weight", "F32", {3, 128}, head.data(), head.size() * sizeof(float));
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  const uint64_t n = json.size();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(&n), 8);  // little-endian host
  f << json << data;
}

std::string write_distance_file() {
  fs::create_directories(scratch());
  const std::string path = (scratch() / "distance.safetensors").string();
  write_pytorch_file(path, distance_weights());
  return path;
}


}  // namespace

TEST(TrainerInit, CeNetworkStartsFromTheEncoderOfAPyTorchFile) {
  const std::string init = write_distance_file();
  const auto want = distance_weights();
  auto net = build_network(ce_config("unused", init), kClasses);        // the trainer's init path
  auto scratch_net = build_network(ce_config("unused", ""), kClasses);  // the "scratch" baseline
  size_t encoder_tensors = 0;
  for (const auto& t : models::model_state(*net)) encoder_tensors += t.name.rfind("encoder.", 0) == 0;
  ASSERT_EQ(want.size(), encoder_tensors);
  for (const auto& f : want) {
    EXPECT_EQ(net->find(f.name)->to_vector<float>(), f.memory) << f.name << " is not the file's tensor";
    EXPECT_NE(scratch_net->find(f.name)->to_vector<float>(), f.memory) << f.name << ": a missed load would pass";
  }
  // The classifier is not in the file: it starts from train.seed, as in a scratch run.
  for (const auto& t : models::model_state(*net)) {
    if (t.name.rfind("encoder.", 0) == 0) continue;
    EXPECT_EQ(t.value.to_vector<float>(), scratch_net->find(t.name)->to_vector<float>()) << t.name;
  }
}

TEST(TrainerInit, CeRunTrainsFromTheImportedEncoder) {
  // One step with lr = 1e-30: every update is far below half an ulp of its weight, so the final
  // encoder weights are the weights the run started from, bit for bit, and must be the file's.
  // (BN running statistics do move in training mode; the first test checks them as loaded.)
  const std::string init = write_distance_file();
  const std::string run = (scratch() / "ce_distance").string();
  fs::remove_all(run);
  Config c = ce_config(run, init);
  c.train.lr = 1e-30;
  TinySource s;
  RunResult r = run_training(c, kClasses, s, quiet_env());
  ASSERT_EQ(r.status, RunStatus::finished) << r.message;
  ASSERT_EQ(r.step, 1);
  ASSERT_TRUE(std::isfinite(r.loss));
  io::SafeTensors final_w = io::read_safetensors(run + "/final.safetensors");  // PyTorch layout
  auto net = build_network(ce_config("unused", ""), kClasses);
  int compared = 0;
  for (const auto& f : distance_weights()) {
    bool param = false;
    for (const auto& p : net->params()) param |= p.name == f.name;
    if (!param) continue;
    const Tensor& got = final_w.get(f.name);
    ASSERT_EQ(got.shape(), Shape(f.shape.begin(), f.shape.end())) << f.name;
    EXPECT_EQ(got.to_vector<float>(), f.values) << f.name << " did not start from the file";
    ++compared;
  }
  EXPECT_GT(compared, 10);
}

TEST(TrainerInit, ResumeTakesEverythingFromTheCheckpointNotFromTrainInit) {
  // The checkpoint holds every tensor: a resumed distance run continues from it even when the
  // weights file it started from has been changed or removed since (a job requeued on a cluster).
  const std::string init = write_distance_file();
  const std::string whole = (scratch() / "ce_whole").string(), cut = (scratch() / "ce_cut").string();
  fs::remove_all(whole);
  fs::remove_all(cut);
  Config c = ce_config(whole, init);
  c.train.epochs = 2;  // 4 batches; 3 steps
  c.train.max_steps = 3;
  TinySource a;
  ASSERT_EQ(run_training(c, kClasses, a, quiet_env()).status, RunStatus::finished);

  c = ce_config(cut, init);
  c.train.epochs = 2;
  TinySource b;
  ASSERT_EQ(run_training(c, kClasses, b, quiet_env()).status, RunStatus::finished);  // 1 step
  fs::remove(init);
  c.train.max_steps = 3;
  TinySource d;
  RunResult r = run_training(c, kClasses, d, quiet_env(), cut);
  ASSERT_EQ(r.status, RunStatus::finished) << r.message;
  EXPECT_EQ(r.step, 3);
  auto ta = io::read_safetensors(whole + "/final.safetensors"), tb = io::read_safetensors(cut + "/final.safetensors");
  ASSERT_EQ(ta.tensors.size(), tb.tensors.size());
  for (const auto& t : ta.tensors)
    EXPECT_EQ(0, std::memcmp(t.value.raw(), tb.get(t.name).raw(), t.value.nbytes())) << t.name << " differs";
}
