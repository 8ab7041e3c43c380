// c = a + b; dc flows unchanged to both inputs.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor add(const Tensor& a, const Tensor& b) {
  check(a.device() == b.device(), "add: inputs on different devices");
  Tensor c = backend_of(a).add(a, b);
  if (Tape::recording({&a, &b})) {
    Tape::current()->record({c}, [a = a, b = b, c]() mutable {
      if (a.requires_grad()) a.accumulate_grad(c.grad());
      if (b.requires_grad()) b.accumulate_grad(c.grad());
    });
  }
  return c;
}

}  // namespace cytocon::ops
