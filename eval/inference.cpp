#include "eval/inference.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/backend.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/tape.h"

namespace cytocon::eval {

namespace fs = std::filesystem;

std::string default_model_name(const std::string& checkpoint) {
  fs::path dir = fs::absolute(checkpoint).parent_path();
  if (dir.filename() == "checkpoints") dir = dir.parent_path();
  return dir.filename().string();
}

Predictor::Predictor(const std::string& checkpoint, const ModelOverrides& o, config::DeviceChoice device)
    : checkpoint_(checkpoint) {
  // What the file says about the run: its resolved config (if stored), stage, classes.
  std::string config_text, recorded_preset;  // the latter from weights without a config
  const Tensor* w = nullptr;
  io::TrainingState st;
  io::SafeTensors sf;
  if (io::is_checkpoint(checkpoint)) {
    st = io::load_checkpoint(checkpoint);
    config_text = st.config_toml;
    stage_ = st.stage;
    trained_with_ = models::read_trained_with(st.extra, checkpoint);
    for (const io::NamedTensor& t : st.model)
      if (t.name == "classifier.weight") w = &t.value;
  } else {
    sf = io::read_safetensors(checkpoint);
    trained_with_ = models::read_trained_with(sf.metadata, checkpoint);
    auto it = sf.metadata.find("config");
    if (it != sf.metadata.end()) config_text = it->second;
    it = sf.metadata.find("stage");
    if (it != sf.metadata.end()) stage_ = it->second;
    it = sf.metadata.find("preset");
    if (it != sf.metadata.end()) recorded_preset = it->second;
    w = sf.find("classifier.weight");
  }
  if (!config_text.empty()) {
    config::load_text(cfg_, config_text, checkpoint + " (stored config)");
    has_config_ = true;
    if (trained_with_.preset.empty()) trained_with_.preset = config::name(cfg_.model.preset);
    if (trained_with_.um_per_px == 0) trained_with_.um_per_px = cfg_.data.um_per_px;
  } else if (!recorded_preset.empty()) {
    const int i = config::choice_index(config::names<config::ModelPreset>(), recorded_preset);
    check(i >= 0, checkpoint + ": records preset '" + recorded_preset + "', not one of paper, tiny");
    cfg_.model.preset = static_cast<config::ModelPreset>(i);
  }
  check(w != nullptr, checkpoint + ": no classifier.weight: evaluate a checkpoint of stage 'linear' or 'ce' "
                                   "(a supcon checkpoint has no classifier; train the linear probe on it first)");
  check(w->ndim() == 2, checkpoint + ": classifier.weight has shape " + shape_str(w->shape()) + ", expected [C,128]");
  num_classes_ = w->dim(0);

  // Overrides must agree with what the model records (models/provenance.h): given, they are checked.
  models::TrainedWith given;
  if (o.preset) given.preset = config::name(*o.preset);
  given.um_per_px = o.um_per_px;
  models::check_trained_with(trained_with_, given, checkpoint, "the command line (--preset, --um-per-px)");
  if (o.preset) cfg_.model.preset = *o.preset;
  if (o.um_per_px > 0) cfg_.data.um_per_px = o.um_per_px;
  if (o.spacing_um > 0) cfg_.data.spacing_um = o.spacing_um;
  if (o.test_fraction >= 0) cfg_.data.test_fraction = o.test_fraction;
  if (o.centrelines) cfg_.data.centrelines = *o.centrelines;
  preset_ = models::preset_by_name(config::name(cfg_.model.preset));
  if (cfg_.data.patch_px == 0 || o.preset) cfg_.data.patch_px = preset_.input_px;
  models::check_input_size(preset_, cfg_.data.patch_px);

  models::NetworkConfig nc;
  nc.preset = preset_.name;
  nc.projection = false;
  nc.num_classes = static_cast<int>(num_classes_);
  net_ = std::make_unique<models::Network>(nc);
  models::load_weights(*net_, checkpoint, models::LoadScope::all);
  device_ = config::pick_device(device, "--device cuda");
  net_->to(device_);
}

void Predictor::check_classes(const std::vector<std::string>& classes, const std::string& source, bool warn) const {
  models::TrainedWith given;
  given.classes = classes;
  models::check_trained_with(trained_with_, given, checkpoint_, source, warn);
}

void Predictor::forward(const Tensor& x, std::vector<float>* h, std::vector<float>* scores) {
  NoGrad no_grad;
  const Shards sh = Shards::make(1, 0, 1);
  Tensor hb = net_->encode(x.to(device_), /*training=*/false, sh);
  if (h) {
    std::vector<float> v = hb.to_vector<float>();
    h->insert(h->end(), v.begin(), v.end());
  }
  if (scores) {
    std::vector<float> v = net_->classify(hb, sh).to_vector<float>();
    scores->insert(scores->end(), v.begin(), v.end());
  }
}

void softmax_rows(std::vector<float>& s, int64_t C) {
  check(C >= 1 && s.size() % static_cast<size_t>(C) == 0, "softmax_rows: " + std::to_string(s.size()) +
                                                             " scores are not rows of " + std::to_string(C));
  for (size_t r = 0; r < s.size(); r += C) {
    const float m = *std::max_element(s.begin() + r, s.begin() + r + C);
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += std::exp(static_cast<double>(s[r + c] - m));
    for (int64_t c = 0; c < C; ++c) s[r + c] = static_cast<float>(std::exp(static_cast<double>(s[r + c] - m)) / sum);
  }
}

}  // namespace cytocon::eval
