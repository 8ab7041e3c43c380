// cytocon-bench (docs/design.md "Interfaces"): training and inference patches/s and peak memory of
// the network as JSON lines, for comparison with python/bench_cpu.py (CPU) and
// python/bench_gpu.py (GPU) run on the same machine. --layers profiles each convolution instead.
//
//   cytocon-bench [--device cpu|cuda] [--preset paper|tiny] [--batch N]
//                 [--mode deterministic|fast] [--precision fp32|tf32|bf16] [--steps K]
//                 [--shards S] [--layers]
//
// Threads: OMP_NUM_THREADS (the anchors use 2 on the 2-core CPU machine).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <type_traits>

#include "config/choices.h"
#include "engine/program.h"
#include "tools/bench/common.h"
#include "tools/bench/layers.h"
#include "tools/bench/network.h"

using namespace cytocon;

int main(int argc, char** argv) {
  CLI::App app{"cytocon-bench: patches/s and peak memory of the network (JSON lines)"};
  bench::Options o;
  // The choices are parsed once into o's enums (config/choices.h), after CLI11's check.
  auto choice = [&app](const char* flag, auto& field, const char* help) {
    using E = std::decay_t<decltype(field)>;
    return app.add_option_function<std::string>(
        flag, [flag, &field](const std::string& s) { field = config::parse_choice<E>(flag, s); }, help);
  };
  choice("--device", o.device, "cpu | cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--preset", o.preset, "paper (1129 px, 6 blocks) | tiny (561 px, 5 blocks)")
      ->check(CLI::IsMember({"paper", "tiny"}));
  app.add_option("--batch", o.batch, "patches per step (default 8 for paper, 16 for tiny)")->check(CLI::Range(1, 65536));
  choice("--mode", o.mode, "deterministic | fast")->check(CLI::IsMember({"deterministic", "fast"}));
  choice("--precision", o.precision, "fp32 | tf32 | bf16 (CUDA convolutions)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  app.add_option("--steps", o.steps, "timed steps after one warm-up step (default 3)")->check(CLI::Range(1, 1000000));
  app.add_option("--shards", o.shards, "micro-shards (default: as the trainer, largest 2^k <= 32 dividing the batch)")
      ->check(CLI::Range(0, 1 << 20));
  app.add_flag("--layers", o.layers, "per-layer convolution profile (forward, backward-data, backward-weight)");
  return program::main("cytocon-bench", app, argc, argv, [&] {
    const Device d = bench::setup(o);
    return o.layers ? bench::run_layers(o, d) : bench::run_network(o, d);
  });
}
