// The CUDA backend's kernels as host functions on whole tensors (one .cu file per op family).
// Semantics are those of engine/backend.h; CudaBackend (backend.cu) only forwards to these.
#pragma once
#include "engine/backend.h"
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::cuda {

void install_memory();   // allocator.cu: registers the caching allocator and the copy
void clear_conv_plans();  // conv.cu: forget chosen algorithms (mode change)

// elementwise.cu
Tensor add(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, double s);
Tensor convert(const Tensor& x, DType dt);
Tensor relu_forward(const Tensor& x);
Tensor relu_backward(const Tensor& dy, const Tensor& y);
void update_running(Tensor& running, const Tensor& batch, double momentum);

// pool.cu
Tensor max_pool_forward(const Tensor& x);
Tensor max_pool_backward(const Tensor& dy, const Tensor& x);

// conv.cu (cuDNN) and conv_direct.cu (one input channel)
Tensor conv2d_forward(const Tensor& x, const Tensor& w, int stride);
Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride);
Tensor conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride,
                              const Shards& sh);

// batch_norm.cu
void batch_norm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                              const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased);
Tensor batch_norm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                const Tensor& running_mean, const Tensor& running_var, double eps);
void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma, Tensor& dbeta);
// BatchNorm + ReLU, fused (engine/backend.h)
void batch_norm_relu_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                                   const Shards& sh, Tensor& y, Tensor& mean, Tensor& invstd, Tensor& var_unbiased);
Tensor batch_norm_relu_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                     const Tensor& running_mean, const Tensor& running_var, double eps);
void batch_norm_relu_backward(const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& invstd, const Shards& sh, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta);

// linear.cu
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b);
Tensor linear_backward_data(const Tensor& dy, const Tensor& w);
void linear_backward_weight(const Tensor& x, const Tensor& dy, bool with_bias, const Shards& sh, Tensor& dw,
                            Tensor& db);

// normalize.cu
Tensor l2_normalize_forward(const Tensor& x, double eps);
Tensor l2_normalize_backward(const Tensor& dz, const Tensor& x, const Tensor& z, double eps);

// supcon.cu
Tensor supcon_forward(const Tensor& z, const Tensor& labels, double tau);
Tensor supcon_backward(const Tensor& z, const Tensor& labels, double tau, double dloss);

// cross_entropy.cu
Tensor cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Shards& sh);
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Shards& sh, double dloss);
Tensor topk(const Tensor& scores, int k);

// elementwise.cu
int64_t first_non_finite(const std::vector<Tensor>& ts);

// optim.cu
void lars_step(Tensor& w, const Tensor& g, Tensor& v, const Backend::LarsArgs& a);
void sgd_step(Tensor& w, const Tensor& g, Tensor& v, double lr, double momentum, double weight_decay);

}  // namespace cytocon::cuda
