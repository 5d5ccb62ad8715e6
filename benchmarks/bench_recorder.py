"""What recording costs on the real Isaac Lab test bed (and Isaac Lab's A1 task), measured beside baselines in one run.

    .venv/bin/python benchmarks/bench_recorder.py                 # ~55 min on 2 CPU cores
    .venv/bin/python benchmarks/bench_recorder.py --quick         # ~4 min: fewer sizes and repeats
    .venv/bin/python benchmarks/bench_recorder.py --device cuda:0  # on a GPU machine

Every figure comes from this run, each beside its baseline:

1. **Snippets through ``LogRerun``** (open, frames, close), 1 / 16 / 256 logged envs × 80 / 1000-frame snippets, body
   poses only (no reward or action plots, as the baseline), each a recorder's third snippet (as most snippets of a
   training run are; the fixed costs of the first two, which build the layout and keep it and the static visuals as
   Rerun chunks once per recorder, are timed apart: ``1st``, ``2nd``): CPU time per pose (all of ``LogRerun``'s
   recording work — the trigger and frame calls, the terminal-frame hook inside ``env.step()``, opening the file and
   logging the visuals, every flush, closing the file — divided by frames × logged envs × bodies) and the same in
   wall-clock time, bytes per pose of the **whole file** (visuals and blueprint included), and the fixed cost per
   snippet (open + close). The baseline is the seed-style loop this project grew from: ``.cpu()`` of every pose tensor,
   then one ``rr.log(Transform3D)`` per body per env per step, into its own file. ``1w``: what the user waits for, the
   training loop's wall clock per step (env step, recording, Rerun's threads beside them on the same cores) with
   recording, over the same loop through a do-nothing wrapper.
2. **All envs** (``logged_envs="all"``, 256 envs, instanced): recording work as a fraction of the env step (CPU time
   of the same loop's ``env.step()``).
3. **Not recording**: ``LogRerun`` with a trigger that never fires vs a do-nothing ``gym.Wrapper`` around the same
   env, in the same loop (their own time, outside the wrapped ``env.step()``; the hook inside it counted for
   ``LogRerun``): µs per step above the do-nothing wrapper.
4. **Rolling history** (``episode_filter``, K = 500, 64 candidate envs, nothing kept): its work per env step as a
   fraction of the env step, and the memory it holds.
5. **Isaac Lab's A1 task** (when its asset is built): the recording cost per step beside the env step, and the
   training loop's wall clock with recording over without.
6. **Signals on the A1 task**: 16 logged envs, every default signal (reward terms, terminations, commands, named
   actions, joints) vs poses alone, in the same run: recording CPU time per frame (open and close, the fixed cost per
   snippet, apart) and snippet bytes, as ratios.

Timing is CPU time of the training thread (``time.thread_time``): other processes on a busy machine do not count;
Rerun's own threads (encoding, writing) run beside it, which the wall-clock figures (``wall``, ``1w``, ``5``) include.
Medians of repeats. ``benchmarks/bench_release.py`` sets the fixed cost and the idle path beside a released version.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import rerun as rr
import torch

from isaac_rerun import IsaacLabScene, LogRerun
from isaac_rerun.config import DEFAULT_SIGNALS
from isaac_rerun.recorder import Recorder

CLOCK = time.thread_time
WALL = time.perf_counter
POSES_ONLY = {"markers": False, "contact_forces": False, "ray_hits": False, "global_prims": False}
"""What the seed-style baseline logs too: body poses (and their visuals) only."""
NO_SIGNALS = {"builtin_signals": "none", "log_scalars": False}
"""Rows 1, 2 and 5 time the pose path, as the seed-style loop does: no reward or action plots, no manager or joint
signals (row 6 times them)."""


class Timer:
    """Adds up the CPU time (``total``) and the wall-clock time (``wall``) spent in the functions it wraps (nested
    calls counted once)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.wall = 0.0
        self._depth = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            t0, w0 = (CLOCK(), WALL()) if self._depth == 1 else (0.0, 0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                if self._depth == 1:
                    self.total += CLOCK() - t0
                    self.wall += WALL() - w0
                self._depth -= 1

        return timed


def actions(env: Any, gen: torch.Generator) -> torch.Tensor:
    base = env.unwrapped
    shape = (base.num_envs, env.action_space.shape[-1])
    return (2 * torch.rand(*shape, generator=gen) - 1).to(base.device)


# ---------------------------------------------------------------------------------------------------------- runs
WARM_UP_FRAMES = 2
"""Frames of each of the recorder's first two snippets, before the measured one (see
:func:`snippet_through_logrerun`)."""


def snippet_through_logrerun(env: Any, logged: Any, frames: int, folder: Path, **options: Any) -> dict[str, float]:
    """One snippet of ``frames`` frames through ``LogRerun``, as a training run's later snippets are. A recorder's
    first two snippets (``WARM_UP_FRAMES`` frames each) come first and their fixed costs are timed apart
    (``first_fixed``: the layout is built then; ``second_fixed``: the layout and static visuals are kept as Rerun
    chunks then); then the measured one (started by the step trigger, closed when full). Returns its recording CPU
    and wall time (everything ``LogRerun`` adds), fixed time (open + close), the loop's wall clock, env-step CPU
    time, file size, poses recorded."""
    timer, fixed = Timer(), Timer()
    original = Recorder._before_reset
    Recorder._before_reset = timer.wrap(original)  # type: ignore[method-assign]  # the hook inside env.step()
    try:
        wrapped = LogRerun(
            env,
            logged_envs=logged,
            save_dir=folder,
            step_trigger=lambda s: s == 2 * WARM_UP_FRAMES,
            recording_length=frames,
            scene_log_cfg=POSES_ONLY,
            **{**NO_SIGNALS, **options},
        )
    finally:
        Recorder._before_reset = original  # type: ignore[method-assign]
    rec = wrapped.recorder
    assert rec is not None
    rec.writer.open = fixed.wrap(rec.writer.open)  # type: ignore[method-assign]
    rec.output.finish = fixed.wrap(rec.output.finish)  # type: ignore[method-assign]
    for name in ("after_step", "begin", "close"):
        setattr(rec, name, timer.wrap(getattr(rec, name)))
    wrapped._after_step = rec.after_step  # LogRerun keeps the bound method  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(0)
    inner: list[float] = []
    env.step = _timed_into(env.step, inner.append)
    try:
        wrapped.reset()
        once: list[float] = []  # the fixed costs paid once per recorder
        for name in ("first", "second"):  # its layout is built at the first, kept as chunks at the second
            rec.start(name)
            for _ in range(WARM_UP_FRAMES):
                wrapped.step(actions(env, gen))
            rec.stop()
            once.append(fixed.total)
            timer.total = timer.wall = fixed.total = fixed.wall = 0.0
        inner.clear()
        w0 = WALL()
        for _ in range(frames):
            wrapped.step(actions(env, gen))
        rec.close()
        loop = WALL() - w0
    finally:
        del env.step
    files = sorted(f for f in folder.glob("*.rrd") if f.name not in ("first.rrd", "second.rrd"))
    assert len(files) == 1, files
    scene = IsaacLabScene(env.unwrapped.scene, logged, cfg=POSES_ONLY)
    return {
        "record": timer.total,
        "record_wall": timer.wall,
        "loop_wall": loop,  # the training loop as the user waits for it: env steps, recording, closing the file
        "fixed": fixed.total,
        "first_fixed": once[0],
        "second_fixed": once[1],
        "env": sum(inner),  # the env's own steps (the terminal-frame hook inside them counted on both sides)
        "bytes": files[0].stat().st_size,
        "poses": frames * scene.num_rows,
        "frames": frames,
    }


def seed_style(env: Any, logged: list[int], frames: int, path: Path) -> dict[str, float]:
    """The seed wrapper's way: every pose tensor to the host, one ``rr.log(Transform3D)`` per body per env per step."""
    scene = IsaacLabScene(env.unwrapped.scene, logged, cfg=POSES_ONLY)
    assets = [(t, per_env) for t, per_env, _ in scene.pose_tensors()]
    gen = torch.Generator().manual_seed(0)
    env.reset()
    timer = Timer()

    @timer.wrap
    def record(k: int) -> None:
        stream.set_time("step", sequence=k)
        row = 0
        for tensor, per_env in assets:
            poses = tensor.cpu()  # every env, as the seed did
            for e in logged if per_env else range(poses.shape[0]):
                for b in range(poses.shape[1]):
                    p = poses[e, b].numpy()
                    pose = rr.Transform3D(translation=p[0:3].copy(), quaternion=p[3:7].copy())
                    stream.log(scene.entity_paths[row], pose)
                    row += 1

    w0 = WALL()
    stream = timer.wrap(rr.RecordingStream)("seed_style")
    timer.wrap(stream.save)(str(path))
    for k in range(frames):
        env.step(actions(env, gen))
        record(k)
    timer.wrap(stream.flush)()
    timer.wrap(stream.disconnect)()
    loop = WALL() - w0
    return {
        "record": timer.total,
        "record_wall": timer.wall,
        "loop_wall": loop,
        "bytes": path.stat().st_size,
        "poses": frames * scene.num_rows,
    }


class _Nothing(gym.Wrapper):
    """A do-nothing wrapper: what any wrapper costs."""


def without_recording(env: Any, frames: int) -> float:
    """The same loop through a do-nothing wrapper: its wall-clock seconds (what the user waits for without us)."""
    wrapped = _Nothing(env)
    gen = torch.Generator().manual_seed(0)
    wrapped.reset()
    w0 = WALL()
    for _ in range(frames):
        wrapped.step(actions(env, gen))
    return WALL() - w0


def idle_overhead(env: Any, steps: int, rounds: int) -> tuple[float, float]:
    """Per-step CPU time of ``LogRerun`` (never recording) and of a do-nothing wrapper, outside the env's own step
    (the terminal-frame hook inside it counted for ``LogRerun``), interleaved in blocks on the same env."""
    hook = Timer()
    original = Recorder._before_reset
    Recorder._before_reset = hook.wrap(original)  # type: ignore[method-assign]
    try:
        logrerun = LogRerun(env, save_dir=tempfile.mkdtemp(), step_trigger=lambda s: False, scene_log_cfg=POSES_ONLY)
    finally:
        Recorder._before_reset = original  # type: ignore[method-assign]
    nothing = _Nothing(env)
    gen = torch.Generator().manual_seed(0)
    cost: dict[str, list[float]] = {"logrerun": [], "nothing": []}
    logrerun.reset()
    for _ in range(rounds):
        for name, wrapper in (("nothing", nothing), ("logrerun", logrerun)):
            inner: list[float] = []
            total, hook.total = 0.0, 0.0
            env.step = _timed_into(env.step, inner.append)
            try:
                for _ in range(steps):
                    a = actions(env, gen)
                    t0 = CLOCK()
                    wrapper.step(a)
                    total += CLOCK() - t0
            finally:
                del env.step
            own = total - sum(inner) + (hook.total if name == "logrerun" else 0.0)
            cost[name].append(own / steps)
    session = getattr(logrerun, "session", None)  # (isaac_rerun < 0.2, for a comparison run: its recorder)
    (session or logrerun.recorder).close()
    return statistics.median(cost["logrerun"]), statistics.median(cost["nothing"])


def _timed_into(fn: Callable[..., Any], sink: Callable[[float], Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            sink(CLOCK() - t0)

    return timed


def history_cost(env: Any, steps: int, history: int) -> tuple[float, float, int]:
    """CPU time per step of the rolling history (a filter that keeps nothing), of the env step, and its memory."""
    from isaac_rerun.history import History

    timer = Timer()
    originals = {name: getattr(History, name) for name in ("after_step", "before_reset", "begin")}
    for name, fn in originals.items():
        setattr(History, name, timer.wrap(fn))
    try:
        wrapped = LogRerun(
            env,
            save_dir=tempfile.mkdtemp(),
            step_trigger=lambda s: False,
            scene_log_cfg=POSES_ONLY,
            episode_filter=lambda ep: False,
            history=history,
        )
        rec = wrapped.recorder
        assert rec is not None and rec.history is not None
        nbytes = rec.history.nbytes
        gen = torch.Generator().manual_seed(0)
        inner: list[float] = []
        env.step = _timed_into(env.step, inner.append)
        try:
            wrapped.reset()
            for _ in range(steps):
                wrapped.step(actions(env, gen))
        finally:
            del env.step
        wrapped.session.close()
    finally:
        for name, fn in originals.items():
            setattr(History, name, fn)
    return timer.total / steps, sum(inner) / steps, nbytes


# ---------------------------------------------------------------------------------------------------------- report
def machine(*extra: str) -> str:
    """The machine and the versions that matter, in one line (``extra``: more of them)."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    import isaaclab

    return (
        f"{cpu} · {os.cpu_count()} cores · Python {platform.python_version()} · torch {torch.__version__} · "
        f"rerun-sdk {rr.__version__} · isaaclab {getattr(isaaclab, '__version__', '?')}"
        + "".join(f" · {e}" for e in extra)
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="80-frame snippets and 16 logged envs only, fewer repeats")
    p.add_argument("--a1", action=argparse.BooleanOptionalAction, default=True, help="the A1 task rows")
    args = p.parse_args()
    repeats = 1 if args.quick else args.repeats
    tmp = Path(tempfile.mkdtemp(prefix="isaac_rerun_bench_"))
    counter = iter(range(10**9))

    def fresh() -> Path:
        d = tmp / f"r{next(counter)}"
        d.mkdir()
        return d

    from isaac_rerun.testbed import make_env

    rows: list[tuple[str, str, str, str]] = []
    sizes = [(16, 80)] if args.quick else [(1, 80), (16, 80), (256, 80), (1, 1000), (16, 1000), (256, 1000)]

    # 1. snippets through LogRerun, beside the seed-style loop
    fixed_by_envs: dict[int, float] = {}
    for num_logged in sorted({n for n, _ in sizes}):
        env = make_env(num_envs=max(num_logged, 64) if num_logged < 256 else 256, device=args.device)
        try:
            logged = list(range(num_logged))
            snippet_through_logrerun(env, logged, 8, fresh())  # warm-up: caches, visuals read from USD
            for n, frames in [s for s in sizes if s[0] == num_logged]:
                runs = [snippet_through_logrerun(env, logged, frames, fresh()) for _ in range(repeats)]
                us = statistics.median(r["record"] / r["poses"] for r in runs) * 1e6
                us_wall = statistics.median(r["record_wall"] / r["poses"] for r in runs) * 1e6
                bpp = statistics.median(r["bytes"] / r["poses"] for r in runs)
                fixed = statistics.median(r["fixed"] for r in runs)
                first = statistics.median(r["first_fixed"] for r in runs)
                second = statistics.median(r["second_fixed"] for r in runs)
                fixed_by_envs.setdefault(n, fixed)
                seed_frames = min(frames, 16 if n >= 256 else 80)
                seed = [seed_style(env, logged, seed_frames, fresh() / "seed.rrd") for _ in range(repeats)]
                seed_us = statistics.median(r["record"] / r["poses"] for r in seed) * 1e6
                seed_wall = statistics.median(r["record_wall"] / r["poses"] for r in seed) * 1e6
                seed_bpp = statistics.median(r["bytes"] / r["poses"] for r in seed)
                layout = IsaacLabScene(env.unwrapped.scene, logged).layout
                target = ""
                if (n, frames) == (16, 80):
                    target = (
                        f"target ≥ 50× faster (got {seed_us / us:.0f}× CPU, {seed_wall / us_wall:.0f}× wall), "
                        f"≤ 40 B/pose (got {bpp:.1f})"
                    )
                rows.append(
                    (
                        f"1. {n} logged env(s) × {frames} frames ({layout}), per pose: CPU | wall | B; fixed ms",
                        f"{us:.2f} | {us_wall:.2f} µs | {bpp:.1f} B | {fixed * 1e3:.1f} ms "
                        f"(1st {first * 1e3:.0f}, 2nd {second * 1e3:.0f})",
                        f"{seed_us:.1f} | {seed_wall:.1f} µs | {seed_bpp:.0f} B (seed-style, {seed_frames} frames)",
                        target,
                    )
                )
                if n < 256:  # the training loop's wall clock, as the user waits for it (env steps included)
                    bare = [without_recording(env, frames) for _ in range(repeats)]
                    step_wall = statistics.median(bare) / frames
                    ours_loop = statistics.median(r["loop_wall"] / frames for r in runs) / step_wall
                    seed_loop = statistics.median(r["loop_wall"] / seed_frames for r in seed) / step_wall
                    rows.append(
                        (
                            "1w. the same, the training loop's wall clock per step: with recording / without",
                            f"{ours_loop:.3f}×",
                            f"{seed_loop:.3f}× (seed-style)",
                            f"env step {step_wall * 1e3:.1f} ms (wall)",
                        )
                    )
            if num_logged == 256:
                # 2. all envs, as a fraction of the env step
                runs = [snippet_through_logrerun(env, "all", 200, fresh()) for _ in range(repeats)]
                frac = statistics.median(r["record"] / r["env"] for r in runs)
                rows.append(
                    (
                        "2. logged_envs='all', 256 envs, 200 frames: recording / env step",
                        f"{frac * 100:.2f} %",
                        f"env step {statistics.median(r['env'] / r['frames'] for r in runs) * 1e3:.1f} ms",
                        f"target ≤ 5 % ({'met' if frac <= 0.05 else 'NOT met'})",
                    )
                )
        finally:
            env.close()
        gc.collect()
    if len(fixed_by_envs) > 1:
        lo, hi = min(fixed_by_envs), max(fixed_by_envs)
        ratio = fixed_by_envs[hi] / fixed_by_envs[lo]
        rows.append(
            (
                f"1b. fixed cost per snippet, {hi} vs {lo} logged env(s)",
                f"{ratio:.2f}×",
                "—",
                f"target within 1.5× ({'met' if ratio <= 1.5 else 'NOT met'})",
            )
        )

    # 3. not recording, 4. history: 64 envs
    env = make_env(num_envs=64, device=args.device)
    try:
        ours, nothing = idle_overhead(env, 200, 5 if not args.quick else 2)
        rows.append(
            (
                "3. not recording, 64 envs: µs per step above a do-nothing gym.Wrapper",
                f"{(ours - nothing) * 1e6:.1f} µs",
                f"({ours * 1e6:.1f} vs {nothing * 1e6:.1f} µs own time)",
                f"target ≤ 10 µs ({'met' if ours - nothing <= 10e-6 else 'NOT met'})",
            )
        )
        per_step, env_step, nbytes = history_cost(env, 600 if not args.quick else 200, 500)
        rows.append(
            (
                "4. rolling history, 64 envs, K = 500, nothing kept: history / env step",
                f"{per_step / env_step * 100:.2f} %",
                f"{per_step * 1e6:.0f} µs of {env_step * 1e3:.1f} ms; holds {nbytes / 2**20:.1f} MiB",
                f"target ≤ 5 % ({'met' if per_step / env_step <= 0.05 else 'NOT met'})",
            )
        )
    finally:
        env.close()
    gc.collect()

    # 5. the A1
    if args.a1:
        try:
            from isaac_rerun.testbed.a1 import make_a1_env

            env = make_a1_env(num_envs=16, device=args.device)
        except Exception as exc:  # the asset is not built (scripts/setup.sh)
            rows.append(("5. A1 task", "skipped", str(exc)[:60], ""))
        else:
            try:
                snippet_through_logrerun(env, [0], 4, fresh())
                for logged in ([0], list(range(8))):
                    runs = [snippet_through_logrerun(env, logged, 60, fresh()) for _ in range(repeats)]
                    bare_step = statistics.median(without_recording(env, 60) for _ in range(repeats)) / 60
                    per = statistics.median(r["record"] / r["frames"] for r in runs)
                    step = statistics.median(r["env"] / r["frames"] for r in runs)
                    loop = statistics.median(r["loop_wall"] / r["frames"] for r in runs) / bare_step
                    rows.append(
                        (
                            f"5. A1 task, 16 envs, {len(logged)} logged, 60 frames: recording per step (CPU)",
                            f"{per * 1e6:.0f} µs",
                            f"env step {step * 1e3:.0f} ms CPU ({per / step * 100:.2f} %); the loop's wall clock "
                            f"{loop:.3f}× without recording ({bare_step * 1e3:.0f} ms per step)",
                            "",
                        )
                    )
                # 6. the default signals beside poses alone, 16 logged envs
                both = {}
                signals = {"builtin_signals": DEFAULT_SIGNALS, "log_scalars": True}
                for label, extra in (("poses", {"log_scalars": True}), ("signals", signals)):
                    runs = [snippet_through_logrerun(env, "all", 60, fresh(), **extra) for _ in range(repeats)]
                    both[label] = (
                        statistics.median((r["record"] - r["fixed"]) / r["frames"] for r in runs),
                        statistics.median(r["fixed"] for r in runs),
                        statistics.median(r["bytes"] for r in runs),
                    )
                cost = both["signals"][0] / both["poses"][0]
                size = both["signals"][2] / both["poses"][2]
                rows.append(
                    (
                        "6. A1 task, 16 logged envs, 60 frames: default signals / poses alone (per frame | bytes)",
                        f"{cost:.2f}× | {size:.2f}×",
                        f"{both['signals'][0] * 1e6:.0f} vs {both['poses'][0] * 1e6:.0f} µs per frame; fixed "
                        f"{both['signals'][1] * 1e3:.0f} vs {both['poses'][1] * 1e3:.0f} ms per snippet; "
                        f"{both['signals'][2] / 1e6:.2f} vs {both['poses'][2] / 1e6:.2f} MB",
                        f"target ≤ 1.5× | ≤ 2× ({'met' if cost <= 1.5 and size <= 2 else 'NOT met'})",
                    )
                )
            finally:
                env.close()

    print(f"\nmachine: {machine()} · device {args.device}")
    print(f"medians of {repeats} repeat(s)\n")
    w = max(len(r[0]) for r in rows)
    for name, ours_s, base_s, target in rows:
        print(f"{name:<{w}}  {ours_s:>26}  {base_s:<44} {target}")


if __name__ == "__main__":
    main()
