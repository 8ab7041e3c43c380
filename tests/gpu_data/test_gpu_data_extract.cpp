// The GPU extraction gives the CPU's pixels bit for bit (gpu_extract.h), for plain and augmented
// patches, from 8-bit, 16-bit (with a pyramid: the patch comes from level 1) and MinIsWhite
// sections; also with small device tiles, footprints across tile borders and the image edge, and a
// tile cache small enough that batches evict each other's tiles.
#include <gtest/gtest.h>

#include <cstring>

#include "data/cuda/gpu_extract.h"
#include "data/tiff_writer.h"
#include "data_test_util.h"
#include "engine/backend.h"

using namespace cytocon;
using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

// Section 0 stays make_dataset's 8-bit pattern; section 1 becomes 16-bit with a pyramid, section 2
// an 8-bit MinIsWhite image.
std::shared_ptr<const Dataset> mixed_dataset(const std::string& dir) {
  make_dataset(dir, 1, 3, 3);
  std::vector<uint16_t> px16(400 * 300);
  for (int64_t y = 0; y < 300; ++y)
    for (int64_t x = 0; x < 400; ++x) px16[y * 400 + x] = static_cast<uint16_t>((x * 293 + y * 1117) % 65521);
  TiffWriteOptions p;
  p.tile = 64;
  p.pyramid = Pyramid::pages;
  p.min_level_px = 64;
  write_tiff(dir + "/b0s1.tif", px16.data(), 400, 300, 16, p);
  TiffWriteOptions w;
  w.tile = 64;
  w.min_is_white = true;
  const auto px8 = pattern8(400, 300);
  write_tiff(dir + "/b0s2.tif", px8.data(), 400, 300, 8, w);
  DatasetOptions o;
  o.spacing_um = 20;
  o.test_fraction = 0;  // all three sections train
  o.quiet = true;
  return Dataset::open(dir, o);
}

TEST(GpuExtract, MatchesCpuBitForBit) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  auto ds = mixed_dataset(temp_dir("gpu"));
  ASSERT_EQ(ds->image(1).bits(), 16);
  ASSERT_GT(ds->image(1).levels().size(), 1u);
  ASSERT_TRUE(ds->image(2).min_is_white());
  Sampler sampler(ds, {Split::train, 16, 3});
  const auto refs = sampler.range(0, 0, sampler.size());
  std::vector<bool> seen(3, false);
  for (const auto& r : refs) seen[r.section] = true;
  ASSERT_EQ(seen, std::vector<bool>(3, true)) << "every kind of section is sampled";
  for (bool augment : {false, true}) {
    const ExtractConfig cfg{65, 3.0, 0.9f};
    std::vector<AugmentParams> aug;
    int filtered = 0;
    for (const auto& r : refs) {
      aug.push_back(augment ? draw_augment(3, 0, static_cast<uint32_t>(r.index)) : no_augment());
      filtered += aug.back().filter != Filter::none;
    }
    if (augment) {
      EXPECT_GT(filtered, 0) << "blur and sharpening are exercised";
    }
    GpuExtractor gpu(ds, cfg);
    const std::vector<float> g = gpu.extract(refs, aug).to_vector<float>();
    ExtractScratch scratch;
    std::vector<float> c(65 * 65);
    size_t differing = 0;
    for (size_t k = 0; k < refs.size(); ++k) {
      extract_patch(*ds, refs[k], aug[k], cfg, c.data(), scratch);
      differing += std::memcmp(c.data(), g.data() + k * c.size(), c.size() * sizeof(float)) != 0;
    }
    EXPECT_EQ(differing, 0u) << (augment ? "augmented" : "plain") << ": patches differing from the CPU's of "
                             << refs.size();
    EXPECT_GT(gpu.stats().uploaded_bytes, 0u);
  }
}

TEST(GpuExtract, SmallTilesAndAnEvictingCacheGiveTheCpuBits) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  auto ds = mixed_dataset(temp_dir("gpu_tiles"));
  Sampler sampler(ds, {Split::train, 16, 3});
  std::vector<SampleRef> refs = sampler.range(0, 0, sampler.size());
  // Points at the corners of every section: footprints reach past the image edge.
  for (int32_t sec = 0; sec < 3; ++sec)
    for (float x : {1.0f, 398.0f})
      for (float y : {2.0f, 297.0f}) {
        SampleRef r = refs[0];
        r.section = sec, r.x = x, r.y = y, r.index = static_cast<int64_t>(refs.size());
        refs.push_back(r);
      }
  const ExtractConfig cfg{65, 3.0, 0.9f};
  std::vector<AugmentParams> aug;
  for (const auto& r : refs) aug.push_back(draw_augment(7, 0, static_cast<uint32_t>(r.index)));
  // 32-px tiles (32×16 at 16 bits), 48 of them: one batch of 8 patches touches up to ~70 tiles.
  GpuExtractor gpu(ds, cfg, 48 * 32 * 32, 32);
  ExtractScratch scratch;
  std::vector<float> c(65 * 65);
  size_t differing = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (size_t b = 0; b < refs.size(); b += 8) {
      const size_t e = std::min(refs.size(), b + 8);
      const std::vector<SampleRef> br(refs.begin() + b, refs.begin() + e);
      const std::vector<AugmentParams> ba(aug.begin() + b, aug.begin() + e);
      const std::vector<float> g = gpu.extract(br, ba).to_vector<float>();
      for (size_t k = 0; k < br.size(); ++k) {
        extract_patch(*ds, br[k], ba[k], cfg, c.data(), scratch);
        differing += std::memcmp(c.data(), g.data() + k * c.size(), c.size() * sizeof(float)) != 0;
      }
    }
  EXPECT_EQ(differing, 0u) << "patches differing from the CPU's of " << 2 * refs.size();
  const GpuStagingStats st = gpu.stats();
  EXPECT_GT(st.tiles.evictions, 0u) << "the cache was small enough to evict";
  EXPECT_GT(st.tiles.hits, 0u);
  EXPECT_EQ(st.patches, 2 * refs.size());
}

}  // namespace
