// c = s·a; da = s·dc.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor scale(const Tensor& a, double s) {
  Tensor c = backend_of(a).scale(a, s);
  if (Tape::recording({&a})) {
    Tape::current()->record({c}, [ga = a.grad_ref(), gc = c.grad_ref(), s]() mutable {
      const Tensor& dc = gc.grad();
      ga.accumulate(backend_of(dc).scale(dc, s));
    });
  }
  return c;
}

}  // namespace cytocon::ops
