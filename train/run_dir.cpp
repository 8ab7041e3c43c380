#include "train/run_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "engine/tensor.h"

namespace fs = std::filesystem;

namespace cytocon::train {
namespace {
const char* kPrefix = "step-";
const char* kSuffix = ".safetensors";

// The step of "step-00000042.safetensors", or -1 for any other name.
int64_t step_of(const std::string& name) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}
}  // namespace

void RunDir::create() const {
  std::error_code ec;
  fs::create_directories(fs::path(path_) / "checkpoints", ec);
  if (ec) fail("run directory " + path_ + ": cannot create it: " + ec.message());
}

std::string RunDir::checkpoint_path(int64_t step) const {
  char name[64];
  std::snprintf(name, sizeof name, "%s%08lld%s", kPrefix, static_cast<long long>(step), kSuffix);
  return path_ + "/checkpoints/" + name;
}

std::vector<std::pair<int64_t, std::string>> RunDir::checkpoints() const {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  fs::path dir = fs::path(path_) / "checkpoints";
  if (!fs::is_directory(dir, ec)) return out;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    int64_t s = step_of(e.path().filename().string());
    if (s >= 0 && e.is_regular_file()) out.emplace_back(s, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string RunDir::latest_checkpoint() const {
  auto all = checkpoints();
  return all.empty() ? std::string() : all.back().second;
}

void RunDir::prune(int64_t keep) const {
  auto all = checkpoints();
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
    if (ec) std::fprintf(stderr, "cytocon-train: warning: cannot remove %s: %s\n", all[i].second.c_str(),
                         ec.message().c_str());
  }
}

}  // namespace cytocon::train
