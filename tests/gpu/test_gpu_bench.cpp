// `cytocon-bench --device cuda` for every mode and precision it accepts (tools/bench): two JSON
// lines, "train" then "infer", each naming the device, preset, batch, mode and precision asked
// for, with a positive patches/s and a positive peak memory from the CUDA caching allocator.
// Checks the output, not the speed: tiny preset, batch 2, one timed step (a few seconds per
// combination on the CUDA emulator, whose figures mean nothing about a GPU).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gpu_test.h"

namespace {

std::string tmp(const std::string& name) {
  return ::testing::TempDir() + "/cytocon_gpu_bench_" + std::to_string(::getpid()) + "_" + name;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// The raw value of "key" in one flat JSON line: a string's contents or a number's text.
std::string field(const std::string& line, const std::string& key) {
  std::smatch m;
  const std::regex re("\"" + key + "\": (\"([^\"]*)\"|[-+0-9.eE]+)");
  if (!std::regex_search(line, m, re)) return "<missing>";
  return m[2].matched ? m[2].str() : m[1].str();
}

void check_bench(const std::string& mode, const std::string& precision) {
  const std::string bench = std::string(CYTOCON_BIN_DIR) + "/cytocon-bench";
  if (!std::ifstream(bench)) GTEST_SKIP() << bench << " is not built";
  const std::string out = tmp(mode + "_" + precision);
  const std::string cmd = bench + " --device cuda --preset tiny --batch 2 --steps 1 --mode " + mode +
                          " --precision " + precision + " > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::vector<std::string> lines = lines_of(out);
  std::remove(out.c_str());
  ASSERT_EQ(lines.size(), 2u) << cmd;
  const char* kinds[2] = {"train", "infer"};
  for (int i = 0; i < 2; ++i) {
    const std::string& l = lines[i];
    EXPECT_EQ(field(l, "benchmark"), kinds[i]) << l;
    EXPECT_EQ(field(l, "device"), "cuda") << l;
    EXPECT_EQ(field(l, "preset"), "tiny") << l;
    EXPECT_EQ(field(l, "batch"), "2") << l;
    EXPECT_EQ(field(l, "mode"), mode) << l;
    EXPECT_EQ(field(l, "precision"), precision) << l;
    EXPECT_EQ(field(l, "steps"), "1") << l;
    EXPECT_EQ(field(l, "peak_mem"), "CUDA allocator peak") << l;
    const double rate = std::atof(field(l, "patches_per_s").c_str());
    const double step_s = std::atof(field(l, "step_s").c_str());
    EXPECT_TRUE(std::isfinite(rate) && rate > 0) << l;
    EXPECT_TRUE(step_s > 0) << l;
    // Tiny preset, batch 2: weights ~1 MiB, activations tens of MiB (0.02 GiB on the emulator),
    // plus one cuDNN workspace at a time, at most 1 GiB (engine/cuda/conv2d.cu): under 2 GiB.
    const double gib = std::atof(field(l, "peak_mem_gib").c_str());
    EXPECT_TRUE(gib > 0 && gib < 2) << l;
  }
}

struct Case {
  const char* mode;
  const char* precision;
  std::string name() const { return std::string(mode) + "_" + precision; }
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name(); }  // the ctest name's suffix

}  // namespace

class GpuBench : public ::testing::TestWithParam<Case> {};

TEST_P(GpuBench, PrintsPatchesPerSecondAndPeakMemory) {
  CYTOCON_REQUIRE_GPU();
  check_bench(GetParam().mode, GetParam().precision);
}

INSTANTIATE_TEST_SUITE_P(ModesAndPrecisions, GpuBench,
                         ::testing::Values(Case{"deterministic", "fp32"}, Case{"deterministic", "tf32"},
                                           Case{"deterministic", "bf16"}, Case{"fast", "fp32"},
                                           Case{"fast", "tf32"}, Case{"fast", "bf16"}),
                         [](const auto& info) { return info.param.name(); });
