// Per-layer convolution profile: forward, backward-data and backward-weight time of every conv
// of the preset's encoder at the benchmark batch, through the selected device's Backend.
#pragma once
#include "tools/bench/common.h"

namespace cytocon::bench {
int run_layers(const Options& o, Device d);
}
