// cytocon-probe (docs/design.md "Interfaces"): one forward and backward pass in training mode on a
// batch, written out so an independent implementation (scripts/torch_probe_check.py) can
// compare every number.
//
//   cytocon-probe --weights W.safetensors --batch X.safetensors --out O.safetensors
//                 [--loss supcon|ce] [--device cpu|cuda] [--step] [--lr LR] [--tau T]
//                 [--random-seed K] [--classes C] [--dtype f32|f64]
//
// Batch file: x float32 [N,1,S,S] (NCHW, PyTorch layout) and y integer [N] (int32, int64,
// uint8 or uint16).
// The preset follows from S (1129: paper, 561: tiny; anything else is rejected).
// Weights: a safetensors weights file or checkpoint with every tensor of the network
// (supcon: encoder + projection; ce: encoder + classifier), PyTorch names and layouts. Without
// --weights the network is initialised from --random-seed (default 0; giving both is an error:
// they exclude each other); --classes sets C for
// --loss ce then (default: max(y)+1; with weights, C comes from classifier.weight).
// Output: loss [1]; z [N,128] (supcon) or logits [N,C] (ce); grad.<name> for every trainable
// parameter; state.<name> the BN running statistics after the pass; with --step, next.<name>
// the weights after one LARS step (η = 0.001, m = 0.9, wd = 1e-6, lr = --lr, default
// 0.01·N/128, zero initial velocity). Tensors in PyTorch layout.
// --dtype f64 runs the whole pass in float64 (CPU only): a check of the math free of float32
// round-off; outputs are then float64 too.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "config/choices.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/program.h"
#include "engine/tape.h"
#include "models/model.h"

using namespace cytocon;

namespace {

enum class Loss : uint8_t { supcon, ce };
const char* loss_name(Loss l) { return l == Loss::supcon ? "supcon" : "ce"; }

// The flags, choices parsed once (main's CLI11 checks name the alternatives).
struct Args {
  std::string weights, batch, out, dtype = "f32";
  Loss loss = Loss::supcon;
  Device device = Device::cpu;
  bool step = false;
  double lr = -1, tau = 0.07;
  uint64_t seed = 0;
  int classes = 0;
};

std::string preset_for_size(int64_t s, const std::string& origin) {
  for (const auto& n : models::preset_names())
    if (models::preset_by_name(n).input_px == s) return n;
  models::check_input_size(models::preset_by_name("paper"), s);  // fails naming the valid sizes
  fail(origin + ": no preset for input size " + std::to_string(s));
}

int run(const Args& a) {
  io::SafeTensors batch = io::read_safetensors(a.batch);
  Tensor x = batch.get("x");
  Tensor y = batch.get("y");
  if (y.dtype() == DType::u8 || y.dtype() == DType::u16) y = y.to(DType::i32);
  check(x.dtype() == DType::f32 && x.ndim() == 4 && x.dim(1) == 1 && x.dim(2) == x.dim(3),
        a.batch + ": x is " + shape_str(x.shape()) + " " + dtype_name(x.dtype()) + ", expected float32 [N,1,S,S]");
  check(y.dtype() == DType::i32 && y.ndim() == 1 && y.dim(0) == x.dim(0),
        a.batch + ": y is " + shape_str(y.shape()) + " " + dtype_name(y.dtype()) + ", expected an integer vector [" +
            std::to_string(x.dim(0)) + "]");
  const int64_t n = x.dim(0);
  check(n >= 2, a.batch + ": x holds " + std::to_string(n) + " patches; a batch needs at least 2");
  const float* xv = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i)
    check(std::isfinite(xv[i]), a.batch + ": x[" + std::to_string(i) + "] = " + number_text(xv[i]) +
                                    ": the patches must be finite intensities");
  const std::vector<int32_t> yv = y.to_vector<int32_t>();
  for (int64_t i = 0; i < n; ++i) check(yv[i] >= 0, a.batch + ": y[" + std::to_string(i) + "] = " + std::to_string(yv[i]) + " is negative");

  models::NetworkConfig cfg;
  try {
    cfg.preset = preset_for_size(x.dim(2), a.batch);
  } catch (const std::exception& e) {
    fail(a.batch + ": x is " + shape_str(x.shape()) + ": " + e.what());
  }
  cfg.projection = a.loss == Loss::supcon;
  cfg.dtype = a.dtype == "f64" ? DType::f64 : DType::f32;
  check(cfg.dtype == DType::f32 || a.device == Device::cpu, "--dtype f64 runs on the cpu only");
  if (a.loss == Loss::ce) {
    int c = a.classes;
    if (!a.weights.empty()) {
      io::SafeTensors w = io::read_safetensors(a.weights);
      check(w.has("classifier.weight") && w.get("classifier.weight").ndim() == 2,
            a.weights + ": --loss ce needs a 2-D tensor 'classifier.weight'");
      c = static_cast<int>(w.get("classifier.weight").dim(0));
    } else if (c <= 0) {
      c = *std::max_element(yv.begin(), yv.end()) + 1;
    }
    cfg.num_classes = c;
    for (int64_t i = 0; i < n; ++i)
      check(yv[i] < c, a.batch + ": y[" + std::to_string(i) + "] = " + std::to_string(yv[i]) + " is not below the " +
                           std::to_string(c) + " classes");
  }
  models::Network net(cfg);
  if (a.weights.empty())
    net.init(a.seed);
  else
    models::load_weights(net, a.weights);
  net.to(a.device);

  const Tensor xd = io::channels_last(x).to(cfg.dtype).to(a.device);  // NCHW → NHWC
  const Tensor yd = y.to(a.device);
  const Shards sh;  // one process, one micro-shard
  Tape tape;
  Tensor h = net.encode(xd, /*training=*/true, sh);
  Tensor out, loss;
  if (a.loss == Loss::supcon) {
    out = net.project(h, true, sh);
    loss = ops::supcon_loss(out, yd, a.tau);
  } else {
    out = net.classify(h, sh);
    loss = ops::cross_entropy(out, yd, sh);
  }
  tape.backward(loss);

  std::vector<io::NamedTensor> o;
  o.push_back({"loss", loss.to(Device::cpu)});
  o.push_back({a.loss == Loss::supcon ? "z" : "logits", out.to(Device::cpu)});
  const std::vector<Param> params = net.trainable_params();
  for (const auto& p : params) {
    check(p.value.grad().defined(), "internal: no gradient for " + p.name);
    o.push_back({"grad." + p.name, io::pytorch_layout(p.value.grad().to(Device::cpu))});
  }
  for (const auto& b : net.buffers()) o.push_back({"state." + b.name, io::pytorch_layout(b.value.to(Device::cpu))});
  if (a.step) {
    optim::Lars lars(params, optim::LrSchedule{a.lr > 0 ? a.lr : 0.01 * static_cast<double>(n) / 128.0});
    lars.step();
    for (const auto& p : params) o.push_back({"next." + p.name, io::pytorch_layout(p.value.to(Device::cpu))});
  }
  io::write_safetensors(a.out, o,
                        {{"preset", cfg.preset}, {"loss", loss_name(a.loss)}, {"device", device_name(a.device)}, {"dtype", a.dtype},
                         {"weights", a.weights.empty() ? "random seed " + std::to_string(a.seed) : a.weights}});
  std::printf("{\"loss\": %.9g, \"n\": %lld, \"preset\": \"%s\", \"out\": \"%s\"}\n",
              loss.to(Device::cpu).to(DType::f64).data<double>()[0], static_cast<long long>(n), cfg.preset.c_str(),
              a.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cytocon-probe: one training-mode forward/backward pass on a batch (see docs/design.md)"};
  Args a;
  CLI::Option* weights =
      app.add_option("--weights", a.weights, "weights (safetensors or checkpoint); absent: random init")->check(CLI::ExistingFile);
  app.add_option("--batch", a.batch, "batch safetensors: x float32 [N,1,S,S], y integer [N]")->required()->check(CLI::ExistingFile);
  app.add_option("--out", a.out, "output safetensors")->required();
  app.add_option_function<std::string>(
         "--loss", [&a](const std::string& s) { a.loss = s == "ce" ? Loss::ce : Loss::supcon; }, "supcon | ce")
      ->check(CLI::IsMember({"supcon", "ce"}));
  app.add_option_function<std::string>(
         "--device", [&a](const std::string& s) { a.device = config::parse_choice<Device>("--device", s); }, "cpu | cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--step", a.step, "also write next.<name>: the weights after one LARS step");
  app.add_option("--lr", a.lr, "LARS learning rate for --step (default 0.01*N/128)")->check(program::finite(Range{0, 100, true}));
  app.add_option("--tau", a.tau, "SupCon temperature (default 0.07)")->check(program::finite(Range{1e-4, 100}));
  app.add_option("--random-seed", a.seed, "seed of the random initialisation (instead of --weights)")
      ->excludes(weights)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--dtype", a.dtype, "f32 (default) | f64 (cpu only)")->check(CLI::IsMember({"f32", "f64"}));
  app.add_option("--classes", a.classes, "classes for --loss ce without --weights (default max(y)+1)")
      ->check(CLI::Range(2, 100000));
  return program::main("cytocon-probe", app, argc, argv, [&] { return run(a); });
}
