#!/usr/bin/env python3
"""Independent check of cytocon-probe against PyTorch (issue 2, "Done when").

Builds the network of a preset (--preset tiny: 5 blocks, 561 px; paper: 6 blocks, 1129 px) +
projection head + classifier in PyTorch with cytocon's parameter names (python/cytocon_torch.py),
draws random weights (BN affine parameters and running statistics
randomised too) and a random batch (N=4, labels with one repeated class and one unique one),
writes both as safetensors, runs `cytocon-probe` for the SupCon loss
(with --step) and for cross-entropy, each in float64 and float32 (--dtype), and compares loss,
z/logits, every grad.<name>, state.<name> and next.<name> with the PyTorch float64 reference.

Error measure per tensor: max|cytocon - torch| / max|torch| (normwise relative).
- float64 run: checks the math itself; every tensor must be within --tol64 (1e-9).
- float32 run: reported against --tol (1e-4) beside the error PyTorch's own float32 pass makes on
  the same tensor. It fails the check only beyond --gate32 (1e-2): a single ReLU whose input lies
  within float32 round-off of 0 flips between float32 and float64 and moves the gradients of the
  layers below it by up to ~1e-2 (seen with --seed 2: one flip in block 1 out of 1.2M
  activations; PyTorch float32 hits such flips on other seeds). The float64 run is the exact test.

Usage: /usr/bin/python3 scripts/torch_probe_check.py [--probe build/bin/cytocon-probe] [--preset tiny|paper]
       [--keep DIR]
Exit codes: 0 pass, 1 mismatch or error, 77 skipped (no PyTorch/numpy, or probe binary missing).
"""
import argparse
import os
import subprocess
import sys
import tempfile

SKIP = 77
try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # PyTorch is optional: the check skips itself
    print(f"SKIP: PyTorch/numpy not available ({e})")
    sys.exit(SKIP)


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import cytocon_torch as ct  # noqa: E402  (the network with cytocon's names; safetensors I/O)

write_safetensors = ct.write_safetensors


def read_safetensors(path):
    return ct.read_safetensors(path)[0]


supcon = ct.supcon_loss


def lars_next(params, lr, eta=0.001, m=0.9, wd=1e-6):
    """One LARS step from zero velocity (docs/design.md): v = lr*trust*(g+wd*w) for weights, lr*g else."""
    out = {}
    for name, (w, g, adapt) in params.items():
        if adapt:
            g = g + wd * w
            wn, gn = w.norm(), g.norm()
            trust = eta * wn / gn if (wn > 0 and gn > 0) else 1.0
            out[name] = w - lr * trust * g
        else:
            out[name] = w - lr * g
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probe", default=os.environ.get("CYTOCON_PROBE", "build/bin/cytocon-probe"))
    ap.add_argument("--tol", type=float, default=1e-4, help="float32 run: relative tolerance")
    ap.add_argument("--gate32", type=float, default=1e-2, help="float32 run: relative error that fails the check")
    ap.add_argument("--tol64", type=float, default=1e-9, help="float64 run: relative tolerance")
    ap.add_argument("--keep", help="directory to keep the files in (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="tiny", choices=sorted(ct.PRESETS))
    args = ap.parse_args()
    if not os.access(args.probe, os.X_OK):
        print(f"SKIP: probe binary {args.probe} not found (build cytocon-probe or pass --probe)")
        return SKIP

    torch.manual_seed(args.seed)
    classes = 5
    net = ct.CytoconNet(args.preset, classes).double()
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    # Weights as float32 (what cytocon reads); the reference runs in float64 on the same values.
    sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    weights32 = {k: v.float().numpy() for k, v in sd.items()}
    net.load_state_dict({k: torch.from_numpy(v).double() for k, v in weights32.items()}, strict=False)
    px = ct.PRESETS[args.preset]["input_px"]
    x32 = torch.rand(4, 1, px, px, dtype=torch.float32)
    y = torch.tensor([2, 0, 2, 2], dtype=torch.int64)  # class 2 three times, class 0 unique
    n = x32.shape[0]
    lr = 0.01 * n / 128

    work = args.keep or tempfile.mkdtemp(prefix="cytocon_probe_check_")
    os.makedirs(work, exist_ok=True)
    wpath, bpath = os.path.join(work, "weights.safetensors"), os.path.join(work, "batch.safetensors")
    write_safetensors(wpath, weights32, {"format": "torch_probe_check"})
    write_safetensors(bpath, {"x": x32.numpy(), "y": y.numpy()})

    ok = True
    # worst[(dtype, kind)] = (cytocon error, PyTorch float32 error on the same tensor, tensor name)
    worst = {}
    above_tol = []

    def rel_err(got, ref):
        ref = np.asarray(ref, dtype=np.float64)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != ref.shape:
            return float("inf")
        return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))

    def compare(dtype, tag, got, ref, ref32):
        """float64 run: error <= tol64. float32 run: error <= tol, or <= 3x PyTorch's own float32 error."""
        nonlocal ok
        if got is None:
            print(f"  [{dtype}] missing {tag}")
            ok = False
            return
        err, err32 = rel_err(got, ref), rel_err(ref32, ref)
        key = (dtype, tag.split(".")[0])
        if err > worst.get(key, (-1,))[0]:
            worst[key] = (err, err32, tag)
        if dtype == "f32" and not err <= args.tol:
            above_tol.append(f"{tag} {err:.2g} (PyTorch f32 {err32:.2g})")
        if not err <= (args.tol64 if dtype == "f64" else args.gate32):
            print(f"  [{dtype}] MISMATCH {tag}: relative error {err:.3g} (PyTorch float32: {err32:.3g})")
            ok = False

    def reference(loss_kind, dt):
        """PyTorch forward/backward in training mode; returns name -> tensor (float64 numpy)."""
        ref = ct.CytoconNet(args.preset, classes).to(dt)
        ref.load_state_dict({k: torch.from_numpy(v).to(dt) for k, v in weights32.items()}, strict=False)
        ref.train()
        h = ref.encoder(x32.to(dt))
        if loss_kind == "supcon":
            outv = ref.projection(h)
            loss = supcon(outv, y)
            skip = "classifier."
        else:
            outv = ref.classifier(h)
            loss = F.cross_entropy(outv, y)
            skip = "projection."
        loss.backward()
        trainable = [(k, p) for k, p in ref.named_parameters() if not k.startswith(skip)]
        res = {"loss": loss.detach().reshape(1), ("z" if loss_kind == "supcon" else "logits"): outv.detach()}
        for k, p in trainable:
            res[f"grad.{k}"] = p.grad
        for k, b in ref.named_buffers():
            if not k.endswith("num_batches_tracked") and not k.startswith(skip):
                res[f"state.{k}"] = b
        if loss_kind == "supcon":
            adapt = {k: not (".bn" in k or k.endswith(".bias")) for k, _ in trainable}
            nxt = lars_next({k: (p.detach(), p.grad, adapt[k]) for k, p in trainable}, lr)
            res.update({f"next.{k}": v for k, v in nxt.items()})
        return {k: v.detach().double().numpy() for k, v in res.items()}

    for loss_kind in ("supcon", "ce"):
        ref64, ref32 = reference(loss_kind, torch.float64), reference(loss_kind, torch.float32)
        for dtype in ("f64", "f32"):
            out = os.path.join(work, f"out_{loss_kind}_{dtype}.safetensors")
            cmd = [args.probe, "--weights", wpath, "--batch", bpath, "--out", out, "--loss", loss_kind,
                   "--dtype", dtype]
            if loss_kind == "supcon":
                cmd.append("--step")
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"cytocon-probe failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
                return 1
            got = read_safetensors(out)
            print(f"{loss_kind} [{dtype}]: loss cytocon {float(got['loss'].reshape(())):.10f}  "
                  f"torch float64 {float(ref64['loss'][0]):.10f}")
            for k in ref64:
                compare(dtype, k, got.get(k), ref64[k], ref32[k])
            extra = sorted(set(got) - set(ref64))
            if extra:
                print(f"  [{dtype}] unexpected outputs: {extra}")
                ok = False

    print("max relative error vs PyTorch float64, max|a-b|/max|b| per tensor, worst tensor per kind:")
    print("  run  kind    cytocon    PyTorch-f32-on-same-tensor  tensor")
    for (dtype, kind), (err, err32, tag) in sorted(worst.items()):
        e32 = f"{err32:.3e}" if dtype == "f32" else "    -    "
        print(f"  {dtype}  {kind:7s} {err:.3e}  {e32}                   {tag}")
    if above_tol:
        print(f"float32 tensors above {args.tol:g}: " + "; ".join(above_tol))
    else:
        print(f"float32: every tensor within {args.tol:g}")
    print("PASS" if ok else f"FAIL (tolerances: f64 {args.tol64:g}, f32 {args.gate32:g})")
    if not args.keep:
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        os.rmdir(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
