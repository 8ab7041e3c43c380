#include "tools/bench/network.h"

#include <cstdio>
#include <vector>

#include "engine/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/tape.h"
#include "models/model.h"

namespace cytocon::bench {

int run_network(const Options& o, Device d) {
  models::NetworkConfig cfg;
  cfg.preset = o.preset;
  models::Network net(cfg);
  net.init(0);
  net.to(d);
  const Shards sh = make_shards(o);
  const int64_t s = net.preset().input_px;
  const Tensor x = uniform_tensor({o.batch, s, s, 1}, 1, 0, 1, d);
  std::vector<int32_t> labels(static_cast<size_t>(o.batch));
  for (int64_t i = 0; i < o.batch; ++i)
    labels[i] = static_cast<int32_t>(i % (o.batch / 2));  // every anchor has a positive
  const Tensor y = Tensor::from_vector(labels, {o.batch}).to(d);
  optim::Lars lars(net.trainable_params(), optim::LrSchedule{0.01 * static_cast<double>(o.batch) / 128.0});

  auto train_step = [&] {
    Tape tape;
    const Tensor z = net.project(net.encode(x, /*training=*/true, sh), true, sh);
    const Tensor loss = ops::supcon_loss(z, y, 0.07);
    tape.backward(loss);
    lars.step();
    lars.zero_grad();
  };
  auto infer = [&] {
    NoGrad ng;
    net.project(net.encode(x, /*training=*/false, sh), false, sh);
  };

  // Inference first: the CPU's peak RSS only grows, so this order gives each its own peak.
  reset_peak_memory(d);
  infer();  // warm-up: allocator caches, first-touch pages, cuDNN plans
  synchronize(d);
  double t0 = now_s(), c0 = cpu_now_s();
  for (int k = 0; k < o.steps; ++k) infer();
  synchronize(d);
  const double infer_s = (now_s() - t0) / o.steps, infer_cpu = (cpu_now_s() - c0) / o.steps;
  const double infer_peak = peak_memory_bytes(d);

  reset_peak_memory(d);
  train_step();
  synchronize(d);
  t0 = now_s();
  c0 = cpu_now_s();
  for (int k = 0; k < o.steps; ++k) train_step();
  synchronize(d);
  const double train_s = (now_s() - t0) / o.steps, train_cpu = (cpu_now_s() - c0) / o.steps;
  const double train_peak = peak_memory_bytes(d);

  const char* mem = d == Device::cpu ? "peak RSS of the process" : "CUDA allocator peak";
  // cpu_s_per_step: process CPU time (all threads) per step; with T threads on an otherwise idle
  // machine step_s ≈ cpu_s_per_step / T at best.
  const char* fmt =
      "{\"benchmark\": \"%s\", %s, \"steps\": %d, \"step_s\": %.4f, \"patches_per_s\": %.2f, "
      "\"cpu_s_per_step\": %.4f, \"peak_mem_gib\": %.3f, \"peak_mem\": \"%s\"}\n";
  std::printf(fmt, "train", json_common(o).c_str(), o.steps, train_s, o.batch / train_s, train_cpu,
              train_peak / (1ull << 30), mem);
  std::printf(fmt, "infer", json_common(o).c_str(), o.steps, infer_s, o.batch / infer_s, infer_cpu,
              infer_peak / (1ull << 30), mem);
  return 0;
}

}  // namespace cytocon::bench
