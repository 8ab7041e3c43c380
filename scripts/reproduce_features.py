#!/usr/bin/env python3
"""Exploratory, NOT part of docs/reproduction.md's pre-registered protocol: how much area information
the encoder features h carry, independently of the trained classifier (the linear probe or the
scratch model's head). Added after the first runs showed a contrastive model below chance whose
features nonetheless clustered by area.

For every evaluated run of scripts/reproduce.sh's output (OUT/eval/NAME-{test,unseen}/
features.safetensors), on L2-normalised h:
- centroid: nearest class mean (cosine), means from X_te, tested on X_un (top-1 %);
- 1-NN: nearest neighbour (cosine) within X_un among the patches of the *other* sections (top-1 %;
  patches of one section overlap their neighbours along the centreline, 2.24 mm wide every 0.1 mm,
  so a same-section neighbour would be nearly the same image).

  /usr/bin/python3 scripts/reproduce_features.py OUT      (numpy; python/cytocon_torch.py's reader)
"""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from cytocon_torch import read_safetensors  # noqa: E402


def unit(h):
    h = h.astype(np.float64)
    return h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)


def scores(ev, run):
    te, _ = read_safetensors(os.path.join(ev, f"{run}-test", "features.safetensors"))
    un, _ = read_safetensors(os.path.join(ev, f"{run}-unseen", "features.safetensors"))
    ht, yt, hu, yu = unit(te["h"]), te["labels"], unit(un["h"]), un["labels"]
    classes = np.unique(yt)
    means = np.stack([ht[yt == c].mean(0) for c in classes])
    centroid = classes[np.argmax(hu @ means.T, 1)]
    with open(os.path.join(ev, f"{run}-unseen", "predictions.csv")) as f:
        section = np.array([r["brain"] + "/" + r["section"] for r in csv.DictReader(f)])
    sim = hu @ hu.T
    sim[section[:, None] == section[None, :]] = -np.inf
    nn = yu[np.argmax(sim, 1)]
    return 100 * float((centroid == yu).mean()), 100 * float((nn == yu).mean())


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    ev = os.path.join(sys.argv[1], "eval")
    runs = sorted({d.rsplit("-", 1)[0] for d in os.listdir(ev)
                   if os.path.exists(os.path.join(ev, d, "features.safetensors"))})
    print("| run | centroid X_te → X_un top-1 | 1-NN X_un, other sections, top-1 |")
    print("| --- | ---: | ---: |")
    for run in runs:
        if all(os.path.exists(os.path.join(ev, f"{run}-{s}", "features.safetensors")) for s in ("test", "unseen")):
            c, n = scores(ev, run)
            print(f"| {run} | {c:.1f} | {n:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
