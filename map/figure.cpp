#include "map/figure.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "plot/canvas.h"
#include "plot/plot.h"
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
  using plot::Canvas;
  using plot::Rgb;
  const int margin = 10;
  std::set<int> shown;  // areas in the legend: predicted or reference
  for (int32_t c : s.pred) shown.insert(c);
  for (const MapPoint& m : s.points)
    if (m.truth >= 0) shown.insert(m.truth);
  std::vector<plot::LegendEntry> legend;
  for (int c : shown) legend.push_back({names[c], area_color(c)});
  const bool rings = std::any_of(s.points.begin(), s.points.end(), [](const MapPoint& m) { return m.truth >= 0; });
  std::vector<std::string> notes;
  if (!s.reference.empty()) notes.push_back("thin lines: reference outlines");
  if (rings) notes.push_back("dot: predicted, band: reference");
  int legend_w = plot::legend_width(legend);
  for (const std::string& n : notes) legend_w = std::max(legend_w, Canvas::text_width(n, 1));
  const double scale = std::min(1.0, 1000.0 / static_cast<double>(std::max(t.width, t.height)));
  const int iw = std::max(1, static_cast<int>(t.width * scale)), ih = std::max(1, static_cast<int>(t.height * scale));
  const int W = margin + iw + 2 * margin + legend_w + margin;
  const Canvas::FittedText head = Canvas::fit_text(title, W - 2 * margin, 2);
  const int top = margin + head.height + margin;
  const int legend_h = static_cast<int>(legend.size()) * plot::legend_row_height() +
                       static_cast<int>(notes.size() + 1) * (Canvas::text_height(1) + 4);
  Canvas cv(W, top + std::max(ih, legend_h) + margin);
  cv.set_title(title);
  cv.text_fitted(margin, margin, head, {0, 0, 0});
  // The section, grey.
  std::vector<uint8_t> gray(t.value.size());
  for (size_t i = 0; i < gray.size(); ++i)
    gray[i] = static_cast<uint8_t>(std::lround(255.0 * std::clamp(t.value[i], 0.0f, 1.0f)));
  cv.image_gray(gray.data(), static_cast<int>(t.width), static_cast<int>(t.height), static_cast<int>(t.width), margin,
                top, iw, ih);
  const double k = static_cast<double>(iw) / (static_cast<double>(t.width) * t.downsample);  // full-res px -> canvas px
  auto P = [&](const data::Point2& p) { return Canvas::Point{margin + p.x * k, top + p.y * k}; };
  // Reference outlines, clipped to the section (polygons may run beyond the image edge).
  for (const data::AreaPolygon& poly : s.reference)
    for (const auto& ring : poly.rings)
      for (size_t i = 0; i < ring.size(); ++i) {
        const data::Point2 a = ring[i], b = ring[(i + 1) % ring.size()];
        double ax = a.x * k, ay = a.y * k, bx = b.x * k, by = b.y * k;  // image px
        if (clip(ax, ay, bx, by, 0, 0, iw, ih)) cv.polyline({{margin + ax, top + ay}, {margin + bx, top + by}}, {40, 40, 40}, 1);
      }
  // Predicted areas: grid cells, or each centreline's segments and points over a band in the
  // reference colours.
  const double g = std::max(1.0, grid_px * k);
  for (size_t i = 0; i < s.points.size(); ++i)
    if (s.points[i].line < 0) {
      const Canvas::Point c = P(s.points[i].p);
      cv.fill_polygon({{{c.x - g / 2, c.y - g / 2}, {c.x + g / 2, c.y - g / 2}, {c.x + g / 2, c.y + g / 2},
                        {c.x - g / 2, c.y + g / 2}}}, area_color(s.pred[i]));
    }
  const std::vector<std::vector<int64_t>> lines = points_by_line(s);
  for (const std::vector<int64_t>& line : lines)
    for (int64_t i : line)
      if (s.points[i].truth >= 0) cv.fill_circle(P(s.points[i].p).x, P(s.points[i].p).y, 6, area_color(s.points[i].truth));
  for (const std::vector<int64_t>& line : lines) {
    for (size_t j = 0; j + 1 < line.size(); ++j) {
      const MapPoint &a = s.points[line[j]], &b = s.points[line[j + 1]];
      const data::Point2 m{0.5 * (a.p.x + b.p.x), 0.5 * (a.p.y + b.p.y)};
      cv.polyline({P(a.p), P(m)}, area_color(s.pred[line[j]]), 3);
      cv.polyline({P(m), P(b.p)}, area_color(s.pred[line[j + 1]]), 3);
    }
    for (int64_t i : line) cv.fill_circle(P(s.points[i].p).x, P(s.points[i].p).y, 3, area_color(s.pred[i]));
  }
  // Legend and notes.
  const int lx = margin + iw + 2 * margin;
  plot::draw_legend(cv, lx, top, top + std::max(ih, legend_h), legend);
  int ny = top + static_cast<int>(legend.size()) * plot::legend_row_height() + Canvas::text_height(1);
  for (const std::string& n : notes) {
    cv.text(lx, ny, n, {40, 40, 40}, 1);
    ny += Canvas::text_height(1) + 4;
  }
  cv.save(path);
}

}  // namespace cytocon::map
