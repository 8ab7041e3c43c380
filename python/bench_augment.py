#!/usr/bin/env python3
"""PyTorch's rate for the paper's augmentation (§3; docs/design.md, "Augmentation"): the reference
that cytocon's patch extraction (cytocon-databench, CPU and GPU extractor) is compared with.
scripts/gpu_session.sh runs it in its `anchors` phase.

Per patch, from an 8-bit section crop already at the target resolution (1797 px = the 1129 px
patch rotated, plus twice the largest translation of 0.2 mm at 2 µm/px): rotation θ ~ U[−π, π],
translation d ~ U[0, 100 px] in a random direction, mirror with probability 0.5 (one bilinear
resampling through affine_grid/grid_sample), intensity αx^γ + β with the unbiased gamma
γ = ln(0.5 + Z/√2) / ln(0.5 − Z/√2), then with probability 0.25 a Gaussian blur (σ ~ U[0.125, 1])
or with probability 0.25 sharpening x + δ(x − G_σ(x)), δ ~ U[0.5, 1.5]; per-patch kernels as a
grouped separable convolution. This is the same work as cytocon's extractor, done the way a PyTorch
user would write it; its values are not cytocon's bits (different interpolation conventions).

  python3 python/bench_augment.py [--device cuda|cpu] [--batch 256] [--steps 20] [--threads 1]

One JSON line: device, batch, threads (CPU), patches_per_s. `--device cpu` times one process on
--threads threads (cytocon-databench's per-core figure is the comparison).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

PATCH = 1129          # the paper's patch, px at 2 µm/px
SHIFT = 100           # 0.2 mm at 2 µm/px
CROP = math.ceil(PATCH * math.sqrt(2)) + 2 * SHIFT   # 1797: every rotation and shift stays inside


def gaussian_kernels(sigma, radius):
    """[B, 2·radius+1] normalised 1-D Gaussians, one per patch."""
    t = torch.arange(-radius, radius + 1, device=sigma.device, dtype=torch.float32)
    k = torch.exp(-t[None, :] ** 2 / (2 * sigma[:, None] ** 2))
    return k / k.sum(1, keepdim=True)


def blur(x, sigma):
    """Separable Gaussian per patch: x [B,1,H,W], sigma [B]."""
    b = x.shape[0]
    radius = 3                                   # ceil(3σ) for σ ≤ 1
    k = gaussian_kernels(sigma, radius)
    y = x.transpose(0, 1)                        # [1,B,H,W]: patches as channels, grouped conv
    y = F.conv2d(y, k.view(b, 1, 1, -1), padding=(0, radius), groups=b)
    y = F.conv2d(y, k.view(b, 1, -1, 1), padding=(radius, 0), groups=b)
    return y.transpose(0, 1)


def augment(src, gen):
    """One batch of augmented patches from src [B,1,CROP,CROP] uint8."""
    b, dev = src.shape[0], src.device
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, device=dev, generator=gen)
    theta = u(-math.pi, math.pi)
    d, phi = u(0, SHIFT), u(-math.pi, math.pi)
    mirror = torch.where(torch.rand(b, device=dev, generator=gen) < 0.5, -1.0, 1.0)
    c, s = torch.cos(theta), torch.sin(theta)
    scale = PATCH / CROP                         # output pixel -> crop pixel, normalised coordinates
    tx, ty = d * torch.cos(phi) * 2 / CROP, d * torch.sin(phi) * 2 / CROP
    a = torch.stack([torch.stack([c * scale * mirror, -s * scale, tx], 1),
                     torch.stack([s * scale * mirror, c * scale, ty], 1)], 1)
    grid = F.affine_grid(a, (b, 1, PATCH, PATCH), align_corners=False)
    x = F.grid_sample(src.float() / 255, grid, mode="bilinear", align_corners=False)
    z = u(-0.05, 0.05)
    gamma = torch.log(0.5 + z / math.sqrt(2)) / torch.log(0.5 - z / math.sqrt(2))
    x = u(0.9, 1.0).view(b, 1, 1, 1) * x.clamp_min(0).pow(gamma.view(b, 1, 1, 1)) + u(-0.1, 0.1).view(b, 1, 1, 1)
    r = torch.rand(b, device=dev, generator=gen)
    g = blur(x, u(0.125, 1.0))
    delta = u(0.5, 1.5).view(b, 1, 1, 1)
    pick = r.view(b, 1, 1, 1)
    return torch.where(pick < 0.25, g, torch.where(pick < 0.5, x + delta * (x - g), x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    dev = torch.device(a.device)
    if a.device == "cpu":
        torch.set_num_threads(a.threads)
    gen = torch.Generator(device=dev)
    gen.manual_seed(1)
    src = torch.randint(0, 256, (a.batch, 1, CROP, CROP), dtype=torch.uint8, device=dev, generator=gen)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    for _ in range(a.warm):
        augment(src, gen)
    sync()
    t = time.perf_counter()
    for _ in range(a.steps):
        augment(src, gen)
    sync()
    rate = a.batch * a.steps / (time.perf_counter() - t)
    out = {"anchor": "bench_augment", "device": a.device, "batch": a.batch, "patches_per_s": round(rate, 1)}
    if a.device == "cpu":
        out["threads"] = a.threads
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
