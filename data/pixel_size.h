// A section's pixel size as its file states it (docs/data.md, "Pixel size"): OME-XML
// `PhysicalSizeX`/`PhysicalSizeXUnit` in the ImageDescription, Aperio's `MPP = ...`, or the TIFF
// resolution tags (XResolution per ResolutionUnit inch or centimetre).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace cytocon::data {

// µm per pixel from an ImageDescription: OME-XML (the first Pixels element's PhysicalSizeX, unit
// PhysicalSizeXUnit, default µm) or an Aperio description (`|MPP = 0.252|`). nullopt when it
// states none, or a value that is not positive and finite, or a unit other than m, cm, mm, µm, nm.
std::optional<double> um_per_px_from_description(const std::string& description);

// µm per pixel from XResolution (pixels per unit) and ResolutionUnit (2 inch, 3 cm). nullopt for
// unit 1 (none), a zero resolution, or a value above kMaxResolutionTagUm: 72/96 dpi are writers'
// screen defaults, not a scanner's pixel size.
constexpr double kMaxResolutionTagUm = 100.0;
std::optional<double> um_per_px_from_resolution(double x_resolution, uint16_t unit);

}  // namespace cytocon::data
