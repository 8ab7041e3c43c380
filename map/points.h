// Where a section is mapped (docs/map.md "Sample points"): every `spacing` along each centreline,
// or, for a section without any annotation, on a grid over the tissue.
#pragma once
#include <string>
#include <vector>

#include "data/annotations.h"
#include "map/section.h"

namespace cytocon::map {

// Centreline pieces joined into lines along the ribbon: QuPath users draw one classified
// centreline per area, so a line through several areas arrives as pieces whose ends touch. A
// chain starts at the first unused piece (file order) and grows at its end, then at its start,
// by the unused piece (lowest index) with an end point within max_gap_px, reversed when needed.
// Returns each chain as (piece index, reversed) in order along it.
struct Piece {
  int32_t index;
  bool reversed;
};
std::vector<std::vector<Piece>> chain_centrelines(const std::vector<data::Centreline>& lines, double max_gap_px);

// Points every spacing_um along each chain of centreline pieces (chain_centrelines with a gap of
// one spacing; data::sample_along per piece), keeping each point's line (chain) and position in mm
// along it (pieces follow each other with the gap between them). Reference area: the centreline's class when it is one of `labels`, else
// the class of the first polygon (file order) that contains the point and is one of `labels`,
// else −1 (so an unclassified "cortex" outline gives points without a reference). Points outside
// the image (width × height) are dropped; lines without points are not counted.
void sample_centreline_points(SectionMap& s, const std::vector<data::Centreline>& lines,
                              const std::vector<data::AreaPolygon>& polygons,
                              const std::vector<std::string>& labels, double spacing_um);

}  // namespace cytocon::map
