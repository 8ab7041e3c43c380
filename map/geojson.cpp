#include "map/geojson.h"

#include <nlohmann/json.hpp>

namespace cytocon::map {

using json = nlohmann::ordered_json;

plot::Rgb area_color(int c) { return plot::category_color(c); }

namespace {

json classification(const std::string& name, int c) {
  const plot::Rgb k = area_color(c);
  return json{{"name", name}, {"color", {k.r, k.g, k.b}}};
}

json xy(const data::Point2& p) { return json::array({p.x, p.y}); }

}  // namespace

std::string section_geojson(const SectionMap& s, const std::vector<std::string>& names, double footprint_px) {
  const int64_t C = static_cast<int64_t>(names.size());
  json features = json::array();
  const double r = 0.5 * footprint_px;
  for (size_t i = 0; i < s.points.size(); ++i) {
    const MapPoint& m = s.points[i];
    const double x0 = m.p.x - r, x1 = m.p.x + r, y0 = m.p.y - r, y1 = m.p.y + r;
    json ring = json::array({json::array({x0, y0}), json::array({x1, y0}), json::array({x1, y1}),
                             json::array({x0, y1}), json::array({x0, y0})});
    json meas = json::object();
    for (int64_t c = 0; c < C; ++c) meas[names[c] + " probability"] = s.prob[i * C + c];
    if (m.line >= 0) {
      meas["Centreline"] = m.line + 1;
      meas["Position mm"] = m.pos_mm;
    }
    features.push_back(json{{"type", "Feature"},
                            {"geometry", {{"type", "Polygon"}, {"coordinates", json::array({ring})}}},
                            {"properties",
                             {{"objectType", "detection"},
                              {"classification", classification(names[s.pred[i]], s.pred[i])},
                              {"measurements", meas}}}});
  }
  for (const std::vector<int64_t>& line : points_by_line(s)) {
    if (line.size() < 2) continue;  // a run needs a length
    auto mid = [&](int64_t a, int64_t b) {
      return data::Point2{0.5 * (s.points[a].p.x + s.points[b].p.x), 0.5 * (s.points[a].p.y + s.points[b].p.y)};
    };
    for (size_t a = 0; a < line.size();) {
      size_t b = a;
      while (b + 1 < line.size() && s.pred[line[b + 1]] == s.pred[line[a]]) ++b;
      json coords = json::array();
      coords.push_back(xy(a == 0 ? s.points[line[0]].p : mid(line[a - 1], line[a])));
      for (size_t k = a; k <= b; ++k) coords.push_back(xy(s.points[line[k]].p));
      coords.push_back(xy(b + 1 == line.size() ? s.points[line[b]].p : mid(line[b], line[b + 1])));
      if (a == 0) coords.erase(coords.begin());  // the first point is the line's start
      if (b + 1 == line.size()) coords.erase(coords.end() - 1);
      const double from = a == 0 ? s.points[line[0]].pos_mm : 0.5 * (s.points[line[a - 1]].pos_mm + s.points[line[a]].pos_mm);
      const double to = b + 1 == line.size() ? s.points[line[b]].pos_mm
                                             : 0.5 * (s.points[line[b]].pos_mm + s.points[line[b + 1]].pos_mm);
      const int c = s.pred[line[a]];
      features.push_back(json{{"type", "Feature"},
                              {"geometry", {{"type", "LineString"}, {"coordinates", coords}}},
                              {"properties",
                               {{"objectType", "annotation"},
                                {"name", names[c]},
                                {"classification", classification(names[c], c)},
                                {"measurements", {{"Length mm", to - from}, {"Points", b - a + 1}}}}}});
      a = b + 1;
    }
  }
  return json{{"type", "FeatureCollection"}, {"features", features}}.dump() + "\n";
}

}  // namespace cytocon::map
