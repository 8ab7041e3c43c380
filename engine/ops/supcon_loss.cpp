// Supervised contrastive loss (docs/design.md eqs. 1–2; docs/math.md "SupCon"), computed on the whole
// (already gathered) batch; its gradient needs no reduction across ranks.
#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

Tensor supcon_loss(const Tensor& z, const Tensor& labels, double tau) {
  check(labels.defined() && labels.device() == z.device(), "supcon_loss: labels must be on the device of z");
  Tensor loss = backend_of(z).supcon_loss_forward(z, labels, tau);
  if (Tape::recording({&z})) {
    Tape::current()->record({loss}, [z = z, labels = labels, tau, gz = z.grad_ref(), gloss = loss.grad_ref()]() mutable {
      const double dloss = gloss.grad().to(Device::cpu).to(DType::f64).data<double>()[0];
      gz.accumulate(backend_of(z).supcon_loss_backward(z, labels, tau, dloss));
    });
  }
  return loss;
}

}  // namespace cytocon::ops
