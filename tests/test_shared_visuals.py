"""Heavy visuals once per file (``isaac_rerun.channels.bodies.SharedVisuals``), in both entity layouts, on a real
``pxr`` stage and real ``.rrd`` files read back with Rerun's own reader; no Isaac Lab (the channels get the same
``ChannelContext`` a scene hands them, built here from the stage).

The stage: two bodies of a robot (``base``, ``arm``), each with the same heavy mesh (``hull``, a 40x40 grid) at a
different offset, and below ``base``'s hull a small sphere (``lamp``): the hull is stored once and drawn four times
(2 bodies x 2 envs) by instance poses equal to body pose ∘ the hull's offset in the body (read through ``Gf``); the
lamp stays below each env's body, re-expressed relative to the body since the hull's entity carries no transform.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pxr")

import rerun as rr
from pxr import Gf, Usd, UsdGeom, Vt
from scipy.spatial.transform import Rotation

from glb_readback import read_glb
from isaac_rerun._arrays import RowSelector
from isaac_rerun.channels.base import Body, ChannelContext, Sample, StepRows
from isaac_rerun.channels.bodies import SHARED_VISUAL_BYTES, SharedVisuals, channels
from isaac_rerun.config import SceneLogCfg
from isaac_rerun.usd_visuals import collect_visuals
from rrd_readback import read_rrd

ROBOT = "/World/envs/env_0/Robot"
ENVS = (0, 1)
FRAMES = 3
N = 40  # grid quads per side


def _stage(robots: tuple[str, ...] = (ROBOT,)) -> Usd.Stage:
    s = Usd.Stage.CreateInMemory()
    for robot in robots:
        _robot(s, robot)
    return s


def _robot(s: Usd.Stage, robot: str) -> None:
    for body, xyz in (("base", (0.0, 0.0, 0.5)), ("arm", (0.3, 0.0, 0.5))):
        UsdGeom.Xform.Define(s, f"{robot}/{body}").AddTranslateOp().Set(Gf.Vec3d(*xyz))
        mesh = UsdGeom.Mesh.Define(s, f"{robot}/{body}/hull")
        xs, ys = np.meshgrid(np.arange(N + 1) / 64.0, np.arange(N + 1) / 64.0)  # on the GLB's 2^-13 m grid
        points = np.stack([xs.ravel(), ys.ravel(), (xs.ravel() * 4.0) ** 2 / 8.0], axis=1).astype(np.float32)
        i, j = np.meshgrid(np.arange(N), np.arange(N))
        v0 = (j * (N + 1) + i).ravel()
        quads = np.stack([v0, v0 + 1, v0 + N + 2, v0 + N + 1], axis=1)
        mesh.GetPointsAttr().Set(Vt.Vec3fArray.FromNumpy(points))
        mesh.GetFaceVertexCountsAttr().Set(Vt.IntArray.FromNumpy(np.full(N * N, 4, dtype=np.int32)))
        mesh.GetFaceVertexIndicesAttr().Set(Vt.IntArray.FromNumpy(quads.ravel().astype(np.int32)))
        if body == "base":
            mesh.AddTranslateOp().Set(Gf.Vec3d(0.1, 0.0, 0.0))
            lamp = UsdGeom.Sphere.Define(s, f"{robot}/base/hull/lamp")
            lamp.GetRadiusAttr().Set(0.02)
            lamp.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 0.05))
        else:
            mesh.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.1, 0.0))
            mesh.AddRotateZOp().Set(90.0)


def _in_body(s: Usd.Stage, prim: str, body: str) -> tuple[np.ndarray, np.ndarray]:
    """A prim's pose (translation, quaternion xyzw) in its body's frame, through Gf (rigid here)."""
    cache = UsdGeom.XformCache()
    m = (
        cache.GetLocalToWorldTransform(s.GetPrimAtPath(prim))
        * cache.GetLocalToWorldTransform(s.GetPrimAtPath(body)).GetInverse()
    )
    xf = Gf.Transform(m)
    q = xf.GetRotation().GetQuat()
    return np.array(xf.GetTranslation()), np.array([*q.GetImaginary(), q.GetReal()])


def _context(s: Usd.Stage, layout: str, replicated: bool = True) -> ChannelContext:
    names = ("base", "arm")
    bodies = tuple(
        Body(
            entity=f"/World/envs/env_{e}/Robot/{name}",
            name=name,
            env=e,
            parent=-1,
            source=k,
            root=name == "base",
            kind="articulations",
            prim=f"{ROBOT}/{name}" if replicated else f"/World/envs/env_{e}/Robot/{name}",
        )
        for e in ENVS
        for k, name in enumerate(names)
    )
    cache: dict[int, list] = {}

    def visuals(r: int) -> list:
        if r not in cache:
            cache[r] = collect_visuals(s.GetPrimAtPath(bodies[r].prim))
        return cache[r]

    return ChannelContext(
        logged_envs=ENVS,
        num_envs=len(ENVS),
        layout=layout,
        cfg=SceneLogCfg(layout=layout, global_prims=False),
        bodies=bodies,
        rows=RowSelector(list(ENVS)),
        sensors={},
        wxyz_data=False,
        visuals=visuals,
        global_visuals=list,
        global_shift=lambda: None,
        resolve_env_pattern=lambda pattern, env: None,
    )


def _poses() -> np.ndarray:
    """(F, rows, 7) world poses of the four body rows (env-major, as the context's bodies)."""
    rng = np.random.default_rng(0)
    out = np.zeros((FRAMES, 4, 7), dtype=np.float32)
    out[..., 0:3] = rng.uniform(-1.0, 1.0, (FRAMES, 4, 3))
    out[..., 3:7] = Rotation.random(FRAMES * 4, random_state=1).as_quat().reshape(FRAMES, 4, 4)
    return out


def _record(s: Usd.Stage, layout: str, path: Path, replicated: bool = True) -> None:
    ctx = _context(s, layout, replicated)
    chans = channels(ctx)
    rec = rr.RecordingStream("test_shared_visuals")
    rec.save(str(path))
    for channel in chans:
        channel.start(rec, static=True)
    poses = _poses()
    for k in range(FRAMES):
        sample = Sample(poses=poses[k].copy(), shift=None)
        for channel in chans:
            data = channel.gather(sample)
            if data is not None:
                channel.append(k, data, StepRows())
    times = lambda rows: [rr.TimeColumn("frame", sequence=np.arange(FRAMES))]  # noqa: E731
    for channel in chans:
        channel.send(rec, times)
    rec.flush()
    rec.disconnect()


def test_only_heavy_meshes_are_shared() -> None:
    s = _stage()
    ctx = _context(s, "per_env")
    shared = SharedVisuals(ctx)
    hull = collect_visuals(s.GetPrimAtPath(f"{ROBOT}/base"))[0]
    assert hull.geometry.nbytes > SHARED_VISUAL_BYTES
    assert len(shared.groups) == 1, "the same hull in two bodies: one entity"
    assert shared.skipped == {f"{ROBOT}/base/hull", f"{ROBOT}/arm/hull"}, "the lamp (a sphere) is not shared"


@pytest.mark.parametrize("layout", ["per_env", "instanced"])
def test_heavy_mesh_once_drawn_for_every_body_and_env(tmp_path: Path, layout: str) -> None:
    s = _stage()
    path = tmp_path / f"{layout}.rrd"
    _record(s, layout, path)
    ents = read_rrd(path)
    blobs = {p: e for p, e in ents.items() if "Asset3D:blob" in e.static}
    assert list(blobs) == ["/World/envs/instances/Robot/base/hull"], "the hull once, at its first user's path"
    blob = blobs["/World/envs/instances/Robot/base/hull"].static["Asset3D:blob"]
    while isinstance(blob, list) and len(blob) == 1 and not isinstance(blob[0], int):
        blob = blob[0]
    glb = read_glb(bytes(blob))
    points = np.array(UsdGeom.Mesh(s.GetPrimAtPath(f"{ROBOT}/base/hull")).GetPointsAttr().Get(), dtype=np.float64)
    np.testing.assert_allclose(glb.positions, points, atol=1e-6)  # the hull's own frame, its points in order
    assert len(glb.triangles) == 2 * N * N
    assert not [p for p, e in ents.items() if "Mesh3D:vertex_positions" in e.static and "hull" in p.split("/")[-1]]

    ent = blobs["/World/envs/instances/Robot/base/hull"]
    order = ent.sorted_by("frame")
    t = np.array([ent.columns["InstancePoses3D:translations"][i] for i in order], dtype=np.float64)  # (F, 4, 3)
    q = np.array([ent.columns["InstancePoses3D:quaternions"][i] for i in order], dtype=np.float64)
    assert t.shape == (FRAMES, 4, 3)
    poses = _poses().astype(np.float64)
    for u, body in enumerate(("base", "arm")):
        off_t, off_q = _in_body(s, f"{ROBOT}/{body}/hull", f"{ROBOT}/{body}")
        for i, e in enumerate(ENVS):
            row = e * 2 + u  # the context's body rows: env-major
            rot = Rotation.from_quat(poses[:, row, 3:7])
            want_t = poses[:, row, 0:3] + rot.apply(off_t)
            want_q = (rot * Rotation.from_quat(off_q)).as_quat()
            k = u * len(ENVS) + i  # instance u·L + i
            np.testing.assert_allclose(t[:, k], want_t, atol=1e-5, err_msg=f"{body} env {e}")
            dots = np.abs(np.einsum("ij,ij->i", q[:, k], want_q))
            np.testing.assert_allclose(dots, 1.0, atol=1e-5, err_msg=f"{body} env {e}")

    lamp_t, _ = _in_body(s, f"{ROBOT}/base/hull/lamp", f"{ROBOT}/base")
    if layout == "per_env":
        for e in ENVS:
            hull_ent = ents.get(f"/World/envs/env_{e}/Robot/base/hull")
            assert hull_ent is None or not hull_ent.static, "the hull is not stored below each env"
            lamp = ents[f"/World/envs/env_{e}/Robot/base/hull/lamp"].static
            assert "Ellipsoids3D:half_sizes" in lamp
            # the hull's entity has no transform now: the lamp's is relative to the body
            np.testing.assert_allclose(np.ravel(lamp["Transform3D:translation"]), lamp_t, atol=1e-6)
    else:
        merged = ents["/World/envs/instances/Robot/base"].static
        vertices = np.array(merged["Mesh3D:vertex_positions"], dtype=np.float64).reshape(-1, 3)
        np.testing.assert_allclose(vertices.min(axis=0), lamp_t - 0.02, atol=1e-4)  # the lamp alone, baked
        np.testing.assert_allclose(vertices.max(axis=0), lamp_t + 0.02, atol=1e-4)
        assert "/World/envs/instances/Robot/arm" not in ents or not ents["/World/envs/instances/Robot/arm"].static


def test_each_env_with_its_own_prims_still_stores_the_hull_once(tmp_path: Path) -> None:
    """Without replicated physics each env's bodies read their own prims: the heavy visuals (those of the first
    logged env, drawn for every env) are still not logged below any env's body."""
    s = _stage((ROBOT, "/World/envs/env_1/Robot"))
    _record(s, "per_env", tmp_path / "own.rrd", replicated=False)
    ents = read_rrd(tmp_path / "own.rrd")
    assert [p for p, e in ents.items() if "Asset3D:blob" in e.static] == ["/World/envs/instances/Robot/base/hull"]
    assert not [p for p, e in ents.items() if "Mesh3D:vertex_positions" in e.static]
    for e in ENVS:
        assert "Ellipsoids3D:half_sizes" in ents[f"/World/envs/env_{e}/Robot/base/hull/lamp"].static
