// Figures as PNG with an SVG beside each (same name, .svg): line plots (loss curves), 2-D scatter
// plots with a legend (t-SNE coloured by cluster or area) and confusion matrices, drawn through
// plot/canvas.h (cairo). Titles shrink, then wrap, to fit. All functions fail (cytocon::fail) with
// the path when a file cannot be written, and with the argument's name when inputs are
// inconsistent.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "plot/canvas.h"

namespace cytocon::plot {

// A legend: a coloured square and a name per entry (section maps use it too).
struct LegendEntry {
  std::string name;
  Rgb colour;
};
int legend_row_height();                               // px per entry
int legend_width(const std::vector<LegendEntry>& e);  // px of one column
// Entries stacked downwards from (x, y); a new column (legend_width px further right) starts
// when `bottom` is reached.
void draw_legend(Canvas& cv, int x, int y, int bottom, const std::vector<LegendEntry>& e);

// One curve of a line plot: points (x[i], y[i]) joined in order. Non-finite points are skipped
// (the curve is broken there). x and y must have the same length.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LineOptions {
  int width = 960, height = 600;
  bool log_y = false;  // logarithmic y axis (non-positive values are skipped)
};

// A line plot with axes, "nice" ticks (1/2/5 x 10^k), a title, axis labels and a legend
// listing each series' name in its colour (category_color(i) for series i).
void plot_lines(const std::string& path, const std::string& title, const std::string& xlabel,
                const std::string& ylabel, const std::vector<Series>& series,
                const LineOptions& opt = {});

// A scatter plot of n points xy[2i], xy[2i+1], point i coloured by group[i] in [0, names.size());
// the legend lists every group that occurs, in group order. Points are drawn in index order.
void plot_scatter(const std::string& path, const std::string& title, const std::vector<double>& xy,
                  const std::vector<int32_t>& group, const std::vector<std::string>& names);

// A confusion matrix counts[t*c + p] (row: true class t, column: predicted class p) as a heat
// map of row-normalised fractions, labelled with the class names; counts are printed in the cells
// when they fit.
void plot_confusion(const std::string& path, const std::string& title,
                    const std::vector<int64_t>& counts, const std::vector<std::string>& names);

}  // namespace cytocon::plot
