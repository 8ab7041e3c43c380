// Row-wise z = x / max(‖x‖₂, eps) (docs/math.md eqs. L2-1, L2-2).
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor l2_normalize(const Tensor& x, double eps) {
  Tensor z = backend_of(x).l2_normalize_forward(x, eps);
  if (Tape::recording({&x})) {
    Tape::current()->record({z}, [x = x, z = z, eps, gx = x.grad_ref()]() mutable {
      gx.accumulate(backend_of(x).l2_normalize_backward(z.grad(), x, z, eps));
    });
  }
  return z;
}

}  // namespace cytocon::ops
