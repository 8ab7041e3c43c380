#!/usr/bin/env python3
"""The layer rule (docs/design.md, "Layers"): no #include from a lower layer into a higher one,
none between train/ and eval/, none from map/ into train/, and none into the CUDA emulator
(emulator/) from the project.

    scripts/check_layers.py [SOURCE_DIR]      # default: the repository this script is in

Reads every C++/CUDA file of the layered folders, resolves each `#include "..."` as the compiler
does (the including file's folder first, then the repository root) and prints one line per
violation: file:line, the include, the rule broken. Exit status 1 if there is any, else 0.
Run by ctest as layers.rule (label unit, tests/unit/CMakeLists.txt).
"""
import os
import re
import sys

# Folder -> layer; a folder may include its own layer and those below. engine/ is the lowest.
LAYERS = {
    "engine": 0,
    "models": 1, "data": 1, "plot": 1, "config": 1,
    "train": 2, "eval": 2,
    "map": 3,
    "tools": 4,  # the programs' mains
}
# Includes the layers would allow but the design does not: (from, to).
BARRED = {("train", "eval"): "train/ and eval/ may not include each other",
          ("eval", "train"): "eval/ and train/ may not include each other",
          ("map", "train"): "map/ may not include train/ (it uses layers 0-2 except train/)"}
# May include anything of the project (but emulator/ only through its tests: see below).
FREE = {"tests", "fuzz", "python", "scripts"}
# The CUDA emulator stands in for the CUDA runtime, cuDNN and NCCL (docs/cuda-emulator.md): it
# includes nothing of the project, and only its own tests include it.
EMULATOR, EMULATOR_TESTS = "emulator", "emulator/tests"
SOURCES = (".h", ".hpp", ".cpp", ".cc", ".c", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def folder_of(rel):
    """The rule's folder of a repository-relative path: its first component (emulator/tests: the
    emulator's tests)."""
    if rel == EMULATOR_TESTS or rel.startswith(EMULATOR_TESTS + "/"):
        return EMULATOR_TESTS
    return rel.split("/", 1)[0]


def broken_rule(src, dst):
    """Why folder `src` may not include folder `dst`, or None if it may."""
    if src == dst or src in FREE or src == EMULATOR_TESTS:
        return None
    if dst == EMULATOR or dst == EMULATOR_TESTS:
        return "only the emulator's own tests include emulator/ (it is linked in place of CUDA, not included)"
    if src == EMULATOR:
        return "emulator/ includes nothing of the project (it stands in for the CUDA libraries)"
    if src not in LAYERS or dst not in LAYERS:
        return None  # outside the layers (third_party/, a generated file)
    if LAYERS[dst] > LAYERS[src]:
        return f"{src}/ (layer {LAYERS[src]}) may not include the higher layer {dst}/ (layer {LAYERS[dst]})"
    return BARRED.get((src, dst))


def resolve(root, including, name):
    """The repository-relative path the compiler would open for `#include "name"`, or None when
    the header is not in the repository (a system or third-party header)."""
    for base in (os.path.dirname(including), ""):
        rel = os.path.normpath(os.path.join(base, name))
        if not rel.startswith("..") and os.path.isfile(os.path.join(root, rel)):
            return rel
    return None


def violations(root):
    checked = list(LAYERS) + [EMULATOR]
    for top in sorted(checked):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for fname in sorted(filenames):
                if not fname.endswith(SOURCES):
                    continue
                path = os.path.join(dirpath, fname)
                rel = os.path.relpath(path, root)
                src = folder_of(rel)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = resolve(root, rel, m.group(1))
                        if target is None:
                            continue
                        why = broken_rule(src, folder_of(target))
                        if why:
                            yield f'{rel}:{lineno}: #include "{m.group(1)}": {why}'


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    root = os.path.abspath(root)
    if not os.path.isdir(os.path.join(root, "engine")):
        sys.exit(f"check_layers: {root} is not the cytocon repository (no engine/ folder)")
    found = list(violations(root))
    for v in found:
        print(v)
    sys.stdout.flush()  # the lines before the summary, also when both streams go to one pipe
    if found:
        print(f"check_layers: {len(found)} include(s) break the layer rule (docs/design.md)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
