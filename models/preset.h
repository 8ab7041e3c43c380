// Network presets (docs/design.md, "The method, exactly"; paper §2).
//   paper: B=6 blocks, widths 16,32,64,64,128,128, input 1129×1129 px (2 µm/px)
//   tiny : B=5 blocks, widths 16,32,64,64,128,     input  561×561  px (4 µm/px, same 2.24 mm field)
// Each size is the only one for which the encoder ends at exactly 1×1×128 with valid convs:
// block 1: 5×5/4 conv then 3×3; blocks 2..B: two 3×3; 2×2/2 floor max-pool after blocks 1..B-1.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cytocon::models {

struct Preset {
  std::string name;
  int blocks = 0;
  int input_px = 0;         // S: the only accepted input size
  std::vector<int> widths;  // output channels of block b (both convs), b = 1..blocks
  int feature_dim() const { return widths.back(); }  // D_e = 128
};

// "paper" or "tiny"; anything else fails naming the valid presets.
Preset preset_by_name(const std::string& name);
std::vector<std::string> preset_names();

// Spatial side after the encoder for an input of side px, or -1 if some layer would be empty.
int64_t encoder_output_px(const Preset& p, int64_t px);
// Fails unless px == p.input_px, e.g. "input size 1128 px is not valid for preset 'paper'
// (6 blocks): the valid size is 1129 px (tiny preset: 561 px)".
void check_input_size(const Preset& p, int64_t px);

}  // namespace cytocon::models
