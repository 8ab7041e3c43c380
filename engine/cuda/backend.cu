// CudaBackend: the engine/backend.h interface on the GPU; each method forwards to the kernel
// family in this directory (kernels.h). Created on first use of Device::cuda (engine/backend.cpp).
#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace cytocon {
namespace {

class CudaBackend final : public Backend {
 public:
  Device device() const override { return Device::cuda; }
  Tensor add(const Tensor& a, const Tensor& b) override { return cuda::add(a, b); }
  Tensor scale(const Tensor& a, double s) override { return cuda::scale(a, s); }
  Tensor convert(const Tensor& x, DType dt) override { return cuda::convert(x, dt); }
  Tensor conv2d_forward(const Tensor& x, const Tensor& w, int stride) override {
    return cuda::conv2d_forward(x, w, stride);
  }
  Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride) override {
    return cuda::conv2d_backward_data(dy, w, x_shape, stride);
  }
  Tensor conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride,
                                const Shards& sh) override {
    return cuda::conv2d_backward_weight(x, dy, w_shape, stride, sh);
  }
  void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd,
                                Tensor& var_unbiased) override {
    cuda::batch_norm_forward_train(x, gamma, beta, eps, sh, y, mean, invstd, var_unbiased);
  }
  Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, double eps) override {
    return cuda::batch_norm_forward_infer(x, gamma, beta, running_mean, running_var, eps);
  }
  void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                           const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma,
                           Tensor& dbeta) override {
    cuda::batch_norm_backward(dy, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
  }
  void batch_norm_relu_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                     const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd,
                                     Tensor& var_unbiased) override {
    cuda::batch_norm_relu_forward_train(x, gamma, beta, eps, sh, y, mean, invstd, var_unbiased);
  }
  Tensor batch_norm_relu_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                       const Tensor& running_mean, const Tensor& running_var, double eps) override {
    return cuda::batch_norm_relu_forward_infer(x, gamma, beta, running_mean, running_var, eps);
  }
  void batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                                const Tensor& mean, const Tensor& invstd, const Shards& sh, Tensor& dx,
                                Tensor& dgamma, Tensor& dbeta) override {
    cuda::batch_norm_relu_backward(dy, y, x, gamma, mean, invstd, sh, dx, dgamma, dbeta);
  }
  void update_running(Tensor& running, const Tensor& batch, double momentum) override {
    cuda::update_running(running, batch, momentum);
  }
  Tensor relu_forward(const Tensor& x) override { return cuda::relu_forward(x); }
  Tensor relu_backward(const Tensor& dy, const Tensor& y) override { return cuda::relu_backward(dy, y); }
  Tensor max_pool_forward(const Tensor& x) override { return cuda::max_pool_forward(x); }
  Tensor max_pool_backward(const Tensor& dy, const Tensor& x) override { return cuda::max_pool_backward(dy, x); }
  Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) override {
    return cuda::linear_forward(x, w, b);
  }
  Tensor linear_backward_data(const Tensor& dy, const Tensor& w) override { return cuda::linear_backward_data(dy, w); }
  void linear_backward_weight(const Tensor& x, const Tensor& dy, bool with_bias, const Shards& sh, Tensor& dw,
                              Tensor& db) override {
    cuda::linear_backward_weight(x, dy, with_bias, sh, dw, db);
  }
  Tensor l2_normalize_forward(const Tensor& x, double eps) override { return cuda::l2_normalize_forward(x, eps); }
  Tensor l2_normalize_backward(const Tensor& dz, const Tensor& x, const Tensor& z, double eps) override {
    return cuda::l2_normalize_backward(dz, x, z, eps);
  }
  Tensor supcon_forward(const Tensor& z, const Tensor& labels, double tau) override {
    return cuda::supcon_forward(z, labels, tau);
  }
  Tensor supcon_backward(const Tensor& z, const Tensor& labels, double tau, double dloss) override {
    return cuda::supcon_backward(z, labels, tau, dloss);
  }
  Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh) override {
    return cuda::cross_entropy_forward(logits, labels, sh);
  }
  Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Shards& sh,
                                double dloss) override {
    return cuda::cross_entropy_backward(logits, labels, sh, dloss);
  }
  void lars_step(Tensor& w, const Tensor& g, Tensor& v, const LarsArgs& a) override { cuda::lars_step(w, g, v, a); }
  void sgd_step(Tensor& w, const Tensor& g, Tensor& v, double lr, double momentum, double weight_decay) override {
    cuda::sgd_step(w, g, v, lr, momentum, weight_decay);
  }
  Tensor topk(const Tensor& scores, int k) override { return cuda::topk(scores, k); }
  int64_t first_non_finite(const std::vector<Tensor>& ts) override { return cuda::first_non_finite(ts); }
};

}  // namespace

Backend* cuda_backend() {
  if (!cuda_device_usable()) return nullptr;
  static CudaBackend* b = [] {
    cuda::install_memory();
    (void)cuda::stream();  // create the context and stream now, not inside the first op
    auto* be = new CudaBackend;  // lives for the process: tensors may be freed after static destructors
    register_backend(Device::cuda, be);
    return be;
  }();
  return b;
}

}  // namespace cytocon
