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
from isaac_rerun.channels.trails import trail_entities  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
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


def test_source_env_visuals_are_not_logged_again_as_global_prims(testbed_env, tmp_path):
    # Isaac Lab 3.x's env_regex_ns is "/World/envs/env_[^/]+": the envs root is still "/World/envs", or env 0's prims
    # (the only env prims in the stage under replicated physics) are logged again as global prims, in world
    # coordinates, over their body-relative visuals (env 0 then draws far off its bodies)
    record(testbed_env, tmp_path, 2, [0, 1], step_trigger=lambda s: s == 0)
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    visuals = [
        p for p, e in ents.items() if p.startswith("/World/envs/env_0/") and "Transform3D:translation" in e.static
    ]
    assert visuals
    for path in visuals:
        twin = ents[path.replace("/env_0/", "/env_1/", 1)].static  # env 1's visuals are read from env 0's prims
        for key in ("Transform3D:translation", "Transform3D:quaternion"):
            if key in twin:
                np.testing.assert_allclose(ents[path].static[key], twin[key], atol=1e-6, err_msg=f"{path} {key}")


def test_trails_follow_the_bodies_and_break_at_resets(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=0.5)  # 30-step time-outs: resets inside the snippet
    logged = [0, 3]
    trig = every_n(1000)  # step 0 only
    _, truth = record(
        env, tmp_path, 100, logged, step_trigger=trig, recording_length=90, scene_log_cfg={"trails": ["cart", "Sphere"]}
    )
    tracked = [bool(h["done"][0]) for h in truth.history]
    (snip,) = expected_snippets(tracked, None, trig, 90)
    ents = read_rrd(tmp_path / f"{snip.name}.rrd")
    resets = 0
    for env_id in logged:
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
    assert trail_entities(scene.context()) == [
        "/World/trails/envs/env_0/Robot/base",
        "/World/trails/envs/env_2/Robot/base",
    ]
    assert trail_entities(IsaacLabScene(testbed_env.unwrapped.scene, 0).context()) == []


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
    scene = IsaacLabScene(testbed_env.unwrapped.scene, 0, cfg={"trails": ["cart", "wheel.*"]})
    with pytest.warns(RuntimeWarning, match=r"`trails` patterns \['wheel.*'\] match no body"):
        entities = trail_entities(scene.context())
    assert entities == ["/World/trails/envs/env_0/Robot/cart"]


# ----------------------------------------------------------------------------------------------- sensors and markers
def _run(env, tmp_path, steps, logged, capture=None, **cfg):
    """Record steps 0..steps-1 of a fresh episode (one snippet) and keep the simulator's truth after every step
    (``capture(scene)``: more of it, a dict merged into each step's)."""
    base = env.unwrapped
    wrapped = LogRerun(
        env, logged_envs=logged, save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=steps, **cfg
    )
    truth = []
    try:
        wrapped.reset(seed=0)
        for k in range(steps):
            action = 0.6 * torch.sin(torch.arange(base.num_envs, dtype=torch.float32) + 0.3 * k).unsqueeze(1)
            _, _, terminated, truncated, _ = wrapped.step(action)
            scene = base.scene
            truth.append(
                {
                    "done": (terminated | truncated).numpy().copy(),
                    "action": base.actions[:, 0].numpy().copy(),
                    "cart": scene["robot"].data.body_link_pose_w.torch[:, 1, :3].numpy().copy(),
                    "cuboid": scene["cuboid"].data.body_link_pose_w.torch[:, 0, :3].numpy().copy(),
                    "contact": scene["cuboid_contact"].data.net_forces_w.torch.numpy().copy(),
                    "hits": scene["height_scanner"].data.ray_hits_w.torch.numpy().copy(),
                    **(capture(scene) if capture is not None else {}),
                }
            )
    finally:
        wrapped.recorder.close()
    assert not any(t["done"][logged].any() for t in truth), "no env may reset inside the snippet for this test"
    return read_rrd(tmp_path / "rl-rerun-step-0.rrd"), truth


def _rows_of(ent, column):
    order = ent.sorted_by("frame")
    return list(ent.timeline("frame", order)), [ent.column(column)[i] for i in order]


def test_markers_contact_forces_and_ray_hits_match_the_simulator(make_testbed_env, tmp_path):
    from isaac_rerun.testbed.env import GOAL_OFFSET

    env = make_testbed_env(num_envs=3, episode_length_s=10.0)
    assert env.unwrapped.set_debug_vis(True)
    logged, steps = [0, 2], 40
    ents, truth = _run(env, tmp_path, steps, logged)
    origins = _origins(env)

    # the goal marker: one sphere per logged env, where the env's reset put it
    frames, centers = _rows_of(ents["/World/markers/CartGoal/goal"], "Ellipsoids3D:centers")
    assert frames == list(range(steps))
    want = origins[logged] + np.array(GOAL_OFFSET)
    for c in centers:
        np.testing.assert_allclose(np.array(c), want, atol=1e-5)
    assert ents["/World/markers/CartGoal/goal"].static["Ellipsoids3D:colors"]

    # the effort arrows (debug vis): over each cart, 0.5 m per unit of the step's action, along x
    arrows = ents["/World/markers/CartEffort/arrow"]
    frames, vectors = _rows_of(arrows, "Arrows3D:vectors")
    _, starts = _rows_of(arrows, "Arrows3D:origins")
    assert frames == list(range(steps))
    for k in range(steps):
        np.testing.assert_allclose(np.array(vectors[k])[:, 0], 0.5 * truth[k]["action"][logged], atol=1e-5)
        np.testing.assert_allclose(np.array(vectors[k])[:, 1:], 0.0, atol=1e-5)
        np.testing.assert_allclose(np.array(starts[k]), truth[k]["cart"][logged] + [0, 0, 0.25], atol=1e-5)
    assert np.abs([np.array(v)[:, 0] for v in vectors]).max() > 0.1, "the actions must move the arrows"

    # contact forces of the resting cuboid: arrows at the cuboid, force x 0.01 m/N
    resting = 0
    for env_id in logged:
        ent = ents[f"/World/sensors/cuboid_contact/env_{env_id}"]
        frames, vecs = _rows_of(ent, "Arrows3D:vectors")
        _, starts = _rows_of(ent, "Arrows3D:origins")
        assert frames == list(range(steps))
        for k in range(steps):
            force = truth[k]["contact"][env_id, 0]
            if np.linalg.norm(force) < 1e-3:
                assert vecs[k] in (None, []), "no arrow without a force"
                continue
            np.testing.assert_allclose(np.array(vecs[k])[0], force * 0.01, atol=1e-5)
            np.testing.assert_allclose(np.array(starts[k])[0], truth[k]["cuboid"][env_id], atol=1e-5)
            resting += abs(force[2] - 0.5 * 9.81) < 0.05
    assert resting >= steps // 2, "the 0.5 kg cuboid rests on the ground: its weight is the force for most frames"

    # ray-caster hits: the sensor's hit points (all rays hit the ground or the cart)
    for env_id in logged:
        frames, points = _rows_of(ents[f"/World/sensors/height_scanner/env_{env_id}"], "Points3D:positions")
        assert frames == list(range(steps))
        for k in range(steps):
            hits = truth[k]["hits"][env_id]
            np.testing.assert_allclose(np.array(points[k]), hits[np.isfinite(hits).all(axis=1)], atol=1e-5)
            assert len(points[k]) == 6


def test_markers_sensors_follow_the_origin_layout_and_can_be_turned_off(make_testbed_env, tmp_path):
    from isaac_rerun.testbed.env import GOAL_OFFSET

    env = make_testbed_env(num_envs=3, episode_length_s=10.0)
    ents, truth = _run(env, tmp_path / "origin", 30, [1], scene_log_cfg={"env_layout": "origin"})
    origin = _origins(env)[1]
    _, centers = _rows_of(ents["/World/markers/CartGoal/goal"], "Ellipsoids3D:centers")
    np.testing.assert_allclose(np.array(centers[-1])[0], GOAL_OFFSET, atol=1e-5)
    _, points = _rows_of(ents["/World/sensors/height_scanner/env_1"], "Points3D:positions")
    np.testing.assert_allclose(np.array(points[-1]), truth[-1]["hits"][1] - origin, atol=1e-5)
    _, starts = _rows_of(ents["/World/sensors/cuboid_contact/env_1"], "Arrows3D:origins")
    assert starts[-1], "the cuboid has landed: it has a contact force"
    np.testing.assert_allclose(np.array(starts[-1])[0], truth[-1]["cuboid"][1] - origin, atol=1e-5)

    off = {"markers": False, "contact_forces": False, "ray_hits": False}
    ents, _ = _run(env, tmp_path / "off", 5, [1], scene_log_cfg=off)
    assert not [p for p in ents if p.startswith(("/World/markers", "/World/sensors"))]
    assert "/World/envs/env_1/Robot/cart" in ents


def test_generated_terrain_is_logged_once_with_its_colours(make_testbed_env, tmp_path):
    from pxr import UsdGeom

    from isaac_rerun.testbed.env import TESTBED_TERRAIN_CFG

    env = make_testbed_env(num_envs=2, scene__ground=None, scene__terrain=TESTBED_TERRAIN_CFG)
    mesh = UsdGeom.Mesh(env.unwrapped.scene.stage.GetPrimAtPath("/World/ground/terrain/mesh"))
    n_points = len(mesh.GetPointsAttr().Get())
    assert n_points > 1000
    ents, _ = _run(env, tmp_path, 3, [0, 1])
    terrain = ents["/World/ground/terrain/mesh"]
    assert not terrain.columns, "the terrain is static: logged once, not per frame"
    assert len(terrain.static["Mesh3D:vertex_positions"]) == n_points
    colors = terrain.static["Mesh3D:vertex_colors"]
    display = UsdGeom.PrimvarsAPI(mesh.GetPrim()).GetPrimvar("displayColor").Get()
    assert len(colors) == n_points
    assert len(set(colors)) == len({tuple(c) for c in display}) > 1, "one recorded colour per displayColor value"


def test_camera_images_on_the_frame_timeline(make_testbed_env, tmp_path):
    """Each frame's raw images are the camera sensor's own pixels and depths at that step (captured in this test
    after every step), and its pose the sensor's."""
    from isaac_rerun.testbed.env import TESTBED_CAMERA_CFG

    def capture(scene):
        data = scene["camera"].data
        return {
            "rgb": data.output["rgb"].torch.cpu().numpy()[..., :3].copy(),
            "depth": data.output["distance_to_image_plane"].torch.cpu().numpy()[..., 0].copy(),
            "cam_pos": data.pos_w.torch.cpu().numpy().copy(),
            "cam_quat": data.quat_w_ros.torch.cpu().numpy().copy(),
        }

    env = make_testbed_env(num_envs=2, episode_length_s=10.0, scene__camera=TESTBED_CAMERA_CFG)
    steps = 4
    ents, truth = _run(env, tmp_path, steps, [1], capture, scene_log_cfg={"cameras": ["camera"], "camera_codec": "raw"})
    assert truth[0]["rgb"].shape == (2, 60, 80, 3) and truth[0]["rgb"].dtype == np.uint8
    assert not all(np.array_equal(truth[0]["rgb"][1], t["rgb"][1]) for t in truth[1:]), "the view changes"
    root = "/World/sensors/camera/env_1"
    assert np.ravel(ents[root].static["Pinhole:resolution"]).tolist() == [80.0, 60.0]
    fmt = ents[f"{root}/rgb"].static["Image:format"]
    fmt = fmt[0] if isinstance(fmt, list) else fmt
    assert (fmt["width"], fmt["height"]) == (80, 60)
    frames, images = _rows_of(ents[f"{root}/rgb"], "Image:buffer")
    assert frames == list(range(steps))
    for f, img in enumerate(images):
        rgb = np.array(img[0], dtype=np.uint8).reshape(60, 80, 3)
        np.testing.assert_array_equal(rgb, truth[f]["rgb"][1], err_msg=f"rgb at frame {f}")
    frames, depths = _rows_of(ents[f"{root}/depth"], "DepthImage:buffer")
    assert frames == list(range(steps))
    for f, d in enumerate(depths):
        got = np.frombuffer(bytes(d[0]), dtype=np.float32).reshape(60, 80)
        np.testing.assert_array_equal(got, truth[f]["depth"][1], err_msg=f"depth at frame {f}")
    ent = ents[root]
    order = ent.sorted_by("frame")
    assert list(ent.timeline("frame", order)) == list(range(steps))
    pos = ent.vectors("Transform3D:translation", order)
    quat = ent.vectors("Transform3D:quaternion", order)
    for f in range(steps):  # the default env_layout="world": world poses
        np.testing.assert_allclose(pos[f], truth[f]["cam_pos"][1], atol=1e-5, err_msg=f"camera position {f}")
        assert quat_close(quat[f], truth[f]["cam_quat"][1]), f


def test_unknown_camera_name_is_a_clear_error(testbed_env, tmp_path):
    with pytest.raises(ValueError, match=r"`cameras` names \['front'\], which are not camera sensors"):
        LogRerun(testbed_env, save_dir=tmp_path / "out", scene_log_cfg={"cameras": ["front"]})
    assert not (tmp_path / "out").exists()
