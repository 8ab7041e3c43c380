#include "eval/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/tensor.h"
#include "eval/canvas.h"

namespace cytocon::eval {

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

// Legend entries as coloured squares + names, stacked downwards from (x, y); wraps into new
// columns of `col_width` pixels when `bottom` is reached.
void legend(Canvas& cv, int x, int y, int bottom, int col_width, const std::vector<std::string>& names,
            const std::vector<int>& colour_index) {
  int row = 14, cy = y;
  for (size_t i = 0; i < names.size(); ++i) {
    if (cy + row > bottom) cy = y, x += col_width;
    cv.fill_rect(x, cy + 1, x + 9, cy + 10, category_color(colour_index[i]));
    cv.text(x + 14, cy + 2, names[i], kBlack);
    cy += row;
  }
}

}  // namespace

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
  int legend_w = 0;
  for (const Series& s : series) legend_w = std::max(legend_w, Canvas::text_width(s.name) + 24);
  const int left = 80, top = 40, right = opt.width - 20 - legend_w, bottom = opt.height - 50;
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
    cv.text(x - Canvas::text_width(s) / 2, bottom + 6, s, kDark);
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
    cv.text(left - 6 - Canvas::text_width(s), y - 3, s, kDark);
  }
  cv.rect_outline(left, top, right + 1, bottom + 1, kBlack);

  // Curves, clipped to the plot area by skipping segments with an endpoint outside.
  std::vector<std::string> names;
  std::vector<int> colours;
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
    names.push_back(s.name);
    colours.push_back(static_cast<int>(k));
  }
  legend(cv, right + 14, top, bottom, legend_w, names, colours);

  cv.text((left + right) / 2 - Canvas::text_width(title, 2) / 2, 12, title, kBlack, 2);
  cv.text((left + right) / 2 - Canvas::text_width(xlabel) / 2, bottom + 24, xlabel, kBlack);
  cv.text_vertical(12, (top + bottom) / 2 - Canvas::text_width(ylabel) / 2, ylabel, kBlack);
  cv.write_png(path);
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
  std::vector<std::string> legend_names;
  std::vector<int> colours;
  int name_w = 0;
  for (size_t g = 0; g < names.size(); ++g)
    if (present[g]) {
      legend_names.push_back(names[g]);
      colours.push_back(static_cast<int>(g));
      name_w = std::max(name_w, Canvas::text_width(names[g]) + 24);
    }
  const int plot = 760, top = 50, left = 20;
  const int rows = std::max(1, (plot - 10) / 14);
  const int cols = static_cast<int>((legend_names.size() + rows - 1) / rows);
  Canvas cv(left + plot + 20 + cols * name_w + 10, top + plot + 20);

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
  legend(cv, left + plot + 20, top, top + plot, name_w, legend_names, colours);
  cv.text(left, 16, title, kBlack, 2);
  cv.write_png(path);
}

void plot_confusion(const std::string& path, const std::string& title,
                    const std::vector<int64_t>& counts, const std::vector<std::string>& names) {
  const size_t c = names.size();
  check(c > 0 && counts.size() == c * c, "plot_confusion: counts has " + std::to_string(counts.size()) +
                                             " values, expected " + std::to_string(c) + "^2");
  // At least 8 px per cell so every class name (7-px glyphs) stays readable; large C grows the image.
  const int cell = static_cast<int>(std::max<size_t>(8, std::min<size_t>(40, 900 / c)));
  int name_w = 0;
  for (const std::string& s : names) name_w = std::max(name_w, Canvas::text_width(s));
  const int label_w = name_w + 8;
  const int left = 30 + label_w, top = 40 + label_w, grid = cell * static_cast<int>(c);
  Canvas cv(left + grid + 20, top + grid + 40);

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
        cv.text(x + (cell - Canvas::text_width(s)) / 2, y + (cell - 7) / 2, s,
                v > 0.5 ? Rgb{255, 255, 255} : kBlack);
    }
  }
  for (size_t i = 0; i < c; ++i) {
    int off = static_cast<int>(i) * cell + (cell - 7) / 2;
    cv.text(left - 6 - Canvas::text_width(names[i]), top + off, names[i], kBlack);
    cv.text_vertical(left + off, top - 6 - Canvas::text_width(names[i]), names[i], kBlack);
  }
  cv.rect_outline(left, top, left + grid + 1, top + grid + 1, kDark);
  cv.text(10, 12, title, kBlack, 2);
  cv.text(left, top + grid + 12, "rows: true area, columns: predicted area, colour: row fraction", kDark);
  cv.write_png(path);
}

}  // namespace cytocon::eval
