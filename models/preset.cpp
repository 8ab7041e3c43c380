#include "models/preset.h"

#include "engine/tensor.h"

namespace cytocon::models {

Preset preset_by_name(const std::string& name) {
  if (name == "paper") return {"paper", 6, 1129, {16, 32, 64, 64, 128, 128}};
  if (name == "tiny") return {"tiny", 5, 561, {16, 32, 64, 64, 128}};
  fail("unknown model preset '" + name + "': expected 'paper' (6 blocks, 1129 px) or 'tiny' (5 blocks, 561 px)");
}

std::vector<std::string> preset_names() { return {"paper", "tiny"}; }

int64_t encoder_output_px(const Preset& p, int64_t px) {
  int64_t s = px;
  for (int b = 1; b <= p.blocks; ++b) {
    const int64_t k = (b == 1) ? 5 : 3, stride = (b == 1) ? 4 : 1;  // conv1: 5×5/4 in block 1, else 3×3/1
    if (s < k) return -1;
    s = (s - k) / stride + 1;
    if (s < 3) return -1;
    s -= 2;                                                          // conv2: 3×3/1
    if (b < p.blocks) s /= 2;                                        // 2×2/2 max-pool, floor
    if (s < 1) return -1;
  }
  return s;
}

void check_input_size(const Preset& p, int64_t px) {
  if (px == p.input_px) return;
  std::string others;
  for (const auto& n : preset_names())
    if (n != p.name) {
      Preset o = preset_by_name(n);
      others += (others.empty() ? "" : ", ") + n + " preset: " + std::to_string(o.input_px) + " px";
    }
  fail("input size " + std::to_string(px) + " px is not valid for preset '" + p.name + "' (" +
       std::to_string(p.blocks) + " blocks): the valid size is " + std::to_string(p.input_px) + " px (" + others + ")");
}

}  // namespace cytocon::models
