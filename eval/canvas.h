// Canvas: an RGB raster with the few drawing primitives cytocon's figures need (lines, filled
// rectangles, dots, text), written as PNG with stb_image_write. Text uses stb_easy_font's
// quad glyphs, rasterised here at an integer scale.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cytocon::eval {

struct Rgb {
  uint8_t r, g, b;
};

// Colour i of a categorical palette: the 20 colours of matplotlib's tab20 (dark shade first,
// then the light one), then golden-ratio hues for i >= 20. Deterministic in i.
Rgb category_color(int i);
// White (v=0) to dark blue (v=1), for heat maps; v is clamped to [0,1].
Rgb heat_color(double v);

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }
  Rgb pixel(int x, int y) const;
  void set(int x, int y, Rgb c);  // ignores pixels outside the canvas
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // [x0,x1) x [y0,y1)
  void rect_outline(int x0, int y0, int x1, int y1, Rgb c);
  void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);  // Bresenham
  void dot(int x, int y, int radius, Rgb c);  // filled disc
  // Text with its top-left corner at (x,y); `scale` multiplies stb_easy_font's ~7 px glyphs.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  // Text rotated 90° counter-clockwise (reads bottom to top), its bounding box's top-left at (x,y).
  void text_vertical(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1);
  // Writes an 8-bit RGB PNG; fails with the path on error.
  void write_png(const std::string& path) const;

 private:
  int w_, h_;
  std::vector<uint8_t> rgb_;
};

}  // namespace cytocon::eval
