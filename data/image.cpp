// open_image (dispatch by extension), PNG/JPEG through stb_image, and pyramid level choice.
#include "data/image.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "data/region_copy.h"
#include "engine/tensor.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC  // private copy: other libraries may embed stb_image too
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace cytocon::data {

std::shared_ptr<Image> open_tiff_file(const std::string& path);  // tiff_image.cpp

namespace {

// A PNG or JPEG decoded whole into memory: one level, grayscale (stb converts colour to luma).
class StbImage final : public Image {
 public:
  explicit StbImage(const std::string& path) {
    path_ = path;
    int w = 0, h = 0, c = 0;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail(path + ": cannot open");
    const bool sixteen = stbi_is_16_bit_from_file(f);
    std::fseek(f, 0, SEEK_SET);
    void* px = sixteen ? static_cast<void*>(stbi_load_from_file_16(f, &w, &h, &c, 1))
                       : static_cast<void*>(stbi_load_from_file(f, &w, &h, &c, 1));
    std::fclose(f);
    if (!px) fail(path + ": cannot decode image (" + stbi_failure_reason() + ")");
    bits_ = sixteen ? 16 : 8;
    levels_.push_back(Level{w, h, 1.0});
    const size_t bytes = static_cast<size_t>(w) * h * (bits_ / 8);
    pixels_.assign(static_cast<uint8_t*>(px), static_cast<uint8_t*>(px) + bytes);
    stbi_image_free(px);
  }
  void read_region(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, float* out,
                   float background) const override {
    check(level == 0, path_ + ": no pyramid level " + std::to_string(level));
    fill_outside(width(), height(), x0, y0, w, h, out, background);
    const IntensityMap m = intensity_map();
    if (bits_ == 8)
      copy_block_to_region(pixels_.data(), width(), 0, 0, width(), height(), x0, y0, w, h, out, m);
    else
      copy_block_to_region(reinterpret_cast<const uint16_t*>(pixels_.data()), width(), 0, 0,
                           width(), height(), x0, y0, w, h, out, m);
  }
  void read_samples(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, void* out) const override {
    check(level == 0, path_ + ": no pyramid level " + std::to_string(level));
    copy_block_samples(pixels_.data(), width(), 0, 0, width(), height(), x0, y0, w, h, static_cast<uint8_t*>(out),
                       bits_ / 8);
  }

 private:
  std::vector<uint8_t> pixels_;
};

std::string lower_extension(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return "";
  std::string e = path.substr(dot + 1);
  for (char& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return e;
}

}  // namespace

int Image::level_for(double full_res_um, double target_um) const {
  // f = how many times finer than the target a level is (> 1 finer, < 1 coarser).
  auto finer = [&](size_t l) { return target_um / (full_res_um * levels_[l].downsample); };
  int best = 0;
  double best_d = 1e300;
  for (size_t i = 0; i < levels_.size(); ++i) {
    const double d = std::abs(std::log(finer(i)));
    if (d < best_d - 1e-9) {
      best_d = d;
      best = static_cast<int>(i);
    }
  }
  const double kRoot2 = std::sqrt(2.0), kTol = 1e-9;
  if (finer(best) > kRoot2 + kTol) {  // reads more than 2× the pixels: a coarser level within 2×?
    int coarser = -1;
    for (size_t i = 0; i < levels_.size(); ++i)
      if (finer(i) < 1 && finer(i) >= 0.5 - kTol && (coarser < 0 || finer(i) > finer(coarser)))
        coarser = static_cast<int>(i);
    if (coarser >= 0) best = coarser;
  }
  const double f = finer(best);
  if (f > kRoot2 + kTol || f < 1 / kRoot2 - kTol) {
    std::lock_guard<std::mutex> lock(logged_mu_);
    if (logged_.insert(target_um).second) {
      char msg[256];
      if (f > 1)
        std::snprintf(msg, sizeof msg, "%.3g times finer, %.3g times the pixels needed: no level within 2x coarser", f,
                      f * f);
      else
        std::snprintf(msg, sizeof msg, "%.3g times coarser (upsampled): %s", 1 / f,
                      best == 0 ? "no finer level" : "the next finer level needs over 2x the pixels");
      std::fprintf(stderr, "cytocon: %s: patches at %g um/px read pyramid level %d (%g um/px), %s\n", path_.c_str(),
                   target_um, best, full_res_um * levels_[best].downsample, msg);
    }
  }
  return best;
}

std::shared_ptr<Image> open_image(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail(path + ": image file not found");
  if (!S_ISREG(st.st_mode)) fail(path + ": not a regular file");
  const std::string e = lower_extension(path);
  if (e == "tif" || e == "tiff" || e == "btf" || e == "tf8") return open_tiff_file(path);
  if (e == "png" || e == "jpg" || e == "jpeg") return std::make_shared<StbImage>(path);
  fail(path + ": unsupported image type '." + e + "' (expected .tif/.tiff, .png or .jpg)");
}

}  // namespace cytocon::data
