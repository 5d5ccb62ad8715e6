"""The instanced layout on the real Isaac Lab 3.0 test bed, read back from the ``.rrd`` and compared with the
simulator and the USD stage: each body's visuals logged once (baked into meshes in the body's frame), one
``InstancePoses3D`` row per mesh and frame whose instance ``i`` is ``logged_envs[i]``; the default layout's switch;
bad values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")

from isaac_rerun import IsaacLabScene, LogRerun, every_n  # noqa: E402
from isaac_rerun.channels.bodies import LABEL_HEIGHT  # noqa: E402
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
    # the envs are labelled above their robots, in instance order, at every frame (terminal frames included)
    labels = ents["/World/envs/instances"]
    assert labels.static["Points3D:labels"] == ["env 4", "env 0", "env 2"]
    order = labels.sorted_by("frame")
    assert list(labels.timeline("frame", order)) == list(range(len(snip.frames)))
    for f, (i, event) in enumerate(zip(order, snip.frames, strict=True)):
        got = np.array(labels.column("Points3D:positions")[i], dtype=np.float64)
        root = np.array([truth.pose(event, ("articulations", "robot"), e, 0)[:3] for e in logged])  # Robot/base
        above = root + np.array([0.0, 0.0, LABEL_HEIGHT])
        np.testing.assert_allclose(got, above, atol=1e-4, err_msg=f"labels frame {f}")
    # one trail entity for all envs: a segment per env and frame
    trail = ents["/World/trails/envs/instances/Robot/base"]
    assert all(len(s) == len(logged) for s in trail.column("LineStrips3D:strips") if s is not None)


def test_scalars_are_one_entity_per_signal_with_a_series_per_env(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=0.5)
    logged = [0, 1, 2, 3]
    wrapped = LogRerun(env, logged_envs="all", save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=70)
    rewards, actions, dones = [], [], []
    gen = torch.Generator().manual_seed(1)
    try:
        wrapped.reset(seed=1)
        for _ in range(70):  # 30-step episodes: the second ones end inside the snippet, seen whole
            action = 2 * torch.rand(4, 1, generator=gen) - 1
            _, rew, terminated, truncated, _ = wrapped.step(action)
            rewards.append(rew.numpy().copy())
            actions.append(env.unwrapped.actions[:, 0].numpy().copy())
            dones.append((terminated | truncated).numpy().copy())
    finally:
        wrapped.recorder.close()
    rewards_, dones_ = np.array(rewards, dtype=np.float64), np.array(dones)
    (snip,) = expected_snippets(dones_[:, 0].tolist(), None, lambda s: s == 0, 70)
    step_rows = [s for kind, s in snip.frames if kind == "step"]  # reward and action: one row per step frame
    assert len(step_rows) < 70 and any(kind == "reset" for kind, _ in snip.frames), "reset frames in the snippet"
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    assert ents["/scalars/reward"].static["SeriesLines:names"] == [f"env {e}" for e in logged]
    for metric, want in (("reward", rewards), ("action", actions)):
        ent = ents[f"/scalars/{metric}"]
        order = ent.sorted_by("frame")
        got = np.array([ent.column("Scalars:scalars")[i] for i in order], dtype=np.float64)
        assert list(ent.timeline("env_step", order)) == step_rows, metric
        np.testing.assert_allclose(got, np.array(want)[step_rows], rtol=1e-5, atol=1e-6, err_msg=metric)
    # an episode's return and length at its terminal frame, for the episodes the snippet holds whole (their reset
    # frame inside it: not the first ones, which began at reset()); NaN for the envs whose episode did not end there
    last = step_rows[-1]
    ends: dict[int, dict[int, tuple[float, int]]] = {}
    for e in logged:
        done_at = [s for s in range(last + 1) if dones_[s, e]]
        for begin, end in itertools.pairwise(done_at):
            ends.setdefault(end, {})[e] = (float(rewards_[begin + 1 : end + 1, e].sum()), end - begin)
    assert ends, "whole episodes inside the snippet"
    for metric, pick in (("episode_return", 0), ("episode_length", 1)):
        ent = ents[f"/scalars/{metric}"]
        order = ent.sorted_by("frame")
        assert list(ent.timeline("env_step", order)) == sorted(ends), metric
        got = np.array([ent.column("Scalars:scalars")[i] for i in order], dtype=np.float64)
        want = np.full((len(ends), len(logged)), np.nan)
        for row, end in enumerate(sorted(ends)):
            for e, values in ends[end].items():
                want[row, logged.index(e)] = values[pick]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=metric)


def test_visuals_are_the_stages_geometry_and_colours(testbed_env, tmp_path):
    """Each body's baked mesh spans what its USD gprims span in the body's frame, in the colours the stage gives its
    gprims (bound ``UsdPreviewSurface``'s ``diffuseColor`` / ``opacity``, else ``displayColor``), as sRGB."""
    from pxr import Usd, UsdGeom

    wrapped = LogRerun(
        testbed_env, logged_envs=[0, 1, 2], save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=1
    )
    try:
        wrapped.reset(seed=0)
        wrapped.step(torch.zeros(testbed_env.unwrapped.num_envs, 1))
    finally:
        wrapped.recorder.close()
    ents = read_rrd(tmp_path / "rl-rerun-step-0.rrd")
    stage = testbed_env.unwrapped.scene.stage
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    seen = set()
    for suffix in BODIES:
        mesh = ents[f"/World/envs/instances/{suffix}"].static
        vertices = np.array(mesh["Mesh3D:vertex_positions"], dtype=np.float64).reshape(-1, 3)
        body = stage.GetPrimAtPath(f"/World/envs/env_0/{suffix}")
        gprims = [  # each visible gprim below the body (not below a nested body)
            prim
            for prim in Usd.PrimRange(body)
            if prim.IsA(UsdGeom.Gprim)
            and not _below_other_body(prim, body)
            and UsdGeom.Imageable(prim).ComputePurpose() in (UsdGeom.Tokens.default_, UsdGeom.Tokens.render)
            and UsdGeom.Imageable(prim).ComputeVisibility() != UsdGeom.Tokens.invisible
        ]
        boxes = [cache.ComputeRelativeBound(prim, body).ComputeAlignedRange() for prim in gprims]  # body frame
        lo = np.min([np.array(b.GetMin()) for b in boxes], axis=0)
        hi = np.max([np.array(b.GetMax()) for b in boxes], axis=0)
        span = np.maximum(hi - lo, 1e-3)
        np.testing.assert_allclose(vertices.min(axis=0), lo, atol=0.03 * span.max(), err_msg=suffix)
        np.testing.assert_allclose(vertices.max(axis=0), hi, atol=0.03 * span.max(), err_msg=suffix)
        # colours: each vertex in the colour of one of the body's gprims, and every gprim's colour drawn
        got = np.unique(np.array(mesh["Mesh3D:vertex_colors"], dtype=np.uint32).reshape(-1))  # 0xRRGGBBAA
        got_rgba = (got[:, None] >> np.array([24, 16, 8, 0], dtype=np.uint32)) & 0xFF
        want = np.unique(np.array([_usd_rgba(prim) for prim in gprims]), axis=0)
        diff = np.abs(got_rgba[:, None, :].astype(int) - want[None, :, :].astype(int)).max(axis=-1)  # (got, want)
        assert (diff.min(axis=1) <= 1).all() and (diff.min(axis=0) <= 1).all(), f"{suffix}: {got_rgba} != {want}"
        seen |= {tuple(c) for c in want}
    assert len(seen) >= 5, f"the test bed's bodies come in several colours: {seen}"


def _usd_rgba(prim) -> np.ndarray:
    """The colour USD gives a gprim, as sRGB RGBA uint8: its bound material's ``UsdPreviewSurface``
    (``diffuseColor``, ``opacity``), else its (inherited) ``displayColor`` / ``displayOpacity``, else USD's grey."""
    from pxr import UsdGeom, UsdShade

    rgb, opacity = (0.18, 0.18, 0.18), 1.0
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    shader = material.ComputeSurfaceSource()[0] if material else None
    if shader and shader.GetIdAttr().Get() == "UsdPreviewSurface":
        for name, default in (("diffuseColor", rgb), ("opacity", opacity)):
            inp = shader.GetInput(name)
            assert not (inp and inp.HasConnectedSource()), f"{prim.GetPath()}: a texture (not in the test bed)"
            value = inp.Get() if inp else None
            if name == "diffuseColor":
                rgb = tuple(value) if value is not None else default
            else:
                opacity = float(value) if value is not None else default
    else:
        api = UsdGeom.PrimvarsAPI(prim)
        colour = api.FindPrimvarWithInheritance("displayColor")
        if colour and colour.HasAuthoredValue():
            rgb = tuple(colour.Get()[0])
        alpha = api.FindPrimvarWithInheritance("displayOpacity")
        if alpha and alpha.HasAuthoredValue():
            opacity = float(alpha.Get()[0])
    linear = np.clip(np.array(rgb, dtype=np.float64), 0.0, 1.0)
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.round(np.array([*srgb, np.clip(opacity, 0.0, 1.0)]) * 255).astype(np.uint8)


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
