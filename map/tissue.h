// A section seen from afar (docs/map.md): a downsampled grayscale copy for the figure, and the
// tissue found in it for sections mapped without any annotation (Otsu threshold, then small
// components removed), with the grid of sample points over it.
#pragma once
#include <cstdint>
#include <vector>

#include "data/image.h"
#include "map/section.h"

namespace cytocon::map {

struct Thumbnail {
  int64_t width = 0, height = 0;
  double downsample = 1;     // full-resolution pixels per thumbnail pixel
  std::vector<float> value;  // intensities in [0,1] (glass bright), row-major
};

// The coarsest pyramid level at least `max_side` pixels wide or high (or level 0), box-averaged
// by the integer factor that brings its longer side to at most max_side. Reads in strips.
Thumbnail read_thumbnail(const data::Image& img, int max_side);

// Otsu's threshold (maximal between-class variance) of a 256-bin histogram of values in [0,1].
float otsu_threshold(const std::vector<float>& values);

// Tissue: the thumbnail box-averaged to pixels of about 32 µm (cell bodies blur into tissue),
// pixels darker than Otsu's threshold there (cell-body stains are dark on bright glass),
// 8-connected components smaller than min_area_mm2 removed. One byte per thumbnail pixel (1 =
// tissue). Fails naming the image when nothing remains.
std::vector<uint8_t> find_tissue(const Thumbnail& t, double um_per_px, double min_area_mm2,
                                 const std::string& image_name);

// Grid points every grid_um (full-resolution px (k + ½)·step) whose thumbnail pixel is tissue;
// no centreline (line −1), no reference. Appends to s.points; s.sampling = "grid".
void sample_grid_points(SectionMap& s, const Thumbnail& t, const std::vector<uint8_t>& tissue, double grid_um);

}  // namespace cytocon::map
