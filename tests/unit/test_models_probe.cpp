// cytocon-probe's contract (docs/design.md "Interfaces"): output names and PyTorch layouts, random
// init vs the same weights from a file, determinism, and rejection of a wrong patch size.
// (Numerical agreement with PyTorch: scripts/torch_probe_check.py, ctest torch_probe_check.)
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "common/gradcheck.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "models/model.h"

using namespace cytocon;

namespace {

const std::string kProbe = std::string(CYTOCON_BIN_DIR) + "/cytocon-probe";

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/cytocon_probe_" + std::to_string(::getpid()) + "_" + name;
}

// Runs a command; returns its exit status and fills `output` with stdout+stderr.
int run(const std::string& cmd, std::string* output) {
  const std::string log = tmp("log.txt");
  int st = std::system((cmd + " > " + log + " 2>&1").c_str());
  *output = io::read_file(log);
  std::remove(log.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void write_batch(const std::string& path, int64_t s) {
  Tensor x = test::random_tensor({4, 1, s, s}, 3, DType::f32, 0.0, 1.0);  // NCHW, as PyTorch writes it
  Tensor y = Tensor::from_vector<int32_t>({1, 0, 1, 1}, {4});
  io::write_safetensors(path, {{"x", x}, {"y", y}});
}

}  // namespace

TEST(Probe, WritesEveryGradientStateAndStepInPyTorchLayout) {
  if (::access(kProbe.c_str(), X_OK) != 0) GTEST_SKIP() << kProbe << " not built";
  const std::string batch = tmp("batch.safetensors"), out1 = tmp("o1.safetensors"), out2 = tmp("o2.safetensors"),
                    weights = tmp("w.safetensors");
  write_batch(batch, 561);
  std::string log;
  ASSERT_EQ(run(kProbe + " --random-seed 9 --batch " + batch + " --out " + out1 + " --step", &log), 0) << log;

  models::Network net({"tiny", true, 0, DType::f32});
  net.init(9);
  io::SafeTensors o = io::read_safetensors(out1);
  ASSERT_EQ(o.get("loss").numel(), 1);
  EXPECT_TRUE(std::isfinite(o.get("loss").data<float>()[0]));
  EXPECT_GT(o.get("loss").data<float>()[0], 0.0f);
  EXPECT_EQ(o.get("z").shape(), (Shape{4, 128}));
  size_t grads = 0;
  for (const auto& p : net.params()) {
    const Shape file_shape = io::pytorch_layout(p.value).shape();  // conv OIHW
    EXPECT_EQ(o.get("grad." + p.name).shape(), file_shape) << p.name;
    EXPECT_EQ(o.get("next." + p.name).shape(), file_shape) << p.name;
    // next = w − v with v ≠ 0 wherever the gradient is non-zero.
    EXPECT_NE(io::channels_last(o.get("next." + p.name)).to_vector<float>(), p.value.to_vector<float>()) << p.name;
    ++grads;
  }
  EXPECT_EQ(grads, 5u * 6 + 5);
  for (const auto& b : net.buffers()) EXPECT_EQ(o.get("state." + b.name).shape(), b.value.shape()) << b.name;
  // running_var moved from 1 towards the batch variance (momentum 0.1).
  EXPECT_NE(o.get("state.projection.bn.running_var").to_vector<float>(), std::vector<float>(128, 1.0f));

  // The same network from a weights file gives the same bytes (and reruns are deterministic).
  models::save_weights(net, weights);
  ASSERT_EQ(run(kProbe + " --weights " + weights + " --batch " + batch + " --out " + out2 + " --step", &log), 0) << log;
  io::SafeTensors o2 = io::read_safetensors(out2);
  ASSERT_EQ(o2.tensors.size(), o.tensors.size());
  for (const auto& t : o.tensors)
    EXPECT_EQ(o2.get(t.name).to_vector<float>(), t.value.to_vector<float>()) << t.name;

  // Cross-entropy: logits and classifier gradients instead of z and projection ones.
  ASSERT_EQ(run(kProbe + " --random-seed 1 --loss ce --classes 3 --batch " + batch + " --out " + out2, &log), 0) << log;
  io::SafeTensors c = io::read_safetensors(out2);
  EXPECT_EQ(c.get("logits").shape(), (Shape{4, 3}));
  EXPECT_TRUE(c.has("grad.classifier.bias"));
  EXPECT_FALSE(c.has("grad.projection.fc1.weight"));
  EXPECT_FALSE(c.has("next.classifier.bias"));
  for (const auto& f : {batch, out1, out2, weights}) std::remove(f.c_str());
}

TEST(Probe, RejectsAWrongPatchSizeNamingTheValidOnes) {
  if (::access(kProbe.c_str(), X_OK) != 0) GTEST_SKIP() << kProbe << " not built";
  const std::string batch = tmp("bad.safetensors"), out = tmp("bad_out.safetensors");
  write_batch(batch, 64);
  std::string log;
  EXPECT_EQ(run(kProbe + " --batch " + batch + " --out " + out, &log), 1) << log;
  EXPECT_NE(log.find("64"), std::string::npos) << log;
  EXPECT_NE(log.find("1129"), std::string::npos) << log;
  EXPECT_NE(log.find("561"), std::string::npos) << log;
  EXPECT_NE(::access(out.c_str(), F_OK), 0);  // nothing written
  std::remove(batch.c_str());
}
