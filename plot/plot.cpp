#include "plot/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/tensor.h"

namespace cytocon::plot {

namespace {

const Rgb kBlack{0, 0, 0}, kGrey{225, 225, 225}, kDark{90, 90, 90};

std::string fmt_tick(double v) {
  char buf[32];
  if (v == 0) return "0";
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// "Nice" ticks covering [lo, hi]: steps of 1, 2 or 5 x 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
  double span = hi - lo;
  double raw = span / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// The range [lo, hi] of the finite values in v, widened when degenerate.
void finite_range(const std::vector<double>& v, double& lo, double& hi) {
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
}

void widen(double& lo, double& hi) {
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) lo -= 0.5, hi += 0.5;
}

}  // namespace

int legend_row_height() { return Canvas::text_height(1) + 4; }

int legend_width(const std::vector<LegendEntry>& e) {
  int w = 0;
  for (const LegendEntry& x : e) w = std::max(w, Canvas::text_width(x.name));
  return w + legend_row_height() + 16;
}

void draw_legend(Canvas& cv, int x, int y, int bottom, const std::vector<LegendEntry>& e) {
  const int row = legend_row_height(), box = row - 6, col = legend_width(e);
  int cy = y;
  for (const LegendEntry& entry : e) {
    if (cy + row > bottom && cy > y) cy = y, x += col;
    cv.fill_rect(x, cy + 3, x + box, cy + 3 + box, entry.colour);
    cv.text(x + box + 6, cy + 2, entry.name, kBlack);
    cy += row;
  }
}

void plot_lines(const std::string& path, const std::string& title, const std::string& xlabel,
                const std::string& ylabel, const std::vector<Series>& series, const LineOptions& opt) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : series) {
    check(s.x.size() == s.y.size(), "plot_lines: series '" + s.name + "' has " +
                                        std::to_string(s.x.size()) + " x values but " +
                                        std::to_string(s.y.size()) + " y values");
    finite_range(s.x, x_lo, x_hi);
    for (double y : s.y)
      if (std::isfinite(y) && (!opt.log_y || y > 0))
        y_lo = std::min(y_lo, opt.log_y ? std::log10(y) : y), y_hi = std::max(y_hi, opt.log_y ? std::log10(y) : y);
  }
  widen(x_lo, x_hi);
  widen(y_lo, y_hi);
  double pad = 0.04 * (y_hi - y_lo);
  if (!opt.log_y) y_lo -= pad, y_hi += pad;

  Canvas cv(opt.width, opt.height);
  cv.set_title(title);
  std::vector<LegendEntry> entries;
  for (size_t k = 0; k < series.size(); ++k) entries.push_back({series[k].name, category_color(static_cast<int>(k))});
  const int legend_w = legend_width(entries);
  const Canvas::FittedText head = Canvas::fit_text(title, opt.width - 100, 2);
  const int left = 80, top = 20 + head.height, right = opt.width - 20 - legend_w,
            bottom = opt.height - 30 - 2 * Canvas::text_height(1);
  check(right - left > 50 && bottom - top > 50, "plot_lines: canvas too small for '" + path + "'");
  auto px = [&](double x) { return left + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * (right - left))); };
  auto py = [&](double y) {
    double v = opt.log_y ? std::log10(y) : y;
    return bottom - static_cast<int>(std::lround((v - y_lo) / (y_hi - y_lo) * (bottom - top)));
  };

  // Grid and tick labels.
  for (double t : nice_ticks(x_lo, x_hi)) {
    int x = px(t);
    cv.line(x, top, x, bottom, kGrey);
    std::string s = fmt_tick(t);
    cv.text(x - Canvas::text_width(s) / 2, bottom + 4, s, kDark);
  }
  std::vector<double> yt;
  if (opt.log_y) {
    for (double e = std::ceil(y_lo); e <= y_hi + 1e-9; e += 1) yt.push_back(std::pow(10.0, e));
    if (yt.size() < 2)
      for (double t : nice_ticks(std::pow(10.0, y_lo), std::pow(10.0, y_hi), 4))
        if (t > 0) yt.push_back(t);
  } else {
    yt = nice_ticks(y_lo, y_hi);
  }
  for (double t : yt) {
    int y = py(t);
    if (y < top || y > bottom) continue;
    cv.line(left, y, right, y, kGrey);
    std::string s = fmt_tick(t);
    cv.text(left - 6 - Canvas::text_width(s), y - Canvas::text_height(1) / 2, s, kDark);
  }
  cv.rect_outline(left, top, right + 1, bottom + 1, kBlack);

  // Curves.
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    Rgb c = category_color(static_cast<int>(k));
    bool have_prev = false;
    int x0 = 0, y0 = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      bool ok = std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!opt.log_y || s.y[i] > 0);
      if (!ok) {
        have_prev = false;
        continue;
      }
      int x1 = px(s.x[i]), y1 = py(s.y[i]);
      if (have_prev) cv.line(x0, y0, x1, y1, c, 2);
      else if (s.x.size() == 1) cv.dot(x1, y1, 2, c);
      x0 = x1, y0 = y1, have_prev = true;
    }
  }
  draw_legend(cv, right + 14, top, bottom, entries);

  cv.text_fitted(left, 10, head, kBlack);
  cv.text((left + right) / 2 - Canvas::text_width(xlabel) / 2, bottom + 8 + Canvas::text_height(1), xlabel, kBlack);
  cv.text_vertical(12, (top + bottom) / 2 - Canvas::text_width(ylabel) / 2, ylabel, kBlack);
  cv.save(path);
}

void plot_scatter(const std::string& path, const std::string& title, const std::vector<double>& xy,
                  const std::vector<int32_t>& group, const std::vector<std::string>& names) {
  const size_t n = group.size();
  check(xy.size() == 2 * n, "plot_scatter: xy has " + std::to_string(xy.size()) +
                                " values, expected 2 x " + std::to_string(n) + " points");
  std::vector<char> present(names.size(), 0);
  for (int32_t g : group) {
    check(g >= 0 && static_cast<size_t>(g) < names.size(),
          "plot_scatter: group " + std::to_string(g) + " outside [0, " + std::to_string(names.size()) + ")");
    present[g] = 1;
  }
  std::vector<LegendEntry> entries;
  for (size_t g = 0; g < names.size(); ++g)
    if (present[g]) entries.push_back({names[g], category_color(static_cast<int>(g))});
  const int plot = 760, left = 20;
  const int rows = std::max(1, plot / legend_row_height());
  const int cols = static_cast<int>((entries.size() + rows - 1) / rows);
  const int width = left + plot + 20 + cols * legend_width(entries) + 10;
  const Canvas::FittedText head = Canvas::fit_text(title, width - 2 * left, 2);
  const int top = 20 + head.height;
  Canvas cv(width, top + plot + 20);
  cv.set_title(title);

  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(xy[2 * i]) && std::isfinite(xy[2 * i + 1]))
      x_lo = std::min(x_lo, xy[2 * i]), x_hi = std::max(x_hi, xy[2 * i]),
      y_lo = std::min(y_lo, xy[2 * i + 1]), y_hi = std::max(y_hi, xy[2 * i + 1]);
  widen(x_lo, x_hi);
  widen(y_lo, y_hi);
  // Equal aspect ratio: both axes use the larger span.
  double span = std::max(x_hi - x_lo, y_hi - y_lo) * 1.04;
  double cx = 0.5 * (x_lo + x_hi), cy = 0.5 * (y_lo + y_hi);
  int radius = n > 5000 ? 1 : 2;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(xy[2 * i]) || !std::isfinite(xy[2 * i + 1])) continue;
    int x = left + static_cast<int>(std::lround((xy[2 * i] - cx) / span * plot + plot / 2.0));
    int y = top + static_cast<int>(std::lround(plot / 2.0 - (xy[2 * i + 1] - cy) / span * plot));
    cv.dot(x, y, radius, category_color(group[i]));
  }
  cv.rect_outline(left, top, left + plot + 1, top + plot + 1, kDark);
  draw_legend(cv, left + plot + 20, top, top + plot, entries);
  cv.text_fitted(left, 10, head, kBlack);
  cv.save(path);
}

void plot_confusion(const std::string& path, const std::string& title,
                    const std::vector<int64_t>& counts, const std::vector<std::string>& names) {
  const size_t c = names.size();
  check(c > 0 && counts.size() == c * c, "plot_confusion: counts has " + std::to_string(counts.size()) +
                                             " values, expected " + std::to_string(c) + "^2");
  // At least one text line per cell so every class name stays readable; large C grows the image.
  const int line_h = Canvas::text_height(1);
  const int cell = static_cast<int>(std::max<size_t>(line_h, std::min<size_t>(40, 900 / c)));
  int name_w = 0;
  for (const std::string& s : names) name_w = std::max(name_w, Canvas::text_width(s));
  const int label_w = name_w + 8, grid = cell * static_cast<int>(c), left = 20 + label_w;
  const int width = std::max(left + grid + 20, 360);
  const std::string note = "rows: true area, columns: predicted area, colour: row fraction";
  const Canvas::FittedText head = Canvas::fit_text(title, width - 20, 2), foot = Canvas::fit_text(note, width - 20, 1);
  const int top = 20 + head.height + label_w;
  Canvas cv(width, top + grid + 20 + foot.height);
  cv.set_title(title);

  for (size_t t = 0; t < c; ++t) {
    int64_t row = 0;
    for (size_t p = 0; p < c; ++p) row += counts[t * c + p];
    for (size_t p = 0; p < c; ++p) {
      int64_t k = counts[t * c + p];
      double v = row > 0 ? static_cast<double>(k) / row : 0.0;
      int x = left + static_cast<int>(p) * cell, y = top + static_cast<int>(t) * cell;
      cv.fill_rect(x, y, x + cell, y + cell, heat_color(v));
      std::string s = std::to_string(k);
      if (k > 0 && cell >= 24 && Canvas::text_width(s) + 2 <= cell)
        cv.text(x + (cell - Canvas::text_width(s)) / 2, y + (cell - line_h) / 2, s,
                v > 0.5 ? Rgb{255, 255, 255} : kBlack);
    }
  }
  for (size_t i = 0; i < c; ++i) {
    int off = static_cast<int>(i) * cell + (cell - line_h) / 2;
    cv.text(left - 6 - Canvas::text_width(names[i]), top + off, names[i], kBlack);
    cv.text_vertical(left + off, top - 6 - Canvas::text_width(names[i]), names[i], kBlack);
  }
  cv.rect_outline(left, top, left + grid + 1, top + grid + 1, kDark);
  cv.text_fitted(10, 10, head, kBlack);
  cv.text_fitted(10, top + grid + 10, foot, kDark);
  cv.save(path);
}

}  // namespace cytocon::plot
