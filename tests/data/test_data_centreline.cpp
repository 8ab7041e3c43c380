// Centrelines derived from area polygons (docs/data.md, "Derived centrelines") on hand-made
// shapes whose mid-line is known exactly, and the auto/annotated/derived rule.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "centreline_accuracy.h"
#include "common/errors.h"
#include "config/choices.h"
#include "data/centreline.h"
#include "folded_ribbon.h"

using namespace cytocon::data;
using cytocon::testing_util::contains;
using cytocon::testing_util::error_of;

namespace {

constexpr double kUm = 4;  // µm per pixel: a 500 px band is 2 mm thick, like cortex

AreaPolygon poly(const std::string& area, std::vector<std::vector<Point2>> rings) {
  return AreaPolygon{area, std::move(rings)};
}

std::vector<Point2> rect(double x0, double y0, double x1, double y1) {
  return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
}

std::vector<Point2> circle(double cx, double cy, double r, int n = 720) {
  std::vector<Point2> v;
  for (int i = 0; i < n; ++i) v.push_back({cx + r * std::cos(2 * M_PI * i / n), cy + r * std::sin(2 * M_PI * i / n)});
  return v;
}

// A band of thickness t along the line through p in direction (cos a, sin a), from s0 to s1.
std::vector<Point2> band(Point2 p, double a, double s0, double s1, double t) {
  const double ux = std::cos(a), uy = std::sin(a), nx = -uy, ny = ux;
  auto at = [&](double s, double o) { return Point2{p.x + s * ux + o * nx, p.y + s * uy + o * ny}; };
  return {at(s0, -t / 2), at(s1, -t / 2), at(s1, t / 2), at(s0, t / 2)};
}

// Clips a convex polygon to x <= xmax (Sutherland–Hodgman), as QuPath clips to the image.
std::vector<Point2> clip_x_max(const std::vector<Point2>& in, double xmax) {
  std::vector<Point2> out;
  for (size_t i = 0; i < in.size(); ++i) {
    const Point2 a = in[i], b = in[(i + 1) % in.size()];
    if (a.x <= xmax) out.push_back(a);
    if ((a.x <= xmax) != (b.x <= xmax)) out.push_back({xmax, a.y + (xmax - a.x) * (b.y - a.y) / (b.x - a.x)});
  }
  return out;
}
std::vector<Point2> clip_x_min(const std::vector<Point2>& in, double xmin) {
  std::vector<Point2> m;
  for (Point2 p : in) m.push_back({-p.x, p.y});
  std::vector<Point2> out;
  for (Point2 p : clip_x_max(m, -xmin)) out.push_back({-p.x, p.y});
  return out;
}

// Distance of q to the line through p in direction a.
double off_line(Point2 q, Point2 p, double a) {
  return std::abs(-(q.x - p.x) * std::sin(a) + (q.y - p.y) * std::cos(a));
}

std::vector<Point2> all_points(const std::vector<Centreline>& cs) {
  std::vector<Point2> v;
  for (const auto& c : cs) v.insert(v.end(), c.points.begin(), c.points.end());
  return v;
}

TEST(DerivedCentreline, StraightBandGivesItsMidLine) {
  Annotations a;
  a.polygons.push_back(poly("A", {rect(400, 1000, 4400, 1500)}));
  const auto cs = derive_centrelines(a, kUm);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].area, "");
  double xmin = 1e9, xmax = -1e9;
  for (Point2 p : cs[0].points) {
    EXPECT_NEAR(p.y, 1250, 3.0);  // half a grid cell (16 µm = 4 px) at most
    xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
  }
  // The ridge stops about half a thickness before the ends; the ends are extended to the caps.
  EXPECT_LT(xmin, 400 + 10);
  EXPECT_GT(xmax, 4400 - 10);
  const auto pts = sample_centrelines(Annotations{cs, a.polygons, {}}, 25);  // 100 µm
  EXPECT_NEAR(static_cast<double>(pts.size()), 4000 / 25.0, 2);
  for (const auto& p : pts) EXPECT_EQ(p.area, "A");
}

TEST(DerivedCentreline, AnnulusGivesOneClosedLoop) {
  Annotations a;
  a.polygons.push_back(poly("A", {circle(4000, 4000, 3000), circle(4000, 4000, 2500)}));
  const auto cs = derive_centrelines(a, kUm);
  ASSERT_EQ(cs.size(), 1u);
  const auto& p = cs[0].points;
  ASSERT_GT(p.size(), 100u);
  EXPECT_EQ(p.front().x, p.back().x);
  EXPECT_EQ(p.front().y, p.back().y);
  for (Point2 q : p) EXPECT_NEAR(std::hypot(q.x - 4000, q.y - 4000), 2750, 3.0);
}

TEST(DerivedCentreline, AreasSharingABorderAreOneRibbon) {
  Annotations a;
  a.polygons.push_back(poly("A", {rect(400, 1000, 2400, 1500)}));
  a.polygons.push_back(poly("B", {rect(2400, 1000, 4400, 1500)}));
  const auto cs = derive_centrelines(a, kUm);
  ASSERT_EQ(cs.size(), 1u);  // no break, no spur at the shared border
  const auto pts = sample_centrelines(Annotations{cs, a.polygons, {}}, 25);
  int na = 0, nb = 0;
  for (const auto& p : pts) {
    EXPECT_EQ(p.area, p.p.x < 2400 ? "A" : "B") << p.p.x;
    (p.area == "A" ? na : nb)++;
  }
  EXPECT_NEAR(na, 80, 2);
  EXPECT_NEAR(nb, 80, 2);
}

TEST(DerivedCentreline, BandsCutByTheImageEdgeRunStraightToTheEdge) {
  // Oblique bands (30°, 2 mm thick) clipped by the left image edge (x = 0) and by the right one
  // (x = 3000, given as the image size). The medial axis of the clipped shapes would bend into
  // the obtuse corners of the cuts; the derived line must stay on the band's mid-line.
  const double a = M_PI / 6;
  const Point2 p{1500, 2000};
  Annotations an;
  an.polygons.push_back(poly("A", {clip_x_max(clip_x_min(band(p, a, -3000, 3000, 500), 0), 3000)}));
  const auto cs = derive_centrelines(an, kUm, SectionSize{3000, 4000});
  ASSERT_EQ(cs.size(), 1u);
  double xmin = 1e9, xmax = -1e9;
  for (Point2 q : cs[0].points) {
    EXPECT_LT(off_line(q, p, a), 4.0) << q.x << "," << q.y;
    xmin = std::min(xmin, q.x), xmax = std::max(xmax, q.x);
  }
  EXPECT_LT(xmin, 10);
  EXPECT_GT(xmax, 2990);
}

TEST(DerivedCentreline, MultiPolygonPiecesEachGetAMidLine) {
  const Annotations a = parse_geojson(R"({"type":"Feature","properties":{"classification":{"name":"A"}},
    "geometry":{"type":"MultiPolygon","coordinates":[
      [[[400,1000],[4400,1000],[4400,1500],[400,1500],[400,1000]]],
      [[[400,3000],[4400,3000],[4400,3600],[400,3600],[400,3000]]]]}})", "multi.geojson");
  ASSERT_EQ(a.polygons.size(), 2u);
  const auto cs = derive_centrelines(a, kUm);
  ASSERT_EQ(cs.size(), 2u);
  int near1 = 0, near2 = 0;
  for (Point2 q : all_points(cs)) {
    const bool first = std::abs(q.y - 1250) < 3, second = std::abs(q.y - 3300) < 3;
    EXPECT_TRUE(first || second) << q.y;
    near1 += first, near2 += second;
  }
  EXPECT_GT(near1, 100);
  EXPECT_GT(near2, 100);
}

TEST(DerivedCentreline, SliversAndHolesAreNoRibbon) {
  Annotations a;
  a.polygons.push_back(poly("A", {rect(400, 1000, 4400, 1500)}));
  a.polygons.push_back(poly("B", {rect(400, 3000, 450, 3050)}));       // 200 µm square: too small
  a.polygons.push_back(poly("C", {rect(400, 4000, 4400, 4010)}));      // 16 mm × 40 µm strip: too thin
  a.polygons.push_back(poly("D", {{{1000, 2000}, {1100, 2000}, {1050, 2020}}}));  // a tiny triangle
  const auto cs = derive_centrelines(a, kUm);
  ASSERT_EQ(cs.size(), 1u);
  for (Point2 q : cs[0].points) EXPECT_NEAR(q.y, 1250, 3.0);
}

TEST(DerivedCentreline, UnclassifiedOutlineIsRibbonButLabelsNothing) {
  const Annotations a = parse_geojson(R"({"type":"FeatureCollection","features":[
    {"type":"Feature","properties":{"objectType":"annotation"},
     "geometry":{"type":"Polygon","coordinates":[[[400,1000],[4400,1000],[4400,1500],[400,1500],[400,1000]]]}},
    {"type":"Feature","properties":{"classification":{"name":"A"}},
     "geometry":{"type":"Polygon","coordinates":[[[2400,900],[4400,900],[4400,1600],[2400,1600],[2400,900]]]}}]})",
                                      "cortex.geojson");
  ASSERT_EQ(a.polygons.size(), 2u);
  EXPECT_EQ(a.polygons[0].area, "");
  EXPECT_TRUE(a.warnings.empty());
  const auto cs = select_centrelines(a, CentrelineSource::automatic, kUm);
  ASSERT_FALSE(cs.empty());
  const auto pts = sample_centrelines(Annotations{cs, a.polygons, {}}, 25);
  ASSERT_FALSE(pts.empty());
  for (const auto& p : pts) {  // the unclassified outline comes first in the file but labels nothing
    EXPECT_EQ(p.area, "A");
    EXPECT_GE(p.p.x, 2400);
  }
}

TEST(DerivedCentreline, DeterministicBits) {
  Annotations a;
  a.polygons.push_back(poly("A", {circle(4000, 4000, 3000, 97), circle(4300, 3900, 2400, 53)}));
  a.polygons.push_back(poly("B", {band({2000, 7500}, 0.3, -1500, 1500, 600)}));
  const auto x = derive_centrelines(a, kUm), y = derive_centrelines(a, kUm);
  ASSERT_EQ(x.size(), y.size());
  ASSERT_GE(x.size(), 2u);
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(x[i].points.size(), y[i].points.size());
    for (size_t k = 0; k < x[i].points.size(); ++k) {
      EXPECT_EQ(std::memcmp(&x[i].points[k], &y[i].points[k], sizeof(Point2)), 0);
    }
  }
}

// Folded bands (radius of curvature down to 1.2 mm, 2 mm thick, 5 areas per band, cut obliquely by
// both image edges): every derived point near the exact mid-line, every area covered.
TEST(DerivedCentreline, FoldedRibbonFollowsTheExactMidLine) {
  cytocon::data::testing::FoldedRibbon f;
  f.rows_mm = {4, 12};
  f.height_mm = 16;
  const Annotations a = f.annotations();
  const SectionSize size{f.px(f.width_mm), f.px(f.height_mm)};
  const auto cs = derive_centrelines(a, f.um_per_px, size);
  EXPECT_EQ(cs.size(), 2u);  // one line per band, from edge to edge
  std::vector<double> err;
  for (const auto& p : sample_centrelines(Annotations{cs, a.polygons, {}}, f.px(0.1))) {
    double d = INFINITY;
    for (size_t b = 0; b < f.rows_mm.size(); ++b) {
      const auto m = f.mid_line(b);
      for (size_t i = 0; i + 1 < m.size(); ++i)
        d = std::min(d, cytocon::data::testing::segment_distance(p.p, m[i], m[i + 1]));
    }
    err.push_back(d / f.px(f.thickness_mm));
  }
  ASSERT_GT(err.size(), 500u);
  using Acc = cytocon::data::testing::CentrelineAccuracy;
  std::printf("folded ribbon: %zu points, error median %.2f %%, 95th %.2f %%, max %.2f %% of the thickness\n",
              err.size(), 100 * Acc::quantile(err, 0.5), 100 * Acc::quantile(err, 0.95), 100 * Acc::quantile(err, 1));
  EXPECT_LT(Acc::quantile(err, 0.5), 0.02);
  EXPECT_LT(Acc::quantile(err, 1.0), 0.05);
  for (Point2 q : all_points(cs)) EXPECT_TRUE(q.x >= 0 && q.x <= size.width && q.y >= 0 && q.y <= size.height);
}

TEST(DerivedCentreline, AbsurdCoordinatesAreAClearErrorOrACoarseGrid) {
  Annotations a;
  a.polygons.push_back(poly("A", {{{0, 0}, {1e300, 0}, {1e300, 1e300}}}));
  EXPECT_TRUE(contains(error_of([&] { derive_centrelines(a, kUm); }), "out of range"));
  Annotations thin;  // 4,000 km long: the grid coarsens to stay within its cell bound
  thin.polygons.push_back(poly("A", {rect(0, 0, 1e9, 500)}));
  EXPECT_NO_THROW(derive_centrelines(thin, kUm));
}

TEST(CentrelineSource, RuleAndNames) {
  Annotations a;
  a.polygons.push_back(poly("A", {rect(400, 1000, 4400, 1500)}));
  a.centrelines.push_back(Centreline{"A", {{500, 1100}, {600, 1100}}});
  EXPECT_EQ(select_centrelines(a, CentrelineSource::automatic, kUm).size(), 1u);
  EXPECT_EQ(select_centrelines(a, CentrelineSource::automatic, kUm)[0].area, "A");  // drawn win
  EXPECT_EQ(select_centrelines(a, CentrelineSource::annotated, kUm)[0].points[0].y, 1100);
  EXPECT_EQ(select_centrelines(a, CentrelineSource::derived, kUm)[0].area, "");     // drawn ignored
  a.centrelines.clear();
  EXPECT_TRUE(select_centrelines(a, CentrelineSource::annotated, kUm).empty());
  EXPECT_EQ(select_centrelines(a, CentrelineSource::automatic, kUm).size(), 1u);
  for (auto s : {CentrelineSource::automatic, CentrelineSource::annotated, CentrelineSource::derived})
    EXPECT_EQ(parse_centreline_source(centreline_source_name(s)), s);
  // The configuration's choice (data.centrelines, --centrelines) reaches data/ by these names.
  for (cytocon::config::Centrelines c : {cytocon::config::Centrelines::automatic, cytocon::config::Centrelines::annotated,
                                         cytocon::config::Centrelines::derived})
    EXPECT_EQ(centreline_source_name(parse_centreline_source(cytocon::config::name(c))), cytocon::config::name(c));
  const std::string e = error_of([] { parse_centreline_source("drawn"); });
  EXPECT_TRUE(contains(e, "'drawn'") && contains(e, "auto, annotated or derived")) << e;
  EXPECT_TRUE(contains(error_of([&] { derive_centrelines(a, 0); }), "pixel size"));
}

}  // namespace
