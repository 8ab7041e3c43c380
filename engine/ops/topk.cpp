// Top-k class indices (no gradient: indices are not differentiable).
#include "engine/ops.h"

namespace cytocon::ops {

Tensor topk(const Tensor& scores, int k) { return backend_of(scores).topk(scores, k); }

}  // namespace cytocon::ops
