#include "map/figure.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "eval/canvas.h"
#include "map/geojson.h"

namespace cytocon::map {

namespace {

// Liang–Barsky: the part of segment a–b inside [x0,x1] × [y0,y1]; false when none is.
bool clip(double& ax, double& ay, double& bx, double& by, double x0, double y0, double x1, double y1) {
  double t0 = 0, t1 = 1;
  const double dx = bx - ax, dy = by - ay;
  const double p[4] = {-dx, dx, -dy, dy}, q[4] = {ax - x0, x1 - ax, ay - y0, y1 - ay};
  for (int k = 0; k < 4; ++k) {
    if (p[k] == 0) {
      if (q[k] < 0) return false;
      continue;
    }
    const double t = q[k] / p[k];
    if (p[k] < 0) t0 = std::max(t0, t);
    else t1 = std::min(t1, t);
    if (t0 > t1) return false;
  }
  const double ex = ax + t1 * dx, ey = ay + t1 * dy;
  ax += t0 * dx, ay += t0 * dy, bx = ex, by = ey;
  return true;
}

}  // namespace

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
  legend_w = std::max(legend_w + 16, Canvas::text_width("thin lines: reference outlines", 1)) + 3 * margin;
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
  // Reference outlines, clipped to the section (polygons may run beyond the image edge).
  for (const data::AreaPolygon& poly : s.reference)
    for (const auto& ring : poly.rings)
      for (size_t i = 0; i < ring.size(); ++i) {
        const data::Point2 a = ring[i], b = ring[(i + 1) % ring.size()];
        double ax = a.x * k, ay = a.y * k, bx = b.x * k, by = b.y * k;  // image px
        if (clip(ax, ay, bx, by, 0, 0, iw - 1, ih - 1))
          cv.line(margin + static_cast<int>(std::lround(ax)), top + static_cast<int>(std::lround(ay)),
                  margin + static_cast<int>(std::lround(bx)), top + static_cast<int>(std::lround(by)), {40, 40, 40});
      }
  // Predicted areas: grid cells, or each centreline's segments and points.
  const int g = std::max(1, static_cast<int>(std::lround(grid_px * k)));
  for (size_t i = 0; i < s.points.size(); ++i)
    if (s.points[i].line < 0)
      cv.fill_rect(X(s.points[i].p.x) - g / 2, Y(s.points[i].p.y) - g / 2, X(s.points[i].p.x) - g / 2 + g,
                   Y(s.points[i].p.y) - g / 2 + g, area_color(s.pred[i]));
  const std::vector<std::vector<int64_t>> lines = points_by_line(s);
  for (const std::vector<int64_t>& line : lines)  // first the reference rings, under everything
    for (int64_t i : line)
      if (s.points[i].truth >= 0) cv.dot(X(s.points[i].p.x), Y(s.points[i].p.y), 6, area_color(s.points[i].truth));
  for (const std::vector<int64_t>& line : lines) {
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
  if (!s.reference.empty()) cv.text(lx, ly + margin, "thin lines: reference outlines", {40, 40, 40}, 1);
  if (std::any_of(s.points.begin(), s.points.end(), [](const MapPoint& m) { return m.truth >= 0; }))
    cv.text(lx, ly + margin + Canvas::text_height(1) + 4, "dot: predicted, ring: reference", {40, 40, 40}, 1);
  cv.write_png(path);
}

}  // namespace cytocon::map
