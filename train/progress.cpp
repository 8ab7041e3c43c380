#include "train/progress.h"

#include <unistd.h>

#include <cmath>

namespace cytocon::train {

std::string format_duration(double s) {
  if (!(s >= 0) || std::isinf(s)) return "?";
  char buf[32];
  long t = std::lround(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string format_progress(const ProgressInfo& p) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s epoch %lld/%lld step %lld/%lld loss %.4f lr %.4g %.1f patches/s ETA %s",
                p.stage.c_str(), static_cast<long long>(p.epoch), static_cast<long long>(p.epochs),
                static_cast<long long>(p.step), static_cast<long long>(p.steps), p.loss, p.lr,
                p.patches_per_s, format_duration(p.eta_s).c_str());
  return buf;
}

Progress::Progress(FILE* out, bool tty, double min_interval_s)
    : out_(out), tty_(tty), min_interval_s_(min_interval_s) {}

bool Progress::is_tty(FILE* f) { return isatty(fileno(f)) == 1; }

void Progress::update(const ProgressInfo& p, bool force) {
  auto now = std::chrono::steady_clock::now();
  if (shown_ && !force && std::chrono::duration<double>(now - last_).count() < min_interval_s_) return;
  last_ = now;
  std::string line = format_progress(p);
  if (tty_) {
    // Pad over the remains of a longer previous line.
    size_t width = line.size();
    if (width < last_width_) line.append(last_width_ - width, ' ');
    last_width_ = width;
    std::fprintf(out_, "\r%s", line.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  shown_ = true;
}

void Progress::finish() {
  if (tty_ && shown_) std::fputc('\n', out_);
  std::fflush(out_);
  shown_ = false;
  last_width_ = 0;
}

void StepTimer::start() { last_ = std::chrono::steady_clock::now(); }

double StepTimer::lap() {
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  // The first step pays for allocations and cold caches: start the average at the second.
  avg_ = laps_ <= 1 ? dt : 0.9 * avg_ + 0.1 * dt;
  ++laps_;
  return dt;
}

}  // namespace cytocon::train
