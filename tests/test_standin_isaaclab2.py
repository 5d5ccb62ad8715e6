"""The recorder on Isaac Lab 2.x data (torch tensors, wxyz quaternions), through the stand-in of its scene API.

Isaac Lab 2.x cannot run here (Isaac Sim + GPU); ``standin_isaaclab2`` mirrors the data API of isaaclab 2.3.2.post1
(its docstring lists the source files).
Every recording is read back with the installed Rerun's own reader (``rrd_readback``) and compared with the stand-in
simulator's poses.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pxr")

import torch

from isaac_rerun import LogRerun, every_n
from rrd_readback import quat_close, read_rrd
from schedule import expected_snippets
from standin_isaaclab2 import StandinDirectRLEnv, StandinGymEnv

# entity suffix -> (asset, body index, parent suffix or None)
BODIES = {
    "Robot/base": ("robot", 0, None),
    "Robot/base/arm": ("robot", 1, "Robot/base"),
    "Robot/hand": ("robot", 2, None),
    "Ball": ("ball", 0, None),
    "BoxA": ("boxes", 0, None),
    "BoxB": ("boxes", 1, None),
}


def _compose(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """World pose of a child given the parent's world pose and the child's pose relative to it (xyzw)."""
    from scipy.spatial.transform import Rotation as R

    rp = R.from_quat(parent[..., 3:7])
    pos = parent[..., 0:3] + rp.apply(child[..., 0:3])
    quat = (rp * R.from_quat(child[..., 3:7])).as_quat()
    return np.concatenate([pos, quat], axis=-1)


def run(tmp_path, steps: int, logged_envs, **kwargs):
    base = StandinDirectRLEnv(num_envs=4)
    env = LogRerun(StandinGymEnv(base), logged_envs=logged_envs, save_dir=tmp_path, **kwargs)
    env.reset()
    initial = base.all_poses_xyzw()
    for _ in range(steps):
        env.step(torch.zeros(4, 1))  # Isaac Lab 2.x needs torch actions
    env.close()
    return base, initial


def expected_pose(base, initial, event, asset, env, body):
    kind, s = event
    if kind == "reset" and s < 0:
        return initial[asset][env, body]
    return base.history[s]["after" if kind == "reset" else "before"][asset][env, body]


def check_recordings(tmp_path, base, initial, snips, logged_envs):
    files = sorted(p.name for p in tmp_path.glob("*.rrd"))
    assert files == sorted(f"{s.name}.rrd" for s in snips)
    assert snips, "the schedule must produce snippets for this test to mean anything"
    for snip in snips:
        ents = read_rrd(tmp_path / f"{snip.name}.rrd")
        for env in logged_envs:
            world = {}
            for suffix, (asset, body, parent) in BODIES.items():
                ent = ents[f"/World/envs/env_{env}/{suffix}"]
                order = ent.sorted_by("frame")
                assert list(ent.timeline("frame", order)) == list(range(len(snip.frames)))
                pose = np.concatenate(
                    [ent.vectors("Transform3D:translation", order), ent.vectors("Transform3D:quaternion", order)],
                    axis=1,
                )
                world[suffix] = _compose(world[parent], pose) if parent else pose
                want = np.array([expected_pose(base, initial, ev, asset, env, body) for ev in snip.frames])
                np.testing.assert_allclose(world[suffix][:, :3], want[:, :3], atol=1e-5)
                assert quat_close(world[suffix][:, 3:], want[:, 3:])
                steps = [max(s, 0) for _, s in snip.frames]
                assert list(ent.timeline("env_step", order)) == steps
                # sim_time advances step_dt per env step; a reset frame shares its step's time
                t = ent.timeline("sim_time", order)
                n_steps = np.cumsum([1 if k == "step" else 0 for k, _ in snip.frames])
                np.testing.assert_allclose(t, n_steps * base.step_dt, atol=1e-9)


@pytest.mark.parametrize(
    ("trigger_kind", "length"),
    [("episode", 0), ("episode", 4), ("step", 0), ("step", 6)],
)
def test_schedule_and_poses(tmp_path, trigger_kind, length):
    steps = 60
    trig = every_n(2) if trigger_kind == "episode" else every_n(15, offset=3)
    kwargs = {f"{trigger_kind}_trigger": trig, "recording_length": length}
    base, initial = run(tmp_path, steps, [0, 2], **kwargs)
    tracked = [bool(h["done"][0]) for h in base.history]
    assert any(tracked), "the tracked env must finish episodes"
    snips = expected_snippets(
        tracked,
        trig if trigger_kind == "episode" else None,
        trig if trigger_kind == "step" else None,
        length,
    )
    check_recordings(tmp_path, base, initial, snips, [0, 2])


def test_terminal_frame_is_pre_reset(tmp_path):
    """The last frame of an episode snippet is the pose before the auto-reset, not the new initial pose."""
    base, _ = run(tmp_path, 12, [1], episode_trigger=lambda e: e == 0)
    ends = [s for s, h in enumerate(base.history) if h["done"][1]]
    ent = read_rrd(tmp_path / "rl-rerun-episode-0.rrd")["/World/envs/env_1/Ball"]
    order = ent.sorted_by("frame")
    last = ent.vectors("Transform3D:translation", order)[-1]
    before = base.history[ends[0]]["before"]["ball"][1, 0, :3]
    after = base.history[ends[0]]["after"]["ball"][1, 0, :3]
    assert not np.allclose(before, after)
    np.testing.assert_allclose(last, before, atol=1e-6)
    assert len(order) == ends[0] + 2  # the reset frame + every step up to and including the terminal one


def test_reward_action_and_episode_scalars(tmp_path):
    base, _ = run(tmp_path, 30, [0, 3], episode_trigger=every_n(1))
    ends0 = [s for s, h in enumerate(base.history) if h["done"][0]]
    ents = read_rrd(tmp_path / "rl-rerun-episode-1.rrd")
    start, end = ends0[0], ends0[1]  # episode 1 runs over steps start+1 … end
    rew = ents["/scalars/env_0/reward"]
    order = rew.sorted_by("env_step")
    steps = rew.timeline("env_step", order)
    assert list(steps) == list(range(start + 1, end + 1))
    values = np.array([rew.column("Scalars:scalars")[i][0] for i in order])
    t = np.arange(1, end - start + 1)
    np.testing.assert_allclose(values, 1.0 + 0.01 * t, atol=1e-6)  # env 0's reward: 1 + 0.1*0 + 0.01*t
    act = ents["/scalars/env_3/action"]
    assert all(len(v) == 1 for v in act.column("Scalars:scalars"))
    ret = ents["/scalars/env_0/episode_return"]
    assert ret.n == 1
    np.testing.assert_allclose(ret.column("Scalars:scalars")[0][0], values.sum(), rtol=1e-5)
    length = ents["/scalars/env_0/episode_length"]
    assert length.column("Scalars:scalars")[0][0] == end - start


def test_static_visuals_per_logged_env(tmp_path):
    run(tmp_path, 3, [0, 3], step_trigger=lambda s: s == 0, recording_length=2)
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    for env in (0, 3):  # env 3 has no prims of its own (replicated): visuals come from env_0's
        assert "Boxes3D:half_sizes" in ents[f"/World/envs/env_{env}/Robot/base/visual"].static
        assert "Capsules3D:lengths" in ents[f"/World/envs/env_{env}/Robot/base/arm/visual"].static
        assert "Ellipsoids3D:half_sizes" in ents[f"/World/envs/env_{env}/Ball/geometry/mesh"].static
    assert "/World/envs/env_1/Ball" not in ents
    assert any(k.startswith("Mesh3D:") for k in ents["/World/ground/plane"].static)


def test_a_raising_trigger_propagates_with_context_and_open_snippets_finish(tmp_path):
    def trigger(step_id: int) -> bool:
        if step_id == 7:
            raise KeyError("boom")
        return step_id == 2

    base = StandinDirectRLEnv(num_envs=4)
    env = LogRerun(StandinGymEnv(base), save_dir=tmp_path, step_trigger=trigger, recording_length=20)
    env.reset()
    with pytest.raises(KeyError) as info:
        for _ in range(10):
            env.step(torch.zeros(4, 1))  # Isaac Lab 2.x needs torch actions
    assert any("step_trigger(7)" in note for note in getattr(info.value, "__notes__", []))
    assert len(base.history) == 8 and env.recorder.snippet is not None, "step 7 raised with the snippet open"
    env.close()  # finishes the snippet that was open when the trigger raised: every frame up to step 6
    (snip,) = expected_snippets([bool(h["done"][0]) for h in base.history[:7]], None, lambda s: s == 2, 20)
    assert any(kind == "reset" for kind, _ in snip.frames)
    ents = read_rrd(tmp_path / "rl-rerun-step-2.rrd")
    for suffix, asset in (("Ball", "ball"), ("BoxA", "boxes")):
        ent = ents[f"/World/envs/env_0/{suffix}"]
        order = ent.sorted_by("frame")
        assert list(ent.timeline("frame", order)) == list(range(len(snip.frames)))
        assert list(ent.timeline("env_step", order)) == [s for _, s in snip.frames]
        got = ent.vectors("Transform3D:translation", order)
        for (kind, s), pos in zip(snip.frames, got, strict=True):
            want = base.history[s]["after" if kind == "reset" else "before"][asset][0, 0, :3]
            np.testing.assert_allclose(pos, want, atol=1e-5, err_msg=f"{suffix} {kind} {s}")
