"""``RerunCallback`` (Stable-Baselines3) on the real Isaac Lab 3.0 test bed: real training through Isaac Lab's own
``isaaclab_rl.sb3.Sb3VecEnvWrapper``, every recording read back from its ``.rrd`` and compared with the simulator.

The ground truth does not come from the recorder: a spy on the env's ``_reset_idx`` keeps the poses just before
each auto-reset, and :class:`Truth` — a plain SB3 callback trained beside ``RerunCallback`` in a ``CallbackList`` —
keeps per vector step the poses after the step, the env's own reward (``reward_buf``) and clamped action, the done
flags, Isaac Lab's ``infos[i]["episode"]`` and SB3's ``num_timesteps``. ``rerun rrd verify`` checks every file.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")
pytest.importorskip("stable_baselines3")

import gymnasium as gym  # noqa: E402
import rerun as rr  # noqa: E402
from isaaclab_rl.sb3 import Sb3VecEnvWrapper  # noqa: E402
from stable_baselines3 import PPO, SAC  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EveryNTimesteps  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize  # noqa: E402

from isaac_rerun import capped_cubic_video_schedule, every_n  # noqa: E402
from isaac_rerun.integrations.sb3 import RerunCallback  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from schedule import Snip, expected_snippets  # noqa: E402
from testbed_truth import BODIES, sim_poses  # noqa: E402

RERUN_CLI = Path(sys.executable).with_name("rerun")


def small_net() -> dict:
    return {"net_arch": [16, 16]}  # a new dict each time: SB3 adds keys to it


@pytest.fixture(scope="module")
def env(testbed_pool):
    """One 4-env test bed for the module, with 60-step (1 s) episodes so that short runs see several."""
    yield testbed_pool.make(num_envs=4, episode_length_s=1.0)
    testbed_pool.release()


class Truth(BaseCallback):
    """The simulator's side of every vector step (see the module docstring). Install it before ``learn()``."""

    def __init__(self, base):
        super().__init__()
        self.base = base
        self.steps: list[dict] = []  # indexed by vector step id (n_calls - 1), across learn() calls
        self.initial = None
        self.pending = None
        original = base._reset_idx

        def spy(*args, **kwargs):
            self.pending = sim_poses(base.scene)
            return original(*args, **kwargs)

        self.spy = spy
        base._reset_idx = spy

    def remove(self) -> None:
        """Remove the spy (when it is the outermost hook) and drop learn()'s locals (they reference the callbacks)."""
        if self.base.__dict__.get("_reset_idx") is self.spy:
            del self.base._reset_idx
        self.locals = {}

    def _on_training_start(self) -> None:
        if self.initial is None:
            self.initial = sim_poses(self.base.scene)
        self.pending = None  # a reset() in _setup_learn

    def _on_step(self) -> bool:
        after = sim_poses(self.base.scene)
        infos = self.locals["infos"]
        self.steps.append(
            {
                "before": self.pending if self.pending is not None else after,
                "after": after,
                "done": np.asarray(self.locals["dones"]).copy(),
                "reward": self.base.reward_buf.detach().cpu().numpy().copy(),
                "sb3_reward": np.asarray(self.locals["rewards"]).copy(),
                "action": self.base.actions.detach().cpu().numpy().copy(),
                "episode": {
                    i: (info["episode"]["r"], info["episode"]["l"])
                    for i, info in enumerate(infos)
                    if info.get("episode")
                },
                "timesteps": self.num_timesteps,
            }
        )
        self.pending = None
        return True

    def dones(self, env: int) -> list[bool]:
        return [bool(s["done"][env]) for s in self.steps]

    def pose(self, event, key, env, body):
        kind, s = event
        if kind == "reset" and s < 0:
            return self.initial[key][env, body]
        return self.steps[s]["after" if kind == "reset" else "before"][key][env, body]

    def timesteps(self, event) -> int:
        return 0 if event[1] < 0 else self.steps[event[1]]["timesteps"]


class StopAt(BaseCallback):
    """Stops training (returns False) at the given call."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def _on_step(self) -> bool:
        return self.n_calls < self.n


class RaiseAt(BaseCallback):
    """Raises inside ``learn()`` at the given call."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def _on_step(self) -> bool:
        if self.n_calls == self.n:
            raise RuntimeError("boom")
        return True


def ppo(venv, n_steps=16, **kwargs) -> PPO:
    return PPO(
        "MlpPolicy",
        venv,
        n_steps=n_steps,
        batch_size=64,
        n_epochs=1,
        policy_kwargs=small_net(),
        seed=0,
        device="cpu",
        **kwargs,
    )


def step_snippets(tracked_dones, trigger, length, ends=(), start=0) -> list[Snip]:
    """Step-triggered snippets over step ids ``start…``, finished at the end of each ``learn()`` (ids in ``ends``)."""
    out: list[Snip] = []
    cur: list[Snip | None] = [None]

    def finish():
        if cur[0] is not None:
            out.append(cur[0])
            cur[0] = None

    def capture(event):
        if cur[0] is not None:
            cur[0].frames.append(event)
            if len(cur[0].frames) >= length:
                finish()

    for s in range(start, len(tracked_dones)):
        if trigger(s):
            finish()
            cur[0] = Snip(f"rl-rerun-step-{s}")
        capture(("step", s))
        if tracked_dones[s]:
            capture(("reset", s))
        if s in ends:
            finish()
    finish()
    return out


def verify(*paths: Path) -> subprocess.CompletedProcess:
    assert paths
    return subprocess.run([str(RERUN_CLI), "rrd", "verify", *map(str, paths)], capture_output=True, text=True)


def assert_complete(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.rrd"))
    res = verify(*files)
    assert res.returncode == 0, res.stderr[-2000:]
    return files


def scalar_rows(ent, order=None):
    order = ent.sorted_by("frame") if order is None else order
    return order, [ent.columns["Scalars:scalars"][i] for i in order]


def check_snippet(path: Path, snip: Snip, truth: Truth, logged_envs, step_dt, *, scalars=True, tracked=None):
    """Poses, timelines and per-env scalars of one snippet file against the simulator."""
    ents = read_rrd(path)
    tracked = logged_envs[0] if tracked is None else tracked
    frames = snip.frames
    step_frames = [i for i, (kind, _) in enumerate(frames) if kind == "step"]
    for env in logged_envs:
        for suffix, (group, name, body) in BODIES.items():
            ent = ents[f"/World/envs/env_{env}/{suffix}"]
            order = ent.sorted_by("frame")
            assert list(ent.timeline("frame", order)) == list(range(len(frames))), (snip.name, suffix)
            want = np.array([truth.pose(ev, (group, name), env, body) for ev in frames])
            np.testing.assert_allclose(
                ent.vectors("Transform3D:translation", order),
                want[:, :3],
                atol=1e-5,
                err_msg=f"{snip.name} env {env} {suffix}",
            )
            assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:]), (
                f"{snip.name} env {env} {suffix}"
            )
            assert list(ent.timeline("env_step", order)) == [max(s, 0) for _, s in frames]
            assert list(ent.timeline("timesteps", order)) == [truth.timesteps(ev) for ev in frames]
            n_steps = np.cumsum([kind == "step" for kind, _ in frames])
            np.testing.assert_allclose(ent.timeline("sim_time", order), n_steps * step_dt, atol=1e-6)
        root = f"/scalars/env_{env}"
        if not scalars:  # no reward, action or episode return plots; the joints (builtin_signals) are another option
            plots = {p for p in ents if p.startswith("/scalars")}
            assert not plots & {f"{root}/{m}" for m in ("reward", "action", "episode_return")}, sorted(plots)
            joints = {f"{root}/{m}" for m in ("joint_pos", "joint_vel", "joint_effort", "episode_length")}
            assert plots <= joints | {"/scalars/limits/joint_pos"}, plots
            continue
        # reward and action: one row per step frame (not on the reset frames), the env's own values
        for what, key in (("reward", "reward"), ("action", "action")):
            order, rows = scalar_rows(ents[f"{root}/{what}"])
            assert list(ents[f"{root}/{what}"].timeline("frame", order)) == step_frames, (snip.name, what)
            want = [np.atleast_1d(truth.steps[frames[i][1]][key][env]) for i in step_frames]
            np.testing.assert_allclose(np.array(rows, dtype=float), np.array(want, dtype=float), rtol=1e-6, atol=1e-7)
        # episode return/length at the terminal frame of each episode that started inside the snippet
        want_rows, want_ret, want_len = [], [], []
        steps_in = {s for kind, s in frames if kind == "step"}
        prev = -1
        for t, d in enumerate(truth.dones(env)):
            if not d:
                continue
            started_inside = (
                prev in steps_in
                or (prev == -1 and ("reset", -1) in frames)
                or (env == tracked and frames[0] == ("reset", prev))
            )
            if t in steps_in and started_inside:
                r, length = truth.steps[t]["episode"][env]
                want_rows.append(frames.index(("step", t)))
                want_ret.append(r)
                want_len.append(length)
            prev = t
        for what, want in (("episode_return", want_ret), ("episode_length", want_len)):
            ent = ents.get(f"{root}/{what}")
            if not want_rows:
                assert ent is None, (snip.name, what)
                continue
            order, rows = scalar_rows(ent)
            assert list(ent.timeline("frame", order)) == want_rows, (snip.name, what)
            np.testing.assert_allclose([r[0] for r in rows], want, rtol=1e-6)
    return ents


def metric(ents, name):
    ent = ents[f"/train/{name}"]
    order = ent.sorted_by("timesteps")
    return (
        list(ent.timeline("timesteps", order)),
        list(ent.timeline("env_step", order)),
        [ent.columns["Scalars:scalars"][i][0] for i in order],
    )


# ---------------------------------------------------------------------------------------------- end to end


def test_ppo_records_the_step_schedule_with_poses_scalars_and_metrics(env, tmp_path):
    """PPO, 1024 timesteps (256 vector steps, 4 rollouts of 64): snippets, poses, reward/action/returns, metrics."""
    base = env.unwrapped
    trigger = every_n(90, offset=7)
    truth = Truth(base)
    # 64 frames span > 60 steps: each snippet holds an episode end (a terminal and a reset frame) of the tracked env
    cb = RerunCallback(save_dir=tmp_path, logged_envs=[0, 2], step_trigger=trigger, recording_length=64)
    model = ppo(Sb3VecEnvWrapper(env), n_steps=64)
    try:
        model.learn(1024, callback=CallbackList([cb, truth]))
        assert base.__dict__["_reset_idx"] is truth.spy, "the recorder's reset hook is on the env during a run only"
        files = assert_complete(tmp_path)  # complete when learn() returns, before close()
    finally:
        cb.close()
        truth.remove()
    assert len(truth.steps) == 256 and truth.steps[-1]["timesteps"] == 1024
    tracked = truth.dones(0)
    assert sum(tracked) >= 3, "the tracked env must finish several episodes for this test to mean anything"
    snips = expected_snippets(tracked, None, trigger, 64)
    assert [s.name for s in snips] == ["rl-rerun-step-7", "rl-rerun-step-97", "rl-rerun-step-187"]
    assert sorted(p.name for p in files) == sorted([f"{s.name}.rrd" for s in snips] + ["rl-rerun-metrics.rrd"])
    assert cb.paths == [tmp_path / f"{s.name}.rrd" for s in snips]
    assert all(any(kind == "reset" for kind, _ in snip.frames) for snip in snips), "episode ends must be covered"
    for snip in snips:
        check_snippet(tmp_path / f"{snip.name}.rrd", snip, truth, [0, 2], base.step_dt)
    assert cb.recorder.step_id == 255 and cb.recorder.episode_id == sum(tracked)

    # SB3's dumps (one per rollout) on the timesteps / env_step timelines, with SB3's own values
    ents = read_rrd(tmp_path / "rl-rerun-metrics.rrd")
    ts, es, values = metric(ents, "time/total_timesteps")
    assert ts == values == [256, 512, 768, 1024] and es == [63, 127, 191, 255]
    ts, _, values = metric(ents, "rollout/ep_rew_mean")
    episodes = [(s["timesteps"], r) for s in truth.steps for r, _ in s["episode"].values()]
    assert ts, "episodes must end before the last dump"
    for t, v in zip(ts, values, strict=True):
        np.testing.assert_allclose(v, np.mean([r for when, r in episodes if when <= t][-100:]), rtol=1e-6)
    assert metric(ents, "train/value_loss")[0] == [512, 768, 1024]  # train() runs after each dump


def test_sac_under_vecnormalize_records_episodes_with_the_env_reward(env, tmp_path):
    """Off-policy (SAC) through VecNormalize, default trigger (episodes 0, 1, 8, …): the env's own reward, actions."""
    base = env.unwrapped
    truth = Truth(base)
    cb = RerunCallback(save_dir=tmp_path, logged_envs=[1, 3])
    venv = VecNormalize(Sb3VecEnvWrapper(env), norm_obs=True, norm_reward=True)
    model = SAC("MlpPolicy", venv, learning_starts=200, batch_size=32, policy_kwargs=small_net(), seed=0, device="cpu")
    try:
        model.learn(400, callback=CallbackList([cb, truth]))  # 100 vector steps, 50 of them with gradient steps
        files = assert_complete(tmp_path)
    finally:
        cb.close()
        truth.remove()
    assert len(truth.steps) == 100
    sb3_rewards = np.array([s["sb3_reward"] for s in truth.steps])
    env_rewards = np.array([s["reward"] for s in truth.steps])
    assert not np.allclose(sb3_rewards, env_rewards), "VecNormalize must change the rewards SB3 sees"
    tracked = truth.dones(1)
    snips = expected_snippets(tracked, capped_cubic_video_schedule, None, 0)
    assert [s.name for s in snips] == ["rl-rerun-episode-0", "rl-rerun-episode-1"]
    assert sorted(p.name for p in files) == sorted([f"{s.name}.rrd" for s in snips] + ["rl-rerun-metrics.rrd"])
    for snip in snips:
        check_snippet(tmp_path / f"{snip.name}.rrd", snip, truth, [1, 3], base.step_dt)
    ents = read_rrd(tmp_path / "rl-rerun-metrics.rrd")
    ts, _, values = metric(ents, "time/total_timesteps")
    assert ts and ts == values


# ---------------------------------------------------------------------------------------------- lifecycle


def test_consecutive_learn_calls_continue_the_counters(env, tmp_path, capsys):
    """Two learn() calls without reset continue step and episode ids; a third with reset calls begin() once. Each
    learn() is a run: the second and third are labelled train2 and train3 in their file names."""
    base = env.unwrapped
    trigger = every_n(15, offset=5)
    truth = Truth(base)
    cb = RerunCallback(save_dir=tmp_path, step_trigger=trigger, recording_length=15, verbose=1)
    model = ppo(Sb3VecEnvWrapper(env))
    callbacks = CallbackList([cb, truth])
    expected_files = set()
    try:
        model.learn(160, callback=callbacks)  # 3 rollouts of 16 vector steps: ids 0..47
        expected_files |= {
            "rl-rerun-step-5.rrd",
            "rl-rerun-step-20.rrd",
            "rl-rerun-step-35.rrd",
            "rl-rerun-metrics.rrd",
        }
        assert {p.name for p in assert_complete(tmp_path)} == expected_files
        assert cb.recorder.episode_id == sum(truth.dones(0)[:48])

        model.learn(128, callback=callbacks, reset_num_timesteps=False)  # ids 48..79, no env reset
        expected_files |= {"rl-rerun-train2-step-50.rrd", "rl-rerun-train2-step-65.rrd", "rl-rerun-train2-metrics.rrd"}
        assert {p.name for p in assert_complete(tmp_path)} == expected_files
        assert cb.recorder.episode_id == sum(truth.dones(0)[:80]), "no begin() without a reset"

        model.learn(64, callback=callbacks)  # reset_num_timesteps=True: SB3 resets the env; ids 80..95
        expected_files |= {"rl-rerun-train3-step-80.rrd", "rl-rerun-train3-step-95.rrd", "rl-rerun-train3-metrics.rrd"}
        assert {p.name for p in assert_complete(tmp_path)} == expected_files
        assert cb.recorder.episode_id == sum(truth.dones(0)[:96]) + 1, "one begin() for the reset"
    finally:
        cb.close()
        truth.remove()
    assert cb.recorder.step_id == 95 and len(truth.steps) == 96
    snips = step_snippets(truth.dones(0), trigger, 15, ends={47, 79})
    for snip in snips:  # the run that started it
        first = snip.frames[0][1]
        label = "" if first < 48 else "train2-" if first < 80 else "train3-"
        snip.name = snip.name.replace("rl-rerun-", f"rl-rerun-{label}")
    assert [s.name for s in snips] == [
        *(f"rl-rerun-step-{i}" for i in (5, 20, 35)),
        *(f"rl-rerun-train2-step-{i}" for i in (50, 65)),
        *(f"rl-rerun-train3-step-{i}" for i in (80, 95)),
    ]
    assert snips[2].frames[-1] == ("step", 47) and snips[-1].frames[0] == ("step", 95), "cut by the end of learn()"
    for snip in snips:
        check_snippet(tmp_path / f"{snip.name}.rrd", snip, truth, [0], base.step_dt)
    saved = [line for line in capsys.readouterr().out.splitlines() if line.startswith("isaac_rerun: saved")]
    assert len(saved) == len(snips), "verbose=1 prints one line per saved recording"
    # the timesteps timeline follows SB3: it continues without reset, and starts again with reset_num_timesteps
    assert metric(read_rrd(tmp_path / "rl-rerun-train2-metrics.rrd"), "time/total_timesteps")[0] == [256, 320]
    assert metric(read_rrd(tmp_path / "rl-rerun-train3-metrics.rrd"), "time/total_timesteps")[0] == [64]
    assert "_reset_idx" not in base.__dict__


def test_early_stop_finishes_the_open_snippet(env, tmp_path):
    """Another callback in the CallbackList stops training: _on_training_end still finishes the snippet."""
    base = env.unwrapped
    truth = Truth(base)
    cb = RerunCallback(save_dir=tmp_path, step_trigger=every_n(100, offset=10), recording_length=50)
    model = ppo(Sb3VecEnvWrapper(env))
    try:
        model.learn(10_000, callback=CallbackList([cb, truth, StopAt(30)]))
        assert model.num_timesteps == 120, "training must have stopped early"
        assert cb.recorder.recording is False
        assert {p.name for p in assert_complete(tmp_path)} == {"rl-rerun-step-10.rrd", "rl-rerun-metrics.rrd"}
    finally:
        cb.close()
        truth.remove()
    (snip,) = step_snippets(truth.dones(0), every_n(100, offset=10), 50)
    assert snip.frames[-1][1] == 29
    check_snippet(tmp_path / f"{snip.name}.rrd", snip, truth, [0], base.step_dt)


def test_exception_inside_learn_leaves_complete_recordings(env, tmp_path):
    """learn() raises: the next learn() with the callback, or its garbage collection, finishes the snippet."""
    base = env.unwrapped
    trigger = every_n(100, offset=10)
    truth = Truth(base)
    cb = RerunCallback(save_dir=tmp_path, step_trigger=trigger, recording_length=50)
    model = ppo(Sb3VecEnvWrapper(env))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            model.learn(10_000, callback=CallbackList([cb, truth, RaiseAt(30)]))
        assert cb.recorder.recording, "the snippet is still open after the exception"
        assert verify(tmp_path / "rl-rerun-step-10.rrd").returncode != 0, "…and its file not complete yet"
        first = step_snippets(truth.dones(0), trigger, 50, ends={29})
        # the next learn() with this callback finishes it first (and resets the env: new episode, step ids go on)
        with pytest.raises(RuntimeError, match="boom"):
            model.learn(10_000, callback=CallbackList([cb, truth, RaiseAt(16)]))
        assert verify(tmp_path / "rl-rerun-step-10.rrd").returncode == 0
        assert cb.recorder.step_id == 45 and not cb.recorder.recording
    finally:
        cb.close()
        truth.remove()
    # a third learn() raises while a snippet is open; nothing but garbage collection finishes it
    truth3 = Truth(base)
    cb3 = RerunCallback(save_dir=tmp_path / "gc", step_trigger=every_n(100, offset=3), recording_length=50)
    with pytest.raises(RuntimeError, match="boom"):
        model.learn(10_000, callback=CallbackList([cb3, truth3, RaiseAt(9)]))
    truth3.locals = {}  # learn()'s locals reference the callbacks
    open_file = tmp_path / "gc" / "rl-rerun-step-3.rrd"
    assert verify(open_file).returncode != 0
    assert base.__dict__["_reset_idx"] is not truth3.spy
    del cb3, model
    gc.collect()
    assert base.__dict__["_reset_idx"] is truth3.spy, "the reset hook is removed when the recorder is closed"
    truth3.remove()
    assert_complete(tmp_path)
    assert_complete(tmp_path / "gc")
    check_snippet(tmp_path / "rl-rerun-step-10.rrd", first[0], truth, [0], base.step_dt)
    (snip,) = step_snippets(truth3.dones(0), every_n(100, offset=3), 50)
    check_snippet(open_file, snip, truth3, [0], base.step_dt)


@pytest.mark.slow
def test_uncaught_exception_completes_the_files_at_exit(tmp_path):
    """A training script that dies of an exception inside learn() still leaves complete, readable recordings."""
    script = textwrap.dedent(
        f"""
        from isaac_rerun.testbed import make_env
        from isaaclab_rl.sb3 import Sb3VecEnvWrapper
        from stable_baselines3 import PPO
        from stable_baselines3.common.callbacks import BaseCallback, CallbackList
        from isaac_rerun.integrations.sb3 import RerunCallback

        class RaiseAt(BaseCallback):
            def _on_step(self):
                if self.n_calls == 12:
                    raise RuntimeError("boom")
                return True

        env = Sb3VecEnvWrapper(make_env(num_envs=4))
        cb = RerunCallback(save_dir={str(tmp_path)!r}, step_trigger=lambda s: s == 5, recording_length=50)
        model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, device="cpu")
        model.learn(1000, callback=CallbackList([cb, RaiseAt()]))
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    assert res.returncode != 0 and "RuntimeError: boom" in res.stderr, res.stderr[-3000:]
    assert {p.name for p in assert_complete(tmp_path)} == {"rl-rerun-step-5.rrd"}
    ent = read_rrd(tmp_path / "rl-rerun-step-5.rrd")["/World/envs/env_0/Robot/pole"]
    assert list(ent.timeline("env_step", ent.sorted_by("frame"))) == list(range(5, 12))


def test_inside_every_n_timesteps_frames_are_the_steps_it_sees(env, tmp_path):
    """Wrapped in EveryNTimesteps: one frame per call, no reset hook, the last snippet finished by close()."""
    base = env.unwrapped
    trigger = every_n(7)
    truth = Truth(base)
    cb = RerunCallback(save_dir=tmp_path, step_trigger=trigger, recording_length=4)
    model = ppo(Sb3VecEnvWrapper(env))
    try:
        model.learn(160, callback=CallbackList([EveryNTimesteps(8, cb), truth]))  # 48 vector steps, calls on 1, 3, …
        assert base.__dict__["_reset_idx"] is truth.spy, "no reset hook when the callback misses steps"
        assert cb.recorder.recording, "_on_training_end is not forwarded by EveryNTimesteps"
    finally:
        cb.close()
        truth.remove()
    seen = list(range(1, 48, 2))  # the vector step of each call
    assert cb.n_calls == len(seen) == 24
    tracked = [truth.steps[v]["done"][0] for v in seen]
    snips = step_snippets(tracked, trigger, 4)
    assert [s.name for s in snips] == ["rl-rerun-step-0", "rl-rerun-step-7", "rl-rerun-step-14", "rl-rerun-step-21"]
    assert_complete(tmp_path)
    for snip in snips:
        ents = read_rrd(tmp_path / f"{snip.name}.rrd")
        ent = ents["/World/envs/env_0/Robot/pole"]
        order = ent.sorted_by("frame")
        want = np.array([truth.steps[seen[k]]["after"][("articulations", "robot")][0, 2] for _, k in snip.frames])
        np.testing.assert_allclose(ent.vectors("Transform3D:translation", order), want[:, :3], atol=1e-5)
        assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:])
        assert list(ent.timeline("env_step", order)) == [k for _, k in snip.frames]
        assert list(ent.timeline("timesteps", order)) == [truth.steps[seen[k]]["timesteps"] for _, k in snip.frames]


# ---------------------------------------------------------------------------------------------- input and outputs


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        (dict(episode_trigger=5), TypeError, "episode_trigger"),
        (dict(step_trigger="often"), TypeError, "step_trigger"),
        (dict(recording_length=-1), ValueError, "recording_length"),
        (dict(recording_length=2.5), TypeError, "recording_length"),
        (dict(name_prefix="a/b"), ValueError, "name_prefix"),
        (dict(verbose=3), ValueError, "verbose"),
        (dict(logged_envs="0"), TypeError, "logged_envs"),
        (dict(log_scalars="yes"), TypeError, "log_scalars"),
        (dict(save_dir="a", save_path="b.rrd"), ValueError, "at most one output"),
        (dict(save_dir=5), TypeError, "save_dir"),
        (dict(save_path=b"x.rrd"), TypeError, "save_path"),
        (dict(recording_stream="stream"), TypeError, "recording_stream"),
        (dict(viewer="localhost:9876"), ValueError, "viewer"),
        (dict(save_dir="a", keep_last=0), ValueError, "keep_last"),
        (dict(save_path="a.rrd", keep_last=2), ValueError, "keep_last"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        RerunCallback(**kwargs)


def test_bad_env_or_envs_raise_when_learn_starts_and_write_nothing(env, tmp_path):
    out = tmp_path / "out"
    for logged_envs in (4, [0, 0], [-1]):
        model = ppo(Sb3VecEnvWrapper(env))
        with pytest.raises(ValueError, match="logged_envs"):
            model.learn(64, callback=RerunCallback(save_dir=out, logged_envs=logged_envs))
        assert "_reset_idx" not in env.unwrapped.__dict__
    cartpole = PPO("MlpPolicy", DummyVecEnv([lambda: gym.make("CartPole-v1")]), n_steps=16, batch_size=16, device="cpu")
    with pytest.raises(ValueError, match=r"training_env.*Sb3VecEnvWrapper"):
        cartpole.learn(16, callback=RerunCallback(save_dir=out))
    assert not out.exists()


def test_default_output_is_the_logger_folder_else_an_error(env, tmp_path):
    assert rr.get_data_recording() is None, "this test needs no global Rerun recording"
    model = ppo(Sb3VecEnvWrapper(env))  # SB3's default logger writes no files: no folder to default to
    with pytest.raises(ValueError, match="save_dir"):
        model.learn(64, callback=RerunCallback(step_trigger=every_n(5)))
    assert "_reset_idx" not in env.unwrapped.__dict__

    model.set_logger(configure(str(tmp_path / "sb3"), ["csv"]))
    cb = RerunCallback(step_trigger=lambda s: s == 3, recording_length=4)
    with cb:
        model.learn(64, callback=cb)
    files = assert_complete(tmp_path / "sb3" / "rerun")
    assert {p.name for p in files} == {"rl-rerun-step-3.rrd", "rl-rerun-metrics.rrd"}
    assert cb.metrics_paths == [tmp_path / "sb3" / "rerun" / "rl-rerun-metrics.rrd"]


def test_log_scalars_false_and_a_closed_callback(env, tmp_path):
    base = env.unwrapped
    truth = Truth(base)
    cb = RerunCallback(
        save_dir=tmp_path, step_trigger=lambda s: s == 2, recording_length=3, log_scalars=False, log_metrics=False
    )
    model = ppo(Sb3VecEnvWrapper(env))
    try:
        model.learn(64, callback=CallbackList([cb, truth]))
    finally:
        cb.close()
        truth.remove()
    assert {p.name for p in assert_complete(tmp_path)} == {"rl-rerun-step-2.rrd"}
    (snip,) = step_snippets(truth.dones(0), lambda s: s == 2, 3)
    check_snippet(tmp_path / "rl-rerun-step-2.rrd", snip, truth, [0], base.step_dt, scalars=False)
    with pytest.raises(RuntimeError, match="closed"):
        model.learn(64, callback=cb)
