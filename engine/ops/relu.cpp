// y = max(x, 0); dx = dy·[y > 0].
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor relu(const Tensor& x) {
  Tensor y = backend_of(x).relu_forward(x);
  if (Tape::recording({&x})) {
    Tape::current()->record({y}, [y, gx = x.grad_ref()]() mutable {
      gx.accumulate(backend_of(y).relu_backward(y.grad(), y));
    });
  }
  return y;
}

}  // namespace cytocon::ops
