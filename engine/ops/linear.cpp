// y = x·wᵀ + b. Backward: dx when x needs it; dw, db as global sums (per-shard partials).
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, const Shards& sh) {
  check(x.device() == w.device() && (!b.defined() || b.device() == x.device()),
        "linear: inputs on different devices");
  Tensor y = backend_of(x).linear_forward(x, w, b);
  if (Tape::recording({&x, &w, &b})) {
    Tape::current()->record({y}, [x = x, w = w, b = b, y, sh]() mutable {
      Backend& be = backend_of(y);
      const bool bias = b.defined() && b.requires_grad();
      if (w.requires_grad() || bias) {
        Tensor dw, db;
        be.linear_backward_weight(x, y.grad(), bias, sh, dw, db);
        if (w.requires_grad()) w.accumulate_grad(dw);
        if (bias) b.accumulate_grad(db);
      }
      if (x.requires_grad()) x.accumulate_grad(be.linear_backward_data(y.grad(), w));
    });
  }
  return y;
}

}  // namespace cytocon::ops
