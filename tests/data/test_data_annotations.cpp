// GeoJSON as QuPath exports it, centreline sampling and labelling, and malformed input.
#include <gtest/gtest.h>

#include "data/annotations.h"

using namespace cytocon::data;

namespace {

const char* kDoc = R"({"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,10],[100,10]]},
  "properties":{"objectType":"annotation","classification":{"name":"hOc1","colorRGB":-1}}},
 {"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[0,50],[30,50]],[[200,200],[200,260]]]},
  "properties":{}},
 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[-10,40],[50,40],[50,60],[-10,60],[-10,40]]]},
  "properties":{"name":"hOc2"}},
 {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[150,150],[250,150],[250,300],[150,300],[150,150]],
   [[190,240],[210,240],[210,300],[190,300],[190,240]]]]},
  "properties":{"classification":{"name":"4"}}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}
]})";

TEST(GeoJson, QuPathFeatureTypesAndClasses) {
  const Annotations a = parse_geojson(kDoc, "doc.geojson");
  ASSERT_EQ(a.centrelines.size(), 3u);
  EXPECT_EQ(a.centrelines[0].area, "hOc1");
  EXPECT_EQ(a.centrelines[1].area, "");
  ASSERT_EQ(a.polygons.size(), 2u);
  EXPECT_EQ(a.polygons[0].area, "hOc2");  // properties.name
  EXPECT_EQ(a.polygons[1].area, "4");
  EXPECT_EQ(a.polygons[1].rings.size(), 2u);
  ASSERT_EQ(a.warnings.size(), 1u);  // the Point
  EXPECT_NE(a.warnings[0].find("doc.geojson: feature 4"), std::string::npos);
  EXPECT_TRUE(a.polygons[1].contains({160, 160}));
  EXPECT_FALSE(a.polygons[1].contains({200, 250}));  // in the hole
}

TEST(GeoJson, SamplingSpacingAndLabels) {
  const Annotations a = parse_geojson(kDoc, "doc.geojson");
  const auto pts = sample_centrelines(a, 10.0);
  // Line 1: 0..100 every 10 → 11 points of hOc1. Line 2 (unlabelled) inside the hOc2 polygon →
  // 4 points (0, 10, 20, 30). Line 3: x = 200, y 200..260 → 7 points, in area 4 except in the
  // hole (y ≥ 240: 240, 250, 260), which are dropped.
  int n1 = 0, n2 = 0, n4 = 0;
  for (const auto& p : pts) {
    if (p.area == "hOc1") {
      ++n1;
      EXPECT_DOUBLE_EQ(p.p.y, 10);
    }
    if (p.area == "hOc2") ++n2;
    if (p.area == "4") {
      ++n4;
      EXPECT_LT(p.p.y, 240);
    }
  }
  EXPECT_EQ(n1, 11);
  EXPECT_EQ(n2, 4);
  EXPECT_EQ(n4, 4);
  EXPECT_EQ(pts.size(), 19u);
}

TEST(GeoJson, SamplingFollowsArcLengthAcrossVertices) {
  Annotations a;
  a.centrelines.push_back({"x", {{0, 0}, {3, 4}, {3, 14}}});  // lengths 5 + 10
  const auto pts = sample_centrelines(a, 4.0);
  ASSERT_EQ(pts.size(), 4u);  // s = 0, 4, 8, 12
  EXPECT_NEAR(pts[1].p.x, 2.4, 1e-12);
  EXPECT_NEAR(pts[1].p.y, 3.2, 1e-12);
  EXPECT_NEAR(pts[2].p.y, 7.0, 1e-12);
  EXPECT_NEAR(pts[3].p.y, 11.0, 1e-12);
}

TEST(GeoJson, BareArrayAndSingleFeature) {
  EXPECT_EQ(parse_geojson(R"([{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{"name":"a"}}])", "x")
                .centrelines.size(),
            1u);
  EXPECT_EQ(parse_geojson(R"({"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}})", "x")
                .centrelines.size(),
            1u);
}

std::string error_of(const std::string& text) {
  try {
    parse_geojson(text, "bad.geojson");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(GeoJson, MalformedInputNamesTheFile) {
  for (const char* t : {"", "{", "[1,2", R"({"type":"FeatureCollection"})", R"({"type":"Polygon"})",
                        R"([{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,"a"],[1,1]]}}])",
                        R"([{"type":"Feature","geometry":{"type":"LineString","coordinates":5}}])",
                        R"([{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[1]]},"properties":{"name":"a"}}])",
                        R"([{"type":"Feature","geometry":{"coordinates":[]}}])", "[7]"}) {
    const std::string e = error_of(t);
    EXPECT_EQ(e.rfind("bad.geojson", 0), 0u) << "input " << t << " gave '" << e << "'";
  }
}

TEST(GeoJson, AbsurdCoordinatesDoNotHang) {
  Annotations a;
  a.centrelines.push_back({"x", {{0, 0}, {1e300, 0}}});
  EXPECT_THROW(sample_centrelines(a, 1.0), std::exception);
}

}  // namespace
