// GeoJSON annotations as QuPath exports them, and centreline sampling (docs/data.md).
#include "data/annotations.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "engine/tensor.h"
#include "engine/validate.h"

namespace cytocon::data {
namespace {

using nlohmann::json;

Point2 to_point(const json& c, const std::string& where) {
  if (!c.is_array() || c.size() < 2 || !c[0].is_number() || !c[1].is_number())
    fail(where + ": a coordinate is not an [x, y] pair of numbers");
  // Pixels of the full-resolution section: no scan is a billion pixels wide (docs/data.md).
  const Range pixels{-1e9, 1e9};
  return {checked_number(c[0].get<double>(), pixels, where + ": coordinate x", "pixels"),
          checked_number(c[1].get<double>(), pixels, where + ": coordinate y", "pixels")};
}

std::vector<Point2> to_line(const json& a, const std::string& where) {
  if (!a.is_array()) fail(where + ": expected an array of positions");
  std::vector<Point2> pts;
  pts.reserve(a.size());
  for (const json& c : a) pts.push_back(to_point(c, where));
  return pts;
}

std::string class_name(const json& f) {
  const json* props = f.contains("properties") ? &f["properties"] : nullptr;
  if (!props || !props->is_object()) return "";
  if (props->contains("classification")) {
    const json& c = (*props)["classification"];
    if (c.is_object() && c.contains("name") && c["name"].is_string()) return c["name"].get<std::string>();
    if (c.is_string()) return c.get<std::string>();
  }
  if (props->contains("name") && (*props)["name"].is_string()) return (*props)["name"].get<std::string>();
  return "";
}

void add_feature(const json& f, size_t index, const std::string& name, Annotations& out) {
  const std::string where = name + ": feature " + std::to_string(index);
  if (!f.is_object()) fail(where + ": not a JSON object");
  if (!f.contains("geometry") || f["geometry"].is_null()) {
    out.warnings.push_back(where + ": no geometry, skipped");
    return;
  }
  const json& g = f["geometry"];
  if (!g.is_object() || !g.contains("type") || !g["type"].is_string() || !g.contains("coordinates"))
    fail(where + ": geometry needs a string 'type' and 'coordinates'");
  const std::string type = g["type"].get<std::string>();
  const json& c = g["coordinates"];
  const std::string area = class_name(f);
  if (type == "LineString" || type == "MultiLineString") {
    std::vector<std::vector<Point2>> parts;
    if (type == "LineString") parts.push_back(to_line(c, where));
    else {
      if (!c.is_array()) fail(where + ": MultiLineString coordinates must be an array of lines");
      for (const json& l : c) parts.push_back(to_line(l, where));
    }
    for (auto& p : parts) {
      if (p.size() < 2) {
        out.warnings.push_back(where + ": a centreline with fewer than 2 points, skipped");
        continue;
      }
      out.centrelines.push_back(Centreline{area, std::move(p)});
    }
  } else if (type == "Polygon" || type == "MultiPolygon") {
    std::vector<json> polys;
    if (!c.is_array()) fail(where + ": " + type + " coordinates must be an array");
    if (type == "Polygon") polys.push_back(c);
    else
      for (const json& p : c) polys.push_back(p);
    for (const json& p : polys) {
      if (!p.is_array()) fail(where + ": a polygon must be an array of rings");
      AreaPolygon poly{area, {}};
      for (const json& r : p) {
        auto ring = to_line(r, where);
        if (ring.size() >= 3) poly.rings.push_back(std::move(ring));
      }
      if (poly.rings.empty()) out.warnings.push_back(where + ": empty polygon, skipped");
      else out.polygons.push_back(std::move(poly));
    }
  } else {
    out.warnings.push_back(where + ": geometry type '" + type + "' is not used, skipped");
  }
}

}  // namespace

bool AreaPolygon::contains(Point2 p) const {
  bool in = false;  // even-odd rule over all rings (holes included)
  for (const auto& r : rings) {
    for (size_t i = 0, j = r.size() - 1; i < r.size(); j = i++) {
      const Point2 a = r[i], b = r[j];
      if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) in = !in;
    }
  }
  return in;
}

Annotations parse_geojson(const std::string& text, const std::string& name) {
  Annotations out;
  try {
    const json doc = json::parse(text);
    if (doc.is_array()) {
      for (size_t i = 0; i < doc.size(); ++i) add_feature(doc[i], i, name, out);
    } else if (doc.is_object() && doc.value("type", "") == "FeatureCollection") {
      if (!doc.contains("features") || !doc["features"].is_array())
        fail(name + ": FeatureCollection without a 'features' array");
      const json& fs = doc["features"];
      for (size_t i = 0; i < fs.size(); ++i) add_feature(fs[i], i, name, out);
    } else if (doc.is_object() && doc.value("type", "") == "Feature") {
      add_feature(doc, 0, name, out);
    } else {
      fail(name + ": expected a GeoJSON FeatureCollection, Feature or array of Features");
    }
  } catch (const json::exception& e) {
    fail(name + ": invalid GeoJSON (" + e.what() + ")");
  }
  return out;
}

Annotations read_geojson(const std::string& path) { return parse_geojson(io::read_file(path), path); }

std::vector<ArcPoint> sample_along(const std::vector<Point2>& line, double spacing_px, int64_t max_points) {
  check(spacing_px > 0 && std::isfinite(spacing_px),
        "centreline spacing must be > 0 pixels, got " + std::to_string(spacing_px));
  std::vector<ArcPoint> out;
  double next = 0;  // arc length of the next point
  double walked = 0;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    const Point2 p = line[i], q = line[i + 1];
    const double len = std::hypot(q.x - p.x, q.y - p.y);
    if (!std::isfinite(len) || (len - (next - walked)) / spacing_px > double(max_points - static_cast<int64_t>(out.size())))
      fail("centreline of " + std::to_string(line.size()) + " points is too long for a " +
           std::to_string(spacing_px) + " px spacing (coordinates out of range?)");
    while (next <= walked + len) {
      const double t = len > 0 ? (next - walked) / len : 0;
      out.push_back({Point2{p.x + t * (q.x - p.x), p.y + t * (q.y - p.y)}, next});
      next += spacing_px;
    }
    walked += len;
  }
  return out;
}

std::vector<LabelledPoint> sample_centrelines(const Annotations& a, double spacing_px) {
  std::vector<LabelledPoint> out;
  constexpr int64_t kMaxPoints = int64_t(1) << 27;  // guards against absurd coordinates
  int64_t emitted = 0;
  for (const Centreline& c : a.centrelines) {
    const std::vector<ArcPoint> pts = sample_along(c.points, spacing_px, kMaxPoints - emitted);
    emitted += static_cast<int64_t>(pts.size());
    for (const ArcPoint& s : pts) {
      std::string area = c.area;
      if (area.empty())
        for (const AreaPolygon& poly : a.polygons)
          if (!poly.area.empty() && poly.contains(s.p)) {
            area = poly.area;
            break;
          }
      if (!area.empty()) out.push_back(LabelledPoint{s.p, area});
    }
  }
  return out;
}

}  // namespace cytocon::data
