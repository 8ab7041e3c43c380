// Canvas through cairo (plot/canvas.h): a recording surface replayed onto PNG and SVG.
#include "plot/canvas.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

#include "engine/tensor.h"

namespace cytocon::plot {

Rgb category_color(int i) {
  static const Rgb tab20[20] = {
      {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
      {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
      {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
      {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};
  if (i >= 0 && i < 20) return tab20[i];
  // Golden-ratio hue walk, HSV with s=0.65, v=0.85 (and alternating v for neighbours).
  double h = std::fmod(0.1 + 0.618033988749895 * i, 1.0) * 6.0;
  double s = 0.65, v = (i % 2) ? 0.7 : 0.9;
  int sector = static_cast<int>(h) % 6;
  double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r, g, b;
  switch (sector) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
  return {static_cast<uint8_t>(r * 255), static_cast<uint8_t>(g * 255), static_cast<uint8_t>(b * 255)};
}

Rgb heat_color(double v) {
  v = std::min(1.0, std::max(0.0, v));
  // Linear from white to (8, 48, 107), matplotlib "Blues" end point.
  auto mix = [v](double end) { return static_cast<uint8_t>(std::lround(255.0 + (end - 255.0) * v)); };
  return {mix(8), mix(48), mix(107)};
}

namespace {

constexpr const char* kFont = "DejaVu Sans";  // Debian: fonts-dejavu-core; fontconfig falls back

void use_font(cairo_t* cr, double size) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_font_options_t* o = cairo_font_options_create();
  cairo_font_options_set_antialias(o, CAIRO_ANTIALIAS_GRAY);  // no colour fringes, same on every screen
  cairo_font_options_set_hint_metrics(o, CAIRO_HINT_METRICS_ON);
  cairo_set_font_options(cr, o);
  cairo_font_options_destroy(o);
}

// Text metrics from one shared measuring context (the recording uses the same font and options).
struct Metrics {
  double advance, ascent, descent;
};
Metrics measure(const std::string& s, double size) {
  static std::mutex m;
  static cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  static cairo_t* cr = cairo_create(surface);
  std::lock_guard<std::mutex> lock(m);
  use_font(cr, size);
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents(cr, s.c_str(), &te);
  cairo_font_extents(cr, &fe);
  return {te.x_advance, fe.ascent, fe.descent};
}

void source(cairo_t* cr, Rgb c, double opacity = 1) {
  cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, opacity);
}

// Writes through path + ".tmp" and a rename, so an interrupted run leaves no half-written figure.
void commit(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write '" + path + "' (rename from " + tmp + " failed)");
  }
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '&') o += "&amp;";
    else if (ch == '<') o += "&lt;";
    else if (ch == '>') o += "&gt;";
    else if (ch == '"') o += "&quot;";
    else o += ch;
  }
  return o;
}

}  // namespace

struct Canvas::Impl {
  cairo_surface_t* rec = nullptr;
  cairo_t* cr = nullptr;
  std::vector<uint32_t> pending;  // set() pixels not yet in the recording (ARGB32, 0 = none)
  bool has_pending = false;
  std::vector<uint8_t> raster;  // the PNG's RGB pixels, for pixel(); empty when stale
  ~Impl() {
    if (cr) cairo_destroy(cr);
    if (rec) cairo_surface_destroy(rec);
  }
  // Replays the recording onto a new RGB image surface (the caller destroys it).
  cairo_surface_t* render(int w, int h) const {
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t* c = cairo_create(img);
    cairo_set_source_surface(c, rec, 0, 0);
    cairo_paint(c);
    cairo_destroy(c);
    cairo_surface_flush(img);
    return img;
  }
};

Canvas::Canvas(int width, int height, Rgb bg) : w_(width), h_(height), impl_(std::make_unique<Impl>()) {
  check(width > 0 && height > 0 && width <= 16384 && height <= 16384,
        "canvas size " + std::to_string(width) + "x" + std::to_string(height) +
            " out of range (expected 1..16384 per side)");
  const cairo_rectangle_t extents{0, 0, double(width), double(height)};
  impl_->rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents);
  impl_->cr = cairo_create(impl_->rec);
  source(impl_->cr, bg);
  cairo_paint(impl_->cr);
}

Canvas::~Canvas() = default;

void Canvas::begin_drawing() {
  flush_pixels();
  impl_->raster.clear();
}

void Canvas::flush_pixels() const {
  if (!impl_->has_pending) return;
  impl_->raster.clear();
  cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w_, h_);
  unsigned char* d = cairo_image_surface_get_data(img);
  const int stride = cairo_image_surface_get_stride(img);
  for (int y = 0; y < h_; ++y)
    std::copy_n(&impl_->pending[size_t(y) * w_], w_, reinterpret_cast<uint32_t*>(d + size_t(y) * stride));
  cairo_surface_mark_dirty(img);
  cairo_save(impl_->cr);
  cairo_set_source_surface(impl_->cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(impl_->cr), CAIRO_FILTER_NEAREST);
  cairo_paint(impl_->cr);
  cairo_restore(impl_->cr);
  cairo_surface_destroy(img);  // the recording keeps its own reference
  std::fill(impl_->pending.begin(), impl_->pending.end(), 0u);
  impl_->has_pending = false;
}

Rgb Canvas::pixel(int x, int y) const {
  check(x >= 0 && y >= 0 && x < w_ && y < h_, "pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") outside the canvas");
  flush_pixels();
  if (impl_->raster.empty()) {
    cairo_surface_t* img = impl_->render(w_, h_);
    const unsigned char* d = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    impl_->raster.resize(size_t(w_) * h_ * 3);
    for (int yy = 0; yy < h_; ++yy)
      for (int xx = 0; xx < w_; ++xx) {
        const uint32_t v = *reinterpret_cast<const uint32_t*>(d + size_t(yy) * stride + 4 * xx);
        uint8_t* o = &impl_->raster[(size_t(yy) * w_ + xx) * 3];
        o[0] = (v >> 16) & 255, o[1] = (v >> 8) & 255, o[2] = v & 255;
      }
    cairo_surface_destroy(img);
  }
  const uint8_t* o = &impl_->raster[(size_t(y) * w_ + x) * 3];
  return {o[0], o[1], o[2]};
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  if (impl_->pending.empty()) impl_->pending.assign(size_t(w_) * h_, 0u);
  impl_->pending[size_t(y) * w_ + x] = 0xFF000000u | (uint32_t(c.r) << 16) | (uint32_t(c.g) << 8) | c.b;
  impl_->has_pending = true;
  impl_->raster.clear();
}

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  if (x1 <= x0 || y1 <= y0) return;
  begin_drawing();
  source(impl_->cr, c);
  cairo_rectangle(impl_->cr, x0, y0, x1 - x0, y1 - y0);
  cairo_fill(impl_->cr);
}

void Canvas::rect_outline(int x0, int y0, int x1, int y1, Rgb c) {
  begin_drawing();
  source(impl_->cr, c);
  cairo_set_line_width(impl_->cr, 1);
  cairo_rectangle(impl_->cr, x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
  cairo_stroke(impl_->cr);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int thickness) {
  begin_drawing();
  cairo_t* cr = impl_->cr;
  source(cr, c);
  cairo_set_line_width(cr, thickness);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);  // the end pixels are covered, as by a square brush
  // Odd widths are centred on pixel centres, even ones on the corner below-right (the pixels of
  // a square brush from -(t-1)/2 to t/2).
  const double o = thickness % 2 ? 0.5 : 1.0;
  cairo_move_to(cr, x0 + o, y0 + o);
  cairo_line_to(cr, x1 + o, y1 + o);
  cairo_stroke(cr);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
}

void Canvas::dot(int x, int y, int radius, Rgb c) { fill_circle(x + 0.5, y + 0.5, radius + 0.5, c); }

double Canvas::font_px(int scale) { return 6.0 + 6.0 * std::max(1, scale); }

int Canvas::text_width(const std::string& s, int scale) {
  return static_cast<int>(std::ceil(measure(s, font_px(scale)).advance));
}

int Canvas::text_height(int scale) {
  const Metrics m = measure("", font_px(scale));
  return static_cast<int>(std::ceil(m.ascent + m.descent));
}

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  begin_drawing();
  cairo_t* cr = impl_->cr;
  const double size = font_px(scale);
  use_font(cr, size);
  source(cr, c);
  cairo_move_to(cr, x, y + measure("", size).ascent);
  cairo_show_text(cr, s.c_str());
  cairo_new_path(cr);
}

void Canvas::text_vertical(int x, int y, const std::string& s, Rgb c, int scale) {
  begin_drawing();
  cairo_t* cr = impl_->cr;
  const double size = font_px(scale);
  cairo_save(cr);
  use_font(cr, size);
  source(cr, c);
  // Baseline upwards from the box's bottom, the glyphs' tops towards x.
  cairo_translate(cr, x + measure("", size).ascent, y + text_width(s, scale));
  cairo_rotate(cr, -M_PI / 2);
  cairo_move_to(cr, 0, 0);
  cairo_show_text(cr, s.c_str());
  cairo_new_path(cr);
  cairo_restore(cr);
}

Canvas::FittedText Canvas::fit_text(const std::string& s, int max_width, int scale) {
  FittedText t;
  const double small = font_px(1);
  for (double size = font_px(scale); size >= small; size -= 0.5)
    if (measure(s, size).advance <= max_width || size - 0.5 < small) {
      t.size = size;
      if (measure(s, size).advance <= max_width) t.lines = {s};
      break;
    }
  if (t.lines.empty()) {  // wrap at spaces, greedily
    std::istringstream words(s);
    std::string w, line;
    while (words >> w) {
      const std::string longer = line.empty() ? w : line + " " + w;
      if (!line.empty() && measure(longer, t.size).advance > max_width) t.lines.push_back(line), line = w;
      else line = longer;
    }
    if (!line.empty() || t.lines.empty()) t.lines.push_back(line);
  }
  const Metrics m = measure("", t.size);
  t.height = static_cast<int>(std::ceil(t.lines.size() * (m.ascent + m.descent)));
  return t;
}

void Canvas::text_fitted(int x, int y, const FittedText& t, Rgb c) {
  begin_drawing();
  cairo_t* cr = impl_->cr;
  const Metrics m = measure("", t.size);
  use_font(cr, t.size);
  source(cr, c);
  for (size_t i = 0; i < t.lines.size(); ++i) {
    cairo_move_to(cr, x, y + m.ascent + i * (m.ascent + m.descent));
    cairo_show_text(cr, t.lines[i].c_str());
  }
  cairo_new_path(cr);
}

void Canvas::polyline(const std::vector<Point>& p, Rgb c, double width, bool closed) {
  if (p.size() < 2) return;
  begin_drawing();
  cairo_t* cr = impl_->cr;
  source(cr, c);
  cairo_set_line_width(cr, width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_move_to(cr, p[0].x, p[0].y);
  for (size_t i = 1; i < p.size(); ++i) cairo_line_to(cr, p[i].x, p[i].y);
  if (closed) cairo_close_path(cr);
  cairo_stroke(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
}

void Canvas::fill_polygon(const std::vector<std::vector<Point>>& rings, Rgb c, double opacity) {
  begin_drawing();
  cairo_t* cr = impl_->cr;
  for (const auto& r : rings) {
    if (r.size() < 3) continue;
    cairo_move_to(cr, r[0].x, r[0].y);
    for (size_t i = 1; i < r.size(); ++i) cairo_line_to(cr, r[i].x, r[i].y);
    cairo_close_path(cr);
  }
  source(cr, c, opacity);
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
  cairo_fill(cr);
  cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
}

void Canvas::fill_circle(double x, double y, double radius, Rgb c, double opacity) {
  begin_drawing();
  source(impl_->cr, c, opacity);
  cairo_new_sub_path(impl_->cr);
  cairo_arc(impl_->cr, x, y, radius, 0, 2 * M_PI);
  cairo_fill(impl_->cr);
}

void Canvas::image_gray(const uint8_t* pixels, int w, int h, int stride, double x, double y, double dw, double dh) {
  check(w > 0 && h > 0 && stride >= w && pixels, "image_gray: a " + std::to_string(w) + "x" + std::to_string(h) +
                                                     " image with row stride " + std::to_string(stride));
  begin_drawing();
  cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  unsigned char* d = cairo_image_surface_get_data(img);
  const int s = cairo_image_surface_get_stride(img);
  for (int r = 0; r < h; ++r)
    for (int q = 0; q < w; ++q) {
      const uint32_t g = pixels[size_t(r) * stride + q];
      *reinterpret_cast<uint32_t*>(d + size_t(r) * s + 4 * q) = 0xFF000000u | (g << 16) | (g << 8) | g;
    }
  cairo_surface_mark_dirty(img);
  cairo_t* cr = impl_->cr;
  cairo_save(cr);
  cairo_rectangle(cr, x, y, dw, dh);
  cairo_clip(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, dw / w, dh / h);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BILINEAR);
  cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);  // no dark seam at the edges
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);
}

void Canvas::write_png(const std::string& path) const {
  flush_pixels();
  cairo_surface_t* img = impl_->render(w_, h_);
  const std::string tmp = path + ".tmp";
  const cairo_status_t st = cairo_surface_write_to_png(img, tmp.c_str());
  cairo_surface_destroy(img);
  if (st != CAIRO_STATUS_SUCCESS) {
    std::remove(tmp.c_str());
    fail("cannot write PNG '" + path + "' (" + std::to_string(w_) + "x" + std::to_string(h_) + ": " +
         cairo_status_to_string(st) + ")");
  }
  commit(tmp, path);
}

void Canvas::write_svg(const std::string& path) const {
  flush_pixels();
  const std::string tmp = path + ".tmp";
  cairo_surface_t* svg = cairo_svg_surface_create(tmp.c_str(), w_, h_);
  cairo_t* cr = cairo_create(svg);
  cairo_set_source_surface(cr, impl_->rec, 0, 0);
  cairo_paint(cr);
  cairo_destroy(cr);
  cairo_surface_finish(svg);
  const cairo_status_t st = cairo_surface_status(svg);
  cairo_surface_destroy(svg);
  if (st != CAIRO_STATUS_SUCCESS) {
    std::remove(tmp.c_str());
    fail("cannot write SVG '" + path + "' (" + cairo_status_to_string(st) + ")");
  }
  if (!title_.empty()) {  // cairo draws text as glyph outlines; the title stays searchable here
    std::ifstream in(tmp, std::ios::binary);
    std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t open = doc.find("<svg"), close = open == std::string::npos ? open : doc.find('>', open);
    if (close != std::string::npos) {
      doc.insert(close + 1, "\n<title>" + xml_escape(title_) + "</title>");
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << doc;
      if (!out) fail("cannot write SVG '" + path + "'");
    }
  }
  commit(tmp, path);
}

std::string Canvas::svg_path(const std::string& png_path) {
  const size_t n = png_path.size();
  return (n >= 4 && png_path.compare(n - 4, 4, ".png") == 0 ? png_path.substr(0, n - 4) : png_path) + ".svg";
}

void Canvas::save(const std::string& png_path) const {
  write_png(png_path);
  write_svg(svg_path(png_path));
}

}  // namespace cytocon::plot
