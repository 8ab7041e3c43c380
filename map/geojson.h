// SECTION.geojson as QuPath writes its own object export (File › Export objects as GeoJSON, v0.4+),
// so File › Import objects reads it back (docs/map.md "GeoJSON"): a FeatureCollection with
//  - one "detection" per sample point: the patch footprint as a Polygon, properties.objectType
//    "detection", classification {name, color [r,g,b]} = the predicted area, measurements
//    {"<area> probability": p, ..., "Centreline": k, "Position mm": d};
//  - along each centreline, one "annotation" LineString per run of the same predicted area, from
//    the midpoint before the run's first point to the midpoint after its last (the line's ends at
//    its ends), classified as the run's area, measurements {"Length mm", "Points"}.
// Colours: area_color(class id), the same in every section and run.
#pragma once
#include <string>
#include <vector>

#include "plot/canvas.h"
#include "map/section.h"

namespace cytocon::map {

// The colour of area (class id) c: category_color(c) (tab20, then golden-ratio hues).
plot::Rgb area_color(int c);

// footprint_px: side of a patch in full-resolution pixels. Returns the JSON text.
std::string section_geojson(const SectionMap& s, const std::vector<std::string>& names, double footprint_px);

}  // namespace cytocon::map
