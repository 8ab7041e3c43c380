// Tile-level GPU staging on the host (data/tile_staging.h): Image::read_samples gives the samples
// behind read_region for every reader; the stager's tables find every footprint pixel in the
// slot pool as a device would hold it (across batches, with evictions), its LRU keeps the tiles of
// the batch being built, and a failed read or a dropped batch leaves nothing resident.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "data/image.h"
#include "data/tile_staging.h"
#include "data_test_util.h"
#include "engine/tensor.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

// Sections of every layout the readers handle: tiled 8-bit, 16-bit pyramid, MinIsWhite, strips, PNG.
std::vector<std::shared_ptr<Image>> sample_images(const std::string& dir) {
  const auto px8 = pattern8(203, 151);
  std::vector<uint16_t> px16(203 * 151);
  for (size_t k = 0; k < px16.size(); ++k) px16[k] = static_cast<uint16_t>((k * 2654435761u) >> 7);
  TiffWriteOptions tiled;
  tiled.tile = 32;
  write_tiff(dir + "/t8.tif", px8.data(), 203, 151, 8, tiled);
  TiffWriteOptions pyr = tiled;
  pyr.pyramid = Pyramid::pages;
  pyr.min_level_px = 40;
  write_tiff(dir + "/t16.tif", px16.data(), 203, 151, 16, pyr);
  TiffWriteOptions white = tiled;
  white.min_is_white = true;
  write_tiff(dir + "/w8.tif", px8.data(), 203, 151, 8, white);
  TiffWriteOptions strips;
  strips.tiled = false;
  strips.rows_per_strip = 7;
  write_tiff(dir + "/s16.tif", px16.data(), 203, 151, 16, strips);
  EXPECT_TRUE(stbi_write_png((dir + "/p8.png").c_str(), 203, 151, 1, px8.data(), 203));
  std::vector<std::shared_ptr<Image>> v;
  for (const char* f : {"t8.tif", "t16.tif", "w8.tif", "s16.tif", "p8.png"}) v.push_back(open_image(dir + "/" + f));
  return v;
}

TEST(TileStaging, ReadSamplesAreWhatReadRegionConverts) {
  const auto images = sample_images(temp_dir("samples"));
  ASSERT_GT(images[1]->levels().size(), 1u);
  ASSERT_TRUE(images[2]->min_is_white());
  std::mt19937 rng(5);
  for (const auto& img : images)
    for (int level = 0; level < static_cast<int>(img->levels().size()); ++level)
      for (int trial = 0; trial < 20; ++trial) {
        const Level& L = img->levels()[level];
        const int64_t w = 1 + rng() % 90, h = 1 + rng() % 70;
        const int64_t x0 = static_cast<int64_t>(rng() % (L.width + 40)) - 20;
        const int64_t y0 = static_cast<int64_t>(rng() % (L.height + 40)) - 20;
        const int bytes = img->bits() / 8;
        std::vector<uint8_t> raw(static_cast<size_t>(w * h * bytes), 0xA5);
        std::vector<float> f(static_cast<size_t>(w * h));
        img->read_samples(level, x0, y0, w, h, raw.data());
        img->read_region(level, x0, y0, w, h, f.data(), -7.0f);
        const IntensityMap m = img->intensity_map();
        for (int64_t k = 0; k < w * h; ++k) {
          const int64_t x = x0 + k % w, y = y0 + k / w;
          if (x < 0 || y < 0 || x >= L.width || y >= L.height) {
            for (int b = 0; b < bytes; ++b) ASSERT_EQ(raw[k * bytes + b], 0xA5) << "outside the image: untouched";
            continue;
          }
          uint16_t s16 = 0;
          if (bytes == 2) std::memcpy(&s16, &raw[k * 2], 2);
          const float v = static_cast<float>(bytes == 1 ? raw[k] : s16) * m.a + m.b;
          ASSERT_EQ(v, f[k]) << img->path() << " level " << level << " pixel " << x << "," << y;
        }
      }
}

// A device's slot pool, kept across batches as the GPU keeps it: the packed tiles go to their slots.
struct HostPool {
  std::vector<uint8_t> bytes;
  void upload(TileStager& st) {
    std::vector<uint8_t> packed(st.missing_bytes());
    st.pack(packed.data());
    const size_t sb = st.slot_bytes();
    bytes.resize(std::max(bytes.size(), static_cast<size_t>(st.stats().slots) * sb));
    for (size_t k = 0; k < st.missing_slots().size(); ++k)
      std::memcpy(&bytes[st.missing_slots()[k] * sb], &packed[k * sb], sb);
  }
};

TEST(TileStaging, TablesFindEveryFootprintPixelAcrossEvictingBatches) {
  const auto images = sample_images(temp_dir("tables"));
  std::mt19937 rng(11);
  TileStager st(16, 200 * 16 * 16);  // 200 slots: a batch needs at most 144, all batches ~1800
  HostPool pool;
  for (int batch = 0; batch < 30; ++batch) {
    st.begin_batch();
    struct Patch {
      int image, level;
      Box box;
      PatchTiles tiles;
    };
    std::vector<Patch> patches;
    for (int k = 0; k < 6; ++k) {
      Patch p;
      p.image = static_cast<int>(rng() % images.size());
      p.level = static_cast<int>(rng() % images[p.image]->levels().size());
      const Level& L = images[p.image]->levels()[p.level];
      p.box.w = 1 + rng() % 40, p.box.h = 1 + rng() % 40;  // straddles tile borders and image edges
      p.box.x0 = static_cast<int64_t>(rng() % (L.width + 30)) - 15;
      p.box.y0 = static_cast<int64_t>(rng() % (L.height + 30)) - 15;
      p.tiles = st.add(*images[p.image], p.image, p.level, p.box);
      patches.push_back(p);
    }
    pool.upload(st);
    for (const Patch& p : patches) {
      const Image& img = *images[p.image];
      const Level& L = img.levels()[p.level];
      const int bytes = img.bits() / 8;
      std::vector<uint8_t> want(static_cast<size_t>(p.box.w * p.box.h * bytes));
      img.read_samples(p.level, p.box.x0, p.box.y0, p.box.w, p.box.h, want.data());
      for (int64_t y = std::max<int64_t>(p.box.y0, 0); y < std::min(p.box.y0 + p.box.h, L.height); ++y)
        for (int64_t x = std::max<int64_t>(p.box.x0, 0); x < std::min(p.box.x0 + p.box.w, L.width); ++x) {
          const int64_t i = tile_sample_index(p.tiles, st.table().data(), x, y);
          const size_t k = static_cast<size_t>((y - p.box.y0) * p.box.w + (x - p.box.x0));
          ASSERT_EQ(std::memcmp(&pool.bytes[i * bytes], &want[k * bytes], bytes), 0)
              << img.path() << " level " << p.level << " pixel " << x << "," << y << " batch " << batch;
        }
    }
  }
  EXPECT_GT(st.stats().evictions, 0u);
  EXPECT_GT(st.stats().hits, 0u);
  EXPECT_EQ(st.stats().slots, 200) << "the pool stays within its capacity when batches fit";
}

TEST(TileStaging, LeastRecentlyUsedTilesGoFirstAndTheBatchsTilesStay) {
  const auto images = sample_images(temp_dir("lru"));
  const Image& img = *images[0];  // 203×151, 8-bit: 16×16 tiles, 13×10 of them
  TileStager st(16, 4 * 256);    // four slots
  auto tile = [](int64_t tx, int64_t ty) { return Box{tx * 16, ty * 16, 16, 16}; };
  st.begin_batch();
  st.add(img, 0, 0, tile(0, 0));
  st.add(img, 0, 0, tile(1, 0));
  st.add(img, 0, 0, tile(0, 0));  // twice in a batch: read once
  EXPECT_EQ(st.missing_slots().size(), 2u);
  const int32_t slot10 = st.table()[1];
  st.begin_batch();
  st.add(img, 0, 0, tile(2, 0));
  st.add(img, 0, 0, tile(3, 0));
  EXPECT_EQ(st.missing_slots().size(), 2u);
  st.begin_batch();
  st.add(img, 0, 0, tile(0, 0));  // held: (1, 0) is now the oldest
  EXPECT_TRUE(st.missing_slots().empty());
  st.begin_batch();
  st.add(img, 0, 0, tile(4, 0));
  ASSERT_EQ(st.missing_slots().size(), 1u);
  EXPECT_EQ(st.missing_slots()[0], slot10) << "(1, 0)'s slot is taken";
  EXPECT_EQ(st.stats().evictions, 1u);
  st.begin_batch();
  st.add(img, 0, 0, tile(0, 0));
  EXPECT_TRUE(st.missing_slots().empty()) << "the recently used tile stayed";
  st.add(img, 0, 0, tile(1, 0));
  EXPECT_EQ(st.missing_slots().size(), 1u) << "the least recently used tile went";

  // A box of 3×2 tiles in a batch of its own: six slots, more than the capacity, none evicted
  // within the batch (they all serve it); the pool keeps its six slots after.
  st.begin_batch();
  const PatchTiles big = st.add(img, 0, 0, Box{40, 40, 40, 20});
  EXPECT_EQ(big.nx * big.ny, 6);
  std::vector<int32_t> slots(st.table().begin(), st.table().end());
  std::sort(slots.begin(), slots.end());
  EXPECT_EQ(std::unique(slots.begin(), slots.end()) - slots.begin(), 6) << "distinct slots";
  EXPECT_EQ(st.stats().slots, 6);
  // A box wholly outside the image: no tile.
  const PatchTiles none = st.add(img, 0, 0, Box{-50, 10, 20, 20});
  EXPECT_EQ(none.nx * none.ny, 0);
}

// An image whose samples cannot be read (a corrupt file as the reader reports it).
class Unreadable final : public Image {
 public:
  Unreadable() {
    path_ = "bad.tif";
    levels_.push_back(Level{64, 64, 1.0});
  }
  void read_region(int, int64_t, int64_t, int64_t, int64_t, float*, float) const override { cytocon::fail("bad.tif: corrupt"); }
  void read_samples(int, int64_t, int64_t, int64_t, int64_t, void*) const override { cytocon::fail("bad.tif: corrupt"); }
};

TEST(TileStaging, AFailedReadLeavesNothingResident) {
  Unreadable bad;
  TileStager st(16, size_t(1) << 20);
  st.begin_batch();
  st.add(bad, 0, 0, Box{0, 0, 20, 20});
  std::vector<uint8_t> buf(st.missing_bytes());
  EXPECT_THROW(st.pack(buf.data()), std::runtime_error);
  st.begin_batch();
  st.add(bad, 0, 0, Box{0, 0, 20, 20});
  EXPECT_EQ(st.missing_slots().size(), 4u) << "tiles whose read failed are read again";
}

TEST(TileStaging, DroppedTilesAreSentAgainAndTheOthersStay) {
  const auto images = sample_images(temp_dir("drop"));
  const Image& img = *images[0];
  TileStager st(16, size_t(1) << 20);
  auto tile = [](int64_t tx, int64_t ty) { return Box{tx * 16, ty * 16, 16, 16}; };
  st.begin_batch();
  st.add(img, 0, 0, tile(0, 0));
  std::vector<uint8_t> buf(st.missing_bytes());
  st.pack(buf.data());  // uploaded: (0, 0) resident
  st.begin_batch();
  st.add(img, 0, 0, tile(0, 0));
  st.add(img, 0, 0, tile(1, 0));
  st.add(img, 0, 0, tile(2, 0));
  ASSERT_EQ(st.missing_slots().size(), 2u);
  st.drop_missing();  // this batch's upload failed
  st.begin_batch();
  st.add(img, 0, 0, tile(0, 0));
  EXPECT_TRUE(st.missing_slots().empty()) << "a tile of an earlier batch stays";
  st.add(img, 0, 0, tile(1, 0));
  st.add(img, 0, 0, tile(2, 0));
  EXPECT_EQ(st.missing_slots().size(), 2u) << "the dropped tiles are sent again";
  EXPECT_EQ(st.stats().slots, 3) << "into the slots they had";
}

TEST(TileStaging, RejectsABadTileSize) {
  EXPECT_THROW(TileStager(24, 1 << 20), std::runtime_error);
}

}  // namespace
