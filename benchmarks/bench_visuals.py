"""Size and cost of the static visuals each snippet file carries: Isaac Lab's A1 task (meshes, a textured trunk).

    .venv/bin/python benchmarks/bench_visuals.py [--envs 2] [--repeats 5]     # ~1 min on 2 CPU cores

Builds the A1 task kit-less on the CPU (``isaac_rerun.testbed.a1``, the A1 that ``bash scripts/setup.sh`` builds),
then, for each layout, the scene's body channels for ``--envs`` logged envs (as a recorder does once; reading the
USD visuals is cached per scene and timed on the first layout), and times what every snippet file pays once: each
channel's static part (``start(stream, static=True)``) logged into a fresh ``.rrd`` and flushed. Prints the time and
the file size (the static visuals alone: a whole 2-env, 100-frame snippet is asserted in ``tests/test_a1.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import rerun as rr

from isaac_rerun.channels import bodies
from isaac_rerun.scene import IsaacLabScene
from isaac_rerun.testbed import a1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=2, help="logged envs (default 2, as in the A1 demo)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = a1.make_a1_env(num_envs=max(4, args.envs), use_local_asset=True)
    try:
        env.reset()
        scene = env.unwrapped.scene
        print(f"{'layout':10s} {'envs':>5s} {'channels ms':>12s} {'static log+flush ms':>20s} {'rrd KB':>9s}")
        with tempfile.TemporaryDirectory() as tmp:
            for layout in ("per_env", "instanced"):
                t0 = time.perf_counter()
                ctx = IsaacLabScene(scene, list(range(args.envs)), cfg={"layout": layout}).context()
                channels = bodies.channels(ctx)
                build_s = time.perf_counter() - t0
                times, size = [], 0
                for k in range(args.repeats):
                    path = os.path.join(tmp, f"{layout}-{k}.rrd")
                    rec = rr.RecordingStream("bench_visuals")
                    rec.save(path)
                    t0 = time.perf_counter()
                    for channel in channels:
                        channel.start(rec, static=True)
                    rec.flush()
                    times.append(time.perf_counter() - t0)
                    rec.disconnect()
                    size = os.path.getsize(path)
                seconds = statistics.median(times)
                print(f"{layout:10s} {args.envs:5d} {build_s * 1e3:12.0f} {seconds * 1e3:20.1f} {size / 1e3:9.1f}")
    finally:
        env.close()


if __name__ == "__main__":
    main()
