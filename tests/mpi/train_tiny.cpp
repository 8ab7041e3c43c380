// A few data-parallel training steps of the tiny preset (561 px, 5 blocks) on random data, as
// cytocon-train runs them; rank 0 writes the losses and the final parameters and BN statistics
// to OUT. Run with 1, 2 and 4 ranks, the files must be byte-identical (compare_runs).
//   mpi_train_tiny supcon|ce OUT [steps] [deterministic|fast] [cpu|cuda]
// 8 micro-shards; the inputs and labels of global sample i at step s are Philox draws keyed by
// (s, i), so each rank makes exactly its own share of the same batch.
// cpu: global batch 8. cuda (one GPU per rank, NCCL for device buffers, fp32, as cytocon-train
// --device cuda): global batch 32, because docs/cuda.md claims rank-count independent bits only
// when every local batch is a multiple of kSamplesPerCall = 8 (engine/cuda/conv2d.cu: otherwise a
// cuDNN call covers 1 sample instead of 8, and cuDNN may pick another kernel for it).
// Without a usable CUDA device a cuda run writes OUT.skipped and exits with kSkip on every rank
// (ctest SKIP_RETURN_CODE); compare_runs then skips too.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#if defined(CYTOCON_HAVE_CUDA)
#include "engine/cuda/cuda.h"
#endif
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

constexpr int kShards = 8, kClasses = 3;
constexpr uint64_t kSeed = 2021;
constexpr int kSkip = 77;  // no usable CUDA device: automake's "skipped" status

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

// Forwards to the real communicator and counts calls, bytes received and time spent waiting,
// for the per-step communication figures of docs/distributed.md.
class CountingComm final : public Comm {
 public:
  explicit CountingComm(Comm& c) : c_(c) {}
  int rank() const override { return c_.rank(); }
  int size() const override { return c_.size(); }
  void all_gather(const void* s, void* r, size_t bytes, Device d) override {
    Timed t(this, bytes * (size() - 1));
    c_.all_gather(s, r, bytes, d);
  }
  void all_reduce_sum(float* data, size_t count, Device d) override {
    Timed t(this, count * sizeof(float));
    c_.all_reduce_sum(data, count, d);
  }
  void broadcast(void* data, size_t bytes, int root, Device d) override {
    Timed t(this, bytes);
    c_.broadcast(data, bytes, root, d);
  }
  void all_to_all(const void* s, void* r, size_t bytes, Device d) override {
    Timed t(this, bytes * (size() - 1));
    c_.all_to_all(s, r, bytes, d);
  }
  void barrier() override { c_.barrier(); }
  void abort(const std::string& m) override { c_.abort(m); }
  void reset() { calls = 0, bytes = 0, seconds = 0; }
  int64_t calls = 0, bytes = 0;
  double seconds = 0;

 private:
  struct Timed {
    CountingComm* c;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    Timed(CountingComm* cc, size_t b) : c(cc) {
      c->calls++;
      c->bytes += static_cast<int64_t>(b);
    }
    ~Timed() { c->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
  };
  Comm& c_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string stage = argc > 2 ? argv[1] : "";
  const std::string out = argc > 2 ? argv[2] : "";
  const int steps = argc > 3 ? std::atoi(argv[3]) : 2;
  const std::string mode = argc > 4 ? argv[4] : "deterministic";
  const std::string device_arg = argc > 5 ? argv[5] : "cpu";
  const Device device = device_arg == "cuda" ? Device::cuda : Device::cpu;
  const bool have_gpu = device == Device::cuda && cuda_available();
  dist::Options options;
  options.gpu = have_gpu;  // this rank's GPU, and NCCL for device buffers (as cytocon-train)
  return dist::run(argc, argv, [&](dist::Context& ctx) {
    check((stage == "supcon" || stage == "ce") && steps > 0 && (mode == "deterministic" || mode == "fast") &&
              (device_arg == "cpu" || device_arg == "cuda"),
          "usage: mpi_train_tiny supcon|ce OUT [steps > 0] [deterministic|fast] [cpu|cuda]");
    if (device == Device::cuda && !have_gpu) {  // the same answer on every rank: an orderly exit
      ctx.write_once([&] {
        FILE* f = std::fopen((out + ".skipped").c_str(), "w");
        check(f != nullptr && std::fclose(f) == 0, "cannot write " + out + ".skipped");
      });
      if (ctx.is_writer()) std::printf("SKIP: no usable CUDA device (or a build without CUDA)\n");
      return kSkip;
    }
    const ReduceMode rmode = mode == "fast" ? ReduceMode::fast : ReduceMode::deterministic;
#if defined(CYTOCON_HAVE_CUDA)
    if (device == Device::cuda) set_cuda_mode(rmode, Precision::fp32);
#endif
    const int64_t batch = device == Device::cuda ? 32 : 8;
    CountingComm comm(ctx.comm());
    Shards sh = Shards::make(kShards, ctx.rank(), ctx.size(), &comm, rmode);
    models::NetworkConfig nc;
    nc.preset = "tiny";
    nc.projection = stage == "supcon";
    nc.num_classes = stage == "ce" ? kClasses : 0;
    models::Network net(nc);
    // Each rank initialises with its own seed; the broadcast must make them rank 0's.
    net.init(kSeed + static_cast<uint64_t>(ctx.rank()));
    net.to(device);
    std::vector<Tensor> state;
    for (const Param& p : net.params()) state.push_back(p.value);
    for (const Buffer& b : net.buffers()) state.push_back(b.value);
    dist::broadcast_tensors(ctx.comm(), state, 0);

    optim::Lars opt(net.trainable_params(), optim::LrSchedule{0.01 * static_cast<double>(batch) / 128});
    const int64_t per_shard = sh.shard_size(batch / ctx.size());
    const int64_t first = sh.first * per_shard, n = sh.count * per_shard;
    if (ctx.is_writer())
      std::printf("%s on %s, %d rank(s), collectives %s, global batch %lld in %d micro-shards, %s mode\n",
                  stage.c_str(), device_name(device), ctx.size(), ctx.backend_name(), (long long)batch, kShards,
                  mode.c_str());
    std::vector<float> losses;
    for (int64_t s = 0; s < steps; ++s) {
      comm.reset();
      auto t0 = std::chrono::steady_clock::now();
      Tensor x, y;
      make_batch(s, first, n, net.preset().input_px, x, y);
      x = x.to(device);
      y = y.to(device);
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
      double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (ctx.is_writer())
        std::printf("%s ranks %d step %lld loss %.9g: %.3f s, collectives %lld calls, %.3f s, %lld bytes received\n",
                    stage.c_str(), ctx.size(), (long long)s, losses.back(), step_s, (long long)comm.calls,
                    comm.seconds, (long long)comm.bytes);
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
  }, options);
}
