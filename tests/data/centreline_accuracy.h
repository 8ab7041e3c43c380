// Accuracy of derived centrelines on cytocon-synth sections, whose drawn centrelines are the
// true mid-line (mid-depth ρ = ½, docs/synth.md "Annotations"): the derived points' distance to
// it, as mm and as a share of the local cortical thickness, and points per area derived vs drawn.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "data/centreline.h"
#include "data/dataset.h"

namespace cytocon::data::testing {

struct CentrelineAccuracy {
  // Per derived point inside the image whose nearest true mid-line point is not the end of a drawn
  // run: where the synth ribbon folds onto itself (a gyrus narrower than two thicknesses, whose
  // area polygons overlap) the true mid-line is not drawn and the point has no reference.
  std::vector<double> err_mm, err_share;
  int64_t unreferenced = 0;
  // Per drawn (true) point inside the image: distance to the nearest derived line, mm and share.
  std::vector<double> miss_mm, miss_share;  // derived points inside the image beyond the ends of the drawn runs
  std::map<std::string, int64_t> derived_points, drawn_points;  // per area
  double seconds = 0;                                           // derive_centrelines, all sections

  static double quantile(std::vector<double> v, double q) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
  }
};

inline double segment_distance(Point2 p, Point2 a, Point2 b, Point2* foot = nullptr) {
  const double dx = b.x - a.x, dy = b.y - a.y, l2 = dx * dx + dy * dy;
  const double t = l2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / l2, 0.0, 1.0) : 0.0;
  const Point2 f{a.x + t * dx, a.y + t * dy};
  if (foot) *foot = f;
  return std::hypot(p.x - f.x, p.y - f.y);
}

// Cortical thickness of a synth area (mm): the template's nominal value (docs/synth.md, table of
// areas; per brain it varies by about ±8 %). The synth's polygons overlap where the ribbon folds
// (a gyrus narrower than two thicknesses), so the thickness cannot be read off them there.
inline double synth_thickness_mm(const std::string& area) {
  static const std::map<std::string, double> t = {{"hOc1", 1.8}, {"hOc2", 2.0}, {"4", 3.6}, {"6", 3.3},
                                                  {"3b", 1.9},   {"44", 2.8},   {"45", 2.7}, {"TE1", 2.2},
                                                  {"PFm", 2.6},  {"FG1", 2.5},  {"3a", 2.3}, {"Fp1", 2.6}};
  auto it = t.find(area);
  return it == t.end() ? NAN : it->second;
}

// Adds the sections of a cytocon-synth dataset opened as `ds` (drawn centrelines) to `acc`.
inline void measure_derived_centrelines(const Dataset& ds, double spacing_um, CentrelineAccuracy& acc) {
  for (const Section& s : ds.sections()) {
    const Annotations a = read_geojson(s.annotation_path);
    const SectionSize size{double(s.width), double(s.height)};
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<Centreline> derived = derive_centrelines(a, s.um_per_px, size);
    acc.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto inside = [&](Point2 p) { return p.x >= 0 && p.y >= 0 && p.x < s.width && p.y < s.height; };
    const double spacing_px = spacing_um / s.um_per_px;
    for (const auto& p : sample_centrelines(a, spacing_px)) {
      if (!inside(p.p)) continue;
      ++acc.drawn_points[p.area];
      double d = INFINITY;
      for (const Centreline& c : derived)
        for (size_t i = 0; i + 1 < c.points.size(); ++i) d = std::min(d, segment_distance(p.p, c.points[i], c.points[i + 1]));
      acc.miss_mm.push_back(d * s.um_per_px / 1000);
      acc.miss_share.push_back(d * s.um_per_px / 1000 / synth_thickness_mm(p.area));
    }
    for (const auto& p : sample_centrelines(Annotations{derived, a.polygons, {}}, spacing_px)) {
      if (!inside(p.p)) continue;
      ++acc.derived_points[p.area];
      double d = INFINITY;
      bool at_end = false;
      for (const Centreline& c : a.centrelines)
        for (size_t i = 0; i + 1 < c.points.size(); ++i) {
          Point2 f;
          const double e = segment_distance(p.p, c.points[i], c.points[i + 1], &f);
          if (e < d) {
            d = e;
            at_end = (i == 0 && f.x == c.points[0].x && f.y == c.points[0].y) ||
                     (i + 2 == c.points.size() && f.x == c.points[i + 1].x && f.y == c.points[i + 1].y);
          }
        }
      if (at_end) {
        ++acc.unreferenced;
        continue;
      }
      acc.err_mm.push_back(d * s.um_per_px / 1000);
      acc.err_share.push_back(d * s.um_per_px / 1000 / synth_thickness_mm(p.area));
    }
  }
}

}  // namespace cytocon::data::testing
