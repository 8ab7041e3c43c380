// What the programs' end-to-end tests (cytocon-eval, cytocon-map) start from: a small synthetic
// dataset and the weights of a tiny-preset network, as a training run would leave them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/run.h"
#include "models/model.h"

namespace cytocon::testing_util {

// A tiny-preset network with weights drawn from `seed`, saved at `path`: with classes > 0 the
// encoder and a classifier of that many classes (what a linear or ce run writes); with classes = 0
// the encoder and the projection head (a supcon run's weights, which have no classifier).
inline void save_tiny_network(const std::string& path, int classes, uint64_t seed) {
  models::NetworkConfig nc;
  nc.preset = "tiny";
  nc.projection = classes == 0;
  nc.num_classes = classes;
  models::Network net(nc);
  net.init(seed);
  models::save_weights(net, path);
}

// `dir` emptied, then dir/data: cytocon-synth's 2 brains of `sections` sections, 4 areas, brain02
// held out (X_un), 1500x1200 px at 4 um/px; dir/run/final.safetensors: a tiny network with a
// 4-class classifier (seed 5). Returns cytocon-synth's exit status; its output goes to `out`.
inline int make_tiny_run(const std::string& dir, int sections, std::string* out) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/run");
  save_tiny_network(dir + "/run/final.safetensors", 4, 5);
  return run(std::string(CYTOCON_BIN_DIR) + "/cytocon-synth --out " + dir + "/data --brains 2 --sections " +
                 std::to_string(sections) + " --areas 4 --seed 3 --um-per-px 4 --size 1500x1200 --unseen 1",
             out);
}

}  // namespace cytocon::testing_util
