// 2×2 max-pool, stride 2, floor; the gradient goes to the first maximum of each window.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor max_pool2d(const Tensor& x) {
  Tensor y = backend_of(x).max_pool2d_forward(x);
  if (Tape::recording({&x})) {
    Tape::current()->record({y}, [x = x, gx = x.grad_ref(), gy = y.grad_ref()]() mutable {
      gx.accumulate(backend_of(x).max_pool2d_backward(gy.grad(), x));
    });
  }
  return y;
}

}  // namespace cytocon::ops
