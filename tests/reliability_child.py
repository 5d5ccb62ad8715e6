"""A training process that ``tests/test_reliability.py`` kills, interrupts or crashes (a child: ``sys.executable``).

It steps an Isaac Lab env wrapped in :class:`isaac_rerun.LogRerun` (``--env testbed``: the real Isaac Lab 3.0 test bed,
``isaac_rerun.testbed``; ``--env standin``: the Isaac Lab 2.x stand-in ``standin_isaaclab2``, for the 2.x stack's
job where no Isaac Lab runs), recording into
a folder: a 6-frame snippet every 10 steps, frames flushed every 2 (``flush_every=2``). After step ``READY_STEP``
(three snippets finished, the fourth open) it waits until Rerun has written the open snippet's flushed frames to its
file, writes ``ready`` (JSON: the finished files, the open snippet, its frame count and how many of them were
flushed), then stops stepping and

* ``--end wait``: sleeps in the training loop until a signal ends it (SIGKILL; SIGINT → ``KeyboardInterrupt``);
* ``--end raise``: raises ``RuntimeError`` from the training loop (a training bug, e.g. a NaN check).

``--close`` is how the script ends the recorder: ``with`` (``with LogRerun(...) as env``), ``finally`` (``env.close()``
in a ``finally``), or ``none`` (never: left to the interpreter's exit). When the loop is left by an exception, the
open snippet's name and frame count are written to ``status`` (JSON) before the recorder is closed.

Usage: ``python reliability_child.py OUT_DIR READY_FILE STATUS_FILE --end {wait,raise} --close {with,finally,none}
--env {testbed,standin}``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch

from isaac_rerun import LogRerun
from rrd_readback import read_rrd

READY_STEP = {"testbed": 32, "standin": 33}
"""Snippets step-0, step-10, step-20 finished; step-30 open with an odd number of frames (some still buffered): steps
30..32 on the test bed (no reset), 30..33 and a reset frame on the stand-in (short episodes)."""
ENTITY = {"testbed": "/World/envs/env_0/Robot/base", "standin": "/World/envs/env_0/Ball"}
"""A body of the first logged env (one row per recorded frame), per ``--env``."""


def open_snippet(env: Any) -> dict[str, Any] | None:
    s = env.recorder.snippet
    if s is None:
        return None
    return {"name": s.sink.name, "frames": s.frames, "flushed": s.frames - len(s.frame_idx)}


def wait_until_on_disk(env: Any, entity: str, timeout: float = 30.0) -> None:
    """Wait (bounded) until Rerun's writer thread has put the open snippet's flushed frames into its file."""
    s = env.recorder.snippet
    want = s.frames - len(s.frame_idx)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with warnings.catch_warnings(), contextlib.suppress(Exception):  # a half-written last message, no footer
            warnings.simplefilter("ignore")
            ent = read_rrd(s.sink.path)[entity]
            if len(ent.sorted_by("frame")) >= want:
                return
        time.sleep(0.05)


def train(env: Any, args: argparse.Namespace) -> None:
    try:
        env.reset()
        for _ in range(READY_STEP[args.env] + 1):
            env.step(torch.zeros(4, 1))  # Isaac Lab 2.x needs torch actions
        wait_until_on_disk(env, ENTITY[args.env])
        ready = {"finished": [str(s.path) for s in env.recorder.finished], "open": open_snippet(env)}
        Path(args.ready + ".tmp").write_text(json.dumps(ready))
        Path(args.ready + ".tmp").rename(args.ready)  # atomic: the test never reads half a file
        if args.end == "raise":
            raise RuntimeError("training diverged")
        while True:  # the training loop, paused: the signal lands here
            time.sleep(0.05)
    except BaseException:
        Path(args.status).write_text(json.dumps({"open": open_snippet(env)}))
        raise


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("ready")
    p.add_argument("status")
    p.add_argument("--end", choices=["wait", "raise"], required=True)
    p.add_argument("--close", choices=["with", "finally", "none"], required=True)
    p.add_argument("--env", choices=["testbed", "standin"], required=True)
    args = p.parse_args()
    # Ctrl-C raises KeyboardInterrupt, as in an interactive shell, even if the parent started us with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.env == "testbed":
        from isaac_rerun.testbed import make_env

        base = make_env(num_envs=4, episode_length_s=10.0)  # no reset inside the first 34 steps
    else:
        from standin_isaaclab2 import StandinDirectRLEnv, StandinGymEnv

        base = StandinGymEnv(StandinDirectRLEnv(num_envs=4))
    env = LogRerun(
        base,
        logged_envs=[0, 1],
        save_dir=args.out,
        step_trigger=lambda s: s % 10 == 0,
        recording_length=6,
        flush_every=2,
        max_latency_s=60.0,
    )
    if args.close == "with":
        with env:
            train(env, args)
    elif args.close == "finally":
        try:
            train(env, args)
        finally:
            env.close()
    else:
        train(env, args)


if __name__ == "__main__":
    main()
