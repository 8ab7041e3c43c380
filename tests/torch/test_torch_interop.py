#!/usr/bin/env python3
"""python/cytocon_torch.py against cytocon itself, on checkpoints cytocon trained (issue 14).

For each preset (tiny, paper): cytocon-synth writes a small dataset; cytocon-train runs stage supcon
for 2 steps, the linear probe on its encoder for 2 steps and ce from scratch for 2 steps;
cytocon-eval evaluates the linear and the ce model on X_te, writing features.safetensors (h and
logits) and, with --dump-patches, the exact patches it fed the network. The PyTorch module then
loads each final.safetensors (all three stages) and runs the same patches:

- linear and ce: h and logits of the module vs cytocon-eval's;
- supcon: h of the supcon weights vs cytocon-eval's h of the linear model (the probe keeps the
  encoder frozen, BN statistics included), and z = g(h) unit-norm;
- the dump's point indices equal predictions.csv's (same patches, same order).

Tolerance: max|cytocon − torch| / max|torch| ≤ 1e-4 per tensor, torch in float64 on the float32
weights (cytocon computes in float32: summation order alone moves ~1e-6 relative; the PyTorch
float32 figure is printed beside it). Top-1 must agree wherever the two best logits differ by
more than that tolerance.

Usage: /usr/bin/python3 tests/torch/test_torch_interop.py --bin build/bin [--presets tiny paper] [--keep DIR]
Exit codes: 0 pass, 1 mismatch or error, 77 skipped (no PyTorch/numpy).
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"SKIP: PyTorch/numpy not available ({e})")
    sys.exit(SKIP)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import cytocon_torch as ct  # noqa: E402

TOL = 1e-4


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}{r.stderr}")


def rel_err(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        return float("inf")
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))


def torch_outputs(weights, x32):
    """(float64 outputs, float32 outputs) of the module: dict with h and logits or z."""
    out = {}
    for dt in (torch.float64, torch.float32):
        net = ct.load(weights, dtype=dt).eval()
        with torch.no_grad():
            h = net.features(x32.to(dt))
            o = {"h": h}
            if net.classifier is not None:
                o["logits"] = net.classifier(h)
            if net.projection is not None:
                o["z"] = net.projection(h)
        out[dt] = {k: v.numpy() for k, v in o.items()}
    return out[torch.float64], out[torch.float32]


def check_preset(b, preset, work):
    ok = True
    data = os.path.join(work, "data")
    if not os.path.exists(os.path.join(data, "manifest.csv")):
        run([f"{b}/cytocon-synth", "--out", data, "--brains", "2", "--sections", "2", "--areas", "3", "--seed", "3",
             "--size", "1024x768", "--unseen", "1"])
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    runs = os.path.join(work, preset)
    base = [f"{b}/cytocon-train", "--quiet", "--config", os.path.join(src, "configs", "demo.toml"),
            "--set", f"data.dir={data}", "--set", f"model.preset={preset}", "--set", "data.patch_px=0",
            "--set", "data.patches_per_area=4", "--set", "data.test_fraction=0.5", "--set", "data.spacing_um=400",
            "--set", "train.batch_size=8", "--set", "train.max_steps=2", "--set", "train.device=cpu"]
    run(base + ["--set", "train.stage=supcon", "--set", f"train.out={runs}/supcon"])
    run(base + ["--set", "train.stage=linear", "--set", f"train.init={runs}/supcon/final.safetensors",
                "--set", f"train.out={runs}/linear"])
    run(base + ["--set", "train.stage=ce", "--set", f"train.out={runs}/ce"])
    patches = os.path.join(runs, "patches.safetensors")
    for stage in ("linear", "ce"):
        cmd = [f"{b}/cytocon-eval", "--quiet", "--checkpoint", f"{runs}/{stage}/final.safetensors", "--data", data,
               "--split", "test", "--device", "cpu", "--tsne-iterations", "0", "--clusters", "2", "--batch", "8",
               "--out", f"{runs}/eval-{stage}"]
        if stage == "linear":
            cmd += ["--dump-patches", patches]
        run(cmd)

    dump, meta = ct.read_safetensors(patches)
    x = ct.patches_to_torch(dump["x"])
    s = ct.PRESETS[preset]["input_px"]
    print(f"[{preset}] {x.shape[0]} patches of {s} px at {meta.get('um_per_px')} um/px, "
          f"range [{float(x.min()):.3f}, {float(x.max()):.3f}]")
    if list(x.shape[1:]) != [1, s, s] or x.shape[0] < 2:
        print(f"[{preset}] FAIL: dumped patches have shape {list(dump['x'].shape)}")
        return False
    with open(f"{runs}/eval-linear/predictions.csv") as f:
        order = [int(r["index"]) for r in csv.DictReader(f)]
    if order != [int(i) for i in dump["index"]]:
        print(f"[{preset}] FAIL: the dumped patches are not in predictions.csv's order")
        ok = False

    def compare(what, got, ref64, ref32):
        nonlocal ok
        err, err32 = rel_err(got, ref64), rel_err(ref32, ref64)
        good = err <= TOL
        ok &= good
        print(f"[{preset}] {what}: cytocon vs torch float64 {err:.2e}, torch float32 {err32:.2e}"
              f" (tolerance {TOL:g}) {'ok' if good else 'MISMATCH'}")

    linear_h = None
    for stage in ("linear", "ce"):
        feats, _ = ct.read_safetensors(f"{runs}/eval-{stage}/features.safetensors")
        r64, r32 = torch_outputs(f"{runs}/{stage}/final.safetensors", x)
        compare(f"{stage} h", feats["h"], r64["h"], r32["h"])
        compare(f"{stage} logits", feats["logits"], r64["logits"], r32["logits"])
        top2 = np.sort(r64["logits"], axis=1)[:, -2:]
        clear = (top2[:, 1] - top2[:, 0]) > TOL * np.abs(r64["logits"]).max()
        agree = np.argmax(feats["logits"], 1) == np.argmax(r64["logits"], 1)
        if not agree[clear].all():
            print(f"[{preset}] {stage}: top-1 differs on {int((~agree & clear).sum())} patches")
            ok = False
        if stage == "linear":
            linear_h = feats["h"]
    r64, r32 = torch_outputs(f"{runs}/supcon/final.safetensors", x)
    compare("supcon h (vs the probe's frozen encoder)", linear_h, r64["h"], r32["h"])
    norms = np.linalg.norm(r64["z"], axis=1)
    if not np.allclose(norms, 1.0, atol=1e-9):
        print(f"[{preset}] supcon z not unit-norm: {norms.min()}..{norms.max()}")
        ok = False
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--presets", nargs="+", default=["tiny", "paper"], choices=sorted(ct.PRESETS))
    ap.add_argument("--keep", help="directory to keep the files in (default: a temporary one, removed)")
    a = ap.parse_args()
    for p in ("cytocon-synth", "cytocon-train", "cytocon-eval"):
        if not os.access(os.path.join(a.bin, p), os.X_OK):
            print(f"FAIL: {a.bin}/{p} is missing")
            return 1
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    work = a.keep or tempfile.mkdtemp(prefix="cytocon_torch_interop_")
    os.makedirs(work, exist_ok=True)
    try:
        ok = all([check_preset(a.bin, p, work) for p in a.presets])
    except RuntimeError as e:
        print(f"FAIL: {e}")
        ok = False
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
