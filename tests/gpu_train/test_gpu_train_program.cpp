// cytocon-train with train.device = "cuda", as a user runs it: on a tiny cytocon-synth dataset,
// two steps of the tiny preset (patches cut on the CPU by the loader, then copied to the device)
// end with status 0, the log names the CUDA backend line of cuda_mode_string(), and the losses
// are those of the same run with train.device = "cpu" to float32 rounding (2e-5 relative on the
// CUDA emulator). Skipped without a usable CUDA device.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/scratch.h"
#include "engine/io/safetensors.h"
#include "gpu/gpu_test.h"  // CYTOCON_REQUIRE_GPU

using cytocon::testing_util::scratch;
namespace fs = std::filesystem;

namespace {

const std::string kBin = CYTOCON_BIN_DIR;

int run(const std::string& cmd) {
  const std::string full = cmd + " > " + (scratch() / "last.log").string() + " 2>&1";
  const int status = std::system(full.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string last_output() {
  std::ifstream f(scratch() / "last.log");
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::vector<nlohmann::json> log_records(const std::string& run_dir) {
  std::ifstream f(run_dir + "/log.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string l; std::getline(f, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}

// cytocon-train for two steps of batch 4 on a small cytocon-synth dataset (made once per test).
std::string two_steps() {
  fs::create_directories(scratch());
  const std::string data = (scratch() / "data").string();
  const std::string synth = kBin + "/cytocon-synth --brains 3 --sections 3 --areas 8 --seed 3 --size 1536x1152";
  EXPECT_EQ(0, run(synth + " --out " + data)) << last_output();
  return kBin + "/cytocon-train --quiet --config " + CYTOCON_SOURCE_DIR + "/configs/demo.toml --set data.dir=" +
         data + " --set data.patches_per_area=4 --set train.batch_size=4 --set train.max_steps=2";
}

}  // namespace

TEST(GpuTrainProgram, TwoStepsOnCudaLogTheBackendAndMatchTheCpu) {
  CYTOCON_REQUIRE_GPU();
  for (const char* prog : {"cytocon-synth", "cytocon-train"})
    if (!fs::exists(kBin + "/" + prog)) GTEST_SKIP() << prog << " is not built";
  const std::string train = two_steps();
  const std::string gpu_run = (scratch() / "cuda").string(), cpu_run = (scratch() / "cpu").string();
  ASSERT_EQ(0, run(train + " --set train.device=cuda --set train.out=" + gpu_run)) << last_output();
  EXPECT_NE(last_output().find("device cuda, mode deterministic, precision fp32; patches cut on the gpu"),
            std::string::npos)
      << last_output();
  ASSERT_EQ(0, run(train + " --set train.device=cpu --set train.out=" + cpu_run)) << last_output();

  const auto g = log_records(gpu_run), c = log_records(cpu_run);
  ASSERT_EQ(g.size(), 2u);
  ASSERT_EQ(c.size(), 2u);
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_EQ(g[i].at("device").get<std::string>().rfind("cuda mode=deterministic precision=fp32 ", 0), 0u) << g[i];
    EXPECT_EQ(c[i].at("device"), "cpu") << c[i];
    const double lg = g[i].at("loss").get<double>(), lc = c[i].at("loss").get<double>();
    EXPECT_NEAR(lg, lc, 1e-3 * std::fabs(lc)) << "step " << i + 1;
  }
  EXPECT_TRUE(fs::exists(gpu_run + "/final.safetensors"));
}

// data.extractor changes where the patches are cut, not the run: on CUDA, patches cut by the GPU
// (the default there) and by the CPU loader give the same losses and the same final weights, bit
// for bit (the GPU extractor repeats the CPU's arithmetic, data/cuda/gpu_extract.h).
TEST(GpuTrainProgram, GpuAndCpuExtractorsTrainTheSameBits) {
  CYTOCON_REQUIRE_GPU();
  for (const char* prog : {"cytocon-synth", "cytocon-train"})
    if (!fs::exists(kBin + "/" + prog)) GTEST_SKIP() << prog << " is not built";
  const std::string train = two_steps() + " --set train.device=cuda";
  const std::string on_gpu = (scratch() / "gpu_cut").string(), on_cpu = (scratch() / "cpu_cut").string();
  ASSERT_EQ(0, run(train + " --set data.extractor=gpu --set train.out=" + on_gpu)) << last_output();
  EXPECT_NE(last_output().find("patches cut on the gpu"), std::string::npos) << last_output();
  ASSERT_EQ(0, run(train + " --set data.extractor=cpu --set train.out=" + on_cpu)) << last_output();
  EXPECT_NE(last_output().find("patches cut on the cpu"), std::string::npos) << last_output();

  const auto g = log_records(on_gpu), c = log_records(on_cpu);
  ASSERT_EQ(g.size(), 2u);
  ASSERT_EQ(c.size(), 2u);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i].at("loss"), c[i].at("loss")) << "step " << i + 1;
  const auto wg = cytocon::io::read_safetensors(on_gpu + "/final.safetensors");
  const auto wc = cytocon::io::read_safetensors(on_cpu + "/final.safetensors");
  ASSERT_EQ(wg.tensors.size(), wc.tensors.size());
  for (const auto& t : wg.tensors) {
    const cytocon::Tensor& u = wc.get(t.name);
    ASSERT_EQ(t.value.nbytes(), u.nbytes()) << t.name;
    EXPECT_EQ(0, std::memcmp(t.value.raw(), u.raw(), u.nbytes())) << t.name << " differs";
  }
}
