// [N, ...] → [N, rest], sharing storage; the gradient is reshaped back.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor flatten(const Tensor& x) {
  check(x.defined() && x.ndim() >= 1, "flatten: expected a tensor of rank >= 1");
  const int64_t n = x.dim(0);
  Tensor y = x.reshape({n, n ? x.numel() / n : 0});
  if (Tape::recording({&x})) {
    Tape::current()->record({y}, [gx = x.grad_ref(), gy = y.grad_ref()]() mutable {
      gx.accumulate(gy.grad().reshape(gx.shape()));
    });
  }
  return y;
}

}  // namespace cytocon::ops
