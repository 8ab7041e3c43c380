#include "models/weights.h"

#include <unordered_map>

#include "engine/io/checkpoint.h"

namespace cytocon::models {

std::vector<io::NamedTensor> model_state(const Network& net) {
  std::vector<io::NamedTensor> out;
  for (const auto& p : net.params()) out.push_back({p.name, p.value});
  for (const auto& b : net.buffers()) out.push_back({b.name, b.value});
  return out;
}

void load_state(Network& net, const std::vector<io::NamedTensor>& tensors, const std::string& origin,
                LoadScope scope) {
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& t : tensors) by_name[t.name] = &t.value;
  for (const auto& own : model_state(net)) {
    if (scope == LoadScope::encoder && own.name.rfind("encoder.", 0) != 0) continue;
    auto it = by_name.find(own.name);
    if (it == by_name.end())
      fail(origin + ": missing tensor '" + own.name + "' (expected shape " + shape_str(own.value.shape()) +
           " in memory layout, preset '" + net.preset().name + "')");
    const Tensor& src = *it->second;
    if (src.shape() != own.value.shape())
      fail(origin + ": tensor '" + own.name + "' has shape " + shape_str(src.shape()) + ", expected " +
           shape_str(own.value.shape()) + " (memory layout; preset '" + net.preset().name + "')");
    if (src.dtype() != DType::f32 && src.dtype() != DType::f64)
      fail(origin + ": tensor '" + own.name + "' has dtype " + dtype_name(src.dtype()) + ", expected float32/64");
    Tensor dst = own.value;  // shares storage with the network
    dst.copy_from(src.dtype() == dst.dtype() ? src : src.to(Device::cpu).to(dst.dtype()));
  }
}

void save_weights(const Network& net, const std::string& path, const io::Metadata& metadata) {
  std::vector<io::NamedTensor> file;
  for (const auto& t : model_state(net)) file.push_back({t.name, io::pytorch_layout(t.value.to(Device::cpu))});
  io::Metadata meta = metadata;
  meta["format"] = "cytocon-weights";
  meta["preset"] = net.preset().name;
  io::write_safetensors(path, file, meta);
}

void load_weights(Network& net, const std::string& path, LoadScope scope) {
  if (io::is_checkpoint(path)) {
    load_state(net, io::load_checkpoint(path).model, path, scope);
    return;
  }
  io::SafeTensors st = io::read_safetensors(path);
  auto preset = st.metadata.find("preset");
  if (preset != st.metadata.end() && preset->second != net.preset().name)
    fail(path + ": weights are for preset '" + preset->second + "', the network is preset '" + net.preset().name + "'");
  std::vector<io::NamedTensor> mem;
  for (auto& t : st.tensors) mem.push_back({t.name, io::channels_last(t.value)});
  load_state(net, mem, path, scope);
}

}  // namespace cytocon::models
