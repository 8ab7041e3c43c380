#!/usr/bin/env python3
"""Two builds' cytocon-bench side by side (e.g. the portable default and -DCYTOCON_NATIVE=ON,
docs/performance.md "Portable and native builds"): the builds alternate within every round, each
round runs the paper and the tiny preset, and the medians over the rounds are printed with the
ratio B/A, by wall clock (patches/s) and by process CPU time (patches per CPU-second x threads,
steadier on a shared machine; run with OMP_WAIT_POLICY=passive). The load average before and
after is printed too.

  OMP_WAIT_POLICY=passive python3 tools/bench/compare_builds.py build/bin/cytocon-bench \
      build-native/bin/cytocon-bench [--threads 2] [--rounds 5] [--steps 3]
"""
import argparse, os, statistics, sys

from compare_cpu import lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    print("load average before:", open("/proc/loadavg").read().split()[:3], flush=True)
    r = {}  # (build, preset, benchmark, clock) -> [patches/s]
    for i in range(a.rounds):
        order = (a.a, a.b) if i % 2 == 0 else (a.b, a.a)  # alternate which build goes first
        for p in ("paper", "tiny"):
            for bench in order:
                for d in lines([bench, "--device", "cpu", "--preset", p, "--steps", str(a.steps)], env):
                    r.setdefault((bench, p, d["benchmark"], "wall"), []).append(d["patches_per_s"])
                    r.setdefault((bench, p, d["benchmark"], "cpu"), []).append(d["batch"] / d["cpu_s_per_step"] * a.threads)
    print("load average after:", open("/proc/loadavg").read().split()[:3])
    print(f"\nA = {a.a}\nB = {a.b}\n{a.threads} threads, median of {a.rounds} rounds\n")
    print("| network | benchmark | clock | A | B | B/A |\n|---|---|---|---|---|---|")
    for p in ("paper", "tiny"):
        for k in ("train", "infer"):
            for c in ("wall", "cpu"):
                ma, mb = (statistics.median(r[(x, p, k, c)]) for x in (a.a, a.b))
                print(f"| {p} | {k} | {c} | {ma:.1f} | {mb:.1f} | {mb / ma:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
