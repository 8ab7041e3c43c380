#include "tools/bench/layers.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "models/preset.h"

namespace cytocon::bench {
namespace {

struct Layer {
  std::string name;
  int64_t px, cin, cout, k, stride;
  int64_t out() const { return (px - k) / stride + 1; }
};

// The encoder's convolutions (models/preset.h): block 1 opens with 5×5 stride 4, every other conv
// is 3×3 stride 1, a 2×2/2 floor pool follows blocks 1..B-1.
std::vector<Layer> encoder_layers(const models::Preset& p) {
  std::vector<Layer> ls;
  int64_t px = p.input_px, c = 1;
  for (int b = 1; b <= p.blocks; ++b) {
    const int64_t w = p.widths[b - 1];
    ls.push_back({"block" + std::to_string(b) + ".conv1", px, c, w, b == 1 ? 5 : 3, b == 1 ? 4 : 1});
    px = ls.back().out();
    ls.push_back({"block" + std::to_string(b) + ".conv2", px, w, w, 3, 1});
    px = ls.back().out();
    if (b < p.blocks) px /= 2;
    c = w;
  }
  return ls;
}

// Best wall time and best process CPU time (all threads) of `steps` calls of f after one warm-up
// call, in milliseconds.
struct Timing {
  double wall_ms = 1e30, cpu_ms = 1e30;
};
template <class F>
Timing time_ms(Device d, int steps, F&& f) {
  f();
  synchronize(d);
  Timing t;
  for (int s = 0; s < steps; ++s) {
    const double w0 = now_s(), c0 = cpu_now_s();
    f();
    synchronize(d);
    t.wall_ms = std::min(t.wall_ms, (now_s() - w0) * 1e3);
    t.cpu_ms = std::min(t.cpu_ms, (cpu_now_s() - c0) * 1e3);
  }
  return t;
}

std::string ms(const Timing& t, bool cpu) { return std::to_string(cpu ? t.cpu_ms : t.wall_ms); }

}  // namespace

int run_layers(const Options& o, Device d) {
  Backend& be = backend(d);
  const Shards sh = make_shards(o);
  double sum[3] = {0, 0, 0}, cpu[3] = {0, 0, 0};
  for (const Layer& l : encoder_layers(models::preset_by_name(o.preset))) {
    const int64_t oh = l.out();
    const Shape xs{o.batch, l.px, l.px, l.cin}, ws{l.cout, l.k, l.k, l.cin};
    const Tensor x = uniform_tensor(xs, 1, 0, 1, d);
    const Tensor w = uniform_tensor(ws, 2, -0.1, 0.1, d);
    const Tensor dy = uniform_tensor({o.batch, oh, oh, l.cout}, 3, -1, 1, d);
    const Timing fwd = time_ms(d, o.steps, [&] { be.conv2d_forward(x, w, static_cast<int>(l.stride)); });
    // The first conv reads the image, which needs no gradient: the network never runs its backward-data.
    const bool first = l.cin == 1;
    const Timing bwd_data =
        first ? Timing{0, 0}
              : time_ms(d, o.steps, [&] { be.conv2d_backward_data(dy, w, xs, static_cast<int>(l.stride)); });
    const Timing bwd_weight =
        time_ms(d, o.steps, [&] { be.conv2d_backward_weight(x, dy, ws, static_cast<int>(l.stride), sh); });
    const double gflop = 2.0 * o.batch * oh * oh * l.cout * l.k * l.k * l.cin * 1e-9;
    std::printf(
        "{\"layer\": \"%s\", %s, \"in_px\": %lld, \"cin\": %lld, \"cout\": %lld, \"k\": %lld, "
        "\"stride\": %lld, \"out_px\": %lld, \"gflop\": %.4f, \"fwd_ms\": %.3f, \"bwd_data_ms\": %s, "
        "\"bwd_weight_ms\": %.3f, \"fwd_cpu_ms\": %.3f, \"bwd_data_cpu_ms\": %s, \"bwd_weight_cpu_ms\": %.3f}\n",
        l.name.c_str(), json_common(o).c_str(), (long long)l.px, (long long)l.cin, (long long)l.cout, (long long)l.k,
        (long long)l.stride, (long long)oh, gflop, fwd.wall_ms, first ? "null" : ms(bwd_data, false).c_str(),
        bwd_weight.wall_ms, fwd.cpu_ms, first ? "null" : ms(bwd_data, true).c_str(), bwd_weight.cpu_ms);
    std::fflush(stdout);
    const Timing* ts[3] = {&fwd, &bwd_data, &bwd_weight};
    for (int k = 0; k < 3; ++k) {
      sum[k] += ts[k]->wall_ms;
      cpu[k] += ts[k]->cpu_ms;
    }
  }
  std::printf(
      "{\"layer\": \"total\", %s, \"fwd_ms\": %.3f, \"bwd_data_ms\": %.3f, \"bwd_weight_ms\": %.3f, "
      "\"fwd_cpu_ms\": %.3f, \"bwd_data_cpu_ms\": %.3f, \"bwd_weight_cpu_ms\": %.3f, "
      "\"timing\": \"best of %d after one warm-up; cpu = process CPU time, all threads\"}\n",
      json_common(o).c_str(), sum[0], sum[1], sum[2], cpu[0], cpu[1], cpu[2], o.steps);
  return 0;
}

}  // namespace cytocon::bench
