#include "train/run_log.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/tensor.h"

namespace cytocon::train {

RunLog::RunLog(const std::string& path, int64_t keep_until_step, std::string mode, std::string precision,
               std::string device, int ranks)
    : path_(path), mode_(std::move(mode)), precision_(std::move(precision)), device_(std::move(device)),
      ranks_(ranks) {
  if (keep_until_step >= 0) {
    std::ifstream in(path);
    if (in) {
      std::string line, kept;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        // A torn last line (killed mid-write) is dropped like a record past the checkpoint.
        if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() > keep_until_step) continue;
        kept += line + "\n";
      }
      in.close();
      io::write_file_atomic(path, kept);
    }
  }
  f_ = std::fopen(path.c_str(), keep_until_step >= 0 ? "a" : "w");
  if (!f_) fail("log " + path + ": cannot open it for writing");
}

RunLog::~RunLog() {
  if (f_) std::fclose(f_);
}

void RunLog::write(const LogRecord& r) {
  nlohmann::json j = {{"stage", r.stage},   {"epoch", r.epoch}, {"step", r.step},
                      {"loss", r.loss},     {"lr", r.lr},       {"patches_per_s", r.patches_per_s},
                      {"time_s", r.time_s}, {"mode", mode_},    {"precision", precision_},
                      {"device", device_},  {"ranks", ranks_}};
  std::string line = j.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
    fail("log " + path_ + ": write failed (disk full?)");
}

std::vector<LogRecord> read_log(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("log " + path + ": cannot open it");
  std::vector<LogRecord> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      LogRecord r;
      r.stage = j.at("stage").get<std::string>();
      r.epoch = j.at("epoch").get<int64_t>();
      r.step = j.at("step").get<int64_t>();
      r.loss = j.at("loss").is_null() ? NAN : j.at("loss").get<double>();
      r.lr = j.at("lr").get<double>();
      r.patches_per_s = j.value("patches_per_s", 0.0);
      r.time_s = j.value("time_s", 0.0);
      out.push_back(r);
    } catch (const std::exception& e) {
      fail("log " + path + " line " + std::to_string(n) + ": " + e.what());
    }
  }
  return out;
}

}  // namespace cytocon::train
