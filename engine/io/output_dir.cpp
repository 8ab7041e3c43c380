#include "engine/io/output_dir.h"

#include <filesystem>
#include <system_error>

#include "engine/tensor.h"

namespace fs = std::filesystem;

namespace cytocon::io {

namespace {

// Whether `input` is `output` or lies inside the directory `output` (both must exist).
bool holds(const fs::path& output, const fs::path& input) {
  std::error_code ec;
  if (fs::equivalent(output, input, ec)) return true;
  if (!fs::is_directory(output, ec)) return false;
  const fs::path o = fs::canonical(output, ec), i = fs::canonical(input, ec);
  if (ec) return false;
  auto oi = o.begin(), ii = i.begin();
  for (; oi != o.end() && ii != i.end() && *oi == *ii; ++oi, ++ii) {
  }
  return oi == o.end();
}

}  // namespace

void claim_output_dir(const std::string& dir, const std::vector<std::string>& outputs, bool overwrite,
                      const std::string& hint, const std::vector<std::string>& inputs) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st) && !fs::is_directory(st)) fail(dir + ": exists and is not a directory");
  for (const std::string& name : outputs) {
    const fs::path p = fs::path(dir) / name;
    if (!fs::exists(p, ec)) continue;
    for (const std::string& in : inputs)
      if (!in.empty() && fs::exists(in, ec) && holds(p, in))
        fail(p.lexically_normal().string() + " would replace an input of this run (" + in + "): choose another --out");
  }
  std::vector<fs::path> found;
  std::string names;
  for (const std::string& name : outputs) {
    const bool is_dir = !name.empty() && name.back() == '/';
    const fs::path p = fs::path(dir) / (is_dir ? name.substr(0, name.size() - 1) : name);
    const bool present = is_dir ? fs::is_directory(p, ec) && !fs::is_empty(p, ec) : fs::exists(fs::symlink_status(p, ec));
    if (!present) continue;
    found.push_back(p);
    names += (names.empty() ? "" : ", ") + name;
  }
  if (!found.empty() && !overwrite) fail(dir + " already holds " + names + ": " + hint);
  for (const fs::path& p : found) {
    fs::remove_all(p, ec);
    if (ec) fail(p.string() + ": cannot remove it (--overwrite): " + ec.message());
  }
  fs::create_directories(dir, ec);
  if (ec) fail(dir + ": cannot create the directory: " + ec.message());
}

void claim_output_file(const std::string& path, bool overwrite, const std::string& hint) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_regular_file(st)) fail(path + ": exists and is not a regular file");
  if (!overwrite) fail(path + " already exists: " + hint);
}

}  // namespace cytocon::io
