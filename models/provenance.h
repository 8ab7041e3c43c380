// What a model was trained with (issue 17, item 4; docs/errors.md "Model and data must match"):
// the class names in order, the preset, the patch resolution and size, and the training data.
// cytocon-train stores it in every checkpoint (as extra.<key>) and in final.safetensors; cytocon-eval
// (and every program that applies a trained model to data) checks it against what it is given.
//
//   TrainedWith model = read_trained_with(weights_metadata, path);
//   TrainedWith given;  given.classes = ds->labels();  given.um_per_px = flag_value;  // 0: not given
//   check_trained_with(model, given, path, data_dir + "/labels.txt");
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"

namespace cytocon::models {

struct TrainedWith {
  std::vector<std::string> classes;  // labels.txt in order: class id = index; empty = unknown
  std::string preset;                // "" = unknown
  double um_per_px = 0;              // 0 = unknown
  int64_t patch_px = 0;              // 0 = unknown
  std::string dataset;               // the training data directory (for messages only)
};

// The metadata keys: "classes" (a JSON array of strings), "preset", "um_per_px", "patch_px", "dataset".
io::Metadata trained_with_metadata(const TrainedWith& t);
// Reads them back (absent keys leave the field unknown); fails naming `origin` if one is malformed.
TrainedWith read_trained_with(const io::Metadata& meta, const std::string& origin);

// Compares what the model was trained with to what it is about to be used with. A field unknown on
// either side is not compared. Every difference is named in one error:
//   "<model_file> was trained on 3 areas [a, b, c] (<dataset>) but <given_source> lists [b, a, c]:
//    class 1 is 'a' in the model, 'b' here; ..."
// A model without class names (written before they were stored) gets a warning on stderr instead.
// `warn` = false leaves out that warning (a caller that reports it itself, or not at all).
void check_trained_with(const TrainedWith& model, const TrainedWith& given, const std::string& model_file,
                        const std::string& given_source, bool warn = true);

}  // namespace cytocon::models
