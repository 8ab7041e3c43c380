// The reference annotations of a synthetic section as QuPath-style GeoJSON: one LineString per
// run of centreline (mid-depth of the cortex) within one area, and one Polygon per area segment
// (pial surface to white-matter border). Coordinates in full-resolution pixels.
#pragma once
#include <string>

#include "cortex_model.h"
#include "ribbon.h"

namespace cytocon::synth {

std::string annotations_geojson(const Ribbon& r, const BrainStyle& brain);

}  // namespace cytocon::synth
