#!/usr/bin/env python3
"""Side-by-side CPU benchmark: cytocon-bench and python/bench_cpu.py (PyTorch on the same network),
alternating, several rounds, same thread count. Prints every JSON line it gets and a markdown
table of the medians (train / inference patches/s; paper preset batch 8, tiny batch 16).

--cpu-time (for a shared, busy machine): both sides are timed by process CPU time instead of wall
time (python/bench_cpu.py with time.perf_counter replaced by time.process_time), and patches per
CPU-second × threads is reported: the throughput of an idle machine if the threads scaled
perfectly. Use OMP_WAIT_POLICY=passive with it, so that threads waiting at barriers do not burn
CPU time.

  /usr/bin/python3 tools/bench/compare_cpu.py --bench build/bin/cytocon-bench \
      [--torch python/bench_cpu.py] [--threads 2] [--rounds 3]
"""
import argparse, json, os, statistics, subprocess, sys

def lines(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    for l in out.splitlines():
        if l.startswith("{"):
            print(l, flush=True)
            yield json.loads(l)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bin/cytocon-bench")
    ap.add_argument("--torch", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "bench_cpu.py"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--cpu-time", action="store_true")
    a = ap.parse_args()
    torch_cmd = ["/usr/bin/python3", a.torch, str(a.threads)]
    if a.cpu_time:
        torch_cmd = ["/usr/bin/python3", "-c",
                     "import runpy, sys, time; time.perf_counter = time.process_time; "
                     f"sys.argv = [{a.torch!r}, '{a.threads}']; runpy.run_path({a.torch!r}, run_name='__main__')"]
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    r = {}  # (who, preset, kind) -> [patches/s]
    for _ in range(a.rounds):
        scale = a.threads if a.cpu_time else 1
        for d in lines(torch_cmd, env):
            p = "paper" if d["size"] == 1129 else "tiny"
            r.setdefault(("torch", p, "train"), []).append(d["train_patches_per_s"] * scale)
            r.setdefault(("torch", p, "infer"), []).append(d["infer_patches_per_s"] * scale)
        for p in ("paper", "tiny"):
            for d in lines([a.bench, "--preset", p, "--steps", str(a.steps)], env):
                v = d["batch"] / d["cpu_s_per_step"] * a.threads if a.cpu_time else d["patches_per_s"]
                r.setdefault(("cytocon", p, d["benchmark"]), []).append(v)
    unit = "patches per CPU-second x threads" if a.cpu_time else "patches/s"
    print(f"\n| network ({a.threads} threads, {unit}, median of {a.rounds}) | cytocon train | PyTorch train | "
          "cytocon infer | PyTorch infer |\n|---|---|---|---|---|")
    for p, name in (("paper", "paper, 6 blocks, 1129 px, batch 8"), ("tiny", "tiny, 5 blocks, 561 px, batch 16")):
        m = lambda who, k: statistics.median(r[(who, p, k)])
        print(f"| {name} | {m('cytocon','train'):.1f} | {m('torch','train'):.1f} | "
              f"{m('cytocon','infer'):.1f} | {m('torch','infer'):.1f} |")
    return 0

if __name__ == "__main__":
    sys.exit(main())
