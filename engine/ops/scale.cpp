// c = s·a; da = s·dc.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor scale(const Tensor& a, double s) {
  Tensor c = backend_of(a).scale(a, s);
  if (Tape::recording({&a})) {
    Tape::current()->record({c}, [a = a, c, s]() mutable { a.accumulate_grad(backend_of(c).scale(c.grad(), s)); });
  }
  return c;
}

}  // namespace cytocon::ops
