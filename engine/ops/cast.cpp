// Storage conversion with autograd: y = x in type dt; dx = dy converted back to x's type.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor cast(const Tensor& x, DType dt) {
  if (x.dtype() == dt) return x;
  Tensor y = backend_of(x).convert(x, dt);
  if (Tape::recording({&x})) {
    Tape::current()->record({y}, [from = x.dtype(), gx = x.grad_ref(), gy = y.grad_ref()]() mutable {
      gx.accumulate(backend_of(gy.grad()).convert(gy.grad(), from));
    });
  }
  return y;
}

}  // namespace cytocon::ops
