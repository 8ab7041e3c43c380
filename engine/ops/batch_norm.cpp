// BatchNorm over every dim but the last (docs/math.md "BatchNorm").
// Training: global batch statistics; running statistics updated here (eq. BN-2).
// Inference: running statistics. It still records a backward when an input requires grad, with
// the statistics frozen (eq. BN-6): dx = dy·γ/sqrt(rv+ε), dγ = Σ dy·x̂, dβ = Σ dy. It is built
// from existing kernels: dx is the inference normalisation applied to dy with β = 0, μ = 0, and
// dγ, dβ are the global sums of batch_norm_backward evaluated at the running mean/invstd.
#include <cmath>

#include "engine/ops.h"
#include "engine/tape.h"

namespace cytocon::ops {

namespace {

Tensor frozen_invstd(const Tensor& running_var, double eps) {
  Tensor v = running_var.to(Device::cpu).to(DType::f64);
  Tensor is = Tensor::empty(v.shape(), DType::f64);
  for (int64_t c = 0; c < v.numel(); ++c) is.data<double>()[c] = 1.0 / std::sqrt(v.data<double>()[c] + eps);
  return is.to(running_var.dtype()).to(running_var.device());
}

Tensor train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean, Tensor& running_var,
             const BatchNormArgs& args, const Shards& sh) {
  Backend& be = backend_of(x);
  Tensor y, mean, invstd, var_unbiased;
  be.batch_norm_forward_train(x, gamma, beta, args.eps, sh, y, mean, invstd, var_unbiased);
  be.update_running(running_mean, mean, args.momentum);
  be.update_running(running_var, var_unbiased, args.momentum);
  if (Tape::recording({&x, &gamma, &beta})) {
    Tape::current()->record({y}, [x = x, gamma = gamma, mean, invstd, sh, gx = x.grad_ref(), ggamma = gamma.grad_ref(),
                                  gbeta = beta.grad_ref(), gy = y.grad_ref()]() mutable {
      Tensor dx, dgamma, dbeta;
      backend_of(x).batch_norm_backward(gy.grad(), x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
      if (ggamma.requires_grad()) ggamma.accumulate(dgamma);
      if (gbeta.requires_grad()) gbeta.accumulate(dbeta);
      if (gx.requires_grad()) gx.accumulate(dx);
    });
  }
  return y;
}

Tensor infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
             const Tensor& running_var, const BatchNormArgs& args, const Shards& sh) {
  Tensor y = backend_of(x).batch_norm_forward_infer(x, gamma, beta, running_mean, running_var, args.eps);
  if (Tape::recording({&x, &gamma, &beta})) {
    // Snapshots: the running statistics may be updated in place before backward runs.
    Tensor rm = running_mean.clone(), rv = running_var.clone();
    const double eps = args.eps;
    Tape::current()->record({y}, [x = x, gamma = gamma, rm, rv, eps, sh, gx = x.grad_ref(), ggamma = gamma.grad_ref(),
                                  gbeta = beta.grad_ref(), gy = y.grad_ref()]() mutable {
      Backend& be = backend_of(x);
      const Tensor& dy = gy.grad();
      if (ggamma.requires_grad() || gbeta.requires_grad()) {
        Tensor unused_dx, dgamma, dbeta;
        be.batch_norm_backward(dy, x, gamma, rm, frozen_invstd(rv, eps), sh, unused_dx, dgamma, dbeta);
        if (ggamma.requires_grad()) ggamma.accumulate(dgamma);
        if (gbeta.requires_grad()) gbeta.accumulate(dbeta);
      }
      if (gx.requires_grad()) {
        Tensor zero = Tensor::zeros(rm.shape(), rm.dtype(), rm.device());
        gx.accumulate(be.batch_norm_forward_infer(dy, gamma, zero, zero, rv, eps));
      }
    });
  }
  return y;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, const BatchNormArgs& args, const Shards& sh) {
  check(args.eps > 0, "batch_norm: eps must be > 0");
  return args.training ? train(x, gamma, beta, running_mean, running_var, args, sh)
                       : infer(x, gamma, beta, running_mean, running_var, args, sh);
}

}  // namespace cytocon::ops
