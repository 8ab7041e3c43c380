// cytocon-map end to end: a 2-brain synthetic dataset (brain02 X_un), a random tiny network with
// a 4-class classifier; maps of the unseen sections checked against QuPath's GeoJSON layout, the
// drawn centrelines and each other; smoothing choices; --image with a grid over the tissue; bad
// input fails with one clear message and leaves earlier outputs alone.
// (Colour TIFFs are read as grayscale by the image reader, docs/data.md; float ones are refused.)
#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/run.h"
#include "common/tiny_run.h"
#include "data/annotations.h"
#include "engine/io/atomic_file.h"

using namespace cytocon;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::string kBin = CYTOCON_BIN_DIR;

using testing_util::run;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string f; std::getline(in, f, sep);) v.push_back(f);
  if (!s.empty() && s.back() == sep) v.push_back("");
  return v;
}

// predictions.csv as rows of named fields (synthetic names hold no commas).
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::vector<std::string> lines = split(io::read_file(path), '\n');
  std::vector<std::string> head = split(lines.at(0), ',');
  std::vector<std::map<std::string, std::string>> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::vector<std::string> f = split(lines[i], ',');
    EXPECT_EQ(f.size(), head.size()) << lines[i];
    std::map<std::string, std::string> r;
    for (size_t c = 0; c < head.size() && c < f.size(); ++c) r[head[c]] = f[c];
    rows.push_back(r);
  }
  return rows;
}

double segment_distance(data::Point2 p, data::Point2 a, data::Point2 b) {
  const double dx = b.x - a.x, dy = b.y - a.y, L = dx * dx + dy * dy;
  const double t = L > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / L, 0.0, 1.0) : 0;
  return std::hypot(p.x - a.x - t * dx, p.y - a.y - t * dy);
}

class MapCli : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::TempDir() + "/map_cli_" + std::to_string(getpid());
    std::string out;
    ASSERT_EQ(testing_util::make_tiny_run(dir_, 2, &out), 0) << out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string map_cmd(const std::string& out, const std::string& extra = "") {
    return kBin + "/cytocon-map --checkpoint " + dir_ + "/run/final.safetensors --data " + dir_ +
           "/data --split unseen --spacing-um 400 --batch 8 --quiet --out " + dir_ + "/" + out + " " + extra;
  }
  static std::string dir_;
};
std::string MapCli::dir_;

}  // namespace

TEST_F(MapCli, MapsTheUnseenSectionsForQuPath) {
  std::string out;
  ASSERT_EQ(run(map_cmd("m"), &out), 0) << out;
  const std::string m = dir_ + "/m";
  auto rows = read_csv(m + "/predictions.csv");
  ASSERT_GT(rows.size(), 4u);
  const std::vector<std::string> labels = {"brain02_s01", "brain02_s02"};
  std::map<std::string, json> colour;  // area -> colour, across both sections
  for (const std::string& stem : labels) {
    ASSERT_TRUE(fs::exists(m + "/" + stem + ".png")) << stem;
    EXPECT_NE(io::read_file(m + "/" + stem + ".svg").find("<svg"), std::string::npos) << stem;
    const json j = json::parse(io::read_file(m + "/" + stem + ".geojson"));
    EXPECT_EQ(j["type"], "FeatureCollection");
    const data::Annotations ref = data::read_geojson(dir_ + "/data/annotations/" + stem + ".geojson");
    size_t detections = 0;
    for (const json& f : j["features"]) {
      const json& p = f["properties"];
      const std::string area = p["classification"]["name"];
      ASSERT_EQ(p["classification"]["color"].size(), 3u);
      auto [it, fresh] = colour.emplace(area, p["classification"]["color"]);
      EXPECT_EQ(it->second, p["classification"]["color"]) << area << " has two colours";
      if (p["objectType"] == "detection") {
        ++detections;
        EXPECT_EQ(f["geometry"]["type"], "Polygon");
        EXPECT_EQ(p["measurements"].size(), 4u + 2u);  // every area's probability, centreline, position
      } else {
        EXPECT_EQ(p["objectType"], "annotation");
        EXPECT_EQ(f["geometry"]["type"], "LineString");
      }
    }
    // One detection per predictions.csv row of the section; every point on a drawn centreline,
    // its reference area the area of that centreline piece.
    size_t n = 0;
    for (const auto& r : rows) {
      if (r.at("brain") + "_" + r.at("section") != stem) continue;
      ++n;
      const data::Point2 p{std::stod(r.at("x")), std::stod(r.at("y"))};
      double best = 1e30;
      std::string area;
      for (const data::Centreline& c : ref.centrelines)
        for (size_t i = 0; i + 1 < c.points.size(); ++i) {
          const double d = segment_distance(p, c.points[i], c.points[i + 1]);
          if (d < best) best = d, area = c.area;
        }
      EXPECT_LT(best, 0.01) << stem << " point " << p.x << "," << p.y;
      EXPECT_EQ(r.at("true"), area);
      EXPECT_FALSE(r.at("centreline").empty());
      double sum = 0;
      for (const auto& [k, v] : r)
        if (k.rfind("p:", 0) == 0) sum += std::stod(v);
      EXPECT_NEAR(sum, 1, 1e-4);
      EXPECT_EQ(split(r.at("top3"), '|').size(), 3u);
    }
    EXPECT_EQ(detections, n) << stem;
  }
  // Positions along a centreline grow by about the spacing (0.4 mm; less across a piece's end).
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i].at("section") == rows[i - 1].at("section") && rows[i].at("centreline") == rows[i - 1].at("centreline")) {
      const double d = std::stod(rows[i].at("position_mm")) - std::stod(rows[i - 1].at("position_mm"));
      EXPECT_TRUE(d > 0 && d <= 0.4 + 1e-3) << d;
    }
  const json mj = json::parse(io::read_file(m + "/map.json"));
  EXPECT_EQ(mj["sections"].size(), 2u);
  EXPECT_EQ(mj["overall"]["raw"]["n"], rows.size());
  EXPECT_TRUE(mj["overall"]["smoothed"].contains("border_error_mm"));
  EXPECT_EQ(mj["smooth"]["method"], "viterbi");
  EXPECT_NE(io::read_file(m + "/report.md").find("border error"), std::string::npos);
  for (const auto& e : fs::directory_iterator(m))  // nothing left under a temporary name
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(MapCli, SmoothingNoneIsArgmaxAndAHugePenaltyOneAreaPerLine) {
  std::string out;
  ASSERT_EQ(run(map_cmd("none", "--smooth none"), &out), 0) << out;
  for (const auto& r : read_csv(dir_ + "/none/predictions.csv")) EXPECT_EQ(r.at("pred"), r.at("argmax"));
  // Deterministic: another extraction thread count gives the same bytes.
  ASSERT_EQ(run(map_cmd("none1", "--smooth none --threads 1"), &out), 0) << out;
  EXPECT_EQ(io::read_file(dir_ + "/none1/predictions.csv"), io::read_file(dir_ + "/none/predictions.csv"));
  EXPECT_EQ(io::read_file(dir_ + "/none1/brain02_s01.geojson"), io::read_file(dir_ + "/none/brain02_s01.geojson"));
  ASSERT_EQ(run(map_cmd("flat", "--penalty 1e9"), &out), 0) << out;
  std::map<std::string, std::set<std::string>> areas;
  for (const auto& r : read_csv(dir_ + "/flat/predictions.csv")) areas[r.at("section") + "/" + r.at("centreline")].insert(r.at("pred"));
  for (const auto& [line, a] : areas) EXPECT_EQ(a.size(), 1u) << line;
}

TEST_F(MapCli, OutlinesOnlyGiveDerivedCentrelines) {
  // The section's annotation without its drawn centrelines (a lab's outlines, QuPath-style).
  json a = json::parse(io::read_file(dir_ + "/data/annotations/brain02_s01.geojson"));
  json kept = json::array();
  for (const json& f : a["features"])
    if (f["geometry"]["type"] != "LineString") kept.push_back(f);
  a["features"] = kept;
  io::write_file_atomic(dir_ + "/outlines.geojson", a.dump());
  std::string out;
  ASSERT_EQ(run(kBin + "/cytocon-map --checkpoint " + dir_ + "/run/final.safetensors --labels " + dir_ +
                "/data/labels.txt --image " + dir_ + "/data/images/brain02_s01.tif --annotation " + dir_ +
                "/outlines.geojson --spacing-um 400 --batch 8 --quiet --out " + dir_ + "/o", &out), 0) << out;
  auto rows = read_csv(dir_ + "/o/predictions.csv");
  ASSERT_GT(rows.size(), 3u);
  size_t labelled = 0;
  for (const auto& r : rows) labelled += !r.at("true").empty();
  EXPECT_GT(labelled, rows.size() / 2);  // derived mid-lines run inside the area outlines
  const json mj = json::parse(io::read_file(dir_ + "/o/map.json"));
  EXPECT_NE(std::string(mj["sections"][0]["sampling"]).find("derived"), std::string::npos);
  // --centrelines annotated on outlines only is an error naming the file.
  EXPECT_EQ(run(kBin + "/cytocon-map --checkpoint " + dir_ + "/run/final.safetensors --labels " + dir_ +
                "/data/labels.txt --image " + dir_ + "/data/images/brain02_s01.tif --annotation " + dir_ +
                "/outlines.geojson --centrelines annotated --out " + dir_ + "/o2", &out), 1);
  EXPECT_NE(out.find(dir_ + "/outlines.geojson: no centrelines"), std::string::npos) << out;
}

TEST_F(MapCli, ImageGridAndBadInput) {
  const std::string img = dir_ + "/data/images/brain01_s01.tif", ck = dir_ + "/run/final.safetensors";
  const std::string base = kBin + "/cytocon-map --checkpoint " + ck + " --labels " + dir_ + "/data/labels.txt --quiet ";
  std::string out;
  // No annotation: a grid over the tissue (every 400 µm = 100 px of a 1500 x 1200 px section);
  // the pixel size from the TIFF's resolution tags.
  ASSERT_EQ(run(base + "--image " + img + " --grid-um 400 --spacing-um 400 --batch 8 --out " + dir_ + "/g", &out), 0) << out;
  auto rows = read_csv(dir_ + "/g/predictions.csv");
  EXPECT_GT(rows.size(), 5u);
  EXPECT_LT(rows.size(), 15u * 12u);  // glass is left out
  for (const auto& r : rows) EXPECT_TRUE(r.at("centreline").empty() && r.at("true").empty());
  const std::string before = io::read_file(dir_ + "/g/map.json");

  auto fails = [&](const std::string& cmd, const std::string& expect) {
    std::string o;
    EXPECT_EQ(run(cmd + " --out " + dir_ + "/g", &o), 1) << cmd;
    EXPECT_NE(o.find(expect), std::string::npos) << o;
    EXPECT_EQ(std::count(o.begin(), o.end(), '\n'), 1) << "one line: " << o;
  };
  // A TIFF without any pixel size; then a float TIFF.
  auto write_tiff = [&](const std::string& path, int bits, int format) {
    TIFF* t = TIFFOpen(path.c_str(), "w");
    ASSERT_NE(t, nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 8);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, format);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    std::vector<uint8_t> row(8 * bits / 8, 0);
    for (uint32_t y = 0; y < 8; ++y) TIFFWriteScanline(t, row.data(), y, 0);
    TIFFClose(t);
  };
  write_tiff(dir_ + "/plain.tif", 8, SAMPLEFORMAT_UINT);
  fails(base + "--image " + dir_ + "/plain.tif", dir_ + "/plain.tif: no pixel size");
  write_tiff(dir_ + "/float.tif", 32, SAMPLEFORMAT_IEEEFP);
  fails(base + "--image " + dir_ + "/float.tif --um-per-px 4", dir_ + "/float.tif");
  io::write_file_atomic(dir_ + "/points.geojson",
                        R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}]})");
  fails(base + "--image " + img + " --um-per-px 4 --annotation " + dir_ + "/points.geojson",
        dir_ + "/points.geojson: no usable geometry");
  // A network without a classifier (a supcon run).
  testing_util::save_tiny_network(dir_ + "/supcon.safetensors", 0, 1);
  fails(kBin + "/cytocon-map --checkpoint " + dir_ + "/supcon.safetensors --image " + img + " --um-per-px 4",
        "no classifier.weight");
  EXPECT_EQ(io::read_file(dir_ + "/g/map.json"), before);  // the failed runs left it alone
}
