#include "train/stages.h"

#include "engine/dist/gather.h"
#include "engine/ops.h"
#include "engine/tape.h"
#include "models/weights.h"

namespace cytocon::train {

models::NetworkConfig network_config(const config::Config& cfg, int num_classes) {
  models::NetworkConfig nc;
  nc.preset = config::name(cfg.model.preset);
  nc.projection = cfg.train.stage == config::Stage::supcon;
  nc.num_classes = nc.projection ? 0 : num_classes;
  return nc;
}

std::unique_ptr<models::Network> build_network(const config::Config& cfg, int num_classes) {
  check(cfg.train.stage == config::Stage::supcon || num_classes >= 2,
        "stage " + config::name(cfg.train.stage) + " needs at least 2 classes, the dataset has " + std::to_string(num_classes));
  auto net = std::make_unique<models::Network>(network_config(cfg, num_classes));
  net->init(static_cast<uint64_t>(cfg.train.seed));
  // The encoder only: a supcon checkpoint's projection head, or a foreign classifier, is not ours.
  if (!cfg.train.init.empty()) models::load_weights(*net, cfg.train.init, models::LoadScope::encoder);
  if (cfg.train.stage == config::Stage::linear) net->set_encoder_frozen(true);
  return net;
}

Tensor stage_loss(models::Network& net, const config::Config& cfg, const TrainBatch& batch, const Shards& sh) {
  const config::Stage stage = cfg.train.stage;
  if (stage == config::Stage::supcon) {
    Tensor h = net.encode(batch.x, /*training=*/true, sh);
    Tensor z = net.project(h, /*training=*/true, sh);
    // Eqs. 1-2 couple every pair of the global batch: every rank computes the loss from all rows.
    Tensor z_all = dist::all_gather_rows(z, sh);
    Tensor y_all = dist::all_gather_rows(batch.y, sh);
    return ops::supcon_loss(z_all, y_all, cfg.train.temperature);
  }
  Tensor h;
  if (stage == config::Stage::linear) {
    NoGrad frozen;  // f is fixed: no tape through it, BN uses running statistics
    h = net.encode(batch.x, /*training=*/false, sh);
  } else {
    h = net.encode(batch.x, /*training=*/true, sh);
  }
  return ops::cross_entropy(net.classify(h, sh), batch.y, sh);
}

}  // namespace cytocon::train
