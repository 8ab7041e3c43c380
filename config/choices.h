// The choice keys of the run configuration and the programs' choice flags, parsed once where the
// configuration or a program's flags are read: an enum per key, and its values' names in the enum's
// order (what config.toml, log.jsonl and the checkpoints' metadata write, what error messages
// list). train.mode and train.precision are the engine's ReduceMode and Precision; --device of
// cytocon-bench and cytocon-probe the engine's Device, of cytocon-eval and cytocon-map DeviceChoice
// (as train.device).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/backend.h"
#include "engine/precision.h"
#include "engine/shards.h"
#include "engine/tensor.h"

namespace cytocon::config {

// model.preset, --preset of cytocon-eval and -map: the names of the models' presets (models/preset.h)
enum class ModelPreset : uint8_t { paper, tiny };
enum class Stage : uint8_t { supcon, linear, ce };           // train.stage
enum class Optimizer : uint8_t { lars, sgd };                // train.optimizer
enum class Schedule : uint8_t { constant, cosine };          // train.schedule
enum class DeviceChoice : uint8_t { automatic, cpu, cuda };  // train.device, --device: auto | cpu | cuda
enum class Extractor : uint8_t { automatic, cpu, gpu };      // data.extractor: auto | cpu | gpu
// data.centrelines, --centrelines of cytocon-eval and -map: auto | annotated | derived; data/ takes
// it by name as its data::CentrelineSource (data/centreline.h), whose names these are.
enum class Centrelines : uint8_t { automatic, annotated, derived };
enum class Smoothing : uint8_t { viterbi, none };            // cytocon-map --smooth (map/sequence.h)

// The names of E's values, in the enum's order.
template <class E>
const std::vector<std::string>& names() {
  static const std::vector<std::string> n = []() -> std::vector<std::string> {
    if constexpr (std::is_same_v<E, ModelPreset>) return {"paper", "tiny"};
    else if constexpr (std::is_same_v<E, Stage>) return {"supcon", "linear", "ce"};
    else if constexpr (std::is_same_v<E, Optimizer>) return {"lars", "sgd"};
    else if constexpr (std::is_same_v<E, Schedule>) return {"constant", "cosine"};
    else if constexpr (std::is_same_v<E, DeviceChoice>) return {"auto", "cpu", "cuda"};
    else if constexpr (std::is_same_v<E, Extractor>) return {"auto", "cpu", "gpu"};
    else if constexpr (std::is_same_v<E, Centrelines>) return {"auto", "annotated", "derived"};
    else if constexpr (std::is_same_v<E, Smoothing>) return {"viterbi", "none"};
    else if constexpr (std::is_same_v<E, ReduceMode>) return {reduce_mode_name(E::deterministic), reduce_mode_name(E::fast)};
    else if constexpr (std::is_same_v<E, Precision>)
      return {precision_name(E::fp32), precision_name(E::tf32), precision_name(E::bf16)};
    else {
      static_assert(std::is_same_v<E, Device>, "not a choice");
      return {device_name(E::cpu), device_name(E::cuda)};
    }
  }();
  return n;
}

template <class E>
const std::string& name(E e) {
  return names<E>()[static_cast<size_t>(e)];
}

// The index of `s` among `choices`, or -1.
inline int choice_index(const std::vector<std::string>& choices, const std::string& s) {
  for (size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == s) return static_cast<int>(i);
  return -1;
}

// The value named `s`; fails with "WHAT S: expected a, b or c" otherwise (WHAT: e.g. "--mode").
template <class E>
E parse_choice(const std::string& what, const std::string& s) {
  const std::vector<std::string>& n = names<E>();
  const int i = choice_index(n, s);
  if (i < 0) {
    std::string list;
    for (size_t k = 0; k < n.size(); ++k) list += (k == 0 ? "" : k + 1 == n.size() ? " or " : ", ") + n[k];
    fail(what + " " + s + ": expected " + list);
  }
  return static_cast<E>(i);
}

// The device `want` names: the CPU, CUDA (fails without a usable CUDA device, naming the choice as
// `given`, e.g. "--device cuda") or, for auto, CUDA when usable.
inline Device pick_device(DeviceChoice want, const std::string& given) {
  if (want == DeviceChoice::cpu) return Device::cpu;
  if (want == DeviceChoice::cuda) {
    check(cuda_available(), given + " but no usable CUDA device (or a build without CUDA)");
    return Device::cuda;
  }
  return cuda_available() ? Device::cuda : Device::cpu;
}

}  // namespace cytocon::config
