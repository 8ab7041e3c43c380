// Canvas: a figure drawn through cairo (anti-aliased lines, DejaVu Sans text, images), written as
// PNG and as SVG (vector, the same drawing). Coordinates are pixels of the PNG, y downwards.
// Drawing is recorded (a cairo recording surface) and replayed onto the PNG and SVG surfaces when
// written; pixel() renders it. Runs of set() are kept as one image, so per-pixel drawing is cheap
// in both outputs. docs/eval.md, "Figures".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cytocon::plot {

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
  struct Point {
    double x, y;
  };
  // Text laid out to fit a width: its font size (px), lines and height (px).
  struct FittedText {
    double size = 0;
    std::vector<std::string> lines;
    int height = 0;
  };

  Canvas(int width, int height, Rgb background = {255, 255, 255});
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  int width() const { return w_; }
  int height() const { return h_; }
  Rgb pixel(int x, int y) const;  // of the PNG as it would be written now
  void set(int x, int y, Rgb c);  // one pixel; ignores pixels outside the canvas
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // [x0,x1) x [y0,y1), pixel-exact
  void rect_outline(int x0, int y0, int x1, int y1, Rgb c);
  void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);  // between pixel centres
  void dot(int x, int y, int radius, Rgb c);  // filled disc around a pixel centre
  // Text with its top-left corner at (x,y), font size font_px(scale).
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  // Text rotated 90° counter-clockwise (reads bottom to top), its bounding box's top-left at (x,y).
  void text_vertical(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static double font_px(int scale);  // 6 + 6·scale: 12 px for scale 1, 18 px for titles (2)
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1);  // the font's ascent + descent
  // Fits s into max_width: the font shrinks from font_px(scale) down to font_px(1), then the text
  // wraps at spaces (a single word wider than max_width stays on its line).
  static FittedText fit_text(const std::string& s, int max_width, int scale = 2);
  void text_fitted(int x, int y, const FittedText& t, Rgb c);

  // For maps. Points in canvas pixels (doubles: sub-pixel positions are kept).
  void polyline(const std::vector<Point>& p, Rgb c, double width, bool closed = false);
  void fill_polygon(const std::vector<std::vector<Point>>& rings, Rgb c, double opacity = 1);  // even-odd
  void fill_circle(double x, double y, double radius, Rgb c, double opacity = 1);
  // An 8-bit grayscale image (w x h, rows `stride` bytes apart) scaled into the rectangle
  // (x, y, dw, dh), bilinear.
  void image_gray(const uint8_t* pixels, int w, int h, int stride, double x, double y, double dw, double dh);

  // The SVG's <title> (also shown by viewers as the document's name); default none.
  void set_title(const std::string& title) { title_ = title; }
  // Writes an 8-bit RGB PNG, or the SVG, through a temporary name; fails with the path on error.
  void write_png(const std::string& path) const;
  void write_svg(const std::string& path) const;
  // Both: the PNG at png_path and the SVG beside it (same name, .svg instead of .png).
  void save(const std::string& png_path) const;
  static std::string svg_path(const std::string& png_path);

 private:
  struct Impl;
  void flush_pixels() const;  // pending set() pixels become one image in the recording
  void begin_drawing();       // before a drawing call: flush, and the rendered pixels are stale
  int w_, h_;
  std::string title_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cytocon::plot
