// libFuzzer harness for the TIFF reader: any bytes must give an Image or a cytocon error, never a
// crash, hang or out-of-bounds access (run under ASan/UBSan; see fuzz/CMakeLists.txt).
#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cytocon::data;
  static const bool once = [] {
    set_tile_cache_bytes(size_t(64) << 20);
    return true;
  }();
  (void)once;
  auto bytes = std::make_shared<std::vector<uint8_t>>(data, data + size);
  try {
    auto img = open_tiff_memory(bytes, "fuzz.tif");
    // Read a small region of every level, crossing the image edge.
    std::vector<float> out(48 * 48);
    for (int l = 0; l < static_cast<int>(img->levels().size()); ++l) {
      const auto& L = img->levels()[l];
      if (L.width > (1 << 16) || L.height > (1 << 16)) continue;  // pixel data would be absent anyway
      img->read_region(l, -8, -8, 48, 48, out.data(), 0.5f);
      img->read_region(l, L.width - 24, L.height - 24, 48, 48, out.data(), 0.5f);
    }
  } catch (const std::exception&) {
  }
  return 0;
}
