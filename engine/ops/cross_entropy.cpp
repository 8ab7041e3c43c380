// Softmax cross-entropy, mean over the global batch (sh.global_n).
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const Shards& sh) {
  check(labels.defined() && labels.device() == logits.device(),
        "cross_entropy: labels must be on the device of the logits");
  Tensor loss = backend_of(logits).cross_entropy_forward(logits, labels, sh);
  if (Tape::recording({&logits})) {
    Tape::current()->record({loss}, [logits = logits, labels = labels, sh, gl = logits.grad_ref(),
                                     gloss = loss.grad_ref()]() mutable {
      const double dloss = gloss.grad().to(Device::cpu).to(DType::f64).data<double>()[0];
      gl.accumulate(backend_of(logits).cross_entropy_backward(logits, labels, sh, dloss));
    });
  }
  return loss;
}

}  // namespace cytocon::ops
