// cytocon-probe --device cuda against --device cpu on the same batch and random weights: every
// output tensor (loss, z, gradients, BN state, the weights after one LARS step) must agree within
// the whole-network tolerance of test_gpu_network.cpp (2e-3 of each tensor's largest magnitude).
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "engine/io/safetensors.h"
#include "gpu_test.h"

using namespace cytocon;
using namespace cytocon::gputest;

namespace {

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/cytocon_gpu_probe_" + std::to_string(::getpid()) + "_" + name;
}

TEST(GpuProbe, CudaAgreesWithCpu) {
  CYTOCON_REQUIRE_GPU();
  const std::string probe = std::string(CYTOCON_BIN_DIR) + "/cytocon-probe";
  if (!std::ifstream(probe)) GTEST_SKIP() << probe << " is not built";
  const int64_t n = 4, s = 561;  // tiny preset
  io::write_safetensors(tmp("batch.safetensors"),
                        {{"x", test::random_tensor({n, 1, s, s}, 5, DType::f32, 0.0, 1.0)},
                         {"y", Tensor::from_vector<int32_t>({0, 1, 0, 1}, {n})}});
  for (const char* dev : {"cpu", "cuda"}) {
    const std::string cmd = probe + " --batch " + tmp("batch.safetensors") + " --out " + tmp(std::string(dev)) +
                            " --device " + dev + " --random-seed 3 --step > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const io::SafeTensors c = io::read_safetensors(tmp("cpu")), g = io::read_safetensors(tmp("cuda"));
  ASSERT_EQ(c.tensors.size(), g.tensors.size());
  for (const auto& t : c.tensors) {
    ASSERT_TRUE(g.has(t.name)) << t.name;
    EXPECT_TRUE(close(g.get(t.name), t.value, 1e-6, 2e-3)) << t.name;
  }
  for (const char* f : {"batch.safetensors", "cpu", "cuda"}) std::remove(tmp(f).c_str());
}

}  // namespace
