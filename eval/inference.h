// A trained classifier as cytocon-eval and cytocon-map run it: the checkpoint's stored settings
// (with command-line overrides), the network on a device in inference mode (BatchNorm running
// statistics), and one batched forward pass giving the encoder features h and the class scores.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/tensor.h"
#include "models/model.h"
#include "models/provenance.h"

namespace cytocon::eval {

// Settings normally read from the checkpoint's resolved config; given here they override it
// (needed for weights without one, e.g. exported from PyTorch). None / 0 / −1 = from the file.
struct ModelOverrides {
  std::optional<config::ModelPreset> preset;
  double um_per_px = 0, spacing_um = 0, test_fraction = -1;
  std::optional<config::Centrelines> centrelines;  // data.centrelines
};

// The model's name in reports: the run directory (the file's parent, or its parent's parent for
// RUN/checkpoints/...).
std::string default_model_name(const std::string& checkpoint);

class Predictor {
 public:
  // Fails naming the file when it has no classifier ("a supcon checkpoint has no classifier").
  Predictor(const std::string& checkpoint, const ModelOverrides& o, config::DeviceChoice device);
  const config::Config& config() const { return cfg_; }  // resolved: stored config + overrides
  bool has_stored_config() const { return has_config_; }
  const std::string& stage() const { return stage_; }
  int64_t num_classes() const { return num_classes_; }
  int64_t feature_dim() const { return preset_.feature_dim(); }
  int patch_px() const { return static_cast<int>(cfg_.data.patch_px); }
  Device device() const { return device_; }
  // What the model records it was trained with (models/provenance.h), completed from its stored config.
  const models::TrainedWith& trained_with() const { return trained_with_; }
  // Fails naming what differs when `classes` (a dataset's labels.txt, in order) are not the
  // model's; warns when the file records no class names (written before 2026-12-07).
  void check_classes(const std::vector<std::string>& classes, const std::string& source, bool warn = true) const;
  // x: float32 [n,S,S,1] (host or device). Appends h [n,dim] and the class scores [n,C] (logits)
  // to the host vectors given (either may be null).
  void forward(const Tensor& x, std::vector<float>* h, std::vector<float>* scores);

 private:
  std::string checkpoint_;
  config::Config cfg_;
  models::TrainedWith trained_with_;
  bool has_config_ = false;
  std::string stage_;
  int64_t num_classes_ = 0;
  models::Preset preset_;
  Device device_ = Device::cpu;
  std::unique_ptr<models::Network> net_;
};

// Row-wise softmax of scores [n,C] in place (max-subtracted, double sums).
void softmax_rows(std::vector<float>& scores, int64_t C);

}  // namespace cytocon::eval
