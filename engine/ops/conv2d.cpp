// Valid convolution without bias. Backward: dx (only when x needs it: never for the input image)
// and the global weight gradient (per-shard partials combined by the backend).
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor conv2d(const Tensor& x, const Tensor& w, int stride, const Shards& sh) {
  check(x.device() == w.device(), "conv2d: input and weight on different devices");
  Backend& be = backend_of(x);
  Tensor y = be.conv2d_forward(x, w, stride);
  if (Tape::recording({&x, &w})) {
    Tape::current()->record({y}, [x = x, w = w, stride, sh, gx = x.grad_ref(), gw = w.grad_ref(),
                                  gy = y.grad_ref()]() mutable {
      Backend& b = backend_of(x);
      if (gw.requires_grad()) gw.accumulate(b.conv2d_backward_weight(x, gy.grad(), w.shape(), stride, sh));
      if (gx.requires_grad()) gx.accumulate(b.conv2d_backward_data(gy.grad(), w, x.shape(), stride));
    });
  }
  return y;
}

}  // namespace cytocon::ops
