// The networks of the method (docs/design.md; paper §2):
//   Encoder f:        B blocks of conv→BN→ReLU→conv→BN→ReLU (valid convs, no bias; the first
//                     conv 5×5 stride 4, others 3×3 stride 1), 2×2 max-pool after blocks 1..B-1,
//                     flatten 1×1×128 → h [N,128].
//   ProjectionHead g: fc1 (128→128, no bias) → BN1d → ReLU → fc2 (128→128, bias); z = g(h)/‖g(h)‖₂.
//   Classifier:       Linear 128→C with bias, on h (linear probe, "scratch" and "distance" baselines).
// Input x: NHWC [N,S,S,1] with S = preset.input_px (anything else fails naming the valid size),
// values in [0,1], dtype = the network's dtype (f32; f64 for gradient checks on the CPU).
// `training` selects BN mode: batch statistics of the GLOBAL batch (via `sh`) and running-stat
// update (momentum 0.1, ε = 1e-5), or running statistics (inference). Ops record on the current
// Tape (engine/tape.h) when a parameter or the input requires grad.
//
// Parameters/buffers (names exactly as docs/design.md), in this canonical order:
//   encoder.block{b}.conv{c}.weight                 OHWI [Cout,k,k,Cin]   lars_adapt
//   encoder.block{b}.bn{c}.weight / .bias           [C]                   not adapted
//   encoder.block{b}.bn{c}.running_mean / running_var   buffers
//   projection.fc1.weight [128,128]; projection.bn.{weight,bias} (+ running_* buffers);
//   projection.fc2.weight [128,128], projection.fc2.bias [128]; classifier.weight [C,128], .bias [C]
// for b = 1..B, c = 1..2, in the order conv1, bn1, conv2, bn2 per block.
//
// Initialisation (Network::init / init_params): conv and linear weights He-normal
// (kaiming_normal_, fan_in, gain √2: std = √(2/fan_in), fan_in = Cin·k·k or in_features), drawn
// from Philox-4x32-10 as Rng(seed, Purpose::init_weights, fnv1a32(name)).normal(i) for element i
// in PyTorch layout order (OIHW / [out,in]): a pure function of (seed, name), identical on every
// device and whichever heads a network has. Biases 0 (our choice; PyTorch would draw
// U(±1/√fan_in)), BN γ = 1, β = 0, running mean 0, running var 1.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/optim/param.h"
#include "engine/shards.h"
#include "engine/tensor.h"
#include "models/preset.h"

namespace cytocon::models {

constexpr double kBnMomentum = 0.1;
constexpr double kBnEps = 1e-5;

// A module's parameters and buffers (handles: copies share storage with the module).
class Module {
 public:
  virtual ~Module() = default;
  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  std::vector<Buffer>& buffers() { return buffers_; }
  const std::vector<Buffer>& buffers() const { return buffers_; }
  // He-normal / constant initialisation as described above, in place, on whatever device the
  // tensors live (values are generated on the host and copied).
  void init(uint64_t seed);
  // Move every tensor to device d (requires_grad kept). Optimisers must be built after this.
  void to(Device d);
  // requires_grad on/off for every parameter (frozen = false).
  void set_trainable(bool trainable);

 protected:
  void add_param(const std::string& name, const Shape& shape, DType dt, bool lars_adapt);
  void add_buffer(const std::string& name, const Shape& shape, DType dt);
  std::vector<Param> params_;
  std::vector<Buffer> buffers_;
};

class Encoder final : public Module {
 public:
  explicit Encoder(const Preset& preset, DType dtype = DType::f32);
  // x NHWC [N,S,S,1] → h [N,128].
  Tensor forward(const Tensor& x, bool training, const Shards& sh);
  const Preset& preset() const { return preset_; }

 private:
  Preset preset_;
  DType dtype_;
};

class ProjectionHead final : public Module {
 public:
  explicit ProjectionHead(int dim = 128, DType dtype = DType::f32);
  // h [N,128] → z [N,128], rows of unit length.
  Tensor forward(const Tensor& h, bool training, const Shards& sh);
};

class Classifier final : public Module {
 public:
  Classifier(int in_dim, int num_classes, DType dtype = DType::f32);
  // h [N,in] → logits [N,C].
  Tensor forward(const Tensor& h, const Shards& sh);
  int num_classes() const { return num_classes_; }

 private:
  int num_classes_;
};

struct NetworkConfig {
  std::string preset = "paper";  // "paper" | "tiny"
  bool projection = true;        // build the SupCon projection head g
  int num_classes = 0;           // > 0: build a classifier with this many classes
  DType dtype = DType::f32;
};

class Network {
 public:
  explicit Network(const NetworkConfig& cfg);
  void init(uint64_t seed);       // all modules (see top of file)
  void to(Device d);
  Device device() const { return device_; }
  const NetworkConfig& config() const { return cfg_; }
  const Preset& preset() const { return encoder_.preset(); }

  Tensor encode(const Tensor& x, bool training, const Shards& sh) { return encoder_.forward(x, training, sh); }
  Tensor project(const Tensor& h, bool training, const Shards& sh);  // needs a projection head
  Tensor classify(const Tensor& h, const Shards& sh);                 // needs a classifier

  // Linear probe: the encoder's parameters stop requiring grad and are left out of
  // trainable_params(). (Running the frozen encoder in inference mode is the caller's
  // `training = false`.)
  void set_encoder_frozen(bool frozen);
  bool encoder_frozen() const { return encoder_frozen_; }

  std::vector<Param> params() const;            // all, canonical order
  std::vector<Param> trainable_params() const;  // params() minus a frozen encoder
  std::vector<Buffer> buffers() const;          // canonical order
  // Param or buffer tensor by name; null if absent.
  Tensor* find(const std::string& name);

  Encoder& encoder() { return encoder_; }
  ProjectionHead* projection() { return projection_.get(); }
  Classifier* classifier() { return classifier_.get(); }

 private:
  NetworkConfig cfg_;
  Encoder encoder_;
  std::unique_ptr<ProjectionHead> projection_;
  std::unique_ptr<Classifier> classifier_;
  bool encoder_frozen_ = false;
  Device device_ = Device::cpu;
};

// FNV-1a 32-bit hash of a parameter name (the Philox counter word of its initialisation).
uint32_t fnv1a32(const std::string& s);

}  // namespace cytocon::models
