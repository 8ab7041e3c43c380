// Every program's main (issue 17; docs/errors.md "Exit status"): parse the command line, run, and
// map every outcome to a documented exit status with one message on stderr:
//   0  done (also --help)
//   1  an input, file or setting is wrong, or the work failed ("<program>: error: <what>")
//   2  the command line is wrong: unknown flag, missing or malformed value, value outside its range
// (cytocon-train adds 3 for a diverged run and 128 + signal for an interrupted one). Nothing
// escapes as an uncaught exception, an abort or a bare std::bad_alloc.
//
//   int main(int argc, char** argv) {
//     CLI::App app{"..."};
//     app.add_option("--um-per-px", um)->check(program::finite(Range{0, 100, true}));
//     return program::main("cytocon-x", app, argc, argv, [&] { ...; return 0; });
//   }
#pragma once
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <new>
#include <string>

#include "engine/validate.h"

namespace cytocon::program {

constexpr int kError = 1;
constexpr int kUsage = 2;

// A flag's value must be a finite number in r (CLI11's Range lets NaN through).
inline CLI::Validator finite(const Range& r) {
  return CLI::Validator(
      [r](std::string& s) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(s, v)) return "value " + s + " is not a number";
        if (!std::isfinite(v) || !r.contains(v)) return "value " + s + " is not a finite number in " + r.str();
        return std::string();
      },
      "finite number in " + r.str());
}

// Parses the command line: -1 to go on, else the status to exit with (0 after --help, kUsage).
inline int parse(const char* name, CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: error: %s\nRun with --help for the options.\n", name, e.what());
    return kUsage;
  }
  return -1;
}

// Runs body() and maps whatever it throws to a message and a status (see above).
inline int guard(const char* name, const std::function<int()>& body) {
  try {
    return body();
  } catch (const CLI::ParseError& e) {  // a usage check made after parsing
    std::fprintf(stderr, "%s: error: %s\n", name, e.what());
    return kUsage;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "%s: error: out of memory (an allocation outside the tensors failed; the inputs ask for more "
                 "memory than this machine has: lower the batch, patch or image size)\n",
                 name);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", name, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: error: an exception of unknown type\n", name);
  }
  return kError;
}

// parse, then guard(body).
inline int main(const char* name, CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  const int status = parse(name, app, argc, argv);
  return status >= 0 ? status : guard(name, body);
}

// A usage error found after parsing (e.g. flags that exclude each other): exit status 2.
[[noreturn]] inline void usage_error(const std::string& what) { throw CLI::ValidationError(what); }

}  // namespace cytocon::program
