#include "train/loss_curve.h"

#include <filesystem>

#include "plot/plot.h"
#include "train/run_log.h"

namespace cytocon::train {

void write_loss_curve(const std::string& log_jsonl, const std::string& png_path, const std::string& stage) {
  if (!std::filesystem::exists(log_jsonl)) return;
  plot::Series s;
  s.name = stage + " loss";
  for (const LogRecord& r : read_log(log_jsonl)) {
    s.x.push_back(static_cast<double>(r.step));
    s.y.push_back(r.loss);
  }
  if (s.x.empty()) return;
  plot::plot_lines(png_path, "cytocon-train: " + stage, "step", "loss", {s});
}

}  // namespace cytocon::train
