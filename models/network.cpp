#include "models/network.h"

#include <cmath>

#include "engine/ops.h"
#include "engine/rng.h"

namespace cytocon::models {

uint32_t fnv1a32(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

// ---- Module ----------------------------------------------------------------

void Module::add_param(const std::string& name, const Shape& shape, DType dt, bool lars_adapt) {
  Tensor t = Tensor::zeros(shape, dt);
  t.set_requires_grad(true);
  params_.push_back({name, t, lars_adapt});
}

void Module::add_buffer(const std::string& name, const Shape& shape, DType dt) {
  buffers_.push_back({name, Tensor::zeros(shape, dt)});
}

namespace {

// He-normal (kaiming_normal_, fan_in, gain √2) for a conv weight OHWI [O,k,k,I] or a linear
// weight [out,in]; element i counted in PyTorch layout (OIHW / [out,in]) order.
Tensor he_normal(const std::string& name, const Shape& shape, uint64_t seed) {
  const Rng rng(seed, Purpose::init_weights, fnv1a32(name));
  Tensor t = Tensor::empty(shape, DType::f64);
  double* out = t.data<double>();
  if (shape.size() == 4) {
    const int64_t O = shape[0], K = shape[1], K2 = shape[2], I = shape[3];
    const double sd = std::sqrt(2.0 / static_cast<double>(I * K * K2));
    uint32_t i = 0;
    for (int64_t o = 0; o < O; ++o)
      for (int64_t c = 0; c < I; ++c)
        for (int64_t p = 0; p < K; ++p)
          for (int64_t q = 0; q < K2; ++q) out[((o * K + p) * K2 + q) * I + c] = sd * rng.normal(i++);
  } else {
    check(shape.size() == 2, "he_normal: '" + name + "' must be 2-D or 4-D, is " + shape_str(shape));
    const double sd = std::sqrt(2.0 / static_cast<double>(shape[1]));
    for (int64_t i = 0; i < shape[0] * shape[1]; ++i) out[i] = sd * rng.normal(static_cast<uint32_t>(i));
  }
  return t;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void fill_from(Tensor& dst, const Tensor& host_f64) { dst.copy_from(host_f64.to(dst.dtype())); }

}  // namespace

void Module::init(uint64_t seed) {
  for (auto& p : params_) {
    Tensor v;
    if (p.lars_adapt)
      v = he_normal(p.name, p.value.shape(), seed);
    else  // BN γ = 1; BN β and linear biases = 0
      v = Tensor::full(p.value.shape(), ends_with(p.name, ".weight") ? 1.0 : 0.0, DType::f64);
    fill_from(p.value, v);
  }
  for (auto& b : buffers_)  // running mean 0, running var 1
    fill_from(b.value, Tensor::full(b.value.shape(), ends_with(b.name, "running_var") ? 1.0 : 0.0, DType::f64));
}

void Module::to(Device d) {
  for (auto& p : params_) {
    if (p.value.device() == d) continue;
    bool rg = p.value.requires_grad();
    p.value = p.value.to(d);
    p.value.set_requires_grad(rg);
  }
  for (auto& b : buffers_) b.value = b.value.to(d);
}

void Module::set_trainable(bool trainable) {
  for (auto& p : params_) p.value.set_requires_grad(trainable);
}

// ---- Encoder ---------------------------------------------------------------
// Per block b: params conv1.weight, bn1.weight, bn1.bias, conv2.weight, bn2.weight, bn2.bias
// (index 6(b−1) + 3(c−1) + {0,1,2}); buffers bn{c}.running_mean, running_var (4(b−1) + 2(c−1) + {0,1}).

Encoder::Encoder(const Preset& preset, DType dtype) : preset_(preset), dtype_(dtype) {
  int cin = 1;
  for (int b = 1; b <= preset.blocks; ++b) {
    const int w = preset.widths[b - 1];
    for (int c = 1; c <= 2; ++c) {
      const int k = (b == 1 && c == 1) ? 5 : 3;
      const std::string pre = "encoder.block" + std::to_string(b) + ".";
      const std::string bn = pre + "bn" + std::to_string(c) + ".";
      add_param(pre + "conv" + std::to_string(c) + ".weight", {w, k, k, cin}, dtype, true);
      add_param(bn + "weight", {w}, dtype, false);
      add_param(bn + "bias", {w}, dtype, false);
      add_buffer(bn + "running_mean", {w}, dtype);
      add_buffer(bn + "running_var", {w}, dtype);
      cin = w;
    }
  }
}

Tensor Encoder::forward(const Tensor& x, bool training, const Shards& sh) {
  check(x.defined() && x.ndim() == 4 && x.dim(3) == 1 && x.dim(1) == x.dim(2),
        "encoder input: expected NHWC [N,S,S,1], got " + (x.defined() ? shape_str(x.shape()) : std::string("undefined")));
  check_input_size(preset_, x.dim(1));
  check_dtype(x, dtype_, "encoder input");
  ops::BatchNormArgs bn;
  bn.training = training;
  bn.momentum = kBnMomentum;
  bn.eps = kBnEps;
  Tensor a = x;
  for (int b = 0; b < preset_.blocks; ++b) {
    for (int c = 0; c < 2; ++c) {
      const size_t p = 6 * b + 3 * c, q = 4 * b + 2 * c;
      const int stride = (b == 0 && c == 0) ? 4 : 1;
      a = ops::conv2d(a, params_[p].value, stride, sh);
      a = ops::batch_norm_relu(a, params_[p + 1].value, params_[p + 2].value, buffers_[q].value,
                               buffers_[q + 1].value, bn, sh);  // ReLU(BN(·)), fused
    }
    if (b + 1 < preset_.blocks) a = ops::max_pool2d(a);
  }
  check(a.dim(1) == 1 && a.dim(2) == 1, "encoder: output is " + shape_str(a.shape()) + ", expected [N,1,1,C]");
  return ops::cast(ops::flatten(a), dtype_);  // [N,1,1,128] → h [N,128]; bf16 activations → float32
}

// ---- projection head g -----------------------------------------------------

ProjectionHead::ProjectionHead(int dim, DType dtype) {
  add_param("projection.fc1.weight", {dim, dim}, dtype, true);
  add_param("projection.bn.weight", {dim}, dtype, false);
  add_param("projection.bn.bias", {dim}, dtype, false);
  add_param("projection.fc2.weight", {dim, dim}, dtype, true);
  add_param("projection.fc2.bias", {dim}, dtype, false);
  add_buffer("projection.bn.running_mean", {dim}, dtype);
  add_buffer("projection.bn.running_var", {dim}, dtype);
}

Tensor ProjectionHead::forward(const Tensor& h, bool training, const Shards& sh) {
  ops::BatchNormArgs bn;
  bn.training = training;
  bn.momentum = kBnMomentum;
  bn.eps = kBnEps;
  Tensor a = ops::linear(h, params_[0].value, Tensor(), sh);
  a = ops::batch_norm_relu(a, params_[1].value, params_[2].value, buffers_[0].value, buffers_[1].value, bn, sh);
  a = ops::linear(a, params_[3].value, params_[4].value, sh);
  return ops::l2_normalize(a);  // z = g(h)/‖g(h)‖₂
}

// ---- classifier ------------------------------------------------------------

Classifier::Classifier(int in_dim, int num_classes, DType dtype) : num_classes_(num_classes) {
  check(num_classes > 0, "classifier: number of classes must be positive, got " + std::to_string(num_classes));
  add_param("classifier.weight", {num_classes, in_dim}, dtype, true);
  add_param("classifier.bias", {num_classes}, dtype, false);
}

Tensor Classifier::forward(const Tensor& h, const Shards& sh) {
  return ops::linear(h, params_[0].value, params_[1].value, sh);
}

// ---- network ---------------------------------------------------------------

Network::Network(const NetworkConfig& cfg) : cfg_(cfg), encoder_(preset_by_name(cfg.preset), cfg.dtype) {
  check(cfg.dtype == DType::f32 || cfg.dtype == DType::f64,
        std::string("network dtype ") + dtype_name(cfg.dtype) + ": expected float32 or float64");
  const int d = encoder_.preset().feature_dim();
  if (cfg.projection) projection_ = std::make_unique<ProjectionHead>(d, cfg.dtype);
  if (cfg.num_classes > 0) classifier_ = std::make_unique<Classifier>(d, cfg.num_classes, cfg.dtype);
}

void Network::init(uint64_t seed) {
  encoder_.init(seed);
  if (projection_) projection_->init(seed);
  if (classifier_) classifier_->init(seed);
}

void Network::to(Device d) {
  encoder_.to(d);
  if (projection_) projection_->to(d);
  if (classifier_) classifier_->to(d);
  device_ = d;
}

Tensor Network::project(const Tensor& h, bool training, const Shards& sh) {
  check(projection_ != nullptr, "network has no projection head (NetworkConfig::projection = false)");
  return projection_->forward(h, training, sh);
}

Tensor Network::classify(const Tensor& h, const Shards& sh) {
  check(classifier_ != nullptr, "network has no classifier (NetworkConfig::num_classes = 0)");
  return classifier_->forward(h, sh);
}

void Network::set_encoder_frozen(bool frozen) {
  encoder_.set_trainable(!frozen);
  encoder_frozen_ = frozen;
}

std::vector<Param> Network::params() const {
  std::vector<Param> out = encoder_.params();
  if (projection_) out.insert(out.end(), projection_->params().begin(), projection_->params().end());
  if (classifier_) out.insert(out.end(), classifier_->params().begin(), classifier_->params().end());
  return out;
}

std::vector<Param> Network::trainable_params() const {
  std::vector<Param> out;
  if (!encoder_frozen_) out = encoder_.params();
  if (projection_) out.insert(out.end(), projection_->params().begin(), projection_->params().end());
  if (classifier_) out.insert(out.end(), classifier_->params().begin(), classifier_->params().end());
  return out;
}

std::vector<Buffer> Network::buffers() const {
  std::vector<Buffer> out = encoder_.buffers();
  if (projection_) out.insert(out.end(), projection_->buffers().begin(), projection_->buffers().end());
  return out;
}

Tensor* Network::find(const std::string& name) {
  Module* mods[3] = {&encoder_, projection_.get(), classifier_.get()};
  for (Module* m : mods) {
    if (!m) continue;
    for (auto& p : m->params())
      if (p.name == name) return &p.value;
    for (auto& b : m->buffers())
      if (b.name == name) return &b.value;
  }
  return nullptr;
}

}  // namespace cytocon::models
