// Bounded waits for collectives (issue 4: "nothing may hang"). Every blocking collective holds a
// Watchdog::Wait while it runs; a background thread checks the open wait once per tick and, when
// it has lasted longer than the collective timeout, calls the expiry action (MpiComm: print the
// collective's name and MPI_Abort the whole job). A rank that dies or hangs outside a collective
// therefore ends every other rank after at most `timeout` seconds instead of never.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cytocon::dist {

class Watchdog {
 public:
  // `on_expire(message)` must not return (it ends the process). timeout_s <= 0 disables it.
  Watchdog(double timeout_s, std::function<void(const std::string&)> on_expire);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  double timeout_s() const { return timeout_s_; }

  // RAII: one named blocking operation in progress. Waits do not nest (collectives are called
  // from one thread); a nested Wait keeps the outer one's start time.
  class Wait {
   public:
    Wait(Watchdog* w, const char* what);
    ~Wait();
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;

   private:
    Watchdog* w_;
    bool outer_;
  };

 private:
  void run();
  using Clock = std::chrono::steady_clock;
  const double timeout_s_;
  std::function<void(const std::string&)> on_expire_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool busy_ = false;
  const char* what_ = "";
  Clock::time_point since_;
  std::thread thread_;
};

}  // namespace cytocon::dist
