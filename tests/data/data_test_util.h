// Helpers for the data tests: a fresh temporary directory, small TIFF/GeoJSON datasets.
#pragma once
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/tiff_writer.h"

namespace cytocon::data::testing {

// The directories temp_dir made in this process; removed after its tests, unless one failed.
inline std::vector<std::string>& temp_dirs() {
  static std::vector<std::string> dirs;
  return dirs;
}

class RemoveTempDirs : public ::testing::Environment {
 public:
  void TearDown() override {
    if (::testing::UnitTest::GetInstance()->Failed()) return;  // kept for inspection
    for (const std::string& d : temp_dirs()) std::filesystem::remove_all(d);
  }
};
inline ::testing::Environment* const kRemoveTempDirs = ::testing::AddGlobalTestEnvironment(new RemoveTempDirs);

inline std::string temp_dir(const std::string& tag) {
  std::string tmpl = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : std::string("/tmp")) +
                     "/cytocon_" + tag + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* d = mkdtemp(buf.data());
  EXPECT_NE(d, nullptr);
  if (d) temp_dirs().push_back(d);
  return d ? std::string(d) : std::string();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// A deterministic 8-bit test pattern: value at (x, y) = (x·7 + y·13) mod 251.
inline std::vector<uint8_t> pattern8(int64_t w, int64_t h) {
  std::vector<uint8_t> v(static_cast<size_t>(w * h));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) v[y * w + x] = static_cast<uint8_t>((x * 7 + y * 13) % 251);
  return v;
}

// A horizontal centreline across the middle of a W×H section labelled `area`, as GeoJSON.
inline std::string line_geojson(const std::string& area, double x0, double x1, double y) {
  return R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[)" +
         std::to_string(x0) + "," + std::to_string(y) + "],[" + std::to_string(x1) + "," + std::to_string(y) +
         R"(]]},"properties":{"classification":{"name":")" + area + R"("}}}]})";
}

}  // namespace cytocon::data::testing

namespace cytocon::data::testing {

// A dataset directory: `brains` × `sections` sections of 400×300 px at 2 µm/px (a test pattern),
// area a ("A0", "A1", ...) has a horizontal centreline at y = 20 + 25a with 3 + 5a points at
// spacing 20 µm (10 px). `split` gives the manifest split column for brain b ("" = seeded).
inline void make_dataset(const std::string& dir, int brains, int sections, int areas,
                         const std::vector<std::string>& split = {}) {
  std::string labels, manifest = "brain,section,image,annotation,um_per_px,split\n";
  for (int a = 0; a < areas; ++a) labels += "A" + std::to_string(a) + "\n";
  write_text(dir + "/labels.txt", labels);
  auto px = pattern8(400, 300);
  TiffWriteOptions o;
  o.tile = 64;
  for (int b = 0; b < brains; ++b)
    for (int s = 0; s < sections; ++s) {
      const std::string base = "b" + std::to_string(b) + "s" + std::to_string(s);
      write_tiff(dir + "/" + base + ".tif", px.data(), 400, 300, 8, o);
      std::string feats;
      for (int a = 0; a < areas; ++a) {
        const double y = 20 + 25 * a, x1 = 10 + 10.0 * (2 + 5 * a);
        feats += std::string(a ? "," : "") + R"({"type":"Feature","geometry":{"type":"LineString","coordinates":[[10,)" +
                 std::to_string(y) + "],[" + std::to_string(x1) + "," + std::to_string(y) +
                 R"(]]},"properties":{"classification":{"name":"A)" + std::to_string(a) + R"("}}})";
      }
      write_text(dir + "/" + base + ".geojson", R"({"type":"FeatureCollection","features":[)" + feats + "]}");
      manifest += "brain" + std::to_string(b) + ",sec" + std::to_string(s) + "," + base + ".tif," + base +
                  ".geojson,2," + (b < static_cast<int>(split.size()) ? split[b] : "") + "\n";
    }
  write_text(dir + "/manifest.csv", manifest);
}

}  // namespace cytocon::data::testing
