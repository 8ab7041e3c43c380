#include "map/figure.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "eval/canvas.h"
#include "map/geojson.h"

namespace cytocon::map {

void plot_section_map(const std::string& path, const std::string& title, const SectionMap& s, const Thumbnail& t,
                      const std::vector<std::string>& names, double grid_px) {
  using eval::Canvas;
  using eval::Rgb;
  const int kText = 2, margin = 10, top = margin + Canvas::text_height(kText) + margin;
  std::set<int> shown;  // areas in the legend: predicted or reference
  for (int32_t c : s.pred) shown.insert(c);
  for (const MapPoint& m : s.points)
    if (m.truth >= 0) shown.insert(m.truth);
  int legend_w = 0;
  for (int c : shown) legend_w = std::max(legend_w, Canvas::text_width(names[c], kText));
  legend_w += 3 * margin + 16;
  const double scale = std::min(1.0, 1000.0 / static_cast<double>(std::max(t.width, t.height)));
  const int iw = std::max(1, static_cast<int>(t.width * scale)), ih = std::max(1, static_cast<int>(t.height * scale));
  const int legend_h = static_cast<int>(shown.size()) * (Canvas::text_height(kText) + 8) + 2 * margin +
                       2 * Canvas::text_height(1) + 8;
  Canvas cv(std::max(margin + iw + legend_w, Canvas::text_width(title, kText) + 2 * margin),
            top + std::max(ih, legend_h) + margin);
  cv.text(margin, margin, title, {0, 0, 0}, kText);
  // The section, grey (nearest thumbnail pixel).
  for (int y = 0; y < ih; ++y)
    for (int x = 0; x < iw; ++x) {
      const int64_t tx = std::min<int64_t>(t.width - 1, static_cast<int64_t>(x / scale));
      const int64_t ty = std::min<int64_t>(t.height - 1, static_cast<int64_t>(y / scale));
      const uint8_t g = static_cast<uint8_t>(std::lround(255.0 * std::clamp(t.value[ty * t.width + tx], 0.0f, 1.0f)));
      cv.set(margin + x, top + y, {g, g, g});
    }
  const double k = scale / t.downsample;  // full-resolution px -> canvas px
  auto X = [&](double x) { return margin + static_cast<int>(std::lround(x * k)); };
  auto Y = [&](double y) { return top + static_cast<int>(std::lround(y * k)); };
  // Reference outlines.
  for (const data::AreaPolygon& poly : s.reference)
    for (const auto& ring : poly.rings)
      for (size_t i = 0; i + 1 < ring.size(); ++i)
        cv.line(X(ring[i].x), Y(ring[i].y), X(ring[i + 1].x), Y(ring[i + 1].y), {40, 40, 40});
  // Predicted areas: grid cells, or each centreline's segments and points.
  const int g = std::max(1, static_cast<int>(std::lround(grid_px * k)));
  for (size_t i = 0; i < s.points.size(); ++i)
    if (s.points[i].line < 0)
      cv.fill_rect(X(s.points[i].p.x) - g / 2, Y(s.points[i].p.y) - g / 2, X(s.points[i].p.x) - g / 2 + g,
                   Y(s.points[i].p.y) - g / 2 + g, area_color(s.pred[i]));
  for (const std::vector<int64_t>& line : points_by_line(s)) {
    for (size_t j = 0; j + 1 < line.size(); ++j) {
      const MapPoint &a = s.points[line[j]], &b = s.points[line[j + 1]];
      const double mx = 0.5 * (a.p.x + b.p.x), my = 0.5 * (a.p.y + b.p.y);
      cv.line(X(a.p.x), Y(a.p.y), X(mx), Y(my), area_color(s.pred[line[j]]), 3);
      cv.line(X(mx), Y(my), X(b.p.x), Y(b.p.y), area_color(s.pred[line[j + 1]]), 3);
    }
    for (int64_t i : line) cv.dot(X(s.points[i].p.x), Y(s.points[i].p.y), 3, area_color(s.pred[i]));
  }
  // Legend.
  int ly = top;
  const int lx = margin + iw + 2 * margin;
  for (int c : shown) {
    cv.fill_rect(lx, ly, lx + 16, ly + Canvas::text_height(kText), area_color(c));
    cv.text(lx + 16 + margin / 2, ly, names[c], {0, 0, 0}, kText);
    ly += Canvas::text_height(kText) + 8;
  }
  if (!s.reference.empty()) cv.text(lx, ly + margin, "lines: reference", {40, 40, 40}, 1);
  cv.write_png(path);
}

}  // namespace cytocon::map
