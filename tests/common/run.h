// Running a program from a test: the command line through the shell, its stdout and stderr
// captured in a per-process log (ctest runs each test as its own process, possibly in parallel).
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "engine/io/atomic_file.h"

namespace cytocon::testing_util {

// Returns the exit status and fills `out` (if given) with stdout+stderr.
inline int run(const std::string& cmd, std::string* out = nullptr) {
  const std::string log = ::testing::TempDir() + "/cytocon_run_" + std::to_string(::getpid()) + ".log";
  const int rc = std::system((cmd + " > " + log + " 2>&1").c_str());
  if (out) *out = io::read_file(log);
  return WEXITSTATUS(rc);
}

}  // namespace cytocon::testing_util
