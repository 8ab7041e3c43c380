// Writing grayscale TIFFs (cytocon-synth, and the reader's round-trip tests): 8 or 16 bits,
// tiles or strips, classic or BigTIFF, optional pyramid of 2× box-filtered levels stored as
// further pages (FILETYPE_REDUCEDIMAGE) or as SubIFDs of the first page.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cytocon::data {

enum class Pyramid { none, pages, subifds };
enum class Compression { none, deflate, lzw };

struct TiffWriteOptions {
  bool tiled = true;
  int tile = 256;             // tile width and height (multiple of 16)
  int rows_per_strip = 64;    // when not tiled
  bool bigtiff = false;
  Compression compression = Compression::none;
  Pyramid pyramid = Pyramid::none;
  int64_t min_level_px = 256;  // stop adding levels once the longer side is below this
  bool min_is_white = false;   // store inverted (PHOTOMETRIC_MINISWHITE)
  double um_per_px = 0;        // > 0: full-resolution pixel size in the resolution tags (per cm)
};

// `pixels` holds w·h samples of `bits` (8: uint8_t, 16: uint16_t), row-major.
void write_tiff(const std::string& path, const void* pixels, int64_t w, int64_t h, int bits,
                const TiffWriteOptions& opt = {});

// 2× box downsampling (odd edges averaged over what exists): w, h become ⌈w/2⌉, ⌈h/2⌉.
template <class T>
std::vector<T> downsample2(const std::vector<T>& src, int64_t& w, int64_t& h);

}  // namespace cytocon::data
