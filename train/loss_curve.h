// loss.png: the loss of every logged step of a run (log.jsonl), drawn with plot/plot.h.
#pragma once
#include <string>

namespace cytocon::train {

// Reads log_jsonl and writes the curve to png_path (atomically); nothing when the log is empty.
void write_loss_curve(const std::string& log_jsonl, const std::string& png_path, const std::string& stage);

}  // namespace cytocon::train
