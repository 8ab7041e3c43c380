// Whole-network benchmark: a SupCon training step (encoder + projection forward in training mode,
// loss, backward, LARS step) and an inference forward z = g(f(x)) (BN on running statistics, no
// tape), on random patches, as python/bench_cpu.py times PyTorch.
#pragma once
#include "tools/bench/common.h"

namespace cytocon::bench {
int run_network(const Options& o, Device d);
}
