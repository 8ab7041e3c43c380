// Figures: the PNGs decode to the expected size and show what they claim (curve colours, the
// legend's colours, the confusion heat map's diagonal), and text actually draws pixels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "eval/canvas.h"
#include "eval/plot.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

using namespace cytocon::eval;

namespace {

struct Png {
  int w = 0, h = 0;
  std::vector<unsigned char> rgb;
  int count(Rgb c) const {
    int k = 0;
    for (size_t i = 0; i + 2 < rgb.size(); i += 3)
      k += rgb[i] == c.r && rgb[i + 1] == c.g && rgb[i + 2] == c.b;
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

}  // namespace

TEST(Canvas, TextDrawsPixelsWithinItsBox) {
  Canvas cv(200, 40);
  cv.text(5, 5, "Ward k=10", {0, 0, 0});
  int w = Canvas::text_width("Ward k=10");
  EXPECT_GT(w, 30);
  int inside = 0, outside = 0;
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 200; ++x) {
      bool dark = cv.pixel(x, y).r == 0;
      bool in = x >= 5 && x < 5 + w && y >= 5 && y < 5 + 12;
      (in ? inside : outside) += dark;
    }
  EXPECT_GT(inside, 40);
  EXPECT_EQ(outside, 0);
}

TEST(Canvas, VerticalTextIsTheTransposedBox) {
  Canvas h(100, 100), v(100, 100);
  h.text(0, 0, "abc", {0, 0, 0});
  v.text_vertical(0, 0, "abc", {0, 0, 0});
  int w = Canvas::text_width("abc");
  for (int y = 0; y < 12; ++y)
    for (int x = 0; x < w; ++x) EXPECT_EQ(h.pixel(x, y).r, v.pixel(y, w - 1 - x).r) << x << "," << y;
}

TEST(Plot, LinePlotShowsEachSeriesInItsColour) {
  Series a{"train loss", {0, 1, 2, 3}, {4, 3, 2.5, 2}};
  Series b{"val loss", {0, 1, 2, 3}, {4.2, 3.5, 3.1, 3.0}};
  std::string path = tmp("lines.png");
  plot_lines(path, "loss", "step", "loss", {a, b});
  Png p = load(path);
  EXPECT_EQ(p.w, 960);
  EXPECT_EQ(p.h, 600);
  EXPECT_GT(p.count(category_color(0)), 500);  // a thick 3-segment curve + legend square
  EXPECT_GT(p.count(category_color(1)), 500);
  EXPECT_EQ(p.count(category_color(2)), 0);
  std::remove(path.c_str());
}

TEST(Plot, LogAxisSkipsNonPositiveValues) {
  std::string path = tmp("log.png");
  plot_lines(path, "t", "x", "y", {Series{"s", {0, 1, 2}, {1, 0, 100}}}, LineOptions{400, 300, true});
  EXPECT_EQ(load(path).w, 400);
  std::remove(path.c_str());
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
  std::remove(path.c_str());
}

TEST(Plot, ConfusionDiagonalIsDarkest) {
  // Perfect classifier: the diagonal is fully dark blue, the rest white.
  std::vector<int64_t> m = {5, 0, 0, 0, 7, 0, 0, 0, 9};
  std::string path = tmp("conf.png");
  plot_confusion(path, "confusion", m, {"a", "b", "c"});
  Png p = load(path);
  EXPECT_GE(p.count(heat_color(1.0)), 3 * 40 * 40 - 3 * 60);  // minus the white count digits
  std::remove(path.c_str());
}
