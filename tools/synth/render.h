// Rendering a synthetic Merker-like section: dark cell bodies on a bright background, drawn by
// layer from the areas' laminar profiles, white matter with sparse glia, vessels as distractors,
// per-section staining gradient and noise. Deterministic in the seed for any thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "cortex_model.h"
#include "ribbon.h"

namespace cytocon::synth {

// 8-bit grayscale, row-major, spec.width × spec.height.
std::vector<uint8_t> render_section(const Ribbon& r, const BrainStyle& brain);

}  // namespace cytocon::synth
