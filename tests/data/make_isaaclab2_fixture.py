"""Write ``isaaclab2_rerun023.rrd`` (+ ``.json``): a recording made on the Isaac Lab 2.3 stack, for cross-version tests.

Run with the Isaac Lab 2.3 stack's Python (rerun-sdk 0.23.1, numpy < 2), from the repository root::

    .venv-il2/bin/python tests/data/make_isaaclab2_fixture.py [OUT_DIR]

It records 6 frames of envs 0 and 2 of the Isaac Lab 2.3 stand-in (``tests/standin_isaaclab2.py``) with
:class:`isaac_rerun.LogRerun` into ``OUT_DIR/isaaclab2_rerun023.rrd`` (default: this folder) and writes, beside it,
the poses the stand-in simulator had at every recorded frame (xyzw, world frame), read from its own history: the test
``tests/test_cross_version.py`` reads the file back with the newest Rerun and compares.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the stand-in

import numpy as np  # noqa: E402
import rerun as rr  # noqa: E402
import torch  # noqa: E402

from isaac_rerun import LogRerun  # noqa: E402
from standin_isaaclab2 import ISAACLAB_VERSION, StandinDirectRLEnv, StandinGymEnv  # noqa: E402

NAME = "isaaclab2_rerun023"
LOGGED = [0, 2]
BODIES = {"Robot/hand": ("robot", 2), "Ball": ("ball", 0), "BoxB": ("boxes", 1)}


def main(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    base = StandinDirectRLEnv(num_envs=3)
    env = LogRerun(
        StandinGymEnv(base),
        logged_envs=LOGGED,
        save_dir=out_dir,
        name_prefix=NAME,
        step_trigger=lambda s: s == 2,
        recording_length=6,
    )
    env.reset()
    for _ in range(10):
        env.step(torch.zeros(3, 1))
    env.close()
    (path,) = [sink.path for sink in env.recorder.finished]
    final = out_dir / f"{NAME}.rrd"
    path.replace(final)
    # frames 0..5 are env steps 2..7; the tracked env 0 ends its first episode at step 4 (length 5): a reset frame
    frames = []
    for s in range(2, 10):
        h = base.history[s]
        frames.append((s, h["before"]))
        if h["done"][LOGGED[0]]:
            frames.append((s, h["after"]))
    frames = frames[:6]
    expected = {
        "rerun_sdk": rr.__version__,
        "numpy": np.__version__,
        "isaaclab_standin": ISAACLAB_VERSION,
        "step_dt": base.step_dt,
        "env_step": [s for s, _ in frames],
        "poses": {
            f"/World/envs/env_{e}/{suffix}": [poses[asset][e, b].tolist() for _, poses in frames]
            for e in LOGGED
            for suffix, (asset, b) in BODIES.items()
        },
    }
    (out_dir / f"{NAME}.json").write_text(json.dumps(expected) + "\n")
    return final


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
