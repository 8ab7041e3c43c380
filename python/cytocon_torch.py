"""cytocon's networks in PyTorch: load any cytocon weights file and run it in torch.

The two presets of models/preset.cpp as torch.nn.Modules whose parameter and buffer names are
cytocon's (docs/design.md, docs/math.md), so `final.safetensors` of every stage loads as it is:

    import cytocon_torch as ct
    net = ct.load("runs/contrastive/final.safetensors")   # preset and heads from the file
    net.eval()                                             # BN on running statistics, as cytocon-eval
    x = ct.patches_to_torch(patches)                       # [n,S,S,1] or [n,S,S] in [0,1] -> [n,1,S,S]
    h = net.features(x)        # encoder output h, [n,128]
    logits = net.classifier(h) # stages linear and ce
    z = net.projection(h)      # stage supcon: normalised z = g(h)

Network (Schiffer et al. 2021, §2): B blocks of two valid convolutions without bias, each followed
by BatchNorm (ε = 1e-5, momentum 0.1) and ReLU; the first convolution of block 1 is 5×5 stride 4,
every other one 3×3 stride 1; 2×2 max-pool (floor) after every block but the last; the last block's
1×1×128 output flattened is h.
  paper: 6 blocks, widths 16 32 64 64 128 128, 1129 px patches (2 µm/px in the paper)
  tiny:  5 blocks, widths 16 32 64 64 128, 561 px patches (4 µm/px: the same 2.24 mm field)
Projection g: fc1 128→128 without bias, BN, ReLU, fc2 128→128 with bias, L2-normalised (eq. 2's z).
Classifier: a linear layer 128→C with bias, on h (the probe of stage linear, the head of stage ce).

Weights files (cytocon-train's final.safetensors, models/weights.cpp): PyTorch names and layouts
(conv OIHW, linear [out,in]), float32, metadata `preset` and `config` (the resolved TOML). Stage
supcon holds encoder.* and projection.*, stages linear and ce encoder.* and classifier.*.
BatchNorm's num_batches_tracked is not stored (cytocon's momentum is fixed, never cumulative).

Patch preprocessing (docs/data.md "Patch extraction"; what cytocon-eval feeds the network): for a
centreline point p (full-resolution pixels) the patch is S × S pixels (S = the preset's size) at the
run's `data.um_per_px`, centred on p: output pixel (i, j) samples the section at
p + s·(j − c, i − c), c = (S − 1)/2, s = target µm/px ÷ image µm/px, by bilinear interpolation on
the pyramid level nearest below the target resolution; taps outside the image read 1.0 (glass is
bright). Intensities are the TIFF samples divided by 2^bits − 1 (inverted for MinIsWhite), float32
in [0, 1], dark cell bodies on a bright background; no mean/std normalisation. Training adds the
augmentation of docs/data.md; evaluation none. The exact patches of an evaluation can be written
by `cytocon-eval --dump-patches FILE.safetensors` (x [n,S,S,1] float32, index [n]).

Only numpy and torch are needed (safetensors are read here with the standard library).
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "paper": {"blocks": 6, "input_px": 1129, "widths": (16, 32, 64, 64, 128, 128)},
    "tiny": {"blocks": 5, "input_px": 561, "widths": (16, 32, 64, 64, 128)},
}
BN_EPS = 1e-5
BN_MOMENTUM = 0.1

_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
           "F16": np.float16}


def read_safetensors(path):
    """(tensors: name -> numpy array, metadata: dict) of a safetensors file."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
        (n,) = struct.unpack("<Q", head)
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected one of {sorted(_DTYPES)}")
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Write name -> numpy array (float32/64, int32/64, uint8, float16) as safetensors; metadata
    values are strings. What cytocon reads as weights (PyTorch layouts) or as a batch."""
    codes = {np.dtype(v): k for k, v in _DTYPES.items()}
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype not in codes:
            raise ValueError(f"{path}: tensor {name} has dtype {arr.dtype}, expected one of {sorted(codes)}")
        b = arr.tobytes()
        header[name] = {"dtype": codes[arr.dtype], "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def export(net, path):
    """Write a CytoconNet's weights as a cytocon weights file (float32, preset in the metadata)."""
    sd = {k: v.detach().float().cpu().numpy() for k, v in net.state_dict().items()
          if not k.endswith("num_batches_tracked")}
    write_safetensors(path, sd, {"format": "cytocon-weights", "preset": net.encoder.preset})


class Block(nn.Module):
    """conv1 (5×5/4 in block 1, else 3×3/1) → bn1 → ReLU → conv2 (3×3/1) → bn2 → ReLU."""

    def __init__(self, cin, width, first):
        super().__init__()
        k, s = (5, 4) if first else (3, 1)
        self.conv1 = nn.Conv2d(cin, width, k, s, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(width, width, 3, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class Encoder(nn.Module):
    """f: [n,1,S,S] → h [n,128]; blocks named block1..blockB."""

    def __init__(self, preset="tiny"):
        super().__init__()
        p = PRESETS[preset]
        self.preset, self.input_px, self.blocks = preset, p["input_px"], p["blocks"]
        cin = 1
        for b, w in enumerate(p["widths"]):
            self.add_module(f"block{b + 1}", Block(cin, w, b == 0))
            cin = w
        self.feature_dim = cin

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != self.input_px or x.shape[3] != self.input_px:
            raise ValueError(f"encoder input: expected [n,1,{self.input_px},{self.input_px}] for preset "
                             f"'{self.preset}', got {list(x.shape)}")
        for b in range(1, self.blocks + 1):
            x = getattr(self, f"block{b}")(x)
            if b < self.blocks:
                x = F.max_pool2d(x, 2)
        return torch.flatten(x, 1)


class Projection(nn.Module):
    """g: h → z = normalize(fc2(relu(bn(fc1(h)))))."""

    def __init__(self, dim=128):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim, bias=False)
        self.bn = nn.BatchNorm1d(dim, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, h):
        return F.normalize(self.fc2(F.relu(self.bn(self.fc1(h)))), dim=1)


class CytoconNet(nn.Module):
    """encoder (+ projection) (+ classifier), as cytocon's models::Network."""

    def __init__(self, preset="tiny", num_classes=0, projection=True):
        super().__init__()
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}': expected one of {sorted(PRESETS)}")
        self.encoder = Encoder(preset)
        d = self.encoder.feature_dim
        self.projection = Projection(d) if projection else None
        self.classifier = nn.Linear(d, num_classes) if num_classes > 0 else None

    def features(self, x):
        return self.encoder(x)

    def forward(self, x):
        """Logits if there is a classifier, else z."""
        h = self.encoder(x)
        return self.classifier(h) if self.classifier is not None else self.projection(h)


def supcon_loss(z, y, tau=0.07):
    """SupCon, eqs. 1-2 of the paper (docs/math.md): the mean over all N anchors of minus the mean
    log-probability of the anchor's positives; an anchor without positives contributes 0."""
    n = z.shape[0]
    logits = z @ z.t() / tau
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    logprob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (y[:, None] == y[None, :]) & ~self_mask
    npos = pos.sum(1).clamp(min=1)
    return -((logprob.masked_fill(~pos, 0.0)).sum(1) / npos).mean()


def state_dict_from_file(path):
    """(state dict of torch tensors, metadata) of a cytocon weights file or PyTorch export."""
    arrays, meta = read_safetensors(path)
    return {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, meta


def load(path, preset=None, dtype=torch.float32):
    """A CytoconNet with the weights of `path` (final.safetensors of stage supcon, linear or ce).

    The preset comes from the file's metadata (or `preset=`), the heads from the tensors present.
    Every tensor must match a parameter or buffer and every parameter must be in the file, else a
    ValueError names the file and the tensors.
    """
    sd, meta = state_dict_from_file(path)
    preset = preset or meta.get("preset")
    if preset is None:
        raise ValueError(f"{path}: no 'preset' in the metadata; pass preset='paper' or 'tiny'")
    if meta.get("preset") not in (None, preset):
        raise ValueError(f"{path}: weights are for preset '{meta['preset']}', asked for '{preset}'")
    classes = sd["classifier.weight"].shape[0] if "classifier.weight" in sd else 0
    net = CytoconNet(preset, classes, projection="projection.fc1.weight" in sd)
    own = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own))
    if missing or extra:
        raise ValueError(f"{path}: tensors do not match preset '{preset}': missing {missing[:5]}, unexpected {extra[:5]}")
    for k, v in sd.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"{path}: tensor {k} has shape {list(v.shape)}, expected {list(own[k].shape)}")
    net.load_state_dict(sd, strict=False)  # num_batches_tracked is not stored
    return net.to(dtype)


def patches_to_torch(x, dtype=torch.float32):
    """cytocon's NHWC patches [n,S,S,1] (or [n,S,S]) as the module's NCHW input [n,1,S,S]."""
    t = torch.from_numpy(np.array(x, dtype=np.float32))  # a copy: the reader's arrays are read-only
    if t.dim() == 4 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.dim() != 3:
        raise ValueError(f"patches: expected [n,S,S,1] or [n,S,S], got {list(t.shape)}")
    return t.unsqueeze(1).to(dtype)
