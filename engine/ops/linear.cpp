// y = x·wᵀ + b. Backward: dx when x needs it; dw, db as global sums (per-shard partials).
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, const Shards& sh) {
  check(x.device() == w.device() && (!b.defined() || b.device() == x.device()),
        "linear: inputs on different devices");
  Tensor y = backend_of(x).linear_forward(x, w, b);
  if (Tape::recording({&x, &w, &b})) {
    Tape::current()->record({y}, [x = x, w = w, sh, gx = x.grad_ref(), gw = w.grad_ref(), gb = b.grad_ref(),
                                  gy = y.grad_ref()]() mutable {
      Backend& be = backend_of(x);
      const bool bias = gb.requires_grad();
      if (gw.requires_grad() || bias) {
        Tensor dw, db;
        be.linear_backward_weight(x, gy.grad(), bias, sh, dw, db);
        if (gw.requires_grad()) gw.accumulate(dw);
        if (bias) gb.accumulate(db);
      }
      if (gx.requires_grad()) gx.accumulate(be.linear_backward_data(gy.grad(), w));
    });
  }
  return y;
}

}  // namespace cytocon::ops
