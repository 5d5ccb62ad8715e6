"""A training process that ``tests/test_sigterm.py`` stops with ``SIGTERM`` (what a cluster scheduler sends before it
kills a job at its time limit).

``python sigterm_child.py FRAMEWORK OUT READY [--handler {default,python}]``

* ``FRAMEWORK``: ``gymnasium`` (``LogRerun`` stepping the real Isaac Lab 3.0 test bed), or ``sb3``, ``skrl``,
  ``rsl_rl``: that framework's PPO training on the test bed through Isaac Lab's own wrapper, recorded by its
  integration into the folder ``OUT`` (training metrics included).
* Once the fourth snippet (``step-128``: its name sorts before ``step-48`` as text) is open with a few frames, some of
  them still buffered, and training has logged metrics, the child writes ``READY`` (JSON: the open snippet's name,
  its frames so far, its first and last env step) and waits inside ``env.step()`` for the signal, so the snippet's
  frames at the signal are exactly those in ``READY``.
* ``--handler python``: the training script installed its own ``SIGTERM`` handler first (it writes
  ``OUT/../handled`` and exits with code 7): the recorder must chain to it.
* ``--fail-inside {snippet,metrics}`` (``rsl_rl``): once ready, the step raises instead (as a rank's step does when a
  peer rank dies), and the ``SIGTERM`` arrives while the run's end is finishing that file: the child sends it to
  itself inside the file's flush (what torchrun's ``SIGTERM`` hits when the failing rank is already closing).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gymnasium as gym
import torch

FIRST_STEP = 128
"""The child waits for the signal in the snippet that starts at this env step (the fourth one)."""


class Ready(gym.Wrapper):
    """Below the framework's wrapper: after a step, once the snippet of :data:`FIRST_STEP` is open with at least 3
    frames (not a multiple of ``flush_every``: some are still buffered) and, when ``metrics``, the run's metrics file
    exists, write the ready file (what is recorded so far) and wait here for the signal."""

    def __init__(self, env: gym.Env, path: Path, out: Path, metrics: bool, fail_inside: str | None = None):
        super().__init__(env)
        self.path, self.out, self.metrics, self.fail_inside = path, out, metrics, fail_inside
        self.recording: Any = None

    def step(self, action: Any) -> Any:
        result = self.env.step(action)
        rec = self.recording.recorder if self.recording is not None else None
        snippet = rec.snippet if rec is not None else None
        first = int(snippet.sink.name.rsplit("-", 1)[1]) if snippet is not None else -1  # ...-step-N
        open_ = snippet is not None and first >= FIRST_STEP and snippet.frames >= 3
        if open_ and snippet.frames % 4 and (not self.metrics or any(self.out.glob("*-metrics.rrd"))):
            status = {
                "snippet": snippet.sink.name,
                "frames": snippet.frames,
                "first_step": first,
                "last_step": snippet.last_step,
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(status))
            tmp.rename(self.path)
            if self.fail_inside is not None:
                signal_inside(self.fail_inside)
                raise RuntimeError("a peer rank died")
            while True:  # the signal's handler runs here (time.sleep is interrupted by it)
                time.sleep(0.05)
        return result


def signal_inside(kind: str) -> None:
    """From now on, the first flush of a snippet file (``snippet``) or of the metrics file (``metrics``) being
    finished sends ``SIGTERM`` to this process first: its handler runs inside that file's finishing."""
    import os

    from isaac_rerun import _compat
    from isaac_rerun.outputs import FolderOutput

    finishing: list[str] = []
    flush = _compat.flush

    def flush_then(stream: Any) -> None:
        if finishing == [kind]:
            finishing.append("signalled")
            os.kill(os.getpid(), signal.SIGTERM)
        flush(stream)

    def finishing_file(method: Any, what: str) -> Any:
        def call(self: Any, arg: Any) -> None:
            finishing.append(what)
            try:
                method(self, arg)
            finally:
                if what in finishing:
                    finishing.remove(what)

        return call

    _compat.flush = flush_then  # type: ignore[assignment]
    FolderOutput.finish = finishing_file(FolderOutput.finish, "snippet")  # type: ignore[method-assign]
    FolderOutput.finish_metrics = finishing_file(FolderOutput.finish_metrics, "metrics")  # type: ignore[method-assign]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("framework", choices=["gymnasium", "sb3", "skrl", "rsl_rl"])
    p.add_argument("out", type=Path)
    p.add_argument("ready", type=Path)
    p.add_argument("--handler", choices=["default", "python"], default="default")
    p.add_argument("--fail-inside", choices=["snippet", "metrics"], default=None)
    args = p.parse_args()
    if args.handler == "python":

        def handler(signum: int, frame: Any) -> None:
            (args.out.parent / "handled").write_text("yes")
            sys.exit(7)

        signal.signal(signal.SIGTERM, handler)
    options = dict(save_dir=args.out, step_trigger=lambda s: s % 40 == 8, recording_length=20, flush_every=4)
    from isaac_rerun.testbed import make_env

    env = Ready(
        make_env(num_envs=4, episode_length_s=1.0),
        args.ready,
        args.out,
        metrics=args.framework != "gymnasium",
        fail_inside=args.fail_inside,
    )
    if args.framework == "gymnasium":
        from isaac_rerun import LogRerun

        recording = LogRerun(env, logged_envs=[0, 1], **options)
        env.recording = recording
        recording.reset()
        while True:
            recording.step(torch.zeros(4, 1))
    if args.framework == "sb3":
        from isaaclab_rl.sb3 import Sb3VecEnvWrapper
        from stable_baselines3 import PPO

        from isaac_rerun.integrations.sb3 import RerunCallback

        model = PPO("MlpPolicy", Sb3VecEnvWrapper(env), n_steps=16, batch_size=32, n_epochs=1, device="cpu")
        env.recording = callback = RerunCallback(**options)
        model.learn(10**9, callback=callback)
    elif args.framework == "skrl":
        from isaaclab_rl.skrl import SkrlVecEnvWrapper
        from skrl.utils.runner.torch import Runner

        from isaac_rerun.integrations.skrl import attach_rerun
        from isaac_rerun.testbed.agents import skrl_ppo_cfg

        cfg = skrl_ppo_cfg(timesteps=10**9, rollouts=16)
        cfg["agent"]["experiment"]["directory"] = str(args.out.parent / "skrl")
        runner = Runner(SkrlVecEnvWrapper(env), cfg)
        env.recording = attach_rerun(runner.trainer, **options)
        runner.run("train")
    else:
        from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
        from rsl_rl.runners import OnPolicyRunner

        from isaac_rerun.integrations.rsl_rl import RerunRunnerMixin
        from isaac_rerun.testbed.agents import rsl_rl_ppo_cfg

        class RecordingRunner(RerunRunnerMixin, OnPolicyRunner):
            pass

        cfg = rsl_rl_ppo_cfg(max_iterations=10**6, num_steps_per_env=16)
        runner = RecordingRunner(RslRlVecEnvWrapper(env), cfg, str(args.out.parent / "logs"), "cpu", rerun=options)
        env.recording = runner.rerun_session
        runner.learn(num_learning_iterations=10**6)


if __name__ == "__main__":
    main()
