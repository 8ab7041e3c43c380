#include "engine/dist/watchdog.h"

#include <algorithm>
#include <cstdio>

namespace cytocon::dist {

Watchdog::Watchdog(double timeout_s, std::function<void(const std::string&)> on_expire)
    : timeout_s_(timeout_s), on_expire_(std::move(on_expire)) {
  if (timeout_s_ > 0) thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Watchdog::Wait::Wait(Watchdog* w, const char* what) : w_(w), outer_(false) {
  if (!w_ || w_->timeout_s_ <= 0) return;
  std::lock_guard<std::mutex> lock(w_->mu_);
  if (w_->busy_) return;
  outer_ = true;
  w_->busy_ = true;
  w_->what_ = what;
  w_->since_ = Clock::now();
}

Watchdog::Wait::~Wait() {
  if (!outer_) return;
  std::lock_guard<std::mutex> lock(w_->mu_);
  w_->busy_ = false;
}

void Watchdog::run() {
  // Tick: a tenth of the timeout, at most 0.5 s, so expiry is reported within ~10% of it.
  auto tick = std::chrono::duration<double>(std::min(0.5, timeout_s_ / 10));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, tick);
    if (stop_ || !busy_) continue;
    double waited = std::chrono::duration<double>(Clock::now() - since_).count();
    if (waited < timeout_s_) continue;
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "collective %s waited %.1f s, longer than the collective timeout of %.1f s: another rank "
                  "has probably failed or hung (set CYTOCON_COLLECTIVE_TIMEOUT to change the limit)",
                  what_, waited, timeout_s_);
    lock.unlock();
    on_expire_(msg);  // does not return
  }
}

}  // namespace cytocon::dist
