#include "tools/bench/layers.h"

#include <algorithm>
#include <cstdio>
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

// Best and mean wall time of `steps` calls of f after one warm-up call, in milliseconds.
template <class F>
std::pair<double, double> time_ms(Device d, int steps, F&& f) {
  f();
  synchronize(d);
  double best = 1e30, total = 0;
  for (int s = 0; s < steps; ++s) {
    const double t0 = now_s();
    f();
    synchronize(d);
    const double dt = (now_s() - t0) * 1e3;
    best = std::min(best, dt);
    total += dt;
  }
  return {best, total / steps};
}

}  // namespace

int run_layers(const Options& o, Device d) {
  Backend& be = backend(d);
  const Shards sh = make_shards(o);
  double sum[3] = {0, 0, 0};
  for (const Layer& l : encoder_layers(models::preset_by_name(o.preset))) {
    const int64_t oh = l.out();
    const Shape xs{o.batch, l.px, l.px, l.cin}, ws{l.cout, l.k, l.k, l.cin};
    const Tensor x = uniform_tensor(xs, 1, 0, 1, d);
    const Tensor w = uniform_tensor(ws, 2, -0.1, 0.1, d);
    const Tensor dy = uniform_tensor({o.batch, oh, oh, l.cout}, 3, -1, 1, d);
    const auto fwd = time_ms(d, o.steps, [&] { be.conv2d_forward(x, w, static_cast<int>(l.stride)); });
    // The first conv reads the image, which needs no gradient: the network never runs its backward-data.
    const bool first = l.cin == 1;
    const auto bwd_data = first ? std::pair<double, double>{0, 0} : time_ms(d, o.steps, [&] {
      be.conv2d_backward_data(dy, w, xs, static_cast<int>(l.stride));
    });
    const auto bwd_weight = time_ms(d, o.steps, [&] {
      be.conv2d_backward_weight(x, dy, ws, static_cast<int>(l.stride), sh);
    });
    const double gflop = 2.0 * o.batch * oh * oh * l.cout * l.k * l.k * l.cin * 1e-9;
    std::printf("{\"layer\": \"%s\", %s, \"in_px\": %lld, \"cin\": %lld, \"cout\": %lld, \"k\": %lld, "
                "\"stride\": %lld, \"out_px\": %lld, \"gflop\": %.4f, \"fwd_ms\": %.3f, \"bwd_data_ms\": %s, "
                "\"bwd_weight_ms\": %.3f, \"fwd_gflops\": %.1f, \"bwd_data_gflops\": %s, \"bwd_weight_gflops\": %.1f}\n",
                l.name.c_str(), json_common(o).c_str(), (long long)l.px, (long long)l.cin, (long long)l.cout,
                (long long)l.k, (long long)l.stride, (long long)oh, gflop, fwd.first,
                first ? "null" : std::to_string(bwd_data.first).c_str(), bwd_weight.first, gflop / fwd.first * 1e3,
                first ? "null" : std::to_string(gflop / bwd_data.first * 1e3).c_str(),
                gflop / bwd_weight.first * 1e3);
    std::fflush(stdout);
    sum[0] += fwd.first;
    sum[1] += bwd_data.first;
    sum[2] += bwd_weight.first;
  }
  std::printf("{\"layer\": \"total\", %s, \"fwd_ms\": %.3f, \"bwd_data_ms\": %.3f, \"bwd_weight_ms\": %.3f, "
              "\"timing\": \"best of %d after one warm-up\"}\n",
              json_common(o).c_str(), sum[0], sum[1], sum[2], o.steps);
  return 0;
}

}  // namespace cytocon::bench
