// A run directory (docs/design.md, Interfaces): config.toml as resolved, log.jsonl, loss.png,
// checkpoints/step-NNNNNNNN.safetensors (the last `keep_checkpoints`), final.safetensors.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cytocon::train {

class RunDir {
 public:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Every name a run writes (for io::claim_output_dir; "checkpoints/" is the folder).
  static std::vector<std::string> outputs() {
    return {"config.toml", "log.jsonl", "loss.png", "final.safetensors", "checkpoints/"};
  }
  // Creates the directory and checkpoints/ (with parents); fails naming the path.
  void create() const;
  std::string checkpoint_path(int64_t step) const;
  // (step, path) of every checkpoint file, by increasing step.
  std::vector<std::pair<int64_t, std::string>> checkpoints() const;
  // The newest checkpoint, or "" if there is none.
  std::string latest_checkpoint() const;
  // Deletes all but the newest `keep` checkpoints (and stray temporaries of crashed writes).
  void prune(int64_t keep) const;

 private:
  std::string path_;
};

}  // namespace cytocon::train
