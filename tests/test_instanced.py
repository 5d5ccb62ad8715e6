"""The instanced layout on the real Isaac Lab 3.0 test bed, read back from the ``.rrd`` and compared with the
simulator and the USD stage: each body's visuals logged once (baked into meshes in the body's frame), one
``InstancePoses3D`` row per mesh and frame whose instance ``i`` is ``logged_envs[i]``; the default layout's switch;
bad values."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")

from isaac_rerun import IsaacLabScene, LogRerun, every_n  # noqa: E402
from isaac_rerun.config import INSTANCED_ABOVE  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from schedule import expected_snippets  # noqa: E402
from test_log_rerun_isaaclab import record  # noqa: E402
from testbed_truth import BODIES  # noqa: E402


def instances(ent, order, name):
    """Per row (in ``order``): the (instances, k) array of an instance-pose component."""
    return [np.array(ent.column(name)[i], dtype=np.float64) for i in order]


def test_every_instance_is_its_envs_body_at_every_frame(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=5, episode_length_s=0.5)  # 30-step time-outs: resets inside the snippet
    logged = [4, 0, 2]  # instance i is logged_envs[i], in the order given
    trig = every_n(1000)
    _, truth = record(env, tmp_path, 70, logged, step_trigger=trig, recording_length=65, scene_log_cfg={"trails": True})
    (snip,) = expected_snippets([bool(h["done"][4]) for h in truth.history], None, trig, 65)
    assert any(kind == "reset" for kind, _ in snip.frames[1:]), "the snippet must hold terminal and reset frames"
    ents = read_rrd(tmp_path / f"{snip.name}.rrd")
    assert not any(p.startswith("/World/envs/env_") for p in ents), "no per-env entity in the instanced layout"
    for suffix, (group, name, body) in BODIES.items():
        ent = ents[f"/World/envs/instances/{suffix}"]
        assert "Mesh3D:vertex_positions" in ent.static, f"{suffix}: its visuals, once, static"
        order = ent.sorted_by("frame")
        assert list(ent.timeline("frame", order)) == list(range(len(snip.frames)))
        assert list(ent.timeline("env_step", order)) == [max(s, 0) for _, s in snip.frames]
        pos = instances(ent, order, "InstancePoses3D:translations")
        quat = instances(ent, order, "InstancePoses3D:quaternions")
        for f, event in enumerate(snip.frames):
            want = np.array([truth.pose(event, (group, name), e, body) for e in logged])
            np.testing.assert_allclose(pos[f], want[:, :3], atol=1e-4, err_msg=f"{suffix} frame {f} {event}")
            assert quat_close(quat[f], want[:, 3:]), f"{suffix} frame {f} {event}"
    # the envs are labelled above their robots, in instance order
    labels = ents["/World/envs/instances"]
    assert labels.static["Points3D:labels"] == ["env 4", "env 0", "env 2"]
    # one trail entity for all envs: a segment per env and frame
    trail = ents["/World/trails/envs/instances/Robot/base"]
    assert all(len(s) == len(logged) for s in trail.column("LineStrips3D:strips") if s is not None)


def test_scalars_are_one_entity_per_signal_with_a_series_per_env(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=0.5)
    logged = [0, 1, 2, 3]
    wrapped = LogRerun(env, logged_envs="all", save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=70)
    rewards, actions = [], []
    gen = torch.Generator().manual_seed(1)
    try:
        wrapped.reset(seed=1)
        for _ in range(70):  # 30-step episodes: the second ones end inside the snippet, seen whole
            action = 2 * torch.rand(4, 1, generator=gen) - 1
            _, rew, *_ = wrapped.step(action)
            rewards.append(rew.numpy().copy())
            actions.append(env.unwrapped.actions[:, 0].numpy().copy())
    finally:
        wrapped.recorder.close()
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    assert ents["/scalars/reward"].static["SeriesLines:names"] == [f"env {e}" for e in logged]
    for metric, want in (("reward", rewards), ("action", actions)):
        ent = ents[f"/scalars/{metric}"]
        order = ent.sorted_by("env_step")
        got = np.array([ent.column("Scalars:scalars")[i] for i in order], dtype=np.float64)
        step_rows = [i for i, s in enumerate(ent.timeline("env_step", order))]
        np.testing.assert_allclose(got, np.array(want)[: len(step_rows)], rtol=1e-5, atol=1e-6, err_msg=metric)
    ret = ents["/scalars/episode_return"]
    rows = [np.array(v, dtype=np.float64) for v in ret.column("Scalars:scalars") if v is not None]
    assert rows and all(len(r) == 4 and np.isfinite(r).any() for r in rows), "a row per frame where episodes end"


def test_visuals_are_the_stages_geometry_and_colours(testbed_env, tmp_path):
    """Each body's baked mesh spans what its USD gprims span in the body's frame, in the stage's colours."""
    from pxr import Usd, UsdGeom

    wrapped = LogRerun(
        testbed_env, logged_envs=[0, 1, 2], save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=1
    )
    try:
        wrapped.reset(seed=0)
        wrapped.step(torch.zeros(testbed_env.unwrapped.num_envs, 1))
    finally:
        wrapped.recorder.close()
    per_env = LogRerun(
        testbed_env, logged_envs=[0], save_dir=tmp_path / "per_env", step_trigger=lambda s: s == 0, recording_length=1
    )
    try:
        per_env.step(torch.zeros(testbed_env.unwrapped.num_envs, 1))
    finally:
        per_env.recorder.close()
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    twin = read_rrd(tmp_path / "per_env" / "rl-rerun-step-0.rrd")
    stage = testbed_env.unwrapped.scene.stage
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    for suffix in BODIES:
        mesh = ents[f"/World/envs/instances/{suffix}"].static
        vertices = np.array(mesh["Mesh3D:vertex_positions"], dtype=np.float64).reshape(-1, 3)
        body = stage.GetPrimAtPath(f"/World/envs/env_0/{suffix}")
        boxes = [  # each gprim below the body (not below a nested body), in the body's own frame
            cache.ComputeRelativeBound(prim, body).ComputeAlignedRange()
            for prim in Usd.PrimRange(body)
            if prim.IsA(UsdGeom.Gprim) and not _below_other_body(prim, body)
        ]
        lo = np.min([np.array(b.GetMin()) for b in boxes], axis=0)
        hi = np.max([np.array(b.GetMax()) for b in boxes], axis=0)
        span = np.maximum(hi - lo, 1e-3)
        np.testing.assert_allclose(vertices.min(axis=0), lo, atol=0.03 * span.max(), err_msg=suffix)
        np.testing.assert_allclose(vertices.max(axis=0), hi, atol=0.03 * span.max(), err_msg=suffix)
        # colours: the per-env layout's visuals of this body carry the same ones
        colours = set(np.array(mesh["Mesh3D:vertex_colors"], dtype=np.uint32).reshape(-1).tolist())  # 0xRRGGBBAA
        want = set()
        for path, ent in twin.items():
            if path.startswith(f"/World/envs/env_0/{suffix}/") and ent.static:
                for key in (
                    "Mesh3D:albedo_factor",
                    "Boxes3D:colors",
                    "Ellipsoids3D:colors",
                    "Capsules3D:colors",
                    "Cylinders3D:colors",
                ):
                    if key in ent.static:
                        want |= set(np.array(ent.static[key], dtype=np.uint32).reshape(-1).tolist())
        assert colours == want, suffix


def _below_other_body(prim, body) -> bool:
    from pxr import UsdPhysics

    parent = prim
    while parent != body:
        if parent.HasAPI(UsdPhysics.RigidBodyAPI):
            return True
        parent = parent.GetParent()
    return False


@pytest.mark.parametrize("count", [INSTANCED_ABOVE, INSTANCED_ABOVE + 1])
def test_the_default_layout_switches_above_two_logged_envs(testbed_env, count):
    scene = IsaacLabScene(testbed_env.unwrapped.scene, list(range(count)))
    assert scene.layout == ("per_env" if count <= INSTANCED_ABOVE else "instanced")
    forced = IsaacLabScene(testbed_env.unwrapped.scene, list(range(count)), cfg={"layout": "per_env"})
    assert forced.layout == "per_env", "both layouts stay selectable"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"logged_envs": "some"}, TypeError, r"`logged_envs` must be .*'all'"),
        ({"logged_envs": slice(2, 2)}, ValueError, r"`logged_envs` must be .*selects no env"),
        ({"logged_envs": "8:12"}, ValueError, r"`logged_envs` must be .*selects no env"),
        ({"logged_envs": [0, 9]}, ValueError, r"`logged_envs` must be .*out-of-range \[9\]"),
        ({"logged_envs": slice(0, 4, 0)}, ValueError, r"`logged_envs` must be .*step 0"),
    ],
)
def test_bad_logged_envs_name_the_argument_and_write_nothing(testbed_env, tmp_path, options, error, match):
    with pytest.raises(error, match=match):
        LogRerun(testbed_env, save_dir=tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_all_envs_do_not_fit_the_per_env_layout(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=65)
    with pytest.raises(ValueError, match=r"`logged_envs` selects 65 envs, more than `layout='per_env'` holds"):
        LogRerun(env, logged_envs="all", save_dir=tmp_path / "out", scene_log_cfg={"layout": "per_env"})
    assert not (tmp_path / "out").exists()
