#include "engine/io/checkpoint.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/io/atomic_file.h"
#include "engine/validate.h"

namespace cytocon::io {

namespace {

constexpr const char* kFormat = "cytocon-checkpoint";
constexpr const char* kVersion = "1";
constexpr const char* kOptPrefix = "optimizer.";
constexpr const char* kExtraPrefix = "extra.";
// The checksum field as it appears in the JSON header; its 16 hex digits are hashed as zeros.
constexpr const char* kChecksumKey = "\"checksum\":\"";
constexpr size_t kDigits = 16;
constexpr int64_t kMaxStep = 1000000000000;  // train.max_steps' bound (docs/training.md)

std::string hex64(unsigned long long h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", h);
  return buf;
}

// Position of the checksum's hex digits in the header of `bytes`, or npos.
size_t checksum_pos(const std::string& bytes) {
  if (bytes.size() < 8) return std::string::npos;
  uint64_t hlen;
  std::memcpy(&hlen, bytes.data(), 8);
  if (8 + hlen > bytes.size()) return std::string::npos;
  size_t p = bytes.find(kChecksumKey, 8);
  if (p == std::string::npos || p + std::strlen(kChecksumKey) + kDigits > 8 + hlen) return std::string::npos;
  return p + std::strlen(kChecksumKey);
}

unsigned long long file_hash(std::string bytes, size_t pos) {
  std::memset(&bytes[pos], '0', kDigits);
  return fnv1a64(bytes.data(), bytes.size());
}

int64_t meta_int(const SafeTensors& st, const std::string& key) {
  auto it = st.metadata.find(key);
  if (it == st.metadata.end()) fail(st.origin + ": checkpoint metadata lacks '" + key + "'");
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing characters");
    return v;
  } catch (const std::exception&) {
    fail(st.origin + ": checkpoint metadata '" + key + "' = '" + it->second + "' is not an integer");
  }
}

std::string meta_str(const SafeTensors& st, const std::string& key) {
  auto it = st.metadata.find(key);
  if (it == st.metadata.end()) fail(st.origin + ": checkpoint metadata lacks '" + key + "'");
  return it->second;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& s) {
  std::vector<NamedTensor> tensors;
  tensors.reserve(s.model.size() + s.optimizer.size());
  for (const auto& t : s.model) {
    check(t.name.rfind(kOptPrefix, 0) != 0, path + ": model tensor '" + t.name + "' uses the reserved prefix optimizer.");
    tensors.push_back({t.name, pytorch_layout(t.value.to(Device::cpu))});
  }
  for (const auto& t : s.optimizer) tensors.push_back({kOptPrefix + t.name, pytorch_layout(t.value.to(Device::cpu))});
  Metadata meta;
  for (const auto& [k, v] : s.extra) meta[kExtraPrefix + k] = v;
  meta["format"] = kFormat;
  meta["version"] = kVersion;
  meta["step"] = std::to_string(s.step);
  meta["epoch"] = std::to_string(s.epoch);
  meta["seed"] = std::to_string(s.seed);
  meta["stage"] = s.stage;
  meta["optimizer"] = s.optimizer_name;
  meta["mode"] = s.mode;
  meta["precision"] = s.precision;
  meta["config"] = s.config_toml;
  meta["checksum"] = std::string(kDigits, '0');
  std::string bytes = serialize_safetensors(tensors, meta);
  size_t pos = checksum_pos(bytes);
  check(pos != std::string::npos, path + ": internal error: checksum field not found in the serialised header");
  std::string h = hex64(file_hash(bytes, pos));
  std::memcpy(&bytes[pos], h.data(), kDigits);
  write_file_atomic(path, bytes);
}

TrainingState load_checkpoint(const std::string& path) { return parse_checkpoint(read_file(path), path); }

TrainingState parse_checkpoint(const std::string& bytes, const std::string& path) {
  SafeTensors st;
  try {
    st = parse_safetensors(bytes, path);
  } catch (const std::exception& e) {
    fail(path + ": checkpoint is truncated or corrupted: " + e.what());
  }
  auto fmt = st.metadata.find("format");
  if (fmt == st.metadata.end() || fmt->second != kFormat)
    fail(path + ": not a cytocon checkpoint (metadata 'format' is " +
         (fmt == st.metadata.end() ? std::string("absent") : "'" + fmt->second + "'") + ", expected '" + kFormat + "')");
  size_t pos = checksum_pos(bytes);
  if (pos == std::string::npos) fail(path + ": checkpoint has no checksum field: corrupted");
  std::string stored = bytes.substr(pos, kDigits);
  std::string computed = hex64(file_hash(bytes, pos));
  if (stored != computed)
    fail(path + ": checkpoint checksum mismatch (stored " + stored + ", computed " + computed +
         "): the file is corrupted");
  if (meta_str(st, "version") != kVersion)
    fail(path + ": checkpoint version '" + meta_str(st, "version") + "' is not supported (expected " + kVersion + ")");

  TrainingState s;
  for (auto& t : st.tensors) {
    if (t.name.rfind(kOptPrefix, 0) == 0)
      s.optimizer.push_back({t.name.substr(std::strlen(kOptPrefix)), channels_last(t.value)});
    else
      s.model.push_back({t.name, channels_last(t.value)});
  }
  s.optimizer_name = meta_str(st, "optimizer");
  s.step = checked_integer(meta_int(st, "step"), 0, kMaxStep, path + ": checkpoint metadata 'step'");
  s.epoch = checked_integer(meta_int(st, "epoch"), 0, kMaxStep, path + ": checkpoint metadata 'epoch'");
  std::string seed = meta_str(st, "seed");
  try {
    size_t used = 0;
    s.seed = std::stoull(seed, &used);
    if (used != seed.size() || seed[0] == '-') throw std::invalid_argument("seed");
  } catch (const std::exception&) {
    fail(path + ": checkpoint metadata 'seed' = '" + seed + "' is not an unsigned integer");
  }
  s.stage = meta_str(st, "stage");
  s.mode = meta_str(st, "mode");
  s.precision = meta_str(st, "precision");
  s.config_toml = meta_str(st, "config");
  for (const auto& [k, v] : st.metadata)
    if (k.rfind(kExtraPrefix, 0) == 0) s.extra[k.substr(std::strlen(kExtraPrefix))] = v;
  return s;
}

bool is_checkpoint(const std::string& path) {
  require_regular_file(path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path + ": cannot open for reading");
  char len[8];
  if (!f.read(len, 8)) return false;
  uint64_t hlen;
  std::memcpy(&hlen, len, 8);
  if (hlen > 100u * 1024 * 1024) return false;
  std::string header(hlen, '\0');
  if (!f.read(&header[0], static_cast<std::streamsize>(hlen))) return false;
  return header.find(std::string("\"format\":\"") + kFormat + "\"") != std::string::npos;
}

}  // namespace cytocon::io
