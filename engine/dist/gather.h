// all_gather_rows: the global batch of a per-sample tensor, for the SupCon loss (docs/design.md
// eqs. 1–2), which couples every pair of samples and so needs all N rows of z and labels.
//
// Forward: rank r holds rows [r·n, (r+1)·n) of the global batch (it owns micro-shards
// [r·S/R, (r+1)·S/R), so rank order is global sample order); the result is the [R·n, ...] tensor,
// bit-identical on every rank.
// Backward: the loss is computed redundantly on every rank from the same bits, so the gradient
// dL/dZ is the same [R·n, ...] tensor on every rank; rank r keeps rows [r·n, (r+1)·n) — its own
// samples' dL/dz_i. No reduction: the sum over samples that makes parameter gradients global
// happens later, in the weight-gradient kernels (sum_shards). docs/distributed.md derives this.
#pragma once
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::dist {

// local: [n, ...] on any device, any dtype (labels: int32, no gradient). Checks every rank
// passes the same shape and that n is this rank's share of the micro-shards.
Tensor all_gather_rows(const Tensor& local, const Shards& sh);

}  // namespace cytocon::dist
