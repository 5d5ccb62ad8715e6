"""Why it happened: Isaac Lab's reward terms, termination reasons, commands, named actions and joints, and your own
signals — recorded from the manager-based test bed (``isaac_rerun.testbed.make_managed_env``, Isaac Lab's own
managers and mdp terms), read back from the ``.rrd`` and compared with the managers' own buffers at every frame.

The expected values are read from Isaac Lab independently of the recorder, at the two moments a frame stands for: a
step's frame shows the state before the env's auto-reset (read in a hook on ``_reset_idx`` when a reset happens in
that step, else after ``step()``), the reset frame after a terminal frame shows the state after ``step()``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tests.rrd_readback import read_rrd

pytestmark = pytest.mark.isaaclab

STEPS = 150
TERMS = ["time_out", "base_contact", "bad_orientation"]  # the 2.x stand-in's termination terms


class Truth:
    """The managers' buffers of ``envs`` read independently of the recorder, per step (see the module docstring)."""

    def __init__(self, base: Any, envs: list[int]):
        self.base, self.envs = base, envs
        self.robot = base.scene["robot"]
        self.pre: dict[str, np.ndarray] | None = None
        self.frames: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = []  # (step frame, after step)
        self.ended: list[tuple[int, int, str]] = []  # (step, env, reasons) of every episode end of every env
        original = base._reset_idx

        def hooked(env_ids: Any, *args: Any, **kwargs: Any) -> Any:
            self.pre = self.read()
            return original(env_ids, *args, **kwargs)

        base._reset_idx = hooked

    def read(self) -> dict[str, np.ndarray]:
        b, idx = self.base, self.envs
        rm = b.reward_manager
        return {
            "reward_terms": (rm._step_reward[idx] * b.step_dt).numpy().copy(),
            "command": b.command_manager.get_command("base_velocity")[idx].numpy().copy(),
            "joint_pos": self.robot.data.joint_pos.torch[idx].numpy().copy(),
            "joint_vel": self.robot.data.joint_vel.torch[idx].numpy().copy(),
            "joint_effort": self.robot.actuators.applied_effort.torch[idx].numpy().copy(),
        }

    def after_step(self, step: int) -> None:
        post = self.read()
        self.frames.append((self.pre if self.pre is not None else post, post))
        self.pre = None
        tm = self.base.termination_manager
        done = tm.dones.nonzero().flatten().tolist()
        for env in done:
            flags = tm._term_dones[env].tolist()
            self.ended.append((step, env, "+".join(n for n, f in zip(tm.active_terms, flags, strict=True) if f)))


def policy(s: int) -> torch.Tensor:
    """Cart efforts for the 4 envs: env 0 pushes on (its pole falls again and again), env 1 shakes the cart (time
    outs), env 2 pushes back, env 3 does nothing (time outs)."""
    return torch.tensor([[1.0], [1.0 if (s // 8) % 2 else -1.0], [-0.6], [0.0]])


def _first_step(s: int) -> bool:
    return s == 0


def _run(
    env: Any, tmp: Path, envs: Any, steps: int = STEPS, step_trigger: Any = _first_step, **options: Any
) -> tuple[Truth, dict[str, Any], Any]:
    from isaac_rerun import LogRerun

    base = env.unwrapped
    w = LogRerun(env, logged_envs=envs, save_dir=tmp, step_trigger=step_trigger, recording_length=10_000, **options)
    truth = Truth(base, w._rec.logged_envs)
    w.reset()
    truth.pre = None  # reset() ran _reset_idx: not a step's auto-reset
    for s in range(steps):
        w.step(policy(s))
        truth.after_step(s)
    w.session.close()
    files = sorted(tmp.glob("*-step-0.rrd"))
    assert len(files) == (step_trigger is not None), files
    return truth, read_rrd(files[0]) if files else {}, w


def _series(ent: Any, reset: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(env_step, values (n, k)) of an entity's rows in frame order."""
    order = ent.sorted_by("frame")
    steps = ent.timeline("env_step", order)
    values = np.array([ent.columns["Scalars:scalars"][i] for i in order], dtype=np.float64)
    return steps, values


def env_series(rec: dict[str, Any], layout: str, logged: list[int], j: int, path: str) -> tuple[np.ndarray, np.ndarray]:
    """(env_step, values) of signal ``path`` of logged env position ``j``: its own entity (per-env layout), or its
    columns of the one entity with a series per env and column (instanced)."""
    if layout == "per_env":
        return _series(rec[f"/scalars/env_{logged[j]}/{path}"])
    steps, values = _series(rec[f"/scalars/{path}"])
    width = values.shape[1] // len(logged)
    return steps, values[:, j * width : (j + 1) * width]


def _expected_state(truth: Truth, key: str, j: int, steps: np.ndarray) -> np.ndarray:
    """The state the frames at ``steps`` (frame order) must show for logged env position ``j``: the first frame of a
    step is its step frame, a second one at the same step its reset frame."""
    out, seen = [], set()
    for s in steps:
        step_frame, post = truth.frames[int(s)]
        out.append((post if s in seen else step_frame)[key][j])
        seen.add(int(s))
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("layout", ["per_env", "instanced"])
def test_manager_signals_equal_the_managers_buffers_at_every_frame(make_managed_env, tmp_path, layout):
    env = make_managed_env(num_envs=4)
    base = env.unwrapped
    envs = [0, 2] if layout == "per_env" else "all"
    truth, rec, _ = _run(env, tmp_path, envs, scene_log_cfg={"layout": layout})
    logged = truth.envs
    terms = ["alive", "terminating", "pole_pos", "cart_vel"]  # metric_only has weight 0: not recorded
    joints = list(base.scene["robot"].joint_names)
    assert not any(p.endswith("metric_only") for p in rec)

    def entity(j: int, path: str) -> tuple[np.ndarray, np.ndarray]:
        return env_series(rec, layout, logged, j, path)

    for j in range(len(logged)):
        # every reward term at every step frame (none on reset frames), and they add up to the reward
        total = np.zeros(STEPS)
        for t, term in enumerate(terms):
            steps, values = entity(j, f"reward/{term}")
            assert steps.tolist() == list(range(STEPS)), term
            want = np.array([truth.frames[s][0]["reward_terms"][j][t] for s in range(STEPS)])
            np.testing.assert_allclose(values[:, 0], want, rtol=1e-6, atol=1e-7)
            total += values[:, 0]
        steps, reward = entity(j, "reward")
        np.testing.assert_allclose(reward[:, 0], total, rtol=1e-5, atol=1e-6)
        # commands beside the measured base velocity, joints: every frame, reset frames included
        for key, path in (
            ("command", "command/base_velocity"),
            ("joint_pos", "joint_pos"),
            ("joint_vel", "joint_vel"),
            ("joint_effort", "joint_effort"),
        ):
            steps, values = entity(j, path)
            resets = len(steps) - STEPS
            assert resets == sum(1 for s, e, _ in truth.ended if e == logged[0]), path  # one reset frame per end
            np.testing.assert_allclose(values, _expected_state(truth, key, j, steps), rtol=1e-5, atol=1e-6)
    # the series are named: commands, joints by joint, actions by the action term's joint
    prefix = "/scalars/env_0" if layout == "per_env" else "/scalars"
    names = rec[f"{prefix}/joint_pos"].static["SeriesLines:names"]
    # the joints' position limits at hand: a table beside the plots and the snippet's properties, from Isaac Lab's data
    limits = base.scene["robot"].data.joint_pos_limits.torch[0].numpy()
    props = rec["/__properties/rl-rerun-step-0"].static
    np.testing.assert_allclose(np.reshape(props["joint_pos_limits"], (-1, 2)), limits, rtol=1e-6)
    table = rec["/scalars/limits/joint_pos"].static["TextDocument:text"][0]
    assert all(f"| {n} | {lo:.4g} | {hi:.4g} |" in table for n, (lo, hi) in zip(joints, limits, strict=True))
    if layout == "per_env":
        assert names == [f"env 0 {n}" for n in joints]
        assert rec[f"{prefix}/action"].static["SeriesLines:names"] == ["env 0 cart_slider"]
        assert rec[f"{prefix}/reward/alive"].static["SeriesLines:names"] == ["env 0 alive"]
        assert rec[f"{prefix}/command/base_velocity/measured"].static["SeriesLines:names"] == [
            "env 0 vx",
            "env 0 vy",
            "env 0 wz",
        ]
    else:
        assert names == [f"env {e} {n}" for e in logged for n in joints]
        assert rec[f"{prefix}/action"].static["SeriesLines:names"] == [f"env {e}" for e in logged]
        assert rec[f"{prefix}/reward/alive"].static["SeriesLines:names"] == [f"env {e}" for e in logged]


def test_termination_reasons_per_episode_in_properties_text_and_filters(make_managed_env, tmp_path):
    from isaac_rerun.filters import terminated

    env = make_managed_env(num_envs=4)
    truth, rec, w = _run(
        env,
        tmp_path,
        [0, 1],
        episode_filter=lambda ep: "pole_fell" in ep.reasons,
        history_envs="all",
        max_saved_per_window=1000,
    )
    assert {r for _, _, r in truth.ended} >= {"pole_fell"}, truth.ended  # the policy drops the pole
    props = rec["/__properties/rl-rerun-step-0"]
    envs, reasons = props.static["episode_envs"], props.static["episode_reasons"]
    lengths = props.static["episode_lengths"]
    # whole episodes of the logged envs inside the snippet (it starts with step 0's frame: the episodes that began at
    # reset() are not whole), each one's reason the termination manager's
    want = []
    start: dict[int, int | None] = {0: None, 1: None}
    for step, e, why in truth.ended:
        if e in (0, 1):
            if start[e] is not None:
                want.append((e, why, step - start[e] + 1))
            start[e] = step + 1
    got = sorted(zip(envs, reasons, lengths, strict=True))
    assert got == sorted(want), (got, sorted(want))
    # the text entry at each terminal frame
    texts = rec["/episodes"].columns["TextLog:text"]
    assert len(texts) == sum(1 for _, e, _ in truth.ended if e in (0, 1))
    assert all(t[0].startswith("env ") and " ended: " in t[0] for t in texts)
    assert any(t[0].startswith(f"env {want[0][0]} ended: {want[0][1]} after {want[0][2]} steps") for t in texts)
    # the episode filter sees the reasons: exactly the pole_fell episodes (of envs whose whole episode was seen)
    kept = sorted(tmp_path.glob("rl-rerun-env-*-kept-episode-*.rrd"))
    fell = [(e, step) for step, e, why in truth.ended if "pole_fell" in why.split("+")]
    assert len(kept) == len(fell) > 0
    assert terminated("pole_fell")(_episode(("pole_fell",))) and not terminated("pole_fell")(_episode(("time_out",)))
    for f in kept:
        p = read_rrd(f)[f"/__properties/{f.stem}"].static
        assert "pole_fell" in p["episode_reasons"][0].split("+")
    w.close()


def _episode(reasons: tuple[str, ...]) -> Any:
    from isaac_rerun.history import Episode

    return Episode(env=0, episode_id=0, episode_return=0.0, length=1, terminated=True, truncated=False, reasons=reasons)


def test_kept_episodes_carry_every_signal_equal_to_the_managers(make_managed_env, tmp_path):
    """The rolling history keeps what the signal channel gathers: a kept episode's reward terms and joints are the
    managers' at every step of the episode."""
    env = make_managed_env(num_envs=4)
    truth, _, w = _run(
        env, tmp_path, [0], step_trigger=None, episode_filter=lambda ep: ep.env == 0, max_saved_per_window=1000
    )
    kept = sorted(tmp_path.glob("rl-rerun-env-0-kept-episode-*.rrd"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    ends = [step for step, e, _ in truth.ended if e == 0]
    assert len(kept) == len(ends) > 1
    for k, f in enumerate(kept[:2]):
        rec = read_rrd(f)
        first = 0 if k == 0 else ends[k - 1] + 1
        episode = list(range(first, ends[k] + 1))
        for t, term in enumerate(["alive", "terminating", "pole_pos", "cart_vel"]):
            steps, values = _series(rec[f"/scalars/env_0/reward/{term}"])
            assert steps.tolist() == episode, term
            want = [truth.frames[s][0]["reward_terms"][0][t] for s in episode]
            np.testing.assert_allclose(values[:, 0], want, rtol=1e-6, atol=1e-7)
        steps, values = _series(rec["/scalars/env_0/joint_pos"])
        assert steps.tolist() == [max(first - 1, 0), *episode]  # its reset frame (kept at the reset), then each step
        want = [truth.frames[s][0]["joint_pos"][0] for s in episode]
        np.testing.assert_allclose(values[1:], want, rtol=1e-5, atol=1e-6)
        if k > 0:  # the reset frame: the state after the step that ended the episode before (its auto-reset)
            np.testing.assert_allclose(values[0], truth.frames[first - 1][1]["joint_pos"][0], rtol=1e-5, atol=1e-6)
        props = rec[f"/__properties/{f.stem}"].static
        assert props["episode_reasons"] == [next(r for s, e, r in truth.ended if e == 0 and s == ends[k])]
    w.close()


def test_user_signals_are_recorded_named_and_dropped_when_they_raise(make_managed_env, tmp_path):
    from isaac_rerun import RecordingCfg, Signal

    env = make_managed_env(num_envs=4)
    base = env.unwrapped
    calls = {"n": 0}

    def flaky(e: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("sensor unplugged")
        return e.scene["robot"].data.joint_pos.torch[:, 0]

    signals = {
        "cart/position_and_speed": Signal(
            lambda e: torch.stack(
                [e.scene["robot"].data.joint_pos.torch[:, 0], e.scene["robot"].data.joint_vel.torch[:, 0]], 1
            ),
            columns=["x", "v"],
        ),
        "flaky": flaky,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        truth, rec, w = _run(env, tmp_path, [1], steps=40, cfg=RecordingCfg(signals=signals))
    steps, values = _series(rec["/scalars/env_1/cart/position_and_speed"])
    assert rec["/scalars/env_1/cart/position_and_speed"].static["SeriesLines:names"] == ["env 1 x", "env 1 v"]
    want_x = _expected_state(truth, "joint_pos", 0, steps)[:, 0]
    want_v = _expected_state(truth, "joint_vel", 0, steps)[:, 0]
    np.testing.assert_allclose(values, np.stack([want_x, want_v], 1), rtol=1e-5, atol=1e-6)
    flaky_steps, _ = _series(rec["/scalars/env_1/flaky"])
    assert 0 < len(flaky_steps) < len(steps)  # recorded until it raised, then dropped
    msgs = [str(c.message) for c in caught if "flaky" in str(c.message)]
    assert len(msgs) == 1 and "dropped" in msgs[0] and "sensor unplugged" in msgs[0]
    assert base.reward_manager is not None  # training (stepping) went on to the end: 40 steps recorded
    assert steps.max() == 39
    w.close()


def test_bad_signals_fail_at_the_start_naming_them(make_managed_env, tmp_path):
    from isaac_rerun import LogRerun, RecordingCfg

    with pytest.raises(ValueError, match=r"builtin_signals.*unknown \['reward'\]"):
        RecordingCfg(builtin_signals=["reward"])
    with pytest.raises(ValueError, match="builtin_signals"):
        RecordingCfg(builtin_signals="rewards,joint")
    with pytest.raises(TypeError, match="signals\\['x'\\]"):
        RecordingCfg(signals={"x": 3})
    with pytest.raises(ValueError, match="not a valid signal name"):
        RecordingCfg(signals={"a b": lambda e: None})
    env = make_managed_env(num_envs=4)
    with pytest.raises(ValueError, match=r"signals\['wide'\].*num_envs=4.*\(3, 2\)"):
        LogRerun(env, save_dir=tmp_path, signals={"wide": lambda e: torch.zeros(3, 2)})
    with pytest.raises(ValueError, match=r"signals\['cols'\].*2 `columns`.*3 values"):
        LogRerun(env, save_dir=tmp_path, signals={"cols": _signal(lambda e: torch.zeros(4, 3), ["a", "b"])})
    assert list(tmp_path.iterdir()) == []  # nothing written


def _signal(read: Any, columns: list[str]) -> Any:
    from isaac_rerun import Signal

    return Signal(read, columns=columns)


def test_a_direct_env_records_its_total_reward_and_joints_without_manager_signals(testbed_env, tmp_path):
    truth_steps = 30
    from isaac_rerun import LogRerun

    w = LogRerun(testbed_env, save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=truth_steps)
    w.reset()
    for _ in range(truth_steps):
        w.step(torch.zeros((4, 1)))
    w.session.close()
    rec = read_rrd(next(tmp_path.glob("*-step-0.rrd")))
    scalars = sorted(p for p in rec if p.startswith("/scalars/env_0"))
    assert scalars == [f"/scalars/env_0/{n}" for n in ("action", "joint_effort", "joint_pos", "joint_vel", "reward")]
    assert "/episodes" not in rec  # no termination manager: no reasons


def test_termination_reasons_of_isaac_lab_2x_managers():
    """Stand-ins for Isaac Lab 2.x termination managers (which cannot run here): 2.2's dict of flags, and 2.3.0's
    sticky flags (a row keeps an old term's flag; only the rows of envs that ended in the step are read)."""
    from isaac_rerun.envview import EnvView

    class Manager:
        def __init__(self, flags: Any):
            self.active_terms = TERMS
            self._term_dones = flags

    class Env:
        def __init__(self, flags: Any):
            self.termination_manager = Manager(flags)

    table = torch.tensor([[False, True, False], [True, False, False], [False, True, True], [True, True, False]])
    as_dict = {n: table[:, i].clone() for i, n in enumerate(TERMS)}
    for flags in (table, as_dict):
        view = EnvView(Env(flags))
        assert view.termination_reasons([0, 2, 1]) == ["base_contact", "base_contact+bad_orientation", "time_out"]
        assert view.termination_reasons([]) == []
    assert EnvView(object()).termination_reasons([0, 1]) == ["", ""]


def test_signal_cost_is_nothing_when_not_recording(make_managed_env, tmp_path):
    """Nothing is read from the managers on steps that are not recorded (the signals are read only in gather)."""
    from isaac_rerun import LogRerun

    env = make_managed_env(num_envs=4)
    reads = {"n": 0}

    def counted(e: Any) -> Any:
        reads["n"] += 1
        return e.scene["robot"].data.joint_pos.torch[:, :1]

    w = LogRerun(env, save_dir=tmp_path, step_trigger=lambda s: 10 <= s < 12 and s == 10, recording_length=2,
                 signals={"counted": counted})  # fmt: skip
    start = reads["n"]  # read once at construction to learn its width
    assert start == 1
    w.reset()
    for _ in range(30):
        w.step(torch.zeros((4, 1)))
    # frames of the 2-frame snippet, plus the terminal frames gathered inside env.step() are the same reads
    assert reads["n"] - start <= 3
    w.close()
