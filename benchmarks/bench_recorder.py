"""Recording cost on the real Isaac Lab test bed: isaac_rerun's recorder beside a seed-style baseline, in one run.

    .venv/bin/python benchmarks/bench_recorder.py            # ~10 min on 2 CPU cores
    .venv/bin/python benchmarks/bench_recorder.py --device cuda:0 --big 1024   # on a GPU machine

Only the recording work is timed (the recorder's calls, including the terminal-frame hook inside ``env.step()`` and
the final flush), never the simulation, in CPU time of the training thread (see ``CLOCK``). The baseline is what the
seed wrapper did: copy every pose tensor to the host (``.cpu()`` of all envs), then one ``rr.log(Transform3D)`` per
body per step. Timings are medians over repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rerun as rr
import torch

from isaac_rerun.outputs import FolderOutput
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene, SceneLogCfg

# The recording work is timed in CPU seconds of the training thread (time.thread_time): what the recorder takes from
# the loop that steps the simulator, without the time the OS gives other processes and threads on a busy machine.
# Rerun's own background threads (serialization, file writing) run beside it; line 6 (training throughput, wall clock)
# shows everything together.
CLOCK = time.thread_time

# what the seed-style baseline logs too: body poses only (the test bed's contact sensor, ray caster and goal marker
# would add their own per-frame channels to ours alone)
POSES_ONLY = SceneLogCfg(markers=False, contact_forces=False, ray_hits=False)


class Timer:
    def __init__(self) -> None:
        self.total = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = CLOCK()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total += CLOCK() - t0

        return timed


def step_env(env: Any) -> tuple[Any, Any, Any, Any]:
    base = env.unwrapped
    action = 2 * torch.rand(base.num_envs, env.action_space.shape[-1], device=base.device) - 1
    _, rew, terminated, truncated, _ = env.step(action)
    return rew, terminated, truncated, action


def run_recorder(
    env: Any, logged: list[int], steps: int, folder: Path, *, record: bool
) -> tuple[float, float, Path | None]:
    """Seconds spent in the recorder over ``steps`` steps (recording all of them, or none): per-frame work, and the
    per-snippet fixed work (opening the file, logging the static visuals, closing the file); and the snippet file."""
    base = env.unwrapped
    layout = IsaacLabScene(base.scene, logged, cfg=POSES_ONLY)
    timer = Timer()
    rec = Recorder(
        layout,
        FolderOutput(folder),
        step_trigger=(lambda s: s == 0) if record else (lambda s: False),
        recording_length=0 if not record else 10**9,
        step_dt=base.step_dt,
        name_prefix="bench",
        reset_hook_target=base,
    )
    rec._before_reset = timer.wrap(rec._before_reset)  # type: ignore[method-assign]  # the hook's work counts too
    fixed = Timer()  # nested inside the calls timed above: subtracted from them below
    out = rec.output
    out.open = fixed.wrap(out.open)  # type: ignore[method-assign]
    out.finish = fixed.wrap(out.finish)  # type: ignore[method-assign]
    layout.log_static = fixed.wrap(layout.log_static)  # type: ignore[method-assign]
    env.reset()
    rec.begin()
    after_step = timer.wrap(rec.after_step)
    for _ in range(steps):
        _, terminated, truncated, _ = step_env(env)
        after_step(terminated, truncated=truncated)
    timer.wrap(rec.close)()
    files = sorted(folder.glob("bench-*.rrd"))
    return timer.total - fixed.total, fixed.total, files[-1] if files else None


def run_warm(env: Any, logged: list[int], calls: int, folder: Path, *, record: bool) -> float:
    """CPU seconds per ``after_step`` call made back to back after one env step (the recorder's own cost with warm
    caches; right after a real ``env.step()`` the same code runs several times slower, see docs/performance.md)."""
    base = env.unwrapped
    rec = Recorder(
        IsaacLabScene(base.scene, logged, cfg=POSES_ONLY),
        FolderOutput(folder),
        step_trigger=(lambda s: s == 0) if record else (lambda s: False),
        recording_length=10**9,
        step_dt=base.step_dt,
        name_prefix="warm",
    )
    env.reset()
    rec.begin()
    _, terminated, truncated, _ = step_env(env)
    rec.after_step(terminated, truncated=truncated)  # opens the snippet (its fixed cost is not counted)
    t0 = CLOCK()
    for _ in range(calls):
        rec.after_step(terminated, truncated=truncated)
    total = CLOCK() - t0
    rec.close()
    return total / calls


def run_baseline(env: Any, logged: list[int], steps: int, path: Path) -> float:
    """Seconds spent by a seed-style logger: full-tensor host copy, one ``log`` per body per step."""
    base = env.unwrapped
    scene = base.scene
    layout = IsaacLabScene(scene, logged, cfg=POSES_ONLY)
    assets = [a.asset for a in layout._assets]
    stream = rr.RecordingStream("baseline")
    stream.save(str(path))
    env.reset()
    total = 0.0
    for k in range(steps):
        step_env(env)
        t0 = CLOCK()
        stream.set_time("step", sequence=k)
        row = 0
        for asset in assets:
            poses = asset.data.body_link_pose_w.torch.cpu()  # every env, as the seed did
            for e in logged:
                for b in range(poses.shape[1]):
                    p = poses[e, b].numpy()
                    stream.log(
                        layout.entity_paths[row],
                        rr.Transform3D(translation=p[0:3].copy(), quaternion=rr.Quaternion(xyzw=p[3:7].copy())),
                    )
                    row += 1
        total += CLOCK() - t0
    t0 = CLOCK()
    stream.flush()
    stream.disconnect()
    return total + CLOCK() - t0


def train_throughput(num_envs: int, iterations: int, device: str, folder: Path, *, record: bool) -> float:
    """Env steps per second of rsl_rl PPO on the test bed, recording env 0 all the time (every episode) or not."""
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
    from rsl_rl.runners import OnPolicyRunner

    from isaac_rerun.integrations.rsl_rl import RerunRunnerMixin
    from isaac_rerun.testbed import make_env
    from isaac_rerun.testbed.agents import rsl_rl_ppo_cfg

    class RecordingRunner(RerunRunnerMixin, OnPolicyRunner):
        pass

    env = make_env(num_envs=num_envs, device=device)
    try:
        cfg = rsl_rl_ppo_cfg(max_iterations=iterations)
        rerun = {"enabled": record, "episode_trigger": lambda e: True, "save_dir": str(folder), "log_metrics": False}
        runner = RecordingRunner(RslRlVecEnvWrapper(env), cfg, None, device=device, rerun=rerun)
        runner.learn(num_learning_iterations=1)  # warm-up (first rollout, kernels)
        t0 = time.perf_counter()
        runner.learn(num_learning_iterations=iterations)
        return iterations * cfg["num_steps_per_env"] * num_envs / (time.perf_counter() - t0)
    finally:
        env.close()


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    import isaaclab

    return (
        f"{platform.node()} · {cpu} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"torch {torch.__version__} · rerun-sdk {rr.__version__} · isaaclab {getattr(isaaclab, '__version__', '?')}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=128, help="recorded steps per repeat")
    p.add_argument("--big", type=int, default=256, help="largest num_envs of the flatness check")
    p.add_argument("--train_iterations", type=int, default=8, help="rsl_rl iterations per training run (line 6)")
    args = p.parse_args()

    from isaac_rerun.testbed import make_env

    rows: list[tuple[str, str, str, str, bool]] = []
    tmp = Path(tempfile.mkdtemp(prefix="isaac_rerun_bench_"))
    per_step: dict[int, float] = {}

    def fresh(i: int) -> Path:
        d = tmp / f"r{i}_{time.perf_counter_ns()}"
        d.mkdir()
        return d

    # -- 64 envs: per-pose cost at 16 logged envs, per-step cost at 1 logged env, not recording, bytes per pose
    env = make_env(num_envs=64, device=args.device)
    try:
        run_recorder(env, [0], 8, fresh(0), record=True)  # warm-up
        sixteen = list(range(16))
        n_rows = IsaacLabScene(env.unwrapped.scene, sixteen).num_rows
        ours, base, fixed16 = [], [], []
        snippet = None
        for i in range(args.repeats):
            t, f, snippet = run_recorder(env, sixteen, args.steps, fresh(i), record=True)
            ours.append(t / (args.steps * n_rows))
            fixed16.append(f)
            base.append(run_baseline(env, sixteen, 16, fresh(i) / "base.rrd") / (16 * n_rows))
        ratio = median(base) / median(ours)
        rows.append(
            (
                "1. log time per pose, 16 logged envs",
                f"{median(ours) * 1e6:.2f} µs",
                f"{median(base) * 1e6:.1f} µs",
                f"≥100× faster (got {ratio:.0f}×)",
                ratio >= 100,
            )
        )
        rows.append(
            (
                "1b. per-snippet fixed cost, 16 logged envs",
                f"{median(fixed16) * 1e3:.1f} ms",
                "—",
                "(open file, visuals, close)",
                True,
            )
        )
        # bytes per pose: a long snippet minus a 1-frame one (the static visuals)
        assert snippet is not None
        _, _, one = run_recorder(env, sixteen, 1, fresh(99), record=True)
        assert one is not None
        bpp = (snippet.stat().st_size - one.stat().st_size) / ((args.steps - 1) * n_rows)
        rows.append(("5. .rrd bytes per pose", f"{bpp:.1f} B", "170–230 B (seed)", "≤ 30 B", bpp <= 30))

        ones, base1 = [], []
        for i in range(args.repeats):
            ones.append(run_recorder(env, [0], args.steps, fresh(i), record=True)[0] / args.steps)
            base1.append(run_baseline(env, [0], args.steps, fresh(i) / "base1.rrd") / args.steps)
        rows.append(
            (
                "2. log time per recorded step, 1 logged env",
                f"{median(ones) * 1e6:.1f} µs",
                f"{median(base1) * 1e6:.1f} µs",
                "≤ 50 µs",
                median(ones) <= 50e-6,
            )
        )
        warm_rec = median([run_warm(env, [0], args.steps * 4, fresh(i), record=True) for i in range(3)])
        warm_idle = median([run_warm(env, [0], 20_000, fresh(i), record=False) for i in range(3)])
        rows.append(
            (
                "2w. the same, warm caches (back-to-back calls)",
                f"{warm_rec * 1e6:.1f} µs",
                "—",
                "≤ 50 µs",
                warm_rec <= 50e-6,
            )
        )
        rows.append(
            (
                "4w. the same, warm caches (back-to-back calls)",
                f"{warm_idle * 1e6:.2f} µs",
                "—",
                "≤ 2 µs",
                warm_idle <= 2e-6,
            )
        )
        n_idle = args.steps * 4
        idle = [run_recorder(env, [0], n_idle, fresh(i), record=False)[0] / n_idle for i in range(3)]
        rows.append(
            ("4. cost per env step, not recording", f"{median(idle) * 1e6:.2f} µs", "—", "≤ 2 µs", median(idle) <= 2e-6)
        )
    finally:
        env.close()

    # -- flat in num_envs: the same 4 logged envs at 4, 64 and --big envs
    for n in (4, 64, args.big):
        env = make_env(num_envs=n, device=args.device)
        try:
            run_recorder(env, [0, 1, 2, 3], 8, fresh(0), record=True)
            per_step[n] = median(
                [run_recorder(env, [0, 1, 2, 3], args.steps, fresh(i), record=True)[0] / args.steps for i in range(3)]
            )
        finally:
            env.close()
    # -- end to end: rsl_rl PPO training throughput, recording env 0 always vs not at all (alternating runs)
    on, off = [], []
    for i in range(3):
        off.append(train_throughput(64, args.train_iterations, args.device, fresh(i), record=False))
        on.append(train_throughput(64, args.train_iterations, args.device, fresh(i), record=True))
    slowdown = median(off) / median(on)
    rows.append(
        (
            "6. rsl_rl PPO training, 64 envs: env steps/s",
            f"{median(on):.0f} (on)",
            f"{median(off):.0f} (off)",
            f"≈ equal (on/off = {1 / slowdown:.3f})",
            slowdown <= 1.05,
        )
    )
    flat = per_step[args.big] / per_step[4]
    rows.append(
        (
            f"3. recording cost at 4 / 64 / {args.big} envs (4 logged)",
            " / ".join(f"{per_step[n] * 1e6:.0f}" for n in (4, 64, args.big)) + " µs",
            "—",
            f"{args.big} within 1.2× of 4 (got {flat:.2f}×)",
            flat <= 1.2,
        )
    )

    print(f"\nmachine: {machine()} · device {args.device}")
    print(f"medians of {args.repeats} repeats, {args.steps} recorded steps each\n")
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'isaac_rerun':>14}  {'seed-style':>16}  {'target':<32} met")
    for name, ours_s, base_s, target, ok in sorted(rows):
        print(f"{name:<{w}}  {ours_s:>14}  {base_s:>16}  {target:<32} {'yes' if ok else 'NO'}")
    np.set_printoptions(precision=3)


if __name__ == "__main__":
    main()
