// SIGINT/SIGTERM during training: the handler only records the signal; the training loop sees
// it after the current step, writes a checkpoint and exits cleanly (status 128 + signal).
#pragma once

namespace cytocon::train {

// Installs the handlers (idempotent). A second signal of the same kind ends the process at once.
void install_stop_handlers();
// The signal received since install (SIGINT or SIGTERM), or 0.
int stop_requested();
// For tests: behave as if `signo` had arrived (0 clears).
void set_stop_requested(int signo);

}  // namespace cytocon::train
