// 2×2 max-pool, stride 2, floor; the gradient goes to the first maximum of each window.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor max_pool2d(const Tensor& x) {
  Tensor y = backend_of(x).max_pool_forward(x);
  if (Tape::recording({&x})) {
    Tape::current()->record({y}, [x = x, y]() mutable { x.accumulate_grad(backend_of(x).max_pool_backward(y.grad(), x)); });
  }
  return y;
}

}  // namespace cytocon::ops
