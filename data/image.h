// Section images: a pyramid of grayscale levels read region by region (docs/design.md, "Dataset
// directory"). TIFF (8/16-bit, strips or tiles, BigTIFF, pyramids as SubIFDs or as further pages)
// goes through libtiff and a bounded LRU block cache, so a patch reads only the tiles it needs;
// colour (RGB, JPEG YCbCr) becomes grayscale as a block is decoded. PNG/JPEG are decoded whole by
// stb_image. All methods are thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cytocon::data {

// How read_region turns a stored sample into an intensity: sample·a + b, one float multiply and
// one add. a = 1/(2^bits − 1), b = 0; MinIsWhite: a = −1/(2^bits − 1), b = 1.
struct IntensityMap {
  float a = 0, b = 0;
};

struct Level {
  int64_t width = 0, height = 0;
  double downsample = 1.0;  // full-resolution pixels per pixel of this level (x axis)
};

class Image {
 public:
  virtual ~Image() = default;
  const std::string& path() const { return path_; }
  int bits() const { return bits_; }  // 8 or 16
  // TIFF PhotometricInterpretation MinIsWhite: read_region returns 1 − sample / (2^bits − 1).
  bool min_is_white() const { return min_is_white_; }
  // What every reader (and the GPU extractor, data/cuda/gpu_extract.cu) applies to a sample.
  IntensityMap intensity_map() const {
    const float scale = 1.0f / static_cast<float>((1 << bits_) - 1);
    return min_is_white_ ? IntensityMap{-scale, 1.0f} : IntensityMap{scale, 0.0f};
  }
  const std::vector<Level>& levels() const { return levels_; }  // level 0 = full resolution
  int64_t width() const { return levels_[0].width; }
  int64_t height() const { return levels_[0].height; }
  // Copies level `level` pixels [x0, x0+w) × [y0, y0+h) into out (row-major, w·h floats), as
  // intensities in [0, 1] (value / (2^bits − 1); MinIsWhite is inverted). Pixels outside the
  // image get `background`.
  virtual void read_region(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, float* out,
                           float background) const = 0;
  // The stored samples behind read_region: level `level` pixels [x0, x0+w) × [y0, y0+h) inside the
  // image go to out (row-major, row pitch w samples of bits()/8 bytes each, colour already turned
  // into grayscale) unconverted, so read_region's value is sample·a + b (intensity_map()). Pixels
  // outside the image are left as they are. What the GPU extractor uploads (data/tile_staging.h).
  virtual void read_samples(int level, int64_t x0, int64_t y0, int64_t w, int64_t h, void* out) const = 0;
  // Full-resolution µm per pixel as the file states it (OME-XML PhysicalSizeX, Aperio MPP, TIFF
  // resolution tags; data/pixel_size.h); nullopt when it does not (PNG/JPEG always).
  std::optional<double> um_per_px() const { return um_per_px_; }
  // The level patches at target_um read (docs/data.md, "Level choice"): the level nearest in log
  // scale (ties: the finer), except that a level reading more than 2× the pixels needed (finer by
  // more than √2) gives way to a coarser level within 2× of the target. When the level read is
  // not within √2 of the target, says so once per image and target on stderr.
  int level_for(double full_res_um, double target_um) const;

 protected:
  std::string path_;
  int bits_ = 8;
  bool min_is_white_ = false;
  std::optional<double> um_per_px_;
  std::vector<Level> levels_;

 private:
  mutable std::mutex logged_mu_;
  mutable std::set<double> logged_;  // targets whose level choice was reported
};

// Opens by extension (.tif/.tiff/.btf → libtiff, .png/.jpg/.jpeg → stb_image). Errors name the
// file and what is wrong (missing, truncated, not grayscale, unsupported bits per sample ...).
std::shared_ptr<Image> open_image(const std::string& path);
// A TIFF held in memory (tests and the fuzzer); `name` is used in messages.
std::shared_ptr<Image> open_tiff_memory(std::shared_ptr<const std::vector<uint8_t>> bytes,
                                        const std::string& name);

// The process-wide cache of decoded TIFF blocks (tiles or strips), bounded in bytes.
void set_tile_cache_bytes(size_t bytes);  // default 512 MiB
struct TileCacheStats {
  uint64_t hits = 0, misses = 0;
  size_t bytes = 0, capacity = 0;
};
TileCacheStats tile_cache_stats();

}  // namespace cytocon::data
