#!/usr/bin/env python3
"""PyTorch's GPU training throughput on cytocon's paper network (python/cytocon_torch.py): the
reference the GPU targets of docs/performance.md are stated against (scripts/gpu_session.sh runs
it beside cytocon-bench in its `anchors` phase).

A SupCon training step (encoder + projection in training mode, eqs. 1-2 with τ = 0.07 computed in
float32, backward, SGD momentum) on random 1129 px patches with labels from 113 areas, per
configuration: precision fp32 (TF32 off), tf32, or bf16 autocast; NCHW or channels_last (`cl`);
optionally torch.compile; optionally deterministic algorithms (`det`). cuDNN benchmark mode unless
deterministic. --warm steps, then --steps timed steps. One JSON line per configuration: batch,
mode, compile, step_ms, patches_per_s, peak_mem_gib (torch.cuda.max_memory_allocated).

  python3 python/bench_gpu.py [--compile] [--configs 256:tf32cl 256:bf16cl ...] [--preset paper]

Default configurations: 128/256 fp32, 128/256 tf32, 256 tf32cl, 256 bf16, 256 bf16cl, 512 bf16cl,
256 det-fp32, det-fp32cl, det-tf32cl; --compile adds 256 tf32cl and bf16cl compiled.
--device cpu runs the same code on the CPU (a smoke test of the script, not a benchmark).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cytocon_torch as ct  # noqa: E402

DEFAULT = ["128:fp32", "256:fp32", "128:tf32", "256:tf32", "256:tf32cl", "256:bf16", "256:bf16cl", "512:bf16cl",
           "256:det-fp32", "256:det-fp32cl", "256:det-tf32cl"]
COMPILED = ["256:tf32cl", "256:bf16cl"]


def run(preset, batch, mode, device, steps, warm, compile_=False):
    det = mode.startswith("det-")
    prec = mode[4:] if det else mode
    cl = prec.endswith("cl")
    prec = prec[:-2] if cl else prec
    if prec not in ("fp32", "tf32", "bf16"):
        raise ValueError(f"mode {mode}: expected [det-](fp32|tf32|bf16)[cl]")
    cuda = device == "cuda"
    torch.use_deterministic_algorithms(det)
    if cuda:
        torch.backends.cudnn.benchmark = not det
        torch.backends.cudnn.deterministic = det
        torch.backends.cudnn.allow_tf32 = prec == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
    torch.manual_seed(0)
    net = ct.CytoconNet(preset).to(device)
    s = net.encoder.input_px
    x = torch.rand(batch, 1, s, s, device=device)
    if cl:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 113, (batch,), device=device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    def zfn(inp):
        return net.projection(net.features(inp))

    fwd = torch.compile(zfn) if compile_ else zfn

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=prec == "bf16"):
            z = fwd(x)
        loss = ct.supcon_loss(z.float(), y)
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(warm):
        step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    dt = (time.perf_counter() - t) / steps
    out = {"preset": preset, "batch": batch, "mode": mode, "compile": compile_, "step_ms": round(dt * 1e3, 2),
           "patches_per_s": round(batch / dt, 1)}
    if cuda:
        out["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="paper", choices=sorted(ct.PRESETS))
    ap.add_argument("--configs", nargs="+", default=DEFAULT, metavar="BATCH:MODE")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warm", type=int, default=5)
    a = ap.parse_args()
    head = {"torch": torch.__version__, "preset": a.preset,
            "params": sum(p.numel() for p in ct.CytoconNet(a.preset).parameters())}
    if a.device == "cuda":
        head["gpu"] = torch.cuda.get_device_name()
    print(json.dumps(head), flush=True)
    jobs = [(c, False) for c in a.configs] + ([(c, True) for c in COMPILED] if a.compile else [])
    for c, comp in jobs:
        b, m = c.split(":")
        try:
            print(json.dumps(run(a.preset, int(b), m, a.device, a.steps, a.warm, comp)), flush=True)
        except Exception as e:  # one configuration failing (e.g. out of memory) must not stop the rest
            print(json.dumps({"batch": int(b), "mode": m, "compile": comp, "error": str(e)[:200]}), flush=True)
        if a.device == "cuda":
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
