// libFuzzer harness for the GeoJSON reader and centreline sampling: any text must parse or give a
// cytocon error, never crash or hang.
#include <cstdint>
#include <exception>
#include <string>

#include "data/annotations.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cytocon::data;
  try {
    const Annotations a = parse_geojson(std::string(reinterpret_cast<const char*>(data), size), "fuzz.geojson");
    sample_centrelines(a, 7.5);
  } catch (const std::exception&) {
  }
  return 0;
}
