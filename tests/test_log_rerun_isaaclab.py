"""``LogRerun`` on the real Isaac Lab 3.0 test bed (kit-less, Newton, CPU); every recording read back from the .rrd.

The simulator's poses are the ground truth: a spy on the env's ``_reset_idx`` (installed before ``LogRerun``) keeps
the poses just before each auto-reset, so terminal frames can be checked too.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")

from isaac_rerun import LogRerun, every_n  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from schedule import expected_snippets  # noqa: E402
from testbed_truth import BODIES, sim_poses  # noqa: E402

# what each USD gprim kind must become in Rerun
ARCHETYPE = {
    "Mesh": "Mesh3D",
    "Cube": "Boxes3D",
    "Sphere": "Ellipsoids3D",
    "Capsule": "Capsules3D",
    "Cylinder": "Cylinders3D",
    "Cone": "Mesh3D",
    "Plane": "Mesh3D",
}


class Truth:
    """Per step: the poses before the auto-reset (terminal) and after ``step()`` returned."""

    def __init__(self, env):
        self.base = env.unwrapped
        self.pending = None
        self.history: list[dict] = []
        self.initial = None
        original = self.base._reset_idx

        def spy(*args, **kwargs):
            self.pending = sim_poses(self.base.scene)
            return original(*args, **kwargs)

        self.base._reset_idx = spy
        self._original = original

    def remove(self):
        self.base.__dict__.pop("_reset_idx", None)

    def after_reset(self):
        self.pending = None
        self.initial = sim_poses(self.base.scene)

    def after_step(self, terminated, truncated):
        after = sim_poses(self.base.scene)
        before = self.pending if self.pending is not None else after
        self.pending = None
        done = (terminated | truncated).cpu().numpy().copy()
        self.history.append({"before": before, "after": after, "done": done})

    def pose(self, event, key, env, body):
        kind, s = event
        if kind == "reset" and s < 0:
            return self.initial[key][env, body]
        return self.history[s]["after" if kind == "reset" else "before"][key][env, body]


def record(env, tmp_path, steps, logged_envs, seed=0, **kwargs):
    truth = Truth(env)
    wrapped = LogRerun(env, logged_envs=logged_envs, save_dir=tmp_path, **kwargs)
    try:
        wrapped.reset(seed=seed)
        truth.after_reset()
        gen = torch.Generator().manual_seed(seed)
        n = env.unwrapped.num_envs
        for _ in range(steps):
            action = 2 * torch.rand(n, 1, generator=gen) - 1
            _, _, terminated, truncated, _ = wrapped.step(action)
            truth.after_step(terminated, truncated)
    finally:
        wrapped.recorder.close()  # finish recording, keep the shared env open
        truth.remove()
    return wrapped, truth


def check_snippets(tmp_path, truth, snips, logged_envs, step_dt):
    assert snips, "the schedule must produce snippets for this test to mean anything"
    assert sorted(p.name for p in tmp_path.glob("*.rrd")) == sorted(f"{s.name}.rrd" for s in snips)
    for snip in snips:
        ents = read_rrd(tmp_path / f"{snip.name}.rrd")
        for env in logged_envs:
            for suffix, (group, name, body) in BODIES.items():
                ent = ents[f"/World/envs/env_{env}/{suffix}"]
                order = ent.sorted_by("frame")
                assert list(ent.timeline("frame", order)) == list(range(len(snip.frames))), (snip.name, suffix)
                pos = ent.vectors("Transform3D:translation", order)
                quat = ent.vectors("Transform3D:quaternion", order)
                want = np.array([truth.pose(ev, (group, name), env, body) for ev in snip.frames])
                np.testing.assert_allclose(pos, want[:, :3], atol=1e-5, err_msg=f"{snip.name} env {env} {suffix}")
                assert quat_close(quat, want[:, 3:]), f"{snip.name} env {env} {suffix}"
                assert list(ent.timeline("env_step", order)) == [max(s, 0) for _, s in snip.frames]
                n_steps = np.cumsum([kind == "step" for kind, _ in snip.frames])
                np.testing.assert_allclose(ent.timeline("sim_time", order), n_steps * step_dt, atol=1e-6)


@pytest.mark.parametrize(
    ("trigger_kind", "length"),
    [("episode", 0), ("episode", 25), ("step", 0), ("step", 40)],
)
def test_snippets_match_schedule_and_simulator(make_testbed_env, tmp_path, trigger_kind, length):
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)  # 60-step time-outs: several episodes in 240 steps
    trig = every_n(2) if trigger_kind == "episode" else every_n(70, offset=5)
    kwargs = {f"{trigger_kind}_trigger": trig, "recording_length": length}
    wrapped, truth = record(env, tmp_path, 240, [0, 2], **kwargs)
    tracked = [bool(h["done"][0]) for h in truth.history]
    assert sum(tracked) >= 2, "the tracked env must finish several episodes in 240 steps"
    snips = expected_snippets(
        tracked, trig if trigger_kind == "episode" else None, trig if trigger_kind == "step" else None, length
    )
    check_snippets(tmp_path, truth, snips, [0, 2], env.unwrapped.step_dt)
    assert wrapped.episode_id == sum(tracked)
    assert wrapped.step_id == 239


def test_terminal_frame_shows_the_pose_before_the_reset(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)
    _, truth = record(env, tmp_path, 150, [1], episode_trigger=lambda e: e == 1)
    ends = [s for s, h in enumerate(truth.history) if h["done"][1]]
    assert len(ends) >= 2
    ents = read_rrd(tmp_path / "rl-rerun-episode-1.rrd")
    ent = ents["/World/envs/env_1/Robot/pole"]
    order = ent.sorted_by("frame")
    quat = ent.vectors("Transform3D:quaternion", order)
    key = ("articulations", "robot")
    terminal = truth.history[ends[1]]["before"][key][1, 2]
    reset = truth.history[ends[1]]["after"][key][1, 2]
    assert not quat_close(terminal[3:], reset[3:]), "the reset must move the pole for this test to mean anything"
    assert quat_close(quat[-1], terminal[3:])
    assert len(order) == ends[1] - ends[0] + 1  # first frame after the reset, then every step to the terminal one
    assert quat_close(quat[0], truth.history[ends[0]]["after"][key][1, 2][3:])


def test_entity_tree_and_static_visuals(testbed_env, tmp_path):
    from pxr import Usd, UsdGeom, UsdPhysics

    record(testbed_env, tmp_path, 3, [0, 3], step_trigger=lambda s: s == 0, recording_length=2)
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    body_entities = {p for p, e in ents.items() if "Transform3D:translation" in e.columns}
    assert body_entities == {f"/World/envs/env_{e}/{s}" for e in (0, 3) for s in BODIES}
    stage = testbed_env.unwrapped.scene.stage
    kinds_seen = set()
    for suffix in BODIES:
        root = stage.GetPrimAtPath(f"/World/envs/env_0/{suffix}")
        for prim in Usd.PrimRange(root):
            if prim != root and prim.HasAPI(UsdPhysics.RigidBodyAPI):
                continue  # another body's visuals are logged under that body
            if not prim.IsA(UsdGeom.Gprim) or UsdGeom.Imageable(prim).ComputePurpose() == UsdGeom.Tokens.guide:
                continue
            if UsdGeom.Imageable(prim).ComputeVisibility() == UsdGeom.Tokens.invisible:
                continue
            kind = prim.GetTypeName()
            rel = str(prim.GetPath())[len("/World/envs/env_0/") :]
            for env in (0, 3):  # env 3 has no prims of its own under replicated physics: env_0's are used
                static = ents[f"/World/envs/env_{env}/{rel}"].static
                assert any(k.startswith(ARCHETYPE[kind] + ":") for k in static), (rel, kind, sorted(static))
            kinds_seen.add(kind)
    assert kinds_seen >= set(ARCHETYPE), f"the test bed must hold every gprim kind, has {kinds_seen}"
    assert not any(p.startswith("/World/envs/env_1/") for p in ents)
    # the ground, outside the envs, is a static visual too
    assert any(p.startswith("/World/ground") and e.static for p, e in ents.items())


def test_bad_input_raises_and_writes_nothing(testbed_env, tmp_path):
    out = tmp_path / "out"
    n = testbed_env.unwrapped.num_envs
    cases = [
        (dict(logged_envs=n), ValueError, "logged_envs"),
        (dict(logged_envs=[]), ValueError, "logged_envs"),
        (dict(logged_envs=[0, 0]), ValueError, "logged_envs"),
        (dict(logged_envs="0"), TypeError, "logged_envs"),
        (dict(recording_length=-1), ValueError, "recording_length"),
        (dict(episode_trigger=5), TypeError, "episode_trigger"),
        (dict(step_trigger="often"), TypeError, "step_trigger"),
        (dict(name_prefix="a/b"), ValueError, "name_prefix"),
    ]
    for kwargs, exc, name in cases:
        with pytest.raises(exc, match=name):
            LogRerun(testbed_env, save_dir=out, **kwargs)
    assert not out.exists()
    assert "_reset_idx" not in testbed_env.unwrapped.__dict__


def test_log_scalars_false_logs_episode_lengths_but_no_made_up_returns(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=2, episode_length_s=0.5)  # 30-step time-outs
    _, truth = record(env, tmp_path, 70, [0], step_trigger=lambda s: s == 0, recording_length=65, log_scalars=False)
    (snip,) = expected_snippets([bool(h["done"][0]) for h in truth.history], None, lambda s: s == 0, 65)
    ends = [s for kind, s in snip.frames if kind == "reset"]  # the tracked env's episode ends inside the snippet
    assert len(ends) >= 2
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    # the episodes seen whole (begun at a reset frame inside the snippet): their length at their terminal frame
    length = ents["/scalars/env_0/episode_length"]
    order = length.sorted_by("frame")
    assert list(length.timeline("env_step", order)) == ends[1:]
    assert [v[0] for v in length.timeline("Scalars:scalars", order)] == [b - a for a, b in itertools.pairwise(ends)]
    returns = ents.get("/scalars/env_0/episode_return")
    assert returns is None or returns.n == 0  # no rewards were given: no made-up return of 0.0 (only its style)
    assert "/scalars/env_0/reward" not in ents
