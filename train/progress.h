// The progress line people read while a run trains: stage, epoch, step, loss, lr, patches/s and
// the estimated time left. On a terminal it is rewritten in place (\r); otherwise (a log file,
// a batch job) one plain line per report.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace cytocon::train {

struct ProgressInfo {
  std::string stage;
  int64_t epoch = 0, epochs = 0;  // epoch is 1-based here
  int64_t step = 0, steps = 0;    // optimiser steps done / planned
  double loss = 0, lr = 0;
  double patches_per_s = 0;
  double eta_s = -1;  // < 0: unknown
};

// "1h02m", "3m05s", "12s".
std::string format_duration(double seconds);
// One line, no trailing newline.
std::string format_progress(const ProgressInfo& p);

class Progress {
 public:
  // `out` is usually stdout; tty decides between \r-rewrites and plain lines.
  Progress(FILE* out, bool tty, double min_interval_s);
  static bool is_tty(FILE* f);
  // Shows p (rate-limited to one line per min_interval_s unless `force`).
  void update(const ProgressInfo& p, bool force = false);
  // Ends an in-place line so later output starts on a fresh line.
  void finish();

 private:
  FILE* out_;
  bool tty_;
  double min_interval_s_;
  bool shown_ = false;
  size_t last_width_ = 0;
  std::chrono::steady_clock::time_point last_;
};

// Throughput and ETA from wall time: an exponential moving average of the step time, so a slow
// first step (allocations, file cache) does not dominate.
class StepTimer {
 public:
  void start();
  // Call after each step; returns seconds this step took.
  double lap();
  double average_step_s() const { return avg_; }
  double eta_s(int64_t steps_left) const { return avg_ > 0 ? avg_ * static_cast<double>(steps_left) : -1; }

 private:
  std::chrono::steady_clock::time_point last_;
  double avg_ = 0;
  int64_t laps_ = 0;
};

}  // namespace cytocon::train
