// The argument checks of the Backend ops (engine/backend.h), written once for both backends: the
// forwarding table they share (engine/backend_table.inc) calls the op's check, with the backend's
// device, before the kernel. One function per Backend method, named as it (the forward and
// backward of supcon_loss and of cross_entropy share one, as lars_step and sgd_step share
// optim_step, and the fused BatchNorm + ReLU forwards take the plain ones'). They check what the
// op's contract fixes: defined, on device `d`, rank, shapes, value ranges, int32 labels, and equal
// element types where both backends require them. The element types a backend computes in are its
// own and checked by its kernels (CPU: float32 or float64, all arguments alike; CUDA: float32
// parameters, float32 or bfloat16 activations), as are a backend's layout limits (CUDA BatchNorm:
// [N,C] or NHWC).
#pragma once
#include <vector>

#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::op_checks {

void add(Device d, const Tensor& a, const Tensor& b);
void scale(Device d, const Tensor& a);
void cast(Device d, const Tensor& x);

void conv2d_forward(Device d, const Tensor& x, const Tensor& w, int stride);
void conv2d_backward_data(Device d, const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride);
void conv2d_backward_weight(Device d, const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride);

void batch_norm_forward_train(Device d, const Tensor& x, const Tensor& gamma, const Tensor& beta);
void batch_norm_forward_infer(Device d, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean, const Tensor& running_var);
void batch_norm_backward(Device d, const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& invstd);
// y: the fused BN+ReLU output. (The fused forward takes the checks of the plain one.)
void batch_norm_relu_backward(Device d, const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& invstd);
void update_running(Device d, const Tensor& running, const Tensor& batch);

void relu_forward(Device d, const Tensor& x);
void relu_backward(Device d, const Tensor& dy, const Tensor& y);

void max_pool2d_forward(Device d, const Tensor& x);
void max_pool2d_backward(Device d, const Tensor& dy, const Tensor& x);

void linear_forward(Device d, const Tensor& x, const Tensor& w, const Tensor& b);
void linear_backward_data(Device d, const Tensor& dy, const Tensor& w);
void linear_backward_weight(Device d, const Tensor& x, const Tensor& dy);

void l2_normalize_forward(Device d, const Tensor& x);
void l2_normalize_backward(Device d, const Tensor& dz, const Tensor& x, const Tensor& z);

void supcon_loss(Device d, const Tensor& z, const Tensor& labels, double tau);
// Also every label in [0, C) (read on the host).
void cross_entropy(Device d, const Tensor& logits, const Tensor& labels);

// lars_step and sgd_step: w, its gradient g and momentum buffer v.
void optim_step(Device d, const Tensor& w, const Tensor& g, const Tensor& v, const char* op);

void topk(Device d, const Tensor& scores, int k);
void first_non_finite(Device d, const std::vector<Tensor>& ts);

}  // namespace cytocon::op_checks
