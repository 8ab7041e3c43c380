// BatchNorm over every dim but the last (docs/math.md "BatchNorm").
// Training: global batch statistics; running statistics updated here (eq. BN-2).
// Inference: running statistics. It still records a backward when an input requires grad, with
// the statistics frozen (eq. BN-6): dx = dy·γ/sqrt(rv+ε), dγ = Σ dy·x̂, dβ = Σ dy. It is built
// from existing kernels: dx is the inference normalisation applied to dy with β = 0, μ = 0, and
// dγ, dβ are the global sums of batch_norm_backward evaluated at the running mean/invstd.
// batch_norm_relu is the same op with max(0, ·) fused into the output (docs/math.md "BatchNorm +
// ReLU"): backward masks dy with [y > 0] inside the BN backward (training; eq. BNR-1), or
// materialises dz = relu_backward(dy, y) first (inference mode with a tape, a rare path).
#include <cmath>
#include <string>

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
             const BatchNormArgs& args, const Shards& sh, bool relu) {
  Backend& be = backend_of(x);
  Tensor y, mean, invstd, var_unbiased;
  if (relu)
    be.batch_norm_relu_forward_train(x, gamma, beta, args.eps, sh, y, mean, invstd, var_unbiased);
  else
    be.batch_norm_forward_train(x, gamma, beta, args.eps, sh, y, mean, invstd, var_unbiased);
  be.update_running(running_mean, mean, args.momentum);
  be.update_running(running_var, var_unbiased, args.momentum);
  if (Tape::recording({&x, &gamma, &beta})) {
    // The fused op keeps y (an undefined Tensor otherwise) for the mask [y > 0].
    Tape::current()->record({y}, [x = x, y_kept = relu ? y : Tensor(), gamma = gamma, mean, invstd, sh,
                                  gx = x.grad_ref(), ggamma = gamma.grad_ref(), gbeta = beta.grad_ref(),
                                  gy = y.grad_ref()]() mutable {
      Tensor dx, dgamma, dbeta;
      if (y_kept.defined())
        backend_of(x).batch_norm_relu_backward(gy.grad(), y_kept, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
      else
        backend_of(x).batch_norm_backward(gy.grad(), x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
      if (ggamma.requires_grad()) ggamma.accumulate(dgamma);
      if (gbeta.requires_grad()) gbeta.accumulate(dbeta);
      if (gx.requires_grad()) gx.accumulate(dx);
    });
  }
  return y;
}

Tensor infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
             const Tensor& running_var, const BatchNormArgs& args, const Shards& sh, bool relu) {
  Backend& fwd = backend_of(x);
  Tensor y = relu ? fwd.batch_norm_relu_forward_infer(x, gamma, beta, running_mean, running_var, args.eps)
                  : fwd.batch_norm_forward_infer(x, gamma, beta, running_mean, running_var, args.eps);
  if (Tape::recording({&x, &gamma, &beta})) {
    // Snapshots: the running statistics may be updated in place before backward runs.
    Tensor rm = running_mean.clone(), rv = running_var.clone();
    const double eps = args.eps;
    Tape::current()->record({y}, [x = x, y_kept = relu ? y : Tensor(), gamma = gamma, rm, rv, eps, sh,
                                  gx = x.grad_ref(), ggamma = gamma.grad_ref(), gbeta = beta.grad_ref(),
                                  gy = y.grad_ref()]() mutable {
      Backend& be = backend_of(x);
      const Tensor dy = y_kept.defined() ? be.relu_backward(gy.grad(), y_kept) : gy.grad();
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

Tensor run(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean, Tensor& running_var,
           const BatchNormArgs& args, const Shards& sh, bool relu) {
  check(args.eps > 0, std::string(relu ? "batch_norm_relu" : "batch_norm") + ": eps must be > 0");
  return args.training ? train(x, gamma, beta, running_mean, running_var, args, sh, relu)
                       : infer(x, gamma, beta, running_mean, running_var, args, sh, relu);
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                  Tensor& running_var, const BatchNormArgs& args, const Shards& sh) {
  return run(x, gamma, beta, running_mean, running_var, args, sh, false);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                       Tensor& running_var, const BatchNormArgs& args, const Shards& sh) {
  return run(x, gamma, beta, running_mean, running_var, args, sh, true);
}

}  // namespace cytocon::ops
