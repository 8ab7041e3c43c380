// Sample points along chained centrelines, the tissue mask and grid, and the GeoJSON a section
// map becomes (map/points.h, map/tissue.h, map/geojson.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "map/geojson.h"
#include "map/points.h"
#include "map/tissue.h"

using namespace cytocon;
using namespace cytocon::map;

namespace {

data::Centreline line(const std::string& area, std::vector<data::Point2> pts) { return {area, std::move(pts)}; }

}  // namespace

TEST(MapPoints, PiecesDrawnPerAreaJoinIntoOneLine) {
  // Three pieces of one ribbon, drawn per area, the middle one backwards and listed last; and a
  // separate line far away.
  std::vector<data::Centreline> lines = {line("A", {{0, 0}, {100, 0}}), line("Z", {{0, 500}, {50, 500}}),
                                         line("C", {{201, 0}, {300, 0}}), line("B", {{200, 0}, {101, 0}})};
  auto chains = chain_centrelines(lines, 5);
  ASSERT_EQ(chains.size(), 2u);
  ASSERT_EQ(chains[0].size(), 3u);
  EXPECT_EQ(chains[0][0].index, 0);
  EXPECT_EQ(chains[0][1].index, 3);
  EXPECT_TRUE(chains[0][1].reversed);
  EXPECT_EQ(chains[0][2].index, 2);
  EXPECT_FALSE(chains[0][2].reversed);
  EXPECT_EQ(chains[1].size(), 1u);
  // A chain also grows backwards from its first piece.
  auto back = chain_centrelines({lines[2], lines[0], lines[3]}, 5);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].front().index, 1);

  SectionMap s;
  s.um_per_px = 10, s.width = 1000, s.height = 1000;  // 10 µm/px: spacing 250 µm = 25 px
  std::vector<data::AreaPolygon> polys = {{"cortex", {{{-10, -10}, {400, -10}, {400, 10}, {-10, 10}}}}};
  sample_centreline_points(s, lines, polys, {"A", "B", "C"}, 250);
  EXPECT_EQ(s.lines, 2);
  std::vector<MapPoint> first;
  for (const MapPoint& m : s.points)
    if (m.line == 0) first.push_back(m);
  // Pieces of 100, 99, 99 px: 5 + 4 + 4 points, positions increasing, areas A then B then C.
  ASSERT_EQ(first.size(), 13u);
  for (size_t i = 1; i < first.size(); ++i) EXPECT_GT(first[i].pos_mm, first[i - 1].pos_mm);
  EXPECT_EQ(first[0].truth, 0);
  EXPECT_EQ(first[5].truth, 1);
  EXPECT_NEAR(first[5].p.x, 101, 1e-9);  // B was drawn backwards: along the chain it starts at x = 101
  EXPECT_EQ(first[12].truth, 2);
  EXPECT_NEAR(first[12].pos_mm, (100 + 1 + 99 + 1 + 75) * 0.01, 1e-9);
  // "Z" is no area: its points have no reference, and "cortex" is none either.
  for (const MapPoint& m : s.points) EXPECT_TRUE(m.line != 1 || m.truth == -1);
}

TEST(MapTissue, OtsuSplitsTwoLevelsAndSmallSpecksGo) {
  // 100 x 80 thumbnail at 100 µm/px (1 px = 0.01 mm²): glass 0.9, a 40x40 tissue block 0.3 and a
  // 2x2 speck 0.3 (0.04 mm² < 0.5 mm²).
  Thumbnail t;
  t.width = 100, t.height = 80, t.downsample = 10;
  t.value.assign(8000, 0.9f);
  for (int y = 20; y < 60; ++y)
    for (int x = 10; x < 50; ++x) t.value[y * 100 + x] = 0.3f;
  for (int y = 2; y < 4; ++y)
    for (int x = 90; x < 92; ++x) t.value[y * 100 + x] = 0.3f;
  const float thr = otsu_threshold(t.value);
  EXPECT_GT(thr, 0.3f);
  EXPECT_LT(thr, 0.9f);
  std::vector<uint8_t> mask = find_tissue(t, 10, 0.5, "section.tif");
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 1600);
  EXPECT_EQ(mask[3 * 100 + 90], 0);
  SectionMap s;
  s.um_per_px = 10, s.width = 1000, s.height = 800;
  sample_grid_points(s, t, mask, 200);  // every 20 px from 10: 20 x 20 points in the 400 x 400 px block
  EXPECT_EQ(s.points.size(), 400u);
  for (const MapPoint& m : s.points) {
    EXPECT_EQ(m.line, -1);
    EXPECT_TRUE(m.p.x >= 100 && m.p.x < 500 && m.p.y >= 200 && m.p.y < 600) << m.p.x << "," << m.p.y;
  }
  // Nothing dark enough: a clear error naming the image.
  t.value.assign(8000, 0.9f);
  t.value[0] = 0.2f;
  try {
    find_tissue(t, 10, 0.5, "section.tif");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("section.tif: no tissue found"), std::string::npos) << e.what();
  }
}

TEST(MapGeojson, QuPathFeatures) {
  SectionMap s;
  s.um_per_px = 1, s.width = 100, s.height = 100, s.lines = 1;
  for (int i = 0; i < 4; ++i) s.points.push_back({{10.0 + 10 * i, 50}, 0, 0.01 * i, -1});
  s.points.push_back({{90, 90}, -1, 0, -1});  // a grid point
  s.prob = {0.9f, 0.1f, 0.8f, 0.2f, 0.3f, 0.7f, 0.4f, 0.6f, 0.5f, 0.5f};
  s.raw = s.pred = {0, 0, 1, 1, 0};
  auto j = nlohmann::json::parse(section_geojson(s, {"hOc1", "hOc2"}, 8));
  EXPECT_EQ(j["type"], "FeatureCollection");
  int detections = 0, annotations = 0;
  for (const auto& f : j["features"]) {
    EXPECT_EQ(f["type"], "Feature");
    const auto& p = f["properties"];
    const std::string name = p["classification"]["name"];
    const plot::Rgb c = area_color(name == "hOc1" ? 0 : 1);
    EXPECT_EQ(p["classification"]["color"], nlohmann::json::array({c.r, c.g, c.b}));
    if (p["objectType"] == "detection") {
      ++detections;
      EXPECT_EQ(f["geometry"]["type"], "Polygon");
      EXPECT_EQ(f["geometry"]["coordinates"][0].size(), 5u);  // closed square
      const double x0 = f["geometry"]["coordinates"][0][0][0], x1 = f["geometry"]["coordinates"][0][1][0];
      EXPECT_DOUBLE_EQ(x1 - x0, 8);
      EXPECT_NEAR(double(p["measurements"]["hOc1 probability"]) + double(p["measurements"]["hOc2 probability"]), 1, 1e-6);
    } else {
      ++annotations;
      EXPECT_EQ(p["objectType"], "annotation");
      EXPECT_EQ(f["geometry"]["type"], "LineString");
    }
  }
  EXPECT_EQ(detections, 5);
  ASSERT_EQ(annotations, 2);  // runs hOc1 (points 0-1) and hOc2 (points 2-3), meeting at x = 25
  const auto& run1 = j["features"][5]["geometry"]["coordinates"];
  const auto& run2 = j["features"][6]["geometry"]["coordinates"];
  EXPECT_EQ(run1.front(), nlohmann::json::array({10.0, 50.0}));
  EXPECT_EQ(run1.back(), nlohmann::json::array({25.0, 50.0}));
  EXPECT_EQ(run2.front(), nlohmann::json::array({25.0, 50.0}));
  EXPECT_EQ(run2.back(), nlohmann::json::array({40.0, 50.0}));
  EXPECT_NEAR(double(j["features"][5]["properties"]["measurements"]["Length mm"]), 0.015, 1e-12);
}
