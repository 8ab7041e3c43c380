// libFuzzer harness for the GeoJSON reader, centreline sampling and derived centrelines: any text
// must parse or give a cytocon error, never crash or hang.
#include <cstdint>
#include <exception>
#include <string>

#include "data/annotations.h"
#include "data/centreline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cytocon::data;
  try {
    const Annotations a = parse_geojson(std::string(reinterpret_cast<const char*>(data), size), "fuzz.geojson");
    sample_centrelines(a, 7.5);
    // Mid-lines of the polygons on a small image at 2 µm/px (an 8-px grid: each input stays fast).
    sample_centrelines(Annotations{derive_centrelines(a, 2.0, SectionSize{256, 256}), a.polygons, {}}, 7.5);
  } catch (const std::exception&) {
  }
  return 0;
}
