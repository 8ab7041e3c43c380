// A folded cortical ribbon whose mid-line is known exactly: bands of thickness T around the
// curves y = y_b + A sin(2π x / λ), split into areas of equal x-length (neighbours share the
// normal line between them), running past the image's left and right edges. Offsetting a curve
// by ±T/2 along its normals keeps it as the medial axis while its radius of curvature exceeds T/2
// (here min radius λ²/(4π²A) = 1.22 mm > 1 mm).
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "data/annotations.h"

namespace cytocon::data::testing {

struct FoldedRibbon {
  double um_per_px = 4, width_mm = 24, height_mm = 12, thickness_mm = 2, amplitude_mm = 3, wavelength_mm = 12;
  double area_mm = 8;  // x-length of one area
  std::vector<double> rows_mm{6};  // y_b of each band

  double px(double mm) const { return mm * 1000 / um_per_px; }
  double mid_y(double row_mm, double x_px) const {
    return px(row_mm) + px(amplitude_mm) * std::sin(2 * M_PI * x_px / px(wavelength_mm));
  }
  // The true mid-line of band b, sampled every 10 µm over the image (and 1 mm beyond).
  std::vector<Point2> mid_line(size_t b) const {
    std::vector<Point2> v;
    for (double x = -px(1); x <= px(width_mm + 1); x += px(0.01)) v.push_back({x, mid_y(rows_mm[b], x)});
    return v;
  }
  Annotations annotations() const {
    Annotations a;
    const double step = px(0.02);
    int k = 0;
    for (double row : rows_mm)
      for (double x0 = -px(2); x0 < px(width_mm + 2); x0 += px(area_mm), ++k) {
        const double x1 = std::min(x0 + px(area_mm), px(width_mm + 2));
        std::vector<Point2> pial, white;
        for (double x = x0;; x = std::min(x + step, x1)) {
          const double slope = px(amplitude_mm) * 2 * M_PI / px(wavelength_mm) * std::cos(2 * M_PI * x / px(wavelength_mm));
          const double n = std::hypot(1.0, slope), nx = -slope / n, ny = 1 / n, h = px(thickness_mm) / 2;
          const double y = mid_y(row, x);
          pial.push_back({x + h * nx, y + h * ny});
          white.push_back({x - h * nx, y - h * ny});
          if (x >= x1) break;
        }
        std::vector<Point2> ring = pial;
        ring.insert(ring.end(), white.rbegin(), white.rend());
        a.polygons.push_back(AreaPolygon{"A" + std::to_string(k % 5), {ring}});
      }
    return a;
  }
};

}  // namespace cytocon::data::testing
