// What differs between the stages (paper §2): which network is built, where its weights come
// from, which parameters train, and the loss of one batch.
#pragma once
#include <memory>

#include "config/config.h"
#include "engine/shards.h"
#include "models/network.h"
#include "train/trainer.h"

namespace cytocon::train {

// supcon: encoder + projection head; linear and ce: encoder + classifier of num_classes.
models::NetworkConfig network_config(const config::Config& cfg, int num_classes);

// A network for the stage on the CPU: initialised from train.seed, then the encoder loaded from
// train.init when given (required for linear), and frozen for linear.
std::unique_ptr<models::Network> build_network(const config::Config& cfg, int num_classes);

// The loss of one batch, recorded on the current Tape where it trains:
//   supcon: L of eqs. 1-2 over z of the global batch (all_gather_rows of this rank's rows);
//   linear: cross-entropy of the classifier on h = f(x) computed without a tape, BN in inference;
//   ce:     cross-entropy through the whole network, BN in training mode.
Tensor stage_loss(models::Network& net, const config::Config& cfg, const TrainBatch& batch, const Shards& sh);

}  // namespace cytocon::train
