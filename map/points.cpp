#include "map/points.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <tuple>

#include "engine/tensor.h"

namespace cytocon::map {

std::vector<std::vector<int64_t>> points_by_line(const SectionMap& s) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(s.lines));
  for (size_t i = 0; i < s.points.size(); ++i)
    if (s.points[i].line >= 0) out[s.points[i].line].push_back(static_cast<int64_t>(i));
  return out;
}

namespace {

data::Point2 first(const data::Centreline& c, bool reversed) { return reversed ? c.points.back() : c.points.front(); }
data::Point2 last(const data::Centreline& c, bool reversed) { return reversed ? c.points.front() : c.points.back(); }
double dist(data::Point2 a, data::Point2 b) { return std::hypot(a.x - b.x, a.y - b.y); }

}  // namespace

std::vector<std::vector<Piece>> chain_centrelines(const std::vector<data::Centreline>& lines, double max_gap_px) {
  std::vector<bool> used(lines.size(), false);
  std::vector<std::vector<Piece>> chains;
  // The unused piece (lowest index) with an end within the gap of p, the chain's end (at_end) or
  // start; reversed when it touches with the wrong end.
  auto find = [&](data::Point2 p, bool at_end) -> std::pair<int32_t, bool> {
    for (size_t j = 0; j < lines.size(); ++j) {
      if (used[j] || lines[j].points.empty()) continue;
      const bool front = dist(p, lines[j].points.front()) <= max_gap_px;
      const bool back = dist(p, lines[j].points.back()) <= max_gap_px;
      if (at_end ? front : back) return {static_cast<int32_t>(j), false};
      if (at_end ? back : front) return {static_cast<int32_t>(j), true};
    }
    return {-1, false};
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    if (used[i] || lines[i].points.empty()) continue;
    used[i] = true;
    std::deque<Piece> chain{{static_cast<int32_t>(i), false}};
    for (auto [j, rev] = find(last(lines[i], false), true); j >= 0; std::tie(j, rev) = find(last(lines[j], rev), true)) {
      used[j] = true;
      chain.push_back({j, rev});
    }
    for (auto [j, rev] = find(first(lines[i], false), false); j >= 0; std::tie(j, rev) = find(first(lines[j], rev), false)) {
      used[j] = true;
      chain.push_front({j, rev});
    }
    chains.emplace_back(chain.begin(), chain.end());
  }
  return chains;
}

void sample_centreline_points(SectionMap& s, const std::vector<data::Centreline>& lines,
                              const std::vector<data::AreaPolygon>& polygons,
                              const std::vector<std::string>& labels, double spacing_um) {
  check(s.um_per_px > 0, s.image_path + ": no pixel size");
  auto id = [&](const std::string& name) -> int32_t {
    auto it = std::find(labels.begin(), labels.end(), name);
    return it == labels.end() ? -1 : static_cast<int32_t>(it - labels.begin());
  };
  const double mm_per_px = s.um_per_px / 1000.0, spacing_px = spacing_um / s.um_per_px;
  for (const std::vector<Piece>& chain : chain_centrelines(lines, spacing_px)) {
    bool any = false;
    double offset_px = 0;  // the piece's start along the chain
    for (size_t k = 0; k < chain.size(); ++k) {
      const data::Centreline& c = lines[chain[k].index];
      std::vector<data::Point2> pts = c.points;
      if (chain[k].reversed) std::reverse(pts.begin(), pts.end());
      const int32_t own = c.area.empty() ? -1 : id(c.area);
      double length = 0;
      for (size_t i = 0; i + 1 < pts.size(); ++i) length += dist(pts[i], pts[i + 1]);
      for (const data::ArcPoint& a : data::sample_along(pts, spacing_px)) {
        if (!(a.p.x >= 0 && a.p.y >= 0 && a.p.x < s.width && a.p.y < s.height)) continue;
        int32_t truth = own;
        for (size_t q = 0; truth < 0 && q < polygons.size(); ++q)
          if (id(polygons[q].area) >= 0 && polygons[q].contains(a.p)) truth = id(polygons[q].area);
        s.points.push_back({a.p, s.lines, (offset_px + a.arc_px) * mm_per_px, truth});
        any = true;
      }
      if (k + 1 < chain.size())
        offset_px += length + dist(pts.back(), first(lines[chain[k + 1].index], chain[k + 1].reversed));
    }
    if (any) ++s.lines;
  }
}

}  // namespace cytocon::map
