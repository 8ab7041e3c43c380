// log.jsonl: one JSON object per logged step, for machines (plots, dashboards, tests):
//   {"stage":"supcon","epoch":1,"step":12,"loss":4.83,"lr":0.02,"patches_per_s":41.2,
//    "time_s":30.1,"mode":"deterministic","precision":"fp32","device":"cpu","ranks":1}
// `epoch` counts from 1 (the epoch the step belongs to); `step` is the number of optimiser
// updates done, so the first record has step 1.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace cytocon::train {

struct LogRecord {
  std::string stage;
  int64_t epoch = 0;
  int64_t step = 0;
  double loss = 0;
  double lr = 0;
  double patches_per_s = 0;
  double time_s = 0;  // wall time since this process started training
};

class RunLog {
 public:
  // Opens `path` for appending. keep_until_step >= 0: first drops every record with a larger
  // step (a resumed run repeats the steps after its checkpoint; the log must not hold them twice).
  RunLog(const std::string& path, int64_t keep_until_step, std::string mode, std::string precision,
         std::string device, int ranks);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  void write(const LogRecord& r);

 private:
  std::string path_, mode_, precision_, device_;
  int ranks_;
  FILE* f_ = nullptr;
};

// The records of a log.jsonl (for the loss curve); fails naming the file and line if malformed.
std::vector<LogRecord> read_log(const std::string& path);

}  // namespace cytocon::train
