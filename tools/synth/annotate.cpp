#include "annotate.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace cytocon::synth {
namespace {

using nlohmann::json;

json feature(const std::string& area, const std::string& type, json coords) {
  return json{{"type", "Feature"},
              {"geometry", {{"type", type}, {"coordinates", std::move(coords)}}},
              {"properties", {{"objectType", "annotation"}, {"classification", {{"name", area}}}}}};
}

json xy(double x, double y) { return json::array({std::round(x * 10) / 10, std::round(y * 10) / 10}); }

}  // namespace

std::string annotations_geojson(const Ribbon& r, const BrainStyle& brain) {
  json features = json::array();
  const size_t n = r.x.size();
  // Centreline: the mid-depth point under every few pial vertices; points where the ribbon folds
  // onto itself (the field's nearest vertex is elsewhere, or the depth is off) end a run.
  const size_t step = std::max<size_t>(1, static_cast<size_t>(std::lround(20.0 / r.spec.um_per_px)));
  json run = json::array();
  int run_area = -1;
  auto flush = [&] {
    if (run.size() >= 2) features.push_back(feature(brain.areas[run_area].name, "LineString", run));
    run = json::array();
  };
  for (size_t i = 0; i < n; i += step) {
    const double x = r.x[i] + 0.5 * r.T[i] * r.nx[i], y = r.y[i] + 0.5 * r.T[i] * r.ny[i];
    const int area = r.nominal_area(r.u[i]);
    bool ok = x >= 0 && y >= 0 && x < r.spec.width && y < r.spec.height;
    if (ok) {
      const Ribbon::Local l = r.at(static_cast<float>(x), static_cast<float>(y));
      const double du = std::abs(r.u[l.v] - r.u[i]);
      ok = std::abs(l.rho - 0.5f) < 0.08f && du < 0.5 * r.T[i];
    }
    if (!ok || area != run_area) flush();
    if (ok) {
      run_area = area;
      run.push_back(xy(x, y));
    }
  }
  flush();
  // Area polygons: pial arc of the segment, then the white-matter border back.
  const size_t A = r.order.size();
  for (size_t k = 0; k < A; ++k) {
    const size_t a = std::lower_bound(r.vis.begin(), r.vis.end(), r.c[k]) - r.vis.begin();
    const size_t b = std::lower_bound(r.vis.begin(), r.vis.end(), r.c[k + 1]) - r.vis.begin();
    json ring = json::array();
    std::vector<size_t> idx;
    for (size_t i = a; i < b; i += 2) idx.push_back(i);
    for (size_t i : idx) ring.push_back(xy(r.x[i], r.y[i]));
    for (auto it = idx.rbegin(); it != idx.rend(); ++it)
      ring.push_back(xy(r.x[*it] + r.T[*it] * r.nx[*it], r.y[*it] + r.T[*it] * r.ny[*it]));
    if (ring.size() < 4) continue;
    ring.push_back(ring[0]);
    features.push_back(feature(brain.areas[r.order[k]].name, "Polygon", json::array({ring})));
  }
  return json{{"type", "FeatureCollection"}, {"features", features}}.dump();
}

}  // namespace cytocon::synth
