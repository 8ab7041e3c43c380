// A training-ready copy of one section (issue 12 §2, docs/data.md "Prepared store"): resampled
// once to the run's µm/px, grayscale, tiled with a fast codec, holding only the tiles within
// reach of a sample point; its annotation rescaled to the new pixels. cytocon-prepare
// (tools/prepare) runs it over a dataset, in parallel and resumably.
#pragma once
#include <cstdint>
#include <string>

#include "data/dataset.h"

namespace cytocon::data {

enum class StoreCodec { none, deflate, zstd };
StoreCodec parse_store_codec(const std::string& name);  // "none" | "deflate" | "zstd"

struct PrepareOptions {
  double um_per_px = 2.0;   // the run's patch resolution (data.um_per_px)
  int patch_px = 1129;      // the run's patch side S
  double shift_mm = 0.2;    // the largest augmentation translation (paper §3)
  float background = 1.0f;  // outside the source image (data.background)
  int tile = 512;
  StoreCodec codec = StoreCodec::none;  // the fastest to read (docs/data.md, "Prepared store")
};

// How far from a sample point (in output pixels) a patch may read: the patch's half-diagonal at
// scale 1, plus the largest translation, plus 2 px for the bilinear taps and rounding.
double prepare_reach_px(const PrepareOptions& o);

struct PreparedSection {
  int64_t width = 0, height = 0;        // output pixels
  int64_t tiles_written = 0, tiles_total = 0;
  uint64_t bytes = 0;                   // of the image file
};

// Writes section `section` of ds as `image_path` (TIFF) and `annotation_path` (GeoJSON), each
// through a temporary name and a rename, so an existing output is always complete.
PreparedSection prepare_section(const Dataset& ds, int section, const PrepareOptions& o,
                                const std::string& image_path, const std::string& annotation_path);

}  // namespace cytocon::data
