// Elementwise ops with autograd:
//   add:   c = a + b;  dc flows unchanged to both inputs.
//   scale: c = s·a;    da = s·dc.
//   cast:  y = x in storage type dt;  dx = dy converted back to x's type.
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

Tensor cast(const Tensor& x, DType dt) {
  if (x.dtype() == dt) return x;
  Tensor y = backend_of(x).cast(x, dt);
  if (Tape::recording({&x})) {
    Tape::current()->record({y}, [from = x.dtype(), gx = x.grad_ref(), gy = y.grad_ref()]() mutable {
      gx.accumulate(backend_of(gy.grad()).cast(gy.grad(), from));
    });
  }
  return y;
}

}  // namespace cytocon::ops
