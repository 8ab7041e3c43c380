// Which centrelines a section's points are sampled along (docs/data.md, "Centreline points" and
// "Derived centrelines"): the drawn ones, ones derived from the area polygons, or drawn where a
// section has any, else derived (paper §3: "extracted along a centerline through the cortical
// ribbon, as derived from the reference delineations").
#pragma once
#include <string>
#include <vector>

#include "data/annotations.h"

namespace cytocon::data {

enum class CentrelineSource { automatic, annotated, derived };  // "auto" | "annotated" | "derived"
CentrelineSource parse_centreline_source(const std::string& s);  // error names the value and the choices
const char* centreline_source_name(CentrelineSource s);

// The section image's full-resolution size in pixels, where known (0 = unknown). The image edge
// cuts the ribbon: there the mid-line runs straight on to the edge instead of bending into the
// corners of the cut. Without it only the edges x = 0 and y = 0 are known.
struct SectionSize {
  double width = 0, height = 0;
};

// Mid-lines of the cortical ribbon derived from a section's area polygons (docs/data.md, "Derived
// centrelines"). Returned centrelines are unclassified (area empty): their points take the area
// of the polygon that contains them through sample_centrelines' rule; points outside every area
// are dropped there. Deterministic. Polygons without a class (e.g. one unclassified "cortex"
// outline) also count as ribbon. `um_per_px` (> 0) is the annotation's full-resolution pixel size.
std::vector<Centreline> derive_centrelines(const Annotations& a, double um_per_px, SectionSize image = {});

// data.centrelines: annotated -> a.centrelines; derived -> derive_centrelines;
// automatic -> a.centrelines if non-empty, else derived.
std::vector<Centreline> select_centrelines(const Annotations& a, CentrelineSource s, double um_per_px,
                                          SectionSize image = {});

}  // namespace cytocon::data
