// One mapped section (docs/map.md): its sample points, where they come from, the network's
// per-point area probabilities and the decoded areas.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/annotations.h"

namespace cytocon::map {

struct MapPoint {
  data::Point2 p;      // full-resolution pixels
  int32_t line = -1;   // index of its centreline in the section; −1 = a grid point
  double pos_mm = 0;   // position along its centreline (from the first vertex)
  int32_t truth = -1;  // reference area (class id), −1 = unknown
};

struct SectionMap {
  std::string brain, section, image_path, annotation_path;
  double um_per_px = 0;  // full resolution
  int64_t width = 0, height = 0;
  std::string sampling;  // "centrelines (drawn)", "centrelines (derived)" or "grid"
  std::vector<MapPoint> points;  // by centreline, in order along it; or the grid row by row
  int32_t lines = 0;             // centrelines with points
  std::vector<data::AreaPolygon> reference;  // delineations (drawn in SECTION.png)
  std::vector<float> prob;       // [n, C] softmax of the class scores, one row per point
  std::vector<int32_t> raw;      // per-point argmax
  std::vector<int32_t> pred;     // decoded along each centreline (= raw with --smooth none)
};

// Indices of the points of each centreline, in line order ([line] -> point indices).
std::vector<std::vector<int64_t>> points_by_line(const SectionMap& s);

}  // namespace cytocon::map
