#!/usr/bin/env python3
"""PyTorch's CPU throughput on cytocon's networks (python/cytocon_torch.py): the reference side of
the README's CPU table (tools/bench/compare_cpu.py runs it beside cytocon-bench).

Per preset, as cytocon-bench times it (docs/performance.md): one SupCon training step — encoder and
projection in training mode, loss (eqs. 1-2, τ = 0.07), backward, an SGD-momentum step — on random
patches in [0, 1] with random labels, timed over --steps steps after one warm-up step; and one
inference forward z = g(f(x)) with BN on running statistics, no autograd. Prints one JSON line per
preset: size, blocks, batch, threads, train_patches_per_s, infer_patches_per_s.

  /usr/bin/python3 python/bench_cpu.py [THREADS] [--steps 3] [--presets paper tiny] [--batch N]

Batches default to paper 8, tiny 16 (cytocon-bench's defaults). Debian: apt-get install python3-torch.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cytocon_torch as ct  # noqa: E402

DEFAULT_BATCH = {"paper": 8, "tiny": 16}


def run(preset, batch, steps, classes=16):
    torch.manual_seed(0)
    net = ct.CytoconNet(preset)
    s = net.encoder.input_px
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.rand(batch, 1, s, s)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad()
        loss = ct.supcon_loss(net.projection(net.features(x)), y)
        loss.backward()
        opt.step()

    net.train()
    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps
    net.eval()
    with torch.no_grad():
        t = time.perf_counter()
        net.projection(net.features(x))
        fdt = time.perf_counter() - t
    return {"size": s, "blocks": net.encoder.blocks, "batch": batch, "threads": torch.get_num_threads(),
            "train_patches_per_s": round(batch / dt, 2), "infer_patches_per_s": round(batch / fdt, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("threads", nargs="?", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--presets", nargs="+", default=["paper", "tiny"], choices=sorted(ct.PRESETS))
    ap.add_argument("--batch", type=int, help="patches per step (default: paper 8, tiny 16)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for p in a.presets:
        print(json.dumps(run(p, a.batch or DEFAULT_BATCH[p], a.steps)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
