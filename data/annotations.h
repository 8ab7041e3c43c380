// QuPath GeoJSON annotations (docs/design.md, "Dataset directory"): LineString/MultiLineString
// features are centreline segments, Polygon/MultiPolygon features are area delineations, the area
// name is properties.classification.name (or properties.name), coordinates are full-resolution
// pixels. Accepts a FeatureCollection, a single Feature, or a bare array of Features (older QuPath).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cytocon::data {

struct Point2 {
  double x = 0, y = 0;
};

struct Centreline {
  std::string area;  // may be empty: then points take the label of the polygon containing them
  std::vector<Point2> points;
};

struct AreaPolygon {
  std::string area;  // may be empty (e.g. a "cortex" outline): ribbon for derived centrelines, no label
  std::vector<std::vector<Point2>> rings;  // first = outer ring, then holes (even-odd rule)
  bool contains(Point2 p) const;
};

struct Annotations {
  std::vector<Centreline> centrelines;
  std::vector<AreaPolygon> polygons;
  std::vector<std::string> warnings;  // skipped features, each naming the file and the reason
};

// Parses GeoJSON text; `name` (the file) appears in every error and warning.
Annotations parse_geojson(const std::string& text, const std::string& name);
Annotations read_geojson(const std::string& path);

// Points every `spacing_px` of arc length along each centreline (from its first vertex), each
// labelled by the rule in docs/data.md: the centreline's own class if it has one, else the class
// of the first classified polygon (file order) containing the point; unlabelled points are dropped.
struct LabelledPoint {
  Point2 p;
  std::string area;
};
std::vector<LabelledPoint> sample_centrelines(const Annotations& a, double spacing_px);

// Points every `spacing_px` of arc length along a polyline from its first vertex (across
// vertices), with their arc length in pixels; fails beyond `max_points` (absurd coordinates).
struct ArcPoint {
  Point2 p;
  double arc_px = 0;
};
std::vector<ArcPoint> sample_along(const std::vector<Point2>& line, double spacing_px,
                                   int64_t max_points = int64_t(1) << 27);

}  // namespace cytocon::data
