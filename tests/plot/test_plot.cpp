// Figures: the PNGs decode to the expected size and show what they claim (curve colours, the
// legend's colours, the confusion heat map's diagonal), text draws anti-aliased pixels inside its
// box, long titles fit, and an SVG with the title stands beside every PNG.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "plot/canvas.h"
#include "plot/plot.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

using namespace cytocon::plot;

namespace {

struct Png {
  int w = 0, h = 0;
  std::vector<unsigned char> rgb;
  // Pixels within `tol` of c in every channel (anti-aliased edges blend with the background).
  int count(Rgb c, int tol = 0) const {
    int k = 0;
    for (size_t i = 0; i + 2 < rgb.size(); i += 3)
      k += std::abs(rgb[i] - c.r) <= tol && std::abs(rgb[i + 1] - c.g) <= tol && std::abs(rgb[i + 2] - c.b) <= tol;
    return k;
  }
};

Png load(const std::string& path) {
  Png p;
  int ch = 0;
  unsigned char* d = stbi_load(path.c_str(), &p.w, &p.h, &ch, 3);
  EXPECT_NE(d, nullptr) << path;
  if (d) p.rgb.assign(d, d + static_cast<size_t>(p.w) * p.h * 3), stbi_image_free(d);
  return p;
}

// Per process: other build trees may run the same tests at the same time.
std::string tmp(const char* name) {
  return testing::TempDir() + "/cytocon_plot_" + std::to_string(::getpid()) + "_" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The SVG beside a PNG: an XML document with one <svg> root that holds the title.
void expect_svg(const std::string& png, const std::string& title) {
  const std::string svg = slurp(Canvas::svg_path(png));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u) << svg.substr(0, 80);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  const size_t end = svg.find_last_not_of(" \n");
  EXPECT_EQ(svg.compare(end - 5, 6, "</svg>"), 0);
  EXPECT_NE(svg.find("<title>" + title + "</title>"), std::string::npos) << title;
  std::remove(Canvas::svg_path(png).c_str());
}

// Dark (text) pixels inside and outside the box [x0, x1) x [y0, y1), and the grey levels seen.
struct Ink {
  int inside = 0, outside = 0, grey = 0;
};
Ink ink(const Canvas& cv, int x0, int y0, int x1, int y1) {
  Ink k;
  for (int y = 0; y < cv.height(); ++y)
    for (int x = 0; x < cv.width(); ++x) {
      const int r = cv.pixel(x, y).r;
      const bool in = x >= x0 && x < x1 && y >= y0 && y < y1;
      if (r < 255) (in ? k.inside : k.outside)++;
      k.grey += r > 40 && r < 215;
    }
  return k;
}

}  // namespace

TEST(Canvas, TextDrawsAntiAliasedPixelsWithinItsBox) {
  Canvas cv(200, 40);
  cv.text(5, 5, "Ward k=10", {0, 0, 0});
  const int w = Canvas::text_width("Ward k=10"), h = Canvas::text_height();
  EXPECT_GT(w, 40);
  EXPECT_GE(h, 12);
  const Ink k = ink(cv, 5, 5, 5 + w + 1, 5 + h);
  EXPECT_GT(k.inside, 60);
  EXPECT_EQ(k.outside, 0);
  EXPECT_GT(k.grey, 10);  // anti-aliased edges, not a 1-bit font
}

TEST(Canvas, VerticalTextLiesInTheTransposedBox) {
  Canvas h(100, 100), v(100, 100);
  h.text(0, 0, "abc", {0, 0, 0});
  v.text_vertical(0, 0, "abc", {0, 0, 0});
  const int w = Canvas::text_width("abc"), th = Canvas::text_height();
  const Ink kh = ink(h, 0, 0, w + 1, th), kv = ink(v, 0, 0, th, w + 1);
  EXPECT_EQ(kv.outside, 0);
  EXPECT_NEAR(kv.inside, kh.inside, 0.25 * kh.inside);  // the same glyphs, turned
}

TEST(Canvas, LongTitlesShrinkThenWrapToFit) {
  const std::string t = "Confusion matrix: contrastive on X_un (held-out brains), 8 areas";
  const auto wide = Canvas::fit_text(t, 2000, 2);
  EXPECT_EQ(wide.size, Canvas::font_px(2));
  ASSERT_EQ(wide.lines.size(), 1u);
  const auto narrow = Canvas::fit_text(t, 260, 2);
  EXPECT_EQ(narrow.size, Canvas::font_px(1));
  EXPECT_GT(narrow.lines.size(), 1u);
  Canvas cv(280, 120);
  cv.text_fitted(10, 10, narrow, {0, 0, 0});
  EXPECT_EQ(ink(cv, 10, 10, 270, 10 + narrow.height).outside, 0);  // nothing cut off, nothing outside
}

TEST(Canvas, MapPrimitivesDrawWhereAsked) {
  Canvas cv(100, 100);
  const uint8_t img[4] = {0, 255, 255, 0};  // 2x2 checker, scaled up into the left half
  cv.image_gray(img, 2, 2, 2, 0, 0, 50, 100);
  cv.fill_polygon({{{60, 10}, {90, 10}, {90, 40}, {60, 40}}, {{70, 20}, {80, 20}, {80, 30}, {70, 30}}}, {200, 0, 0});
  cv.fill_circle(75, 75, 10, {0, 0, 200});
  cv.polyline({{55, 95}, {95, 95}}, {0, 150, 0}, 3);
  EXPECT_LT(cv.pixel(5, 5).r, 30);     // dark quarter of the image
  EXPECT_GT(cv.pixel(45, 5).r, 225);   // bright quarter
  EXPECT_EQ(cv.pixel(62, 12).r, 200);  // polygon
  EXPECT_EQ(cv.pixel(75, 25).r, 255);  // its hole (even-odd)
  EXPECT_EQ(cv.pixel(75, 75).b, 200);  // circle
  EXPECT_EQ(cv.pixel(75, 95).g, 150);  // polyline
  for (int x = 0; x < 50; ++x) cv.set(x, 50, {0, 255, 0});  // pixels drawn after the image stay on top
  EXPECT_EQ(cv.pixel(20, 50).g, 255);
  const std::string path = tmp("map.png");
  cv.set_title("a map & <legend>");
  cv.save(path);
  Png p = load(path);
  EXPECT_EQ(p.w, 100);
  EXPECT_EQ(p.count({0, 255, 0}), 50);
  expect_svg(path, "a map &amp; &lt;legend&gt;");
  std::remove(path.c_str());
}

TEST(Plot, LinePlotShowsEachSeriesInItsColour) {
  Series a{"train loss", {0, 1, 2, 3}, {4, 3, 2.5, 2}};
  Series b{"val loss", {0, 1, 2, 3}, {4.2, 3.5, 3.1, 3.0}};
  std::string path = tmp("lines.png");
  plot_lines(path, "loss", "step", "loss", {a, b});
  Png p = load(path);
  EXPECT_EQ(p.w, 960);
  EXPECT_EQ(p.h, 600);
  EXPECT_GT(p.count(category_color(0), 24), 500);  // a 2-px 3-segment curve + legend square
  EXPECT_GT(p.count(category_color(1), 24), 500);
  EXPECT_EQ(p.count(category_color(2), 24), 0);
  expect_svg(path, "loss");
  std::remove(path.c_str());
}

TEST(Plot, LogAxisSkipsNonPositiveValues) {
  std::string path = tmp("log.png");
  plot_lines(path, "t", "x", "y", {Series{"s", {0, 1, 2}, {1, 0, 100}}}, LineOptions{400, 300, true});
  EXPECT_EQ(load(path).w, 400);
  std::remove(path.c_str());
  std::remove(Canvas::svg_path(path).c_str());
}

TEST(Plot, MismatchedSeriesIsAnError) {
  EXPECT_THROW(plot_lines(tmp("x.png"), "t", "x", "y", {Series{"bad", {0, 1}, {1}}}), std::exception);
}

TEST(Plot, ScatterColoursPointsByGroupAndListsOnlyPresentGroups) {
  std::vector<double> xy = {0, 0, 1, 1, 0.5, 0.2};
  std::vector<int32_t> g = {0, 2, 2};
  std::string path = tmp("scatter.png");
  plot_scatter(path, "t-SNE", xy, g, {"hOc1", "hOc2", "hOc3v"});
  Png p = load(path);
  EXPECT_GT(p.count(category_color(0)), 10);
  EXPECT_EQ(p.count(category_color(1)), 0);  // absent group: no points, no legend entry
  EXPECT_GT(p.count(category_color(2)), 20);
  EXPECT_THROW(plot_scatter(path, "t", xy, {0, 3, 1}, {"a", "b", "c"}), std::exception);
  expect_svg(path, "t-SNE");
  std::remove(path.c_str());
}

TEST(Plot, ConfusionDiagonalIsDarkest) {
  // Perfect classifier: the diagonal is fully dark blue, the rest white.
  std::vector<int64_t> m = {5, 0, 0, 0, 7, 0, 0, 0, 9};
  std::string path = tmp("conf.png");
  plot_confusion(path, "confusion", m, {"a", "b", "c"});
  Png p = load(path);
  EXPECT_GE(p.count(heat_color(1.0)), 3 * 40 * 40 - 3 * 120);  // minus the white count digits
  EXPECT_LE(p.count(heat_color(1.0)), 3 * 40 * 40);
  expect_svg(path, "confusion");
  std::remove(path.c_str());
}

TEST(Plot, ConfusionTitleIsNotCutOff) {
  // The title that was cut off with the bitmap font: the figure is as wide as it needs, or the
  // title wraps; every dark pixel of the title band lies inside the image.
  const std::string title = "Confusion matrix: contrastive on X_un (held-out brains)";
  const std::string path = tmp("conf_title.png");
  plot_confusion(path, title, {5, 1, 2, 7}, {"hOc1", "hOc2"});
  Png p = load(path);
  int right_margin_ink = 0;  // nothing reaches the last column
  for (int y = 0; y < p.h; ++y) right_margin_ink += p.rgb[(size_t(y) * p.w + p.w - 1) * 3] < 200;
  EXPECT_EQ(right_margin_ink, 0);
  expect_svg(path, title);
  std::remove(path.c_str());
}
