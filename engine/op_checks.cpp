#include "engine/op_checks.h"

#include <string>

namespace cytocon::op_checks {

namespace {

void need(Device d, const Tensor& t, const char* op, const char* name) {
  check(t.defined(), std::string(op) + ": " + name + " is undefined");
  check(t.device() == d, std::string(op) + ": " + name + " is on device " + device_name(t.device()) + ", expected " +
                             device_name(d));
}
void need_rank(Device d, const Tensor& t, int rank, const char* op, const char* name) {
  need(d, t, op, name);
  check(t.ndim() == rank, std::string(op) + ": " + name + " has shape " + shape_str(t.shape()) + ", expected " +
                              std::to_string(rank) + "-D");
}
void need_shape(Device d, const Tensor& t, const Shape& s, const char* op, const char* name) {
  need(d, t, op, name);
  check(t.shape() == s, std::string(op) + ": " + name + " has shape " + shape_str(t.shape()) + ", expected " +
                            shape_str(s));
}
void same_dtype(const Tensor& a, const Tensor& b, const char* op, const char* name) {
  check(a.dtype() == b.dtype(), std::string(op) + ": " + name + " is " + dtype_name(b.dtype()) + ", expected " +
                                    dtype_name(a.dtype()) + " like the first input");
}
// int32 [n], every label in [0, classes) when classes > 0.
void need_labels(Device d, const Tensor& labels, int64_t n, int64_t classes, const char* op) {
  need(d, labels, op, "labels");
  check(labels.dtype() == DType::i32, std::string(op) + ": labels are " + dtype_name(labels.dtype()) +
                                          ", expected int32");
  need_shape(d, labels, {n}, op, "labels");
  if (classes <= 0) return;
  const Tensor host = labels.to(Device::cpu);
  const int32_t* y = host.data<int32_t>();
  for (int64_t s = 0; s < n; ++s)
    if (y[s] < 0 || y[s] >= classes)
      fail(std::string(op) + ": label " + std::to_string(y[s]) + " of sample " + std::to_string(s) +
           " is outside the " + std::to_string(classes) + " classes [0, " + std::to_string(classes) + ")");
}

// x NHWC [N,H,W,Cin], w OHWI [Cout,k,k,Cin]; returns the output shape [N,OH,OW,Cout].
Shape conv_output(const Shape& x, const Shape& w, int stride, const char* op) {
  check(x.size() == 4, std::string(op) + ": input shape " + shape_str(x) + ", expected NHWC [N,H,W,Cin]");
  check(w.size() == 4 && w[1] == w[2], std::string(op) + ": weight shape " + shape_str(w) +
                                           ", expected OHWI [Cout,k,k,Cin] with a square kernel");
  check(w[3] == x[3], std::string(op) + ": weight has " + std::to_string(w[3]) + " input channels, input has " +
                          std::to_string(x[3]));
  check(stride >= 1, std::string(op) + ": stride " + std::to_string(stride) + ", expected >= 1");
  check(x[1] >= w[1] && x[2] >= w[2], std::string(op) + ": input " + shape_str(x) + " is smaller than the " +
                                          std::to_string(w[1]) + "x" + std::to_string(w[2]) + " kernel");
  return {x[0], (x[1] - w[1]) / stride + 1, (x[2] - w[2]) / stride + 1, w[0]};
}

// BatchNorm's x: [N,...,C] with C ≥ 1; returns C.
int64_t bn_channels(Device d, const Tensor& x, const char* op) {
  need(d, x, op, "x");
  check(x.ndim() >= 2, std::string(op) + ": x has shape " + shape_str(x.shape()) + ", expected [N,...,C]");
  check(x.dim(-1) > 0, std::string(op) + ": x has shape " + shape_str(x.shape()) + ", expected at least one channel");
  return x.dim(-1);
}

}  // namespace

void add(Device d, const Tensor& a, const Tensor& b) {
  need(d, a, "add", "a");
  need_shape(d, b, a.shape(), "add", "b");
  same_dtype(a, b, "add", "b");
}
void scale(Device d, const Tensor& a) { need(d, a, "scale", "a"); }
void cast(Device d, const Tensor& x) { need(d, x, "cast", "x"); }

void conv2d_forward(Device d, const Tensor& x, const Tensor& w, int stride) {
  need(d, x, "conv2d", "x");
  need(d, w, "conv2d", "w");
  conv_output(x.shape(), w.shape(), stride, "conv2d");
}
void conv2d_backward_data(Device d, const Tensor& dy, const Tensor& w, const Shape& x_shape, int stride) {
  need(d, dy, "conv2d backward", "dy");
  need(d, w, "conv2d backward", "w");
  need_shape(d, dy, conv_output(x_shape, w.shape(), stride, "conv2d backward"), "conv2d backward", "dy");
}
void conv2d_backward_weight(Device d, const Tensor& x, const Tensor& dy, const Shape& w_shape, int stride) {
  need(d, x, "conv2d weight gradient", "x");
  need(d, dy, "conv2d weight gradient", "dy");
  need_shape(d, dy, conv_output(x.shape(), w_shape, stride, "conv2d weight gradient"), "conv2d weight gradient",
             "dy");
}

void batch_norm_forward_train(Device d, const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  const int64_t c = bn_channels(d, x, "batch_norm");
  need_shape(d, gamma, {c}, "batch_norm", "gamma");
  need_shape(d, beta, {c}, "batch_norm", "beta");
}
void batch_norm_forward_infer(Device d, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean, const Tensor& running_var) {
  const char* op = "batch_norm (inference)";
  const int64_t c = bn_channels(d, x, op);
  need_shape(d, gamma, {c}, op, "gamma");
  need_shape(d, beta, {c}, op, "beta");
  need_shape(d, running_mean, {c}, op, "running_mean");
  need_shape(d, running_var, {c}, op, "running_var");
}
void batch_norm_backward(Device d, const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& invstd) {
  const char* op = "batch_norm backward";
  const int64_t c = bn_channels(d, x, op);
  need_shape(d, dy, x.shape(), op, "dy");
  same_dtype(x, dy, op, "dy");
  need_shape(d, gamma, {c}, op, "gamma");
  need_shape(d, mean, {c}, op, "mean");
  need_shape(d, invstd, {c}, op, "invstd");
}
void batch_norm_relu_backward(Device d, const Tensor& dy, const Tensor& y, const Tensor& x, const Tensor& gamma,
                              const Tensor& mean, const Tensor& invstd) {
  need_shape(d, y, x.shape(), "batch_norm_relu backward", "y");
  same_dtype(x, y, "batch_norm_relu backward", "y");
  batch_norm_backward(d, dy, x, gamma, mean, invstd);
}
void update_running(Device d, const Tensor& running, const Tensor& batch) {
  need(d, running, "update_running", "running");
  need_shape(d, batch, running.shape(), "update_running", "batch");
  same_dtype(running, batch, "update_running", "batch");
}

void relu_forward(Device d, const Tensor& x) { need(d, x, "relu", "x"); }
void relu_backward(Device d, const Tensor& dy, const Tensor& y) {
  need(d, y, "relu backward", "y");
  need_shape(d, dy, y.shape(), "relu backward", "dy");
  same_dtype(y, dy, "relu backward", "dy");
}

void max_pool2d_forward(Device d, const Tensor& x) { need_rank(d, x, 4, "max_pool2d", "x (NHWC)"); }
void max_pool2d_backward(Device d, const Tensor& dy, const Tensor& x) {
  need_rank(d, x, 4, "max_pool2d backward", "x (NHWC)");
  need_shape(d, dy, {x.dim(0), x.dim(1) / 2, x.dim(2) / 2, x.dim(3)}, "max_pool2d backward", "dy");
  same_dtype(x, dy, "max_pool2d backward", "dy");
}

void linear_forward(Device d, const Tensor& x, const Tensor& w, const Tensor& b) {
  need_rank(d, x, 2, "linear", "x");
  need_rank(d, w, 2, "linear", "w");
  same_dtype(x, w, "linear", "w");
  check(w.dim(1) == x.dim(1), "linear: w has shape " + shape_str(w.shape()) + ", expected [out," +
                                  std::to_string(x.dim(1)) + "] to match x " + shape_str(x.shape()));
  if (b.defined()) {
    need_shape(d, b, {w.dim(0)}, "linear", "b");
    same_dtype(x, b, "linear", "b");
  }
}
void linear_backward_data(Device d, const Tensor& dy, const Tensor& w) {
  need_rank(d, dy, 2, "linear backward", "dy");
  need_rank(d, w, 2, "linear backward", "w");
  same_dtype(dy, w, "linear backward", "w");
  check(dy.dim(1) == w.dim(0), "linear backward: dy " + shape_str(dy.shape()) + " does not match w " +
                                   shape_str(w.shape()));
}
void linear_backward_weight(Device d, const Tensor& x, const Tensor& dy) {
  need_rank(d, x, 2, "linear weight gradient", "x");
  need_rank(d, dy, 2, "linear weight gradient", "dy");
  same_dtype(x, dy, "linear weight gradient", "dy");
  check(dy.dim(0) == x.dim(0), "linear weight gradient: dy " + shape_str(dy.shape()) + " and x " +
                                   shape_str(x.shape()) + " differ in batch size");
}

void l2_normalize_forward(Device d, const Tensor& x) { need_rank(d, x, 2, "l2_normalize", "x"); }
void l2_normalize_backward(Device d, const Tensor& dz, const Tensor& x, const Tensor& z) {
  need_rank(d, x, 2, "l2_normalize backward", "x");
  need_shape(d, dz, x.shape(), "l2_normalize backward", "dz");
  need_shape(d, z, x.shape(), "l2_normalize backward", "z");
  same_dtype(x, dz, "l2_normalize backward", "dz");
  same_dtype(x, z, "l2_normalize backward", "z");
}

void supcon_loss(Device d, const Tensor& z, const Tensor& labels, double tau) {
  need_rank(d, z, 2, "supcon_loss", "z");
  check(z.dim(0) >= 1, "supcon_loss: empty batch");
  check(tau > 0, "supcon_loss: temperature " + std::to_string(tau) + ", expected > 0");
  need_labels(d, labels, z.dim(0), 0, "supcon_loss");
}
void cross_entropy(Device d, const Tensor& logits, const Tensor& labels) {
  need_rank(d, logits, 2, "cross_entropy", "logits");
  check(logits.dim(1) >= 1, "cross_entropy: logits have no classes");
  need_labels(d, labels, logits.dim(0), logits.dim(1), "cross_entropy");
}

void optim_step(Device d, const Tensor& w, const Tensor& g, const Tensor& v, const char* op) {
  need(d, w, op, "w");
  need_shape(d, g, w.shape(), op, "gradient");
  need_shape(d, v, w.shape(), op, "momentum buffer");
  same_dtype(w, g, op, "gradient");
  same_dtype(w, v, op, "momentum buffer");
}

void topk(Device d, const Tensor& scores, int k) {
  need_rank(d, scores, 2, "topk", "scores");
  check(k >= 1 && k <= scores.dim(1), "topk: k = " + std::to_string(k) + ", expected 1.." +
                                          std::to_string(scores.dim(1)) + " (the number of classes)");
}
void first_non_finite(Device d, const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) need(d, t, "first_non_finite", "tensor");
}

}  // namespace cytocon::op_checks
