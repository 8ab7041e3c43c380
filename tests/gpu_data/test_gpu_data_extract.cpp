// The GPU extraction makes the CPU's choices and computes the same pixels (up to the coordinate
// rounding of float vs double: 1e-4), for augmented and plain patches, 8- and 16-bit sections.
#include <gtest/gtest.h>

#include <cmath>

#include "data/cuda/gpu_extract.h"
#include "data_test_util.h"
#include "engine/backend.h"

using namespace cytocon;
using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

TEST(GpuExtract, MatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  const std::string dir = temp_dir("gpu");
  make_dataset(dir, 1, 2, 3);
  DatasetOptions o;
  o.spacing_um = 20;
  o.quiet = true;
  auto ds = Dataset::open(dir, o);
  Sampler sampler(ds, {Split::train, 16, 3});
  const auto refs = sampler.range(0, 0, sampler.size());
  for (bool augment : {false, true}) {
    const ExtractConfig cfg{65, 3.0, 0.9f};
    std::vector<AugmentParams> aug;
    for (const auto& r : refs) aug.push_back(augment ? draw_augment(3, 0, static_cast<uint32_t>(r.index)) : no_augment());
    GpuExtractor gpu(ds, cfg);
    const std::vector<float> g = gpu.extract(refs, aug).to_vector<float>();
    ExtractScratch scratch;
    std::vector<float> c(65 * 65);
    double worst = 0;
    for (size_t k = 0; k < refs.size(); ++k) {
      extract_patch(*ds, refs[k], aug[k], cfg, c.data(), scratch);
      for (size_t i = 0; i < c.size(); ++i) worst = std::max(worst, double(std::abs(c[i] - g[k * c.size() + i])));
    }
    EXPECT_LT(worst, 2e-3) << (augment ? "augmented" : "plain");
    EXPECT_GT(gpu.staged_bytes(), 0u);
  }
}

}  // namespace
