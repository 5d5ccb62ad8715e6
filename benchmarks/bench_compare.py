"""How long ``isaac-rerun compare`` takes on real A1 snippets: the target is 10 snippets in at most 5 s.

    .venv/bin/python benchmarks/bench_compare.py                  # ~3 min on 2 CPU cores: records 10 A1 snippets
    .venv/bin/python benchmarks/bench_compare.py --snippets DIR   # time existing snippets (e.g. the demo's runs/rerun)

Without ``--snippets`` it records, kit-less on the CPU, 10 snippets of Isaac Lab's own A1 velocity task
(:mod:`isaac_rerun.testbed.a1`, 4 envs, random actions) the way the demo records them (``scripts/demo.sh``: envs 0
and 1, 100 frames each, trails of the trunk and the feet, contact arrows, command arrows; a snippet every 100 env
steps), then times :func:`isaac_rerun.compare` on all of them (``every=1``) and with ``envs=0`` — reading every
file, copying its chunks under a prefix, and writing the comparison with its layout — ``--repeat`` times each, and
prints the best and the median time, the input and output sizes, and whether the target is met.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

TARGET_S = 5.0
SNIPPETS = 10
FRAMES = 100


def record_a1(folder: Path) -> list[Path]:
    """10 A1 snippets of 100 frames of envs 0 and 1, as the demo records them."""
    import torch

    from isaac_rerun import LogRerun
    from isaac_rerun.testbed import a1

    env = a1.make_a1_env(num_envs=4, use_local_asset=True)
    try:
        wrapped = LogRerun(
            env,
            logged_envs=[0, 1],
            save_dir=folder,
            step_trigger=lambda s: s % FRAMES == 0,
            recording_length=FRAMES,
            name_prefix="a1",
            scene_log_cfg={"trails": ["trunk", ".*_foot"], "layout": "per_env"},  # as the demo records
        )
        wrapped.reset(seed=0)
        gen = torch.Generator().manual_seed(0)
        for _ in range(SNIPPETS * FRAMES):
            wrapped.step(2 * torch.rand(env.action_space.shape, generator=gen) - 1)
        wrapped.session.close()
    finally:
        env.close()
    return sorted(folder.glob("a1-step-*.rrd"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--snippets", type=Path, default=None, help="a folder of snippets to compare (default: record)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each case (default: 3)")
    args = p.parse_args()

    import isaac_rerun

    with tempfile.TemporaryDirectory() as tmp:
        if args.snippets is None:
            t0 = time.perf_counter()
            files = record_a1(Path(tmp) / "a1")
            source = f"{len(files)} A1 snippets recorded here in {time.perf_counter() - t0:.0f} s"
            paths = [Path(tmp) / "a1"]
        else:
            files = sorted(f for f in args.snippets.glob("*.rrd") if not f.name.endswith("-metrics.rrd"))
            source = f"{len(files)} snippets in {args.snippets}"
            paths = [args.snippets]
        size_in = sum(f.stat().st_size for f in files)
        print(f"{source}: {size_in / 1e6:.1f} MB")
        print(f"{'case':34s} {'columns':>7s} {'best s':>7s} {'median s':>8s} {'out MB':>7s} {'target':>7s}")
        for case, kwargs in (("all envs", {}), ("--envs 0", {"envs": [0]})):
            out = Path(tmp) / "compare.rrd"
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                isaac_rerun.compare(paths, every=1, out=out, max_columns=len(files), **kwargs)
                times.append(time.perf_counter() - t0)
            best, median = min(times), statistics.median(times)
            verdict = "met" if median <= TARGET_S else "MISSED"
            print(
                f"{case:34s} {len(files):7d} {best:7.2f} {median:8.2f} {out.stat().st_size / 1e6:7.1f} "
                f"{verdict + f' (<= {TARGET_S:.0f} s)':>7s}"
            )


if __name__ == "__main__":
    main()
