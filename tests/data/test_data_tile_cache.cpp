// The bounded tile cache of the TIFF reader (issue 5 item 1, docs/data.md "Images"): a patch
// decodes exactly the tiles (or strips) it overlaps, a second read of it decodes nothing, and with
// a small capacity the cached bytes stay within the bound, least recently used blocks first out.
// The cache is process-wide, so every check works on differences of tile_cache_stats() and each
// test opens its own image (a new image never shares cache entries with an earlier one).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "data/image.h"
#include "data_test_util.h"

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

constexpr int64_t kW = 640, kH = 480;  // 10 × 8 tiles of 64 × 64
constexpr int kTile = 64;
constexpr size_t kTileBytes = kTile * kTile;  // 8-bit samples

struct Delta {
  int64_t hits, misses;
};

// Reads [x0, x0+w) × [y0, y0+h) of level 0, checks the pixels, and returns the change of the
// cache counters the read caused.
Delta read_and_count(const Image& img, const std::vector<uint8_t>& px, int64_t x0, int64_t y0, int64_t w,
                     int64_t h) {
  const TileCacheStats before = tile_cache_stats();
  std::vector<float> out(static_cast<size_t>(w * h));
  img.read_region(0, x0, y0, w, h, out.data(), -1.0f);
  const TileCacheStats after = tile_cache_stats();
  int64_t wrong = 0;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t gx = x0 + x, gy = y0 + y;
      const float want = (gx < 0 || gy < 0 || gx >= kW || gy >= kH) ? -1.0f : px[gy * kW + gx] / 255.0f;
      wrong += std::fabs(out[y * w + x] - want) > 1e-6f;
    }
  EXPECT_EQ(wrong, 0) << "pixels of the region at " << x0 << "," << y0;
  return {static_cast<int64_t>(after.hits - before.hits), static_cast<int64_t>(after.misses - before.misses)};
}

std::shared_ptr<Image> tiled_image(const std::vector<uint8_t>& px, bool tiled) {
  const std::string dir = temp_dir("tile_cache");
  TiffWriteOptions o;
  o.tiled = tiled;
  o.tile = kTile;
  o.rows_per_strip = 16;
  o.compression = Compression::deflate;
  const std::string path = dir + (tiled ? "/tiled.tif" : "/strips.tif");
  write_tiff(path, px.data(), kW, kH, 8, o);
  return open_image(path);
}

class TileCache : public ::testing::Test {
 protected:
  void SetUp() override { set_tile_cache_bytes(size_t(64) << 20); }
  void TearDown() override { set_tile_cache_bytes(size_t(512) << 20); }  // the documented default
};

}  // namespace

TEST_F(TileCache, PatchDecodesExactlyTheTilesItOverlapsThenHits) {
  const auto px = pattern8(kW, kH);
  auto img = tiled_image(px, true);
  const size_t bytes0 = tile_cache_stats().bytes;
  // x 100..249 → tile columns 1..3, y 70..169 → tile rows 1..2: 6 tiles.
  Delta first = read_and_count(*img, px, 100, 70, 150, 100);
  EXPECT_EQ(first.misses, 6);
  EXPECT_EQ(first.hits, 0);
  EXPECT_EQ(tile_cache_stats().bytes - bytes0, 6 * kTileBytes);
  Delta again = read_and_count(*img, px, 100, 70, 150, 100);
  EXPECT_EQ(again.misses, 0);
  EXPECT_EQ(again.hits, 6);
  EXPECT_EQ(tile_cache_stats().bytes - bytes0, 6 * kTileBytes);
  // A patch inside one tile column, overlapping the first one's tiles (1,1) and (1,2) and a new
  // one below them (1,3): 2 hits, 1 miss.
  Delta inner = read_and_count(*img, px, 70, 100, 50, 100);
  EXPECT_EQ(inner.hits, 2);
  EXPECT_EQ(inner.misses, 1);
  // Crossing the image's corner: only the tiles inside the image are read (column 9, row 7).
  Delta corner = read_and_count(*img, px, 620, 460, 60, 50);
  EXPECT_EQ(corner.misses, 1);
  EXPECT_EQ(corner.hits, 0);
  // Wholly outside: background only, no tile touched.
  Delta outside = read_and_count(*img, px, -200, -200, 100, 100);
  EXPECT_EQ(outside.misses, 0);
  EXPECT_EQ(outside.hits, 0);
}

TEST_F(TileCache, StripsAreCachedTheSameWay) {
  const auto px = pattern8(kW, kH);
  auto img = tiled_image(px, false);
  // Rows 70..169 → strips of 16 rows 4..10: 7 strips, each as wide as the image.
  const size_t bytes0 = tile_cache_stats().bytes;
  Delta first = read_and_count(*img, px, 300, 70, 20, 100);
  EXPECT_EQ(first.misses, 7);
  EXPECT_EQ(first.hits, 0);
  EXPECT_EQ(tile_cache_stats().bytes - bytes0, 7 * size_t(kW) * 16);
  Delta again = read_and_count(*img, px, 0, 70, kW, 100);
  EXPECT_EQ(again.misses, 0);
  EXPECT_EQ(again.hits, 7);
}

TEST_F(TileCache, SmallCapacityBoundsTheBytesAndEvictsLeastRecentlyUsed) {
  const auto px = pattern8(kW, kH);
  auto img = tiled_image(px, true);
  const size_t cap = 3 * kTileBytes + 100;  // room for 3 tiles
  set_tile_cache_bytes(cap);
  EXPECT_EQ(tile_cache_stats().capacity, cap);
  EXPECT_LE(tile_cache_stats().bytes, cap);

  // 6 tiles, read row by row: (1..3, 1) then (1..3, 2); the cache keeps the last 3.
  Delta first = read_and_count(*img, px, 100, 70, 150, 100);
  EXPECT_EQ(first.misses, 6);
  EXPECT_LE(tile_cache_stats().bytes, cap);
  EXPECT_EQ(tile_cache_stats().bytes, 3 * kTileBytes);
  // The second tile row is still cached ...
  Delta row2 = read_and_count(*img, px, 100, 130, 150, 30);
  EXPECT_EQ(row2.hits, 3);
  EXPECT_EQ(row2.misses, 0);
  // ... the first was evicted and is decoded again (evicting the second row in turn).
  Delta row1 = read_and_count(*img, px, 100, 70, 150, 30);
  EXPECT_EQ(row1.hits, 0);
  EXPECT_EQ(row1.misses, 3);
  EXPECT_LE(tile_cache_stats().bytes, cap);
  // A full sweep over the image never holds more than the bound.
  for (int64_t y = 0; y < kH; y += 100)
    for (int64_t x = 0; x < kW; x += 100) {
      read_and_count(*img, px, x, y, 100, 100);
      ASSERT_LE(tile_cache_stats().bytes, cap) << "after the read at " << x << "," << y;
    }

  // Lowering the capacity evicts at once; a bound below one block still keeps the newest block
  // (a read needs it), and reads stay correct.
  set_tile_cache_bytes(kTileBytes);
  EXPECT_EQ(tile_cache_stats().bytes, kTileBytes);
  set_tile_cache_bytes(1000);
  EXPECT_EQ(tile_cache_stats().bytes, kTileBytes);
  Delta tiny = read_and_count(*img, px, 0, 0, 200, 200);
  EXPECT_EQ(tiny.misses + tiny.hits, 16);  // 4 × 4 tiles
  EXPECT_EQ(tile_cache_stats().bytes, kTileBytes);
}

// Issue 12 §4: threads read and decode blocks of ONE section at the same time (each on a libtiff
// handle of its own). With a cache of one block nearly every read decodes; every pixel must still
// be right, in every pyramid level, however the threads interleave.
TEST(TileCacheThreads, DecodeOneSectionConcurrently) {
  const std::string dir = temp_dir("conc");
  const auto px = pattern8(kW, kH);
  TiffWriteOptions o;
  o.tile = kTile;
  o.compression = Compression::deflate;
  o.pyramid = Pyramid::pages;
  o.min_level_px = 100;
  write_tiff(dir + "/c.tif", px.data(), kW, kH, 8, o);
  auto img = open_image(dir + "/c.tif");
  ASSERT_GE(img->levels().size(), 2u);
  const size_t before = tile_cache_stats().capacity;
  set_tile_cache_bytes(kTileBytes);
  std::vector<std::vector<float>> want(img->levels().size());
  for (size_t l = 0; l < want.size(); ++l) {
    const Level& L = img->levels()[l];
    want[l].resize(static_cast<size_t>(L.width * L.height));
    img->read_region(static_cast<int>(l), 0, 0, L.width, L.height, want[l].data(), -1.0f);
  }
  for (int64_t k = 0; k < kW * kH; ++k) ASSERT_EQ(want[0][k], px[k] * (1.0f / 255));
  std::atomic<int64_t> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> out;
      for (int i = 0; i < 60; ++i) {
        const int l = (t + i) % static_cast<int>(want.size());
        const Level& L = img->levels()[l];
        const int64_t w = 1 + (i * 37 + t * 11) % 150, h = 1 + (i * 53 + t * 7) % 120;
        const int64_t x0 = (i * 97 + t * 29) % L.width - 20, y0 = (i * 61 + t * 13) % L.height - 20;
        out.resize(static_cast<size_t>(w * h));
        img->read_region(l, x0, y0, w, h, out.data(), -1.0f);
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            const int64_t gx = x0 + x, gy = y0 + y;
            const float e = gx < 0 || gy < 0 || gx >= L.width || gy >= L.height ? -1.0f : want[l][gy * L.width + gx];
            wrong += out[y * w + x] != e;
          }
      }
    });
  for (auto& th : threads) th.join();
  set_tile_cache_bytes(before);
  EXPECT_EQ(wrong.load(), 0);
}
