"""Scene fidelity on the real Isaac Lab 3.0 test bed: env layouts, trails, view framing, global prims.

Every recording is read back from its ``.rrd`` and compared with the simulator (``testbed_truth``).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")

from isaac_rerun import IsaacLabScene, LogRerun, SceneLogCfg, every_n  # noqa: E402
from rrd_readback import read_rrd  # noqa: E402
from schedule import expected_snippets  # noqa: E402
from test_log_rerun_isaaclab import record  # noqa: E402
from testbed_truth import BODIES  # noqa: E402

GROUND = "/World/ground/geometry/mesh"


def _origins(env) -> np.ndarray:
    return env.unwrapped.scene.env_origins.detach().cpu().numpy().copy()


@pytest.mark.parametrize("layout", ["world", "origin"])
def test_env_layout_puts_bodies_where_the_docs_say(make_testbed_env, tmp_path, layout):
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)
    logged = [1, 2]
    _, truth = record(
        env,
        tmp_path,
        30,
        logged,
        step_trigger=lambda s: s == 0,
        recording_length=20,
        scene_log_cfg={"env_layout": layout},
    )
    origins = _origins(env)
    assert np.abs(origins[1] - origins[2]).max() > 1.0, "env origins must differ for this test to mean anything"
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    for env_id in logged:
        shift = origins[env_id] if layout == "origin" else np.zeros(3)
        for suffix, (group, name, body) in BODIES.items():
            ent = ents[f"/World/envs/env_{env_id}/{suffix}"]
            order = ent.sorted_by("frame")
            pos = ent.vectors("Transform3D:translation", order)
            want = np.array([truth.history[s]["before"][(group, name)][env_id, body, :3] for s in range(20)])
            np.testing.assert_allclose(pos, want - shift, atol=1e-5, err_msg=f"{layout} env {env_id} {suffix}")
    # global prims: at their world place, or shifted by the tracked env's (env 1's) origin
    ground = ents[GROUND].static["Transform3D:translation"]
    stage = env.unwrapped.scene.stage
    from pxr import UsdGeom

    world = np.array(UsdGeom.XformCache().GetLocalToWorldTransform(stage.GetPrimAtPath(GROUND)).ExtractTranslation())
    expected = world - (origins[1] if layout == "origin" else 0.0)
    np.testing.assert_allclose(np.asarray(ground, dtype=np.float64).reshape(3), expected, atol=1e-5)


def test_global_prims_can_be_left_out(testbed_env, tmp_path):
    _, _ = record(
        testbed_env, tmp_path, 3, [0], step_trigger=lambda s: s == 0, scene_log_cfg=SceneLogCfg(global_prims=False)
    )
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    assert "/World/envs/env_0/Robot/cart" in ents
    assert not [p for p in ents if p.startswith("/World/ground")]


def test_trails_follow_the_bodies_and_break_at_resets(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=0.5)  # 30-step time-outs: resets inside the snippet
    logged = [0, 3]
    trig = every_n(1000)  # step 0 only
    wrapped, truth = record(
        env, tmp_path, 100, logged, step_trigger=trig, recording_length=90, scene_log_cfg={"trails": ["cart", "Sphere"]}
    )
    tracked = [bool(h["done"][0]) for h in truth.history]
    (snip,) = expected_snippets(tracked, None, trig, 90)
    ents = read_rrd(tmp_path / f"{snip.name}.rrd")
    resets = 0
    for j, env_id in enumerate(logged):
        for suffix, (group, name, body) in {"Robot/cart": BODIES["Robot/cart"], "Sphere": BODIES["Sphere"]}.items():
            trail = ents[f"/World/trails/envs/env_{env_id}/{suffix}"]
            assert trail.static["LineStrips3D:radii"], "a trail has its style logged once, static"
            want = np.array([truth.pose(ev, (group, name), env_id, body)[:3] for ev in snip.frames])
            # a segment joins frame i-1 and frame i, except on the first frame and after this env's reset
            expected_rows = [
                i
                for i in range(1, len(snip.frames))
                if not (snip.frames[i - 1][0] == "step" and truth.history[snip.frames[i - 1][1]]["done"][env_id])
            ]
            resets += len(snip.frames) - 1 - len(expected_rows)
            order = trail.sorted_by("frame")
            frames = list(trail.timeline("frame", order))
            assert frames == expected_rows, f"env {env_id} {suffix}"
            strips = [trail.column("LineStrips3D:strips")[i] for i in order]
            got = np.array([s[0] for s in strips], dtype=np.float64)  # one 2-point strip per row
            np.testing.assert_allclose(got[:, 0], want[np.array(expected_rows) - 1], atol=1e-5)
            np.testing.assert_allclose(got[:, 1], want[np.array(expected_rows)], atol=1e-5)
    assert resets >= 4, "each logged env must reset inside the snippet for this test to mean anything"


def test_trails_true_means_articulation_roots(testbed_env):
    scene = IsaacLabScene(testbed_env.unwrapped.scene, [0, 2], cfg={"trails": True})
    assert scene.trail_entities == ["/World/trails/envs/env_0/Robot/base", "/World/trails/envs/env_2/Robot/base"]
    assert IsaacLabScene(testbed_env.unwrapped.scene, 0).trail_entities == []


def test_view_eye_frames_every_logged_body(testbed_env):
    testbed_env.reset(seed=0)
    scene = IsaacLabScene(testbed_env.unwrapped.scene, [0, 3])
    poses = scene.gather()
    eye, target = scene.view_eye(poses)
    pts = poses[:, :3]
    view = (target - eye) / np.linalg.norm(target - eye)
    to_pts = (pts - eye) / np.linalg.norm(pts - eye, axis=1, keepdims=True)
    angles = np.degrees(np.arccos(np.clip(to_pts @ view, -1, 1)))
    assert angles.max() < 30, f"every body within a 60° cone around the view direction, got {angles.max():.1f}°"
    assert eye[2] > target[2], "the eye looks down on the scene"


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"env_layout": "side"}, r"`env_layout` must be one of \('world', 'origin'\)"),
        ({"trails": "cart"}, "`trails` must be a bool or a non-empty list"),
        ({"trails": ["("]}, "`trails`: '\\(' is not a valid regular expression"),
        ({"trail": True}, r"unknown keys \['trail'\]; valid keys are"),
        ({"global_prims": 1}, "`global_prims` must be a bool"),
        (3, "`scene_log_cfg` must be a SceneLogCfg"),
    ],
)
def test_bad_scene_log_cfg_raises_before_anything_is_written(testbed_env, tmp_path, cfg, match):
    with pytest.raises((TypeError, ValueError), match=match):
        LogRerun(testbed_env, save_dir=tmp_path / "out", scene_log_cfg=cfg)
    assert not (tmp_path / "out").exists()



def test_trail_patterns_that_match_nothing_warn(testbed_env):
    with pytest.warns(RuntimeWarning, match=r"`trails` patterns \['wheel.*'\] match no body"):
        scene = IsaacLabScene(testbed_env.unwrapped.scene, 0, cfg={"trails": ["cart", "wheel.*"]})
    assert scene.trail_entities == ["/World/trails/envs/env_0/Robot/cart"]
