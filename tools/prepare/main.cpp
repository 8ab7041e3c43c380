// cytocon-prepare --data DIR --config RUN.toml --out DIR: a training-ready copy of a dataset
// (issue 12 §2, docs/data.md "Prepared store"): every section resampled once to the run's µm/px,
// only the tiles within reach of a sample point, grayscale, a fast codec, the pixel size in the
// tags, annotations rescaled, labels copied, the split of every section written out. Parallel
// over sections; resumable (a section whose image exists is skipped; every file is written
// through a temporary name and renamed). Nothing written is replaced by accident
// (engine/io/output_dir.h): --out may hold an unfinished prepare of the same inputs (prepare.json
// says which), which is resumed; a finished copy or other files of its own are refused unless
// --overwrite. Exit status 0 done, 1 an error (one line naming the file), 2 a bad command line.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "config/config.h"
#include "data/node_budget.h"
#include "data/centreline.h"
#include "data/prepare.h"
#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "engine/program.h"
#include "models/preset.h"

namespace {

using namespace cytocon;

std::string csv_field(const std::string& s) {  // quoted when it holds a comma or a quote
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string file_base(const data::Section& s) {  // brain_section, safe as a file name
  std::string b = s.brain + "_" + s.name;
  for (char& c : b)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return b;
}

std::string file_hash(const std::string& path) {  // FNV-1a 64 of the whole file, hex
  const std::string bytes = io::read_file(path);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", io::fnv1a64(bytes.data(), bytes.size()));
  return hex;
}

// What a prepared copy is made from (prepare.json): a rerun resumes only a copy of the same.
using json = nlohmann::ordered_json;
json inputs_of(const std::string& data_dir, const config::Config& cfg, const std::string& codec, int tile) {
  return json{{"data", std::filesystem::canonical(data_dir).string()},
              {"manifest.csv", file_hash(data_dir + "/manifest.csv")},
              {"labels.txt", file_hash(data_dir + "/labels.txt")},
              {"data.um_per_px", cfg.data.um_per_px},
              {"data.patch_px", cfg.data.patch_px},
              {"data.background", cfg.data.background},
              {"data.spacing_um", cfg.data.spacing_um},
              {"data.test_fraction", cfg.data.test_fraction},
              {"data.centrelines", config::name(cfg.data.centrelines)},
              {"codec", codec},
              {"tile", tile}};
}

// "" when `before` (an earlier prepare.json's text) records the same inputs as `now`, else the
// first difference: "data.um_per_px = 8 there, 4 here".
std::string first_difference(const std::string& before, const json& now) {
  const json old = json::parse(before, nullptr, /*allow_exceptions=*/false);
  if (!old.is_object()) return "its prepare.json is not a JSON object";
  for (const auto& [key, value] : now.items()) {
    if (!old.contains(key)) return key + " is not recorded there";
    if (old[key] != value) return key + " = " + old[key].dump() + " there, " + value.dump() + " here";
  }
  return "";
}

int run(int argc, char** argv) {
  CLI::App app{"cytocon-prepare: a training-ready copy of a dataset at a run's resolution"};
  std::string data_dir, config_path, out, codec = "none";  // the fastest to read (docs/data.md, "Prepared store")
  int threads = 0, tile = 512;
  app.add_option("--data", data_dir, "dataset directory (manifest.csv, labels.txt)")->required();
  app.add_option("--config", config_path, "the run's configuration (data.um_per_px, data.patch_px, model.preset)")
      ->required();
  app.add_option("--out", out, "output directory")->required();
  app.add_option("--codec", codec, "tile codec")->check(CLI::IsMember({"zstd", "deflate", "none"}))->capture_default_str();
  app.add_option("--tile", tile, "tile side in pixels (multiple of 16)")->capture_default_str();
  app.add_option("--threads", threads, "sections prepared at a time (0: one per usable core)");
  bool overwrite = false;
  app.add_flag("--overwrite", overwrite, "replace a prepared copy already in --out (its files are deleted first)");
  if (const int status = program::parse("cytocon-prepare", app, argc, argv); status >= 0) return status;
  if (tile <= 0 || tile % 16) throw std::runtime_error("--tile " + std::to_string(tile) + ": expected a positive multiple of 16");
  config::Config cfg;
  config::load_file(cfg, config_path);
  cfg.data.dir = data_dir;
  config::resolve(cfg);
  if (cfg.data.patch_px == 0) cfg.data.patch_px = models::preset_by_name(config::name(cfg.model.preset)).input_px;
  data::DatasetOptions dso;
  dso.spacing_um = cfg.data.spacing_um;
  dso.test_fraction = cfg.data.test_fraction;
  dso.centrelines = data::parse_centreline_source(config::name(cfg.data.centrelines));
  auto ds = data::Dataset::open(data_dir, dso);
  data::PrepareOptions po;
  po.um_per_px = cfg.data.um_per_px;
  po.patch_px = static_cast<int>(cfg.data.patch_px);
  po.background = static_cast<float>(cfg.data.background);
  po.tile = tile;
  po.codec = data::parse_store_codec(codec);
  // Resume an unfinished prepare of the same inputs; else claim --out (docs/errors.md).
  const json stamp = inputs_of(data_dir, cfg, codec, tile);
  const std::string stamp_path = out + "/prepare.json";
  std::error_code ec;
  bool resume = false;
  if (!overwrite && !std::filesystem::exists(out + "/manifest.csv", ec) &&
      std::filesystem::is_regular_file(stamp_path, ec)) {
    const std::string differs = first_difference(io::read_file(stamp_path), stamp);
    if (!differs.empty())
      throw std::runtime_error(out + " holds an unfinished cytocon-prepare of other inputs (" + differs +
                               "): choose another --out, or give --overwrite to replace it");
    resume = true;
  }
  if (!resume) {
    std::vector<std::string> inputs{data_dir + "/manifest.csv", data_dir + "/labels.txt", config_path};
    for (const data::Section& s : ds->sections()) inputs.insert(inputs.end(), {s.image_path, s.annotation_path});
    io::claim_output_dir(out, {"manifest.csv", "labels.txt", "images/", "annotations/", "prepare.json"}, overwrite,
                         "choose another --out or give --overwrite to replace them (an unfinished cytocon-prepare "
                         "of the same inputs is resumed without it)",
                         inputs);
    io::write_file_atomic(stamp_path, stamp.dump(2) + "\n");
  }
  std::filesystem::create_directories(out + "/images");
  std::filesystem::create_directories(out + "/annotations");
  const int n = static_cast<int>(ds->sections().size());
  std::string manifest = "brain,section,image,annotation,um_per_px,split\n";
  char um[32];
  std::snprintf(um, sizeof um, "%.17g", po.um_per_px);
  for (const data::Section& s : ds->sections())
    manifest += csv_field(s.brain) + "," + csv_field(s.name) + ",images/" + file_base(s) + ".tif,annotations/" +
                file_base(s) + ".geojson," + um + "," + data::split_name(s.split) + "\n";
  std::printf("cytocon-prepare: %d sections of %s at %g um/px, %d px patches (reach %.0f px), %s tiles of %d px -> %s\n",
              n, data_dir.c_str(), po.um_per_px, po.patch_px, data::prepare_reach_px(po), codec.c_str(), tile,
              out.c_str());
  std::fflush(stdout);
  std::atomic<int> next{0}, done{0}, skipped{0};
  std::atomic<int64_t> tiles{0}, tiles_total{0};
  std::atomic<uint64_t> bytes{0};
  std::mutex mu;
  std::exception_ptr error;
  auto worker = [&] {
    for (int i = next++; i < n; i = next++) {
      try {
        const data::Section& s = ds->sections()[i];
        const std::string img = out + "/images/" + file_base(s) + ".tif";
        if (std::filesystem::exists(img)) {
          ++skipped;
        } else {
          const auto r = data::prepare_section(*ds, i, po, img, out + "/annotations/" + file_base(s) + ".geojson");
          tiles += r.tiles_written;
          tiles_total += r.tiles_total;
          bytes += r.bytes;
        }
        std::lock_guard<std::mutex> lock(mu);
        std::fprintf(stderr, "\rcytocon-prepare: %d/%d sections (%d already there), %lld of %lld tiles kept, %.2f GB written",
                     ++done, n, skipped.load(), static_cast<long long>(tiles.load()),
                     static_cast<long long>(tiles_total.load()), bytes.load() / 1e9);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  const int t = std::max(1, std::min(n, threads > 0 ? threads : data::usable_cores()));
  std::vector<std::thread> pool;
  for (int k = 0; k < t; ++k) pool.emplace_back(worker);
  for (auto& th : pool) th.join();
  std::fprintf(stderr, "\n");
  if (error) std::rethrow_exception(error);
  std::filesystem::copy_file(data_dir + "/labels.txt", out + "/labels.txt.part",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(out + "/labels.txt.part", out + "/labels.txt");
  io::write_file_atomic(out + "/manifest.csv", manifest);  // last: its presence means the copy is complete
  return 0;
}

}  // namespace

int main(int argc, char** argv) {  // exit 0 / 1 / 2 (docs/errors.md)
  return cytocon::program::guard("cytocon-prepare", [&] { return run(argc, argv); });
}
