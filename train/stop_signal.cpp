#include "train/stop_signal.h"

#include <signal.h>

#include <atomic>

namespace cytocon::train {
namespace {
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int signo) {
  if (g_signal.load() == signo) {
    // Second Ctrl-C: the user wants out now.
    signal(signo, SIG_DFL);
    raise(signo);
    return;
  }
  g_signal.store(signo);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  // The handler only sets a flag: a read or write it interrupts (a loader thread reading a TIFF on
  // a network file system, the progress line to a pipe) resumes instead of failing with EINTR.
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int stop_requested() { return g_signal.load(); }
void set_stop_requested(int signo) { g_signal.store(signo); }

}  // namespace cytocon::train
