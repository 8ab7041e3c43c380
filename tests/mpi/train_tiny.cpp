// A few data-parallel training steps of the tiny preset (561 px, 5 blocks) on random data, as
// cytocon-train runs them; rank 0 writes the losses and the final parameters and BN statistics
// to OUT. Run with 1, 2 and 4 ranks, the files must be byte-identical (compare_runs).
//   mpi_train_tiny supcon|ce OUT [steps]
// Global batch 8 in 8 micro-shards; the inputs and labels of global sample i at step s are
// Philox draws keyed by (s, i), so each rank makes exactly its own share of the same batch.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/dist/context.h"
#include "engine/dist/gather.h"
#include "engine/dist/replicate.h"
#include "engine/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/rng.h"
#include "engine/tape.h"
#include "models/model.h"
#include "mpi/run_file.h"

using namespace cytocon;

namespace {

constexpr int kShards = 8, kBatch = 8, kClasses = 3;
constexpr uint64_t kSeed = 2021;

// This rank's rows of the global batch of step `step`.
void make_batch(int64_t step, int64_t first, int64_t n, int px, Tensor& x, Tensor& y) {
  x = Tensor::empty({n, px, px, 1});
  std::vector<int32_t> labels(n);
  float* p = x.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t g = static_cast<uint32_t>(first + i);
    Rng rng(kSeed, Purpose::test, static_cast<uint32_t>(step), g);
    for (int64_t j = 0; j < int64_t(px) * px; ++j) p[i * px * px + j] = rng.uniform(static_cast<uint32_t>(j));
    labels[i] = static_cast<int32_t>(rng.below(0xffffffffu, kClasses));
  }
  y = Tensor::from_vector(labels, {n});
}

}  // namespace

int main(int argc, char** argv) {
  const std::string stage = argc > 2 ? argv[1] : "";
  const std::string out = argc > 2 ? argv[2] : "";
  const int steps = argc > 3 ? std::atoi(argv[3]) : 2;
  return dist::run(argc, argv, [&](dist::Context& ctx) {
    check((stage == "supcon" || stage == "ce") && steps > 0,
          "usage: mpi_train_tiny supcon|ce OUT [steps > 0]");
    Shards sh = ctx.shards(kShards);
    models::NetworkConfig nc;
    nc.preset = "tiny";
    nc.projection = stage == "supcon";
    nc.num_classes = stage == "ce" ? kClasses : 0;
    models::Network net(nc);
    // Each rank initialises with its own seed; the broadcast must make them rank 0's.
    net.init(kSeed + static_cast<uint64_t>(ctx.rank()));
    std::vector<Tensor> state;
    for (const Param& p : net.params()) state.push_back(p.value);
    for (const Buffer& b : net.buffers()) state.push_back(b.value);
    dist::broadcast_tensors(ctx.comm(), state, 0);

    optim::Lars opt(net.trainable_params(), optim::LrSchedule{0.01 * kBatch / 128});
    const int64_t per_shard = sh.shard_size(kBatch / ctx.size());
    const int64_t first = sh.first * per_shard, n = sh.count * per_shard;
    std::vector<float> losses;
    for (int64_t s = 0; s < steps; ++s) {
      Tensor x, y;
      make_batch(s, first, n, net.preset().input_px, x, y);
      Tape tape;
      Tensor h = net.encode(x, /*training=*/true, sh);
      Tensor loss;
      if (stage == "supcon") {
        Tensor z = net.project(h, /*training=*/true, sh);
        loss = ops::supcon_loss(dist::all_gather_rows(z, sh), dist::all_gather_rows(y, sh), 0.07);
      } else {
        loss = ops::cross_entropy(net.classify(h, sh), y, sh);
      }
      tape.backward(loss);
      opt.step();
      opt.zero_grad();
      losses.push_back(loss.to_vector<float>()[0]);
      if (ctx.is_writer()) std::printf("%s step %lld loss %.9g\n", stage.c_str(), (long long)s, losses.back());
    }
    dist::check_replicated(ctx.comm(), state, "parameters and BN statistics");
    ctx.write_once([&] {
      test::RunFile f;
      f.add("losses", Tensor::from_vector(losses, {static_cast<int64_t>(losses.size())}));
      for (const Param& p : net.params()) f.add(p.name, p.value);
      for (const Buffer& b : net.buffers()) f.add(b.name, b.value);
      f.write(out);
    });
    return 0;
  });
}
