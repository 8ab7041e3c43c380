#include "eval/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/tensor.h"

// Both stb headers are compiled privately into this file (static functions), so they never clash
// with another library that also embeds them.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>

namespace cytocon::eval {

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

Canvas::Canvas(int width, int height, Rgb bg) : w_(width), h_(height) {
  check(width > 0 && height > 0 && width <= 16384 && height <= 16384,
        "canvas size " + std::to_string(width) + "x" + std::to_string(height) +
            " out of range (expected 1..16384 per side)");
  rgb_.resize(static_cast<size_t>(w_) * h_ * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = bg.r;
    rgb_[i + 1] = bg.g;
    rgb_[i + 2] = bg.b;
  }
}

Rgb Canvas::pixel(int x, int y) const {
  size_t o = (static_cast<size_t>(y) * w_ + x) * 3;
  return {rgb_[o], rgb_[o + 1], rgb_[o + 2]};
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  size_t o = (static_cast<size_t>(y) * w_ + x) * 3;
  rgb_[o] = c.r;
  rgb_[o + 1] = c.g;
  rgb_[o + 2] = c.b;
}

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0), x1 = std::min(x1, w_), y1 = std::min(y1, h_);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) set(x, y, c);
}

void Canvas::rect_outline(int x0, int y0, int x1, int y1, Rgb c) {
  line(x0, y0, x1 - 1, y0, c);
  line(x0, y1 - 1, x1 - 1, y1 - 1, c);
  line(x0, y0, x0, y1 - 1, c);
  line(x1 - 1, y0, x1 - 1, y1 - 1, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int thickness) {
  int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy, lo = -(thickness - 1) / 2, hi = thickness / 2;
  for (;;) {
    for (int oy = lo; oy <= hi; ++oy)
      for (int ox = lo; ox <= hi; ++ox) set(x0 + ox, y0 + oy, c);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void Canvas::dot(int x, int y, int radius, Rgb c) {
  for (int oy = -radius; oy <= radius; ++oy)
    for (int ox = -radius; ox <= radius; ++ox)
      if (ox * ox + oy * oy <= radius * radius + radius) set(x + ox, y + oy, c);
}

namespace {

struct Quad {
  float x0, y0, x1, y1;
};

// stb_easy_font's glyph quads for s at the origin (x right, y down, font units = pixels).
std::vector<Quad> glyph_quads(const std::string& s) {
  std::vector<char> text(s.begin(), s.end());
  text.push_back('\0');
  std::vector<char> buf(s.size() * 300 + 300);  // ~270 bytes per character (stb_easy_font.h)
  int quads = stb_easy_font_print(0, 0, text.data(), nullptr, buf.data(), static_cast<int>(buf.size()));
  std::vector<Quad> out(quads);
  for (int q = 0; q < quads; ++q) {
    // 4 vertices of 16 bytes (x, y, z float; colour 4 bytes); vertex 0 and 2 are opposite corners.
    const float* v0 = reinterpret_cast<const float*>(buf.data() + q * 64);
    const float* v2 = reinterpret_cast<const float*>(buf.data() + q * 64 + 32);
    out[q] = {std::min(v0[0], v2[0]), std::min(v0[1], v2[1]), std::max(v0[0], v2[0]),
              std::max(v0[1], v2[1])};
  }
  return out;
}

}  // namespace

int Canvas::text_width(const std::string& s, int scale) {
  std::vector<char> text(s.begin(), s.end());
  text.push_back('\0');
  return stb_easy_font_width(text.data()) * scale;
}

int Canvas::text_height(int scale) { return 7 * scale; }

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  for (const Quad& q : glyph_quads(s))
    fill_rect(x + static_cast<int>(q.x0) * scale, y + static_cast<int>(q.y0) * scale,
              x + static_cast<int>(q.x1) * scale, y + static_cast<int>(q.y1) * scale, c);
}

void Canvas::text_vertical(int x, int y, const std::string& s, Rgb c, int scale) {
  // A glyph pixel (u,v) of horizontal text maps to (x + v, y + width - 1 - u).
  int w = text_width(s, scale);
  for (const Quad& q : glyph_quads(s)) {
    int u0 = static_cast<int>(q.x0) * scale, u1 = static_cast<int>(q.x1) * scale;
    int v0 = static_cast<int>(q.y0) * scale, v1 = static_cast<int>(q.y1) * scale;
    fill_rect(x + v0, y + w - u1, x + v1, y + w - u0, c);
  }
}

void Canvas::write_png(const std::string& path) const {
  if (!stbi_write_png(path.c_str(), w_, h_, 3, rgb_.data(), w_ * 3))
    fail("cannot write PNG '" + path + "' (" + std::to_string(w_) + "x" + std::to_string(h_) + ")");
}

}  // namespace cytocon::eval
