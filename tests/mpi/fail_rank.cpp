// A job in which the last rank fails while the others wait in collectives; run by
// expect_failure.cmake, which checks the whole job ends within seconds with the rank's message.
//   mpi_fail_rank throw|badinput|signal|exit|hang|return|agree
// `return`: the last rank alone returns 2; `agree`: every rank returns 3 (an orderly exit).
#include <chrono>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/dist/context.h"
#include "engine/dist/gather.h"

using namespace cytocon;

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  return dist::run(argc, argv, [&](dist::Context& ctx) {
    check(mode == "throw" || mode == "badinput" || mode == "signal" || mode == "exit" || mode == "hang" ||
              mode == "return" || mode == "agree",
          "usage: mpi_fail_rank throw|badinput|signal|exit|hang|return|agree (got '" + mode + "')");
    const bool culprit = ctx.rank() == ctx.size() - 1;
    Shards sh = ctx.shards(8);
    ctx.barrier();
    if (mode == "agree") {
      std::printf("rank %d returns 3\n", ctx.rank());
      return 3;
    }
    if (culprit) {
      if (mode == "return") return 2;
      if (mode == "throw") throw std::runtime_error("injected failure on the last rank");
      if (mode == "signal") std::raise(SIGSEGV);
      if (mode == "exit") std::exit(3);
      if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
    }
    // The others (and, for badinput, everyone) keep exchanging rows of the batch.
    for (int step = 0; step < 1000000; ++step) {
      int64_t rows = sh.count * (mode == "badinput" && culprit ? 3 : 2);
      dist::all_gather_rows(Tensor::zeros({rows, 4}), sh);
    }
    return 0;
  });
}
