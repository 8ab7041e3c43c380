// Reader round trips on files the test writes: tiled, striped, BigTIFF, 16-bit, pyramids (pages
// and SubIFDs), MinIsWhite, PNG; and bad files: missing, truncated, corrupt, unsupported format.
#include <gtest/gtest.h>

#include <cstdio>

#include <tiffio.h>

#include "data/image.h"
#include "data_test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

template <class T>
void expect_region(const Image& img, int level, const std::vector<T>& px, int64_t W, int64_t H,
                   int64_t x0, int64_t y0, int64_t w, int64_t h, float scale) {
  std::vector<float> out(w * h);
  img.read_region(level, x0, y0, w, h, out.data(), -1.0f);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t gx = x0 + x, gy = y0 + y;
      const float want = (gx < 0 || gy < 0 || gx >= W || gy >= H) ? -1.0f : px[gy * W + gx] * scale;
      ASSERT_FLOAT_EQ(out[y * w + x], want) << "at " << gx << "," << gy;
    }
}

struct Case {
  const char* name;
  bool tiled, bigtiff;
  int bits;
  Compression comp;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class TiffRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(TiffRoundTrip, RegionsMatchPixels) {
  const Case c = GetParam();
  const std::string dir = temp_dir("tiff");
  const int64_t W = 333, H = 217;  // not multiples of the tile size
  TiffWriteOptions o;
  o.tiled = c.tiled;
  o.tile = 64;
  o.rows_per_strip = 10;
  o.bigtiff = c.bigtiff;
  o.compression = c.comp;
  const std::string path = dir + "/" + c.name + ".tif";
  if (c.bits == 8) {
    auto px = pattern8(W, H);
    write_tiff(path, px.data(), W, H, 8, o);
    auto img = open_image(path);
    EXPECT_EQ(img->bits(), 8);
    ASSERT_EQ(img->width(), W);
    ASSERT_EQ(img->height(), H);
    ASSERT_EQ(img->levels().size(), 1u);
    expect_region(*img, 0, px, W, H, 0, 0, W, H, 1.0f / 255);
    expect_region(*img, 0, px, W, H, 50, 60, 100, 70, 1.0f / 255);
    expect_region(*img, 0, px, W, H, -20, -5, 60, 40, 1.0f / 255);   // crosses the top-left edge
    expect_region(*img, 0, px, W, H, W - 30, H - 8, 64, 20, 1.0f / 255);  // bottom-right edge
    expect_region(*img, 0, px, W, H, W + 5, 3, 10, 10, 1.0f / 255);   // entirely outside
  } else {
    std::vector<uint16_t> px(W * H);
    for (int64_t i = 0; i < W * H; ++i) px[i] = static_cast<uint16_t>((i * 2654435761u) >> 16);
    write_tiff(path, px.data(), W, H, 16, o);
    auto img = open_image(path);
    EXPECT_EQ(img->bits(), 16);
    expect_region(*img, 0, px, W, H, 0, 0, W, H, 1.0f / 65535);
    expect_region(*img, 0, px, W, H, 31, 17, 120, 99, 1.0f / 65535);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, TiffRoundTrip,
                         ::testing::Values(Case{"tiled8", true, false, 8, Compression::none},
                                           Case{"striped8", false, false, 8, Compression::none},
                                           Case{"bigtiff8", true, true, 8, Compression::none},
                                           Case{"tiled16", true, false, 16, Compression::none},
                                           Case{"striped16_big", false, true, 16, Compression::lzw},
                                           Case{"deflate8", true, false, 8, Compression::deflate}),
                         [](const auto& info) { return std::string(info.param.name); });

void check_pyramid(Pyramid style) {
  const std::string dir = temp_dir("pyr");
  const int64_t W = 1000, H = 600;
  auto px = pattern8(W, H);
  TiffWriteOptions o;
  o.tile = 128;
  o.pyramid = style;
  o.min_level_px = 100;
  const std::string path = dir + "/p.tif";
  write_tiff(path, px.data(), W, H, 8, o);
  auto img = open_image(path);
  // 1000 → 500 → 250 → 125 (the next, 63, is below 100).
  ASSERT_EQ(img->levels().size(), 4u);
  int64_t w = W, h = H;
  std::vector<uint8_t> level = px;
  for (int l = 1; l < 4; ++l) {
    level = downsample2(level, w, h);
    EXPECT_EQ(img->levels()[l].width, w);
    EXPECT_EQ(img->levels()[l].height, h);
    EXPECT_DOUBLE_EQ(img->levels()[l].downsample, double(W) / w);
    expect_region(*img, l, level, w, h, 3, 5, w / 2, h / 2, 1.0f / 255);
  }
  // Level choice: nearest in log scale to the target µm/px (full resolution 2 µm/px; 2× steps).
  EXPECT_EQ(img->level_for(2.0, 2.0), 0);
  EXPECT_EQ(img->level_for(2.0, 4.0), 1);
  EXPECT_EQ(img->level_for(2.0, 5.0), 1);
  EXPECT_EQ(img->level_for(2.0, 7.0), 2);
  EXPECT_EQ(img->level_for(2.0, 100.0), 3);
  EXPECT_EQ(img->level_for(2.0, 0.5), 0);
}

TEST(TiffPyramid, Pages) { check_pyramid(Pyramid::pages); }
TEST(TiffPyramid, SubIfds) { check_pyramid(Pyramid::subifds); }

TEST(TiffReader, MinIsWhiteIsInverted) {
  const std::string dir = temp_dir("miw");
  auto px = pattern8(70, 50);
  TiffWriteOptions o;
  o.min_is_white = true;
  write_tiff(dir + "/w.tif", px.data(), 70, 50, 8, o);
  auto img = open_image(dir + "/w.tif");
  std::vector<float> out(70 * 50);
  img->read_region(0, 0, 0, 70, 50, out.data(), 0);
  for (int i = 0; i < 70 * 50; ++i) ASSERT_NEAR(out[i], px[i] / 255.0f, 1e-6f);
}

TEST(TiffReader, MemoryAndFileAgree) {
  const std::string dir = temp_dir("mem");
  auto px = pattern8(90, 80);
  write_tiff(dir + "/m.tif", px.data(), 90, 80, 8, {});
  std::ifstream f(dir + "/m.tif", std::ios::binary);
  auto bytes = std::make_shared<std::vector<uint8_t>>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  auto img = open_tiff_memory(bytes, "m.tif");
  expect_region(*img, 0, px, 90, 80, 0, 0, 90, 80, 1.0f / 255);
}

TEST(ImageReader, PngAndJpeg) {
  const std::string dir = temp_dir("png");
  auto px = pattern8(41, 29);
  ASSERT_TRUE(stbi_write_png((dir + "/a.png").c_str(), 41, 29, 1, px.data(), 41));
  auto img = open_image(dir + "/a.png");
  EXPECT_EQ(img->bits(), 8);
  expect_region(*img, 0, px, 41, 29, -3, -3, 47, 35, 1.0f / 255);
  // JPEG is lossy: a smooth ramp comes back within a few grey levels.
  std::vector<uint8_t> ramp(64 * 48);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) ramp[y * 64 + x] = static_cast<uint8_t>(60 + 2 * x + y);
  ASSERT_TRUE(stbi_write_jpg((dir + "/b.JPG").c_str(), 64, 48, 1, ramp.data(), 100));
  auto j = open_image(dir + "/b.JPG");
  ASSERT_EQ(j->width(), 64);
  std::vector<float> out(64 * 48);
  j->read_region(0, 0, 0, 64, 48, out.data(), 0);
  for (int i = 0; i < 64 * 48; ++i) ASSERT_NEAR(out[i] * 255, ramp[i], 4.0) << i;
}

std::string error_of(const std::string& path) {
  try {
    open_image(path)->read_region(0, 0, 0, 64, 64, std::vector<float>(64 * 64).data(), 0);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(ImageReader, BadFilesGiveClearErrors) {
  const std::string dir = temp_dir("bad");
  EXPECT_NE(error_of(dir + "/missing.tif").find("missing.tif: image file not found"), std::string::npos);
  write_text(dir + "/junk.tif", "this is not a tiff");
  EXPECT_NE(error_of(dir + "/junk.tif").find("junk.tif: cannot open as TIFF"), std::string::npos);
  write_text(dir + "/x.bmp", "BM");
  EXPECT_NE(error_of(dir + "/x.bmp").find("unsupported image type"), std::string::npos);
  // Truncated: a valid header whose pixel data is cut off.
  auto px = pattern8(256, 256);
  write_tiff(dir + "/full.tif", px.data(), 256, 256, 8, {});
  std::ifstream f(dir + "/full.tif", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  write_text(dir + "/trunc.tif", bytes.substr(0, 30000));
  const std::string e2 = error_of(dir + "/trunc.tif");
  EXPECT_NE(e2.find("trunc.tif"), std::string::npos) << e2;
  EXPECT_NE(e2, "");
}

TEST(ImageReader, UnsupportedSampleFormats) {
  const std::string dir = temp_dir("fmt");
  {  // float32
    TIFF* t = TIFFOpen((dir + "/f.tif").c_str(), "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    std::vector<float> row(8, 0.5f);
    for (int y = 0; y < 8; ++y) TIFFWriteScanline(t, row.data(), y, 0);
    TIFFClose(t);
  }
  EXPECT_NE(error_of(dir + "/f.tif").find("32-bit float"), std::string::npos);
}

}  // namespace
