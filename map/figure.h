// SECTION.png and SECTION.svg beside it (docs/map.md), drawn through cairo (plot/canvas.h): the
// section downsampled, the predicted areas in colour along the ribbon (each centreline drawn
// through its points, each point a dot on a band in its reference area's colour where it has
// one; grid points as squares), the reference outlines over it where they exist (clipped to the
// section), and a legend of the areas shown. Written through temporary names (Canvas::save).
#pragma once
#include <string>
#include <vector>

#include "map/section.h"
#include "map/tissue.h"

namespace cytocon::map {

void plot_section_map(const std::string& path, const std::string& title, const SectionMap& s, const Thumbnail& t,
                      const std::vector<std::string>& names, double grid_px);

}  // namespace cytocon::map
