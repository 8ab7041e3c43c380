// c = a + b; dc flows unchanged to both inputs.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor add(const Tensor& a, const Tensor& b) {
  check(a.device() == b.device(), "add: inputs on different devices");
  Tensor c = backend_of(a).add(a, b);
  if (Tape::recording({&a, &b})) {
    Tape::current()->record({c}, [ga = a.grad_ref(), gb = b.grad_ref(), gc = c.grad_ref()]() mutable {
      if (ga.requires_grad()) ga.accumulate(gc.grad());
      if (gb.requires_grad()) gb.accumulate(gc.grad());
    });
  }
  return c;
}

}  // namespace cytocon::ops
