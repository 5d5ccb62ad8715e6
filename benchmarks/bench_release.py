"""This tree beside a released isaac-rerun, in one run: the fixed cost per snippet, the cost per pose, the idle path.

    git worktree add /tmp/isaac-rerun-0.2.0 7b7e709       # a checkout of the release (0.2.0: commit 7b7e709)
    .venv/bin/python benchmarks/bench_release.py --baseline /tmp/isaac-rerun-0.2.0          # ~10 min on 2 cores

Each side runs in a process of its own, with its own source tree first on ``sys.path`` and driven by that tree's own
``benchmarks/bench_recorder.py`` (so each is called the way its API expects), on the same real test bed (Isaac Lab
3.0, 64 envs, CPU): one round is 16 logged envs × 80-frame snippets through ``LogRerun`` (after a warm-up snippet)
— the fixed cost per snippet (opening it: layout, static visuals, properties; closing its file) and the recording
CPU time per pose — then the idle path (``LogRerun`` that never records vs a do-nothing ``gym.Wrapper``, µs per
step of their own time). The sides alternate (baseline, this tree, baseline, …) so that a drift of the machine's
speed hits both; medians over the rounds, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNIPPETS = 3  # 16 x 80 snippets per round and side


def child(tree: Path) -> None:
    """One round in this process: ``tree``'s package, driven by ``tree``'s own benchmark functions; prints JSON."""
    sys.path[:0] = [str(tree / "src"), str(tree / "benchmarks")]
    import bench_recorder as bench  # the tree's own
    import isaac_rerun
    from isaac_rerun.testbed import make_env

    assert Path(isaac_rerun.__file__).resolve().is_relative_to(tree.resolve()), isaac_rerun.__file__
    env = make_env(num_envs=64, device="cpu")
    try:
        logged = list(range(16))
        bench.snippet_through_logrerun(env, logged, 8, Path(tempfile.mkdtemp()))  # warm-up: USD read, caches
        runs = [bench.snippet_through_logrerun(env, logged, 80, Path(tempfile.mkdtemp())) for _ in range(SNIPPETS)]
        ours, nothing = bench.idle_overhead(env, 200, 2)
    finally:
        env.close()
    print(
        "RESULT "
        + json.dumps(
            {
                "fixed_ms": statistics.median(r["fixed"] for r in runs) * 1e3,
                "us_per_pose": statistics.median(r["record"] / r["poses"] for r in runs) * 1e6,
                "idle_us": (ours - nothing) * 1e6,
            }
        )
    )


def round_of(tree: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(tree)], env=env, capture_output=True, text=True, check=False
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"{tree}: the round failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", type=Path, help="a checkout of the released isaac-rerun (its repository root)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child)
        return
    if args.baseline is None or not (args.baseline / "benchmarks" / "bench_recorder.py").is_file():
        p.error("--baseline: give a checkout of the release (with benchmarks/bench_recorder.py)")
    this = HERE.parent
    sides: dict[str, list[dict[str, float]]] = {"baseline": [], "this tree": []}
    for _ in range(args.rounds):
        sides["baseline"].append(round_of(args.baseline))
        sides["this tree"].append(round_of(this))
    print(f"\n{args.rounds} rounds, alternating; medians (baseline: {args.baseline}, this tree: {this})\n")
    names = {
        "fixed_ms": "fixed cost per snippet (open + close), 16 envs x 80 frames, ms",
        "us_per_pose": "recording CPU time per pose, 16 envs x 80 frames, all-in, µs",
        "idle_us": "not recording, 64 envs: above a do-nothing gym.Wrapper, µs per step",
    }
    for key, name in names.items():
        base = statistics.median(r[key] for r in sides["baseline"])
        ours = statistics.median(r[key] for r in sides["this tree"])
        each = " ".join(f"{r[key]:.2f}" for r in sides["this tree"])
        print(f"{name:<72} baseline {base:7.2f}   this tree {ours:7.2f} ({each})   ratio {ours / base:.2f}")


if __name__ == "__main__":
    main()
