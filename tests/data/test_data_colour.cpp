// Colour sections and pixel sizes (docs/data.md, "Colour", "Pixel size", "Level choice"): RGB,
// RGBA, 16-bit RGB and JPEG-compressed YCbCr TIFFs read as grayscale with stb_image's luma (the
// PNG path is the reference), pyramids kept; pixel size from OME-XML, Aperio MPP and resolution
// tags; the manifest's um_per_px left empty or disagreeing; level choice by cost. ThirdParty reads
// files written by tifffile and Pillow (run by data.third_party_tiffs, which skips without them).
#include <gtest/gtest.h>
#include <tiffio.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/dataset.h"
#include "data/image.h"
#include "data/pixel_size.h"
#include "data_test_util.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>

using namespace cytocon::data;
using namespace cytocon::data::testing;

namespace {

// Interleaved RGB test pattern (8-bit), not a function of luma alone.
std::vector<uint8_t> pattern_rgb(int64_t w, int64_t h, int samples = 3) {
  std::vector<uint8_t> v(static_cast<size_t>(w * h * samples));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      uint8_t* p = &v[(y * w + x) * samples];
      p[0] = static_cast<uint8_t>((x * 7 + y * 3) % 256);
      p[1] = static_cast<uint8_t>((x * 2 + y * 11) % 256);
      p[2] = static_cast<uint8_t>((x * 13 + y * 5) % 251);
      if (samples == 4) p[3] = static_cast<uint8_t>(x % 2 ? 0 : 255);
    }
  return v;
}

struct ColourTiff {
  int samples = 3, bits = 8;
  uint16_t photometric = PHOTOMETRIC_RGB, compression = COMPRESSION_NONE;
  int tile = 64;  // 0: strips
  std::string description;
  float x_resolution = 0;
  uint16_t resolution_unit = RESUNIT_INCH;
};

// Writes one page per image in `pages` (each w_i × h_i × samples, 8 or 16 bits) with libtiff.
void write_colour(const std::string& path, const std::vector<std::vector<uint8_t>>& pages,
                  const std::vector<std::pair<int64_t, int64_t>>& dims, const ColourTiff& c) {
  TIFF* t = TIFFOpen(path.c_str(), "w");
  ASSERT_NE(t, nullptr);
  for (size_t p = 0; p < pages.size(); ++p) {
    const auto [w, h] = dims[p];
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(w));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(h));
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, c.samples);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, c.bits);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, c.photometric);
    TIFFSetField(t, TIFFTAG_COMPRESSION, c.compression);
    if (c.samples == 4) {
      const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
      TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    if (c.compression == COMPRESSION_JPEG) {
      TIFFSetField(t, TIFFTAG_JPEGQUALITY, 95);
      if (c.photometric == PHOTOMETRIC_YCBCR) TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    if (p > 0) TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
    if (p == 0 && !c.description.empty()) TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, c.description.c_str());
    if (p == 0 && c.x_resolution > 0) {
      TIFFSetField(t, TIFFTAG_XRESOLUTION, c.x_resolution);
      TIFFSetField(t, TIFFTAG_YRESOLUTION, c.x_resolution);
      TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, c.resolution_unit);
    }
    const int64_t px_bytes = c.samples * c.bits / 8;
    if (c.tile) {
      TIFFSetField(t, TIFFTAG_TILEWIDTH, c.tile);
      TIFFSetField(t, TIFFTAG_TILELENGTH, c.tile);
      std::vector<uint8_t> buf(static_cast<size_t>(c.tile * c.tile * px_bytes));
      for (int64_t ty = 0; ty < h; ty += c.tile)
        for (int64_t tx = 0; tx < w; tx += c.tile) {
          std::fill(buf.begin(), buf.end(), 0);
          for (int64_t y = ty; y < std::min(h, ty + c.tile); ++y)
            for (int64_t x = tx; x < std::min(w, tx + c.tile); ++x)
              std::memcpy(&buf[((y - ty) * c.tile + (x - tx)) * px_bytes], &pages[p][(y * w + x) * px_bytes],
                          static_cast<size_t>(px_bytes));
          ASSERT_GE(TIFFWriteTile(t, buf.data(), static_cast<uint32_t>(tx), static_cast<uint32_t>(ty), 0, 0), 0);
        }
    } else {
      TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
      for (int64_t y = 0; y < h; ++y)
        ASSERT_GE(TIFFWriteScanline(t, const_cast<uint8_t*>(&pages[p][y * w * px_bytes]), static_cast<uint32_t>(y), 0), 0);
    }
    ASSERT_TRUE(TIFFWriteDirectory(t));
  }
  TIFFClose(t);
}

std::vector<float> read_all(const Image& img, int level = 0) {
  const Level& L = img.levels()[level];
  std::vector<float> out(static_cast<size_t>(L.width * L.height));
  img.read_region(level, 0, 0, L.width, L.height, out.data(), -1.0f);
  return out;
}

// The PNG path (stb_image's own colour conversion) is the reference for the luma rule.
std::vector<float> via_png(const std::string& dir, const std::vector<uint8_t>& rgb, int w, int h, int samples) {
  const std::string png = dir + "/ref.png";
  EXPECT_TRUE(stbi_write_png(png.c_str(), w, h, samples, rgb.data(), w * samples));
  return read_all(*open_image(png));
}

TEST(ColourTiff, RgbTilesAndStripsMatchThePngPath) {
  const std::string dir = temp_dir("rgb");
  const int W = 150, H = 97;
  for (int samples : {3, 4})
    for (int tile : {64, 0}) {
      const auto rgb = pattern_rgb(W, H, samples);
      ColourTiff c;
      c.samples = samples;
      c.tile = tile;
      c.compression = COMPRESSION_ADOBE_DEFLATE;
      const std::string path = dir + "/c" + std::to_string(samples) + "_" + std::to_string(tile) + ".tif";
      write_colour(path, {rgb}, {{W, H}}, c);
      auto img = open_image(path);
      EXPECT_EQ(img->bits(), 8);
      EXPECT_FALSE(img->min_is_white());
      EXPECT_EQ(read_all(*img), via_png(dir, rgb, W, H, samples)) << path;
    }
}

TEST(ColourTiff, Rgb16UsesTheSameWeights) {
  const std::string dir = temp_dir("rgb16");
  const int W = 70, H = 40;
  std::vector<uint16_t> px(W * H * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint16_t>((i * 2654435761u) >> 13);
  ColourTiff c;
  c.bits = 16;
  std::vector<uint8_t> bytes(px.size() * 2);
  std::memcpy(bytes.data(), px.data(), bytes.size());
  write_colour(dir + "/c16.tif", {bytes}, {{W, H}}, c);
  auto img = open_image(dir + "/c16.tif");
  EXPECT_EQ(img->bits(), 16);
  const auto got = read_all(*img);
  for (int k = 0; k < W * H; ++k) {
    const double y = std::floor((77.0 * px[3 * k] + 150.0 * px[3 * k + 1] + 29.0 * px[3 * k + 2]) / 256.0);
    ASSERT_EQ(got[k], static_cast<float>(y) * (1.0f / 65535)) << k;
  }
}

TEST(ColourTiff, JpegYCbCrPyramidIsGrayscaleWithinJpegError) {
  const std::string dir = temp_dir("ycc");
  const int W = 256, H = 192;
  // Smooth colours: JPEG keeps them within a few levels.
  std::vector<uint8_t> rgb(W * H * 3), half((W / 2) * (H / 2) * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      uint8_t* p = &rgb[(y * W + x) * 3];
      p[0] = static_cast<uint8_t>(120 + 100 * std::sin(x / 40.0)), p[1] = static_cast<uint8_t>(60 + y / 2),
      p[2] = static_cast<uint8_t>(200 - x / 3);
    }
  for (int y = 0; y < H / 2; ++y)
    for (int x = 0; x < W / 2; ++x)
      for (int s = 0; s < 3; ++s) half[(y * (W / 2) + x) * 3 + s] = rgb[((2 * y) * W + 2 * x) * 3 + s];
  ColourTiff c;
  c.photometric = PHOTOMETRIC_YCBCR;
  c.compression = COMPRESSION_JPEG;
  write_colour(dir + "/y.tif", {rgb, half}, {{W, H}, {W / 2, H / 2}}, c);
  auto img = open_image(dir + "/y.tif");
  ASSERT_EQ(img->levels().size(), 2u);
  EXPECT_EQ(img->bits(), 8);
  const auto want0 = via_png(dir, rgb, W, H, 3), got0 = read_all(*img, 0);
  for (int k = 0; k < W * H; ++k) ASSERT_NEAR(got0[k] * 255, want0[k] * 255, 4.0) << k;
  const auto want1 = via_png(dir, half, W / 2, H / 2, 3), got1 = read_all(*img, 1);
  for (int k = 0; k < W * H / 4; ++k) ASSERT_NEAR(got1[k] * 255, want1[k] * 255, 4.0) << k;
}

TEST(ColourTiff, UnsupportedColourLayoutsAreClearErrors) {
  const std::string dir = temp_dir("badc");
  TIFF* t = TIFFOpen((dir + "/planar.tif").c_str(), "w");
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_SEPARATE);
  std::vector<uint8_t> row(8, 1);
  for (uint16_t s = 0; s < 3; ++s)
    for (int y = 0; y < 8; ++y) TIFFWriteScanline(t, row.data(), y, s);
  TIFFClose(t);
  try {
    open_image(dir + "/planar.tif");
    FAIL() << "planar RGB accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("planar.tif: colour planes stored separately"), std::string::npos) << e.what();
  }
}

TEST(PixelSize, FromDescriptions) {
  const std::string ome = R"(<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">)"
                          R"(<Image ID="Image:0"><Pixels DimensionOrder="XYCZT" ID="Pixels:0" PhysicalSizeX="0.46" )"
                          R"(PhysicalSizeXUnit="µm" PhysicalSizeY="0.5" SizeX="10"/></Image></OME>)";
  EXPECT_DOUBLE_EQ(um_per_px_from_description(ome).value(), 0.46);
  EXPECT_DOUBLE_EQ(um_per_px_from_description(R"(<ome:Pixels PhysicalSizeX='460' PhysicalSizeXUnit='nm'>)").value(),
                   0.46);
  EXPECT_DOUBLE_EQ(um_per_px_from_description(R"(<Pixels PhysicalSizeX="2">)").value(), 2.0);  // default µm
  EXPECT_FALSE(um_per_px_from_description(R"(<Pixels PhysicalSizeXUnit="µm">)"));            // no size
  EXPECT_FALSE(um_per_px_from_description(R"(<Pixels PhysicalSizeX="1" PhysicalSizeXUnit="pixel">)"));
  EXPECT_FALSE(um_per_px_from_description(R"(<Pixels PhysicalSizeX="-1">)"));
  EXPECT_FALSE(um_per_px_from_description(R"(<PixelsX PhysicalSizeX="1">)"));  // another element
  EXPECT_DOUBLE_EQ(um_per_px_from_description("Aperio Image Library v11.2.1 \r\n46000x32914 [0,100 46000x32814] "
                                              "(256x256) JPEG/RGB Q=30|AppMag = 20|MPP = 0.4990|Filename = x")
                       .value(),
                   0.499);
  EXPECT_FALSE(um_per_px_from_description("ImageJ=1.53 |MPP = 3"));  // not Aperio
  EXPECT_DOUBLE_EQ(um_per_px_from_resolution(25400, RESUNIT_INCH).value(), 1.0);
  EXPECT_DOUBLE_EQ(um_per_px_from_resolution(1e4 / 3.0f, RESUNIT_CENTIMETER).value(), 3.0);
  EXPECT_FALSE(um_per_px_from_resolution(72, RESUNIT_INCH));  // a screen default, not a scan
  EXPECT_FALSE(um_per_px_from_resolution(5000, RESUNIT_NONE));
  EXPECT_FALSE(um_per_px_from_resolution(0, RESUNIT_CENTIMETER));
}

TEST(PixelSize, FromTiffFiles) {
  const std::string dir = temp_dir("px");
  const auto rgb = pattern_rgb(40, 30);
  ColourTiff c;
  c.description = R"(<OME><Image><Pixels PhysicalSizeX="0.25" PhysicalSizeXUnit="µm"/></Image></OME>)";
  c.x_resolution = 1000;  // the OME-XML wins over the tags
  write_colour(dir + "/ome.tif", {rgb}, {{40, 30}}, c);
  EXPECT_DOUBLE_EQ(open_image(dir + "/ome.tif")->um_per_px().value(), 0.25);
  c.description.clear();
  c.x_resolution = 5000;
  c.resolution_unit = RESUNIT_CENTIMETER;
  write_colour(dir + "/res.tif", {rgb}, {{40, 30}}, c);
  EXPECT_DOUBLE_EQ(open_image(dir + "/res.tif")->um_per_px().value(), 2.0);
  c.x_resolution = 72;
  c.resolution_unit = RESUNIT_INCH;
  write_colour(dir + "/dpi72.tif", {rgb}, {{40, 30}}, c);
  EXPECT_FALSE(open_image(dir + "/dpi72.tif")->um_per_px());
  // The project's own writer states it too (cytocon-synth).
  auto g = pattern8(64, 64);
  TiffWriteOptions o;
  o.um_per_px = 4;
  write_tiff(dir + "/synth.tif", g.data(), 64, 64, 8, o);
  EXPECT_DOUBLE_EQ(open_image(dir + "/synth.tif")->um_per_px().value(), 4.0);
}

// A one-section dataset whose manifest um_per_px is `manifest_um` and whose TIFF states `file_um`.
std::string pixel_size_dataset(const std::string& manifest_um, double file_um) {
  const std::string dir = temp_dir("pxds");
  auto px = pattern8(400, 300);
  TiffWriteOptions o;
  o.um_per_px = file_um;
  write_tiff(dir + "/s.tif", px.data(), 400, 300, 8, o);
  write_text(dir + "/s.geojson", line_geojson("A0", 10, 390, 150));
  write_text(dir + "/labels.txt", "A0\n");
  write_text(dir + "/manifest.csv", "brain,section,image,annotation,um_per_px\nb,s,s.tif,s.geojson," + manifest_um + "\n");
  return dir;
}

TEST(PixelSize, ManifestMayLeaveItToTheFile) {
  DatasetOptions opt;
  opt.quiet = true;
  opt.spacing_um = 20;
  auto ds = Dataset::open(pixel_size_dataset("", 2.0), opt);
  EXPECT_DOUBLE_EQ(ds->sections()[0].um_per_px, 2.0);
  EXPECT_EQ(ds->points().size(), 39u);  // 380 px of centreline at 20 µm = 10 px spacing: 38 steps
  EXPECT_TRUE(ds->warnings().empty());
  // Within 1 %: no warning; beyond: a warning naming both values; the manifest wins.
  EXPECT_TRUE(Dataset::open(pixel_size_dataset("2.01", 2.0), opt)->warnings().empty());
  auto off = Dataset::open(pixel_size_dataset("2.1", 2.0), opt);
  ASSERT_EQ(off->warnings().size(), 1u);
  EXPECT_NE(off->warnings()[0].find("manifest um_per_px 2.1 disagrees with the image's 2 "), std::string::npos)
      << off->warnings()[0];
  EXPECT_DOUBLE_EQ(off->sections()[0].um_per_px, 2.1);
  try {
    Dataset::open(pixel_size_dataset("", 0), opt);
    FAIL() << "no pixel size anywhere accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.csv:2: um_per_px is empty"), std::string::npos) << e.what();
  }
}

TEST(LevelChoice, ByCost) {
  const std::string dir = temp_dir("lvl");
  // An Aperio-style pyramid with 4x steps: 1024 → 256 → 64 px wide, full resolution 1 µm/px.
  std::vector<std::vector<uint8_t>> pages;
  std::vector<std::pair<int64_t, int64_t>> dims;
  for (int64_t w = 1024; w >= 64; w /= 4) pages.push_back(pattern_rgb(w, w / 2)), dims.emplace_back(w, w / 2);
  write_colour(dir + "/p.tif", pages, dims, ColourTiff{});
  auto img = open_image(dir + "/p.tif");
  ASSERT_EQ(img->levels().size(), 3u);  // pyramid kept
  EXPECT_EQ(img->level_for(1.0, 1.0), 0);
  EXPECT_EQ(img->level_for(1.0, 1.4), 0);  // within √2
  EXPECT_EQ(img->level_for(1.0, 2.0), 1);  // 1 µm/px would read 4× the pixels; 4 µm/px is within 2×
  EXPECT_EQ(img->level_for(1.0, 1.5), 0);  // 4 µm/px is beyond 2×: the finer level (logged)
  EXPECT_EQ(img->level_for(1.0, 3.0), 1);
  EXPECT_EQ(img->level_for(1.0, 8.0), 2);  // 4 µm/px is 2× finer: 16 µm/px within 2×
  EXPECT_EQ(img->level_for(1.0, 0.5), 0);
}

// Files from third-party writers; the directory comes from data.third_party_tiffs (CMake).
TEST(ThirdParty, TifffileAndPillowFiles) {
  const char* dir = std::getenv("CYTOCON_THIRD_PARTY_DIR");
  if (!dir) GTEST_SKIP() << "run through ctest -R data.third_party_tiffs";
  std::ifstream expect(std::string(dir) + "/expect.txt");
  ASSERT_TRUE(expect) << dir;
  std::string line;
  int files = 0;
  while (std::getline(expect, line)) {
    std::istringstream in(line);
    std::string name;
    size_t levels = 0;
    double um = 0, tol = 0;
    ASSERT_TRUE(in >> name >> levels >> um >> tol) << line;
    SCOPED_TRACE(name);
    const std::string path = std::string(dir) + "/" + name;
    auto img = open_image(path);
    EXPECT_EQ(img->levels().size(), levels);
    if (um > 0) EXPECT_NEAR(img->um_per_px().value_or(-1), um, 1e-9);
    else EXPECT_FALSE(img->um_per_px());
    std::ifstream g(path + ".gray", std::ios::binary);
    std::vector<uint8_t> want((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
    const auto got = read_all(*img);
    ASSERT_EQ(got.size(), want.size());
    double worst = 0;
    for (size_t k = 0; k < got.size(); ++k) worst = std::max(worst, std::abs(got[k] * 255.0 - want[k]));
    EXPECT_LE(worst, tol + 1e-3);
    ++files;
  }
  EXPECT_EQ(files, 6);
}

}  // namespace
