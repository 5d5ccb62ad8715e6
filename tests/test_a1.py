"""Isaac Lab's own Unitree A1 velocity task, kit-less on the CPU (:mod:`isaac_rerun.testbed.a1`), and the nested-links
A1: the assets, the registered kit-less task id in Isaac Lab's own config tools, and recordings of both read back from
their ``.rrd`` files and compared with the simulator (poses at every frame, terminal frames included; the converted
USD's visuals; contact arrows; command markers; SB3, skrl and rsl_rl training with their integrations).

Needs the A1 that ``bash scripts/setup.sh`` builds (``scripts/build_a1_asset.py``) into the user cache; the tests
that need it are skipped, saying so, where it has not been built. Isaac Lab allows one open env per process: the
module keeps one (the task's or the nested A1's, built on first use, the other closed first) and closes the session's
shared test bed before building it.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

pytestmark = pytest.mark.isaaclab
pytest.importorskip("isaaclab")

import torch  # noqa: E402  (after the importorskip)

from glb_readback import read_glb  # noqa: E402
from isaac_rerun import LogRerun  # noqa: E402
from isaac_rerun.testbed import a1  # noqa: E402
from rrd_readback import Entity, quat_close, read_rrd  # noqa: E402
from schedule import Snip, expected_snippets  # noqa: E402

NUM_ENVS = 4
LOGGED = [0, 2]
SETTLE_STEPS = 75  # 1.5 s at the task's 0.02 s env step
LEGS = ("FL", "FR", "RL", "RR")
FEET = tuple(f"{leg}_foot" for leg in LEGS)
MESH_LINKS = ("trunk", *(f"{leg}_{part}" for part in ("hip", "thigh", "calf") for leg in LEGS))
LAYOUTS = ("per_env", "instanced")
CONTACT_SCALE = 0.01  # SceneLogCfg.contact_force_scale's default [m/N]
POS_TOL = 1e-4  # m


# fixtures -------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def a1_usd() -> Path:
    path = a1.local_a1_usd_path()
    if path is None:
        pytest.skip("the A1 asset is not built: run `bash scripts/setup.sh`")
    return path


@pytest.fixture(scope="module")
def a1_nested_usd() -> Path:
    path = a1.local_a1_nested_usd_path()
    if path is None:
        pytest.skip("the nested A1 asset is not built: run `bash scripts/setup.sh`")
    return path


class OneEnv:
    """The module's one open Isaac Lab env: the A1 task (``make_a1_env``) or the nested A1 (``make_a1_nested_env``),
    built on first use; asking for the other closes it first (the session's shared test bed is closed too)."""

    def __init__(self, pool: Any):
        self.pool = pool
        self.kind: str | None = None
        self.env: Any = None
        self.cache: dict[str, Any] = {}  # per-env results shared by tests (e.g. the settled state)

    def get(self, kind: str) -> Any:
        if self.kind != kind:
            self.close()
            self.pool.close()
            if kind == "task":
                self.env = a1.make_a1_env(num_envs=NUM_ENVS, use_local_asset=True)
            else:
                self.env = a1.make_a1_nested_env(num_envs=NUM_ENVS)
            self.kind = kind
        return self.env

    def close(self) -> None:
        env, self.env, self.kind = self.env, None, None
        self.cache = {}
        if env is not None:
            env.close()


@pytest.fixture(scope="module")
def one_env(testbed_pool):
    holder = OneEnv(testbed_pool)
    yield holder
    holder.close()


@pytest.fixture
def a1_env(a1_usd, one_env):
    """The module's ``make_a1_env(num_envs=4)`` (Isaac Lab's A1 task with the local A1)."""
    return one_env.get("task")


@pytest.fixture
def nested_env(a1_nested_usd, one_env):
    """The module's ``make_a1_nested_env(num_envs=4)`` (the nested-links A1 in a small scene)."""
    return one_env.get("nested")


@pytest.fixture
def settled(a1_env, one_env):
    """State after a reset and ``SETTLE_STEPS`` steps of zero actions (the task's default joint targets)."""
    if "settled" not in one_env.cache:
        base = a1_env.unwrapped
        a1_env.reset()
        zero = torch.zeros(a1_env.action_space.shape)
        for _ in range(SETTLE_STEPS):
            _, _, terminated, _, _ = a1_env.step(zero)
            assert not terminated.any(), "an env fell while standing still"
        robot, sensor = base.scene["robot"], base.scene["contact_forces"]
        one_env.cache["settled"] = {
            "height": robot.data.root_pos_w.torch[:, 2].clone(),
            "gravity_b": robot.data.projected_gravity_b.torch.clone(),
            "forces": sensor.data.net_forces_w.torch.norm(dim=-1).clone(),  # (envs, bodies)
            "sensor_bodies": list(sensor.sensor_names),
            "mass": robot.data.body_mass.torch.sum(dim=1).clone(),
            "gravity": abs(base.cfg.sim.gravity[2]),
        }
    return one_env.cache["settled"]


# helpers --------------------------------------------------------------------------------------------------------------
def _np(x: Any) -> np.ndarray:
    t = x.torch if hasattr(x, "torch") else x
    return t.detach().cpu().numpy().copy()


def capture(base: Any) -> dict[str, np.ndarray]:
    """What the recording is compared with, as the simulator has it now (copies)."""
    robot = base.scene["robot"]
    out = {
        "pose": _np(robot.data.body_link_pose_w),  # (N, B, 7) xyzw
        "root_pos": _np(robot.data.root_pos_w),
        "root_quat": _np(robot.data.root_quat_w),
    }
    sensor = base.scene.sensors.get("contact_forces")
    if sensor is not None:
        out["forces"] = _np(sensor.data.net_forces_w)  # (N, S, 3)
    if hasattr(base, "command_manager"):
        out["command"] = _np(base.command_manager.get_command("base_velocity"))  # (N, 3), base frame
        out["lin_vel_b"] = _np(robot.data.root_lin_vel_b)  # (N, 3), base frame: the current-velocity arrows
    return out


class Truth:
    """Per step: the state just before the auto-reset (a spy on ``_reset_idx``, installed before the recorder's
    hook) and after ``step()`` returned; and after the first ``reset()``."""

    def __init__(self, base: Any):
        self.base = base
        self.pending: dict[str, np.ndarray] | None = None
        self.history: list[dict[str, Any]] = []
        self.initial: dict[str, np.ndarray] | None = None
        original = base._reset_idx

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.pending = capture(base)
            return original(*args, **kwargs)

        base._reset_idx = spy

    def remove(self) -> None:
        self.base.__dict__.pop("_reset_idx", None)

    def after_reset(self) -> None:
        self.pending = None
        self.initial = capture(self.base)

    def after_step(self, terminated: Any, truncated: Any, reward: Any = None) -> None:
        after = capture(self.base)
        before = self.pending if self.pending is not None else after
        self.pending = None
        done = _np(terminated | truncated).astype(bool)
        self.history.append(
            {"before": before, "after": after, "done": done, "reward": None if reward is None else _np(reward)}
        )

    def at(self, event: tuple[str, int]) -> dict[str, np.ndarray]:
        kind, s = event
        if kind == "reset" and s < 0:
            assert self.initial is not None
            return self.initial
        return self.history[s]["after" if kind == "reset" else "before"]


def record(env: Any, folder: Path, steps: int, length: int, layout: str, **kwargs: Any) -> tuple[dict, Snip, Truth]:
    """``LogRerun`` over ``steps`` random steps after a reset, one snippet of ``length`` frames from step 0; returns
    the snippet read back, its expected frames and the simulator's truth."""
    base = env.unwrapped
    truth = Truth(base)
    trigger = lambda s: s == 0  # noqa: E731
    wrapped = LogRerun(
        env,
        logged_envs=LOGGED,
        save_dir=folder,
        step_trigger=trigger,
        recording_length=length,
        scene_log_cfg={"layout": layout, **kwargs.pop("scene_log_cfg", {})},
        **kwargs,
    )
    try:
        wrapped.reset(seed=0)
        truth.after_reset()
        gen = torch.Generator().manual_seed(0)
        for _ in range(steps):
            action = 2 * torch.rand(env.action_space.shape, generator=gen) - 1
            _, reward, terminated, truncated, _ = wrapped.step(action)
            truth.after_step(terminated, truncated, reward)
    finally:
        assert wrapped.recorder is not None
        wrapped.recorder.close()  # finish recording, keep the module's env open
        truth.remove()
    tracked = [bool(h["done"][LOGGED[0]]) for h in truth.history]
    (snip,) = expected_snippets(tracked, None, trigger, length)
    return read_rrd(folder / f"{snip.name}.rrd"), snip, truth


# quaternions are xyzw, as Isaac Lab 3.x, Rerun and scipy have them (scipy: an implementation independent of ours)
def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (
        (Rotation.from_quat(np.reshape(a, (-1, 4))) * Rotation.from_quat(np.reshape(b, (-1, 4))))
        .as_quat()
        .reshape(np.broadcast_shapes(np.shape(a), np.shape(b)))
    )


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return Rotation.from_quat(np.reshape(q, (-1, 4))).apply(np.reshape(v, (-1, 3))).reshape(np.shape(v))


def rows(ent: Entity, column: str, n_frames: int) -> list[Any]:
    """The values of a temporal column, one per frame of the snippet (every frame must have a row)."""
    order = ent.sorted_by("frame")
    assert list(ent.timeline("frame", order)) == list(range(n_frames)), column
    return [ent.columns[column][i] for i in order]


def entity_world_poses(ents: dict[str, Entity], path: str, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """World poses ``(F, 3)``, ``(F, 4)`` of an entity over the snippet's frames: the ``Transform3D`` of the entity
    and of each ancestor that has one composed root first, as the viewer does."""
    parts = path.strip("/").split("/")
    pos = np.zeros((n_frames, 3))
    quat = np.tile([0.0, 0.0, 0.0, 1.0], (n_frames, 1))
    found = False
    for depth in range(1, len(parts) + 1):
        ent = ents.get("/" + "/".join(parts[:depth]))
        if ent is None:
            continue
        assert "Transform3D:scale" not in ent.static, f"{ent}: a scaled body frame"
        if "Transform3D:translation" in ent.columns:
            t = np.array([r[0] for r in rows(ent, "Transform3D:translation", n_frames)], dtype=np.float64)
            q = np.array([r[0] for r in rows(ent, "Transform3D:quaternion", n_frames)], dtype=np.float64)
        elif "Transform3D:translation" in ent.static:
            t = np.tile(np.asarray(ent.static["Transform3D:translation"], np.float64).reshape(3), (n_frames, 1))
            q = np.tile(np.asarray(ent.static["Transform3D:quaternion"], np.float64).reshape(4), (n_frames, 1))
        else:
            continue
        found = True
        pos = pos + quat_rotate(quat, t)
        quat = quat_mul(quat, q)
    assert found, f"{path}: no transform logged"
    return pos, quat


def _gf(m: Any) -> np.ndarray:
    """A ``Gf.Matrix4d`` (row vectors) as a 4x4 numpy matrix for column vectors."""
    return np.array(m, dtype=np.float64).T


def usd_layout(usd: Path) -> dict[str, dict[str, Any]]:
    """Per A1 body (by name) in a converted USD: its path below the robot prim and its visuals, each with the
    geometry a recording must show, in the body's frame (rest pose)."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics, UsdShade

    stage = Usd.Stage.Open(str(usd))
    root = stage.GetDefaultPrim()
    cache = UsdGeom.XformCache()
    out: dict[str, dict[str, Any]] = {}
    bodies = [p for p in Usd.PrimRange(root) if p.HasAPI(UsdPhysics.RigidBodyAPI)]
    for body in bodies:
        world = _gf(cache.GetLocalToWorldTransform(body))
        visuals = []
        it = iter(Usd.PrimRange(body))
        for prim in it:
            if prim != body and prim.HasAPI(UsdPhysics.RigidBodyAPI):
                it.PruneChildren()
                continue
            if not prim.IsA(UsdGeom.Gprim) or UsdGeom.Imageable(prim).ComputePurpose() != UsdGeom.Tokens.default_:
                continue
            to_body = np.linalg.inv(world) @ _gf(cache.GetLocalToWorldTransform(prim))
            visual: dict[str, Any] = {"rel": str(prim.GetPath().MakeRelativePath(body.GetPath())), "kind": ""}
            if prim.IsA(UsdGeom.Mesh):
                mesh = UsdGeom.Mesh(prim)
                points = np.array(mesh.GetPointsAttr().Get(), dtype=np.float64)
                counts = np.array(mesh.GetFaceVertexCountsAttr().Get())
                material = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()[0]
                texture = None
                for shader_prim in Usd.PrimRange(material.GetPrim()) if material else []:
                    shader = UsdShade.Shader(shader_prim)
                    if shader.GetIdAttr().Get() == "UsdUVTexture":
                        value = shader.GetInput("file").GetValueProducingAttributes()[0].Get()
                        texture = value.resolvedPath
                used = np.unique(np.array(mesh.GetFaceVertexIndicesAttr().Get()))
                visual.update(
                    kind="mesh",
                    points=points,
                    used_points=points[used],
                    body_points=points @ to_body[:3, :3].T + to_body[:3, 3],
                    n_corners=int(counts.sum()),
                    n_triangles=int((counts - 2).sum()),
                    texture=texture,
                )
            elif prim.IsA(UsdGeom.Sphere):
                radius = UsdGeom.Sphere(prim).GetRadiusAttr().Get()
                scale = Gf.Transform(Gf.Matrix4d(to_body.T.tolist())).GetScale()
                r = radius * np.abs(np.array(scale))
                visual.update(kind="sphere", center=to_body[:3, 3], radius=r, body_points=to_body[:3, 3] + [-r, r])
            visuals.append(visual)
        out[body.GetName()] = {"rel": str(body.GetPath().MakeRelativePath(root.GetPath())), "visuals": visuals}
    return out


def _bounds(points: np.ndarray) -> np.ndarray:
    return np.stack([points.min(axis=0), points.max(axis=0)])


def _static_vectors(ent: Entity, name: str, width: int) -> np.ndarray:
    return np.asarray(ent.static[name], dtype=np.float64).reshape(-1, width)


def check_poses(ents: dict, snip: Snip, truth: Truth, layout: str, robot: Any, layout_usd: dict) -> int:
    """(a) Every link's recorded world pose equals ``body_link_pose_w`` at every frame; returns the frames checked."""
    n = len(snip.frames)
    want = np.stack([truth.at(ev)["pose"] for ev in snip.frames])  # (F, N, B, 7)
    names = list(robot.body_names)
    assert sorted(names) == sorted(layout_usd), "the simulator's bodies are the USD's rigid bodies"
    for name in names:
        b = names.index(name)
        rel = layout_usd[name]["rel"]
        if layout == "per_env":
            for e in LOGGED:
                pos, quat = entity_world_poses(ents, f"/World/envs/env_{e}/Robot/{rel}", n)
                np.testing.assert_allclose(pos, want[:, e, b, :3], atol=POS_TOL, err_msg=f"env {e} {name}")
                assert quat_close(quat, want[:, e, b, 3:], atol=POS_TOL), f"env {e} {name}"
            continue
        # instanced: the body's light visuals (merged into one mesh at its instanced path) carry its world pose in
        # each logged env as instance i; its mesh visuals are checked at every frame by check_visuals
        if any(v["kind"] != "mesh" for v in layout_usd[name]["visuals"]):
            path = f"/World/envs/instances/Robot/{rel}"
            ent = ents[path]
            t = np.array(rows(ent, "InstancePoses3D:translations", n), dtype=np.float64)  # (F, L, 3)
            q = np.array(rows(ent, "InstancePoses3D:quaternions", n), dtype=np.float64)
            assert t.shape == (n, len(LOGGED), 3), path
            for i, e in enumerate(LOGGED):
                np.testing.assert_allclose(t[:, i], want[:, e, b, :3], atol=POS_TOL, err_msg=f"{path} env {e}")
                assert quat_close(q[:, i], want[:, e, b, 3:], atol=POS_TOL), f"{path} env {e}"
            _no_moving_ancestor(ents, path)
    return n


def _no_moving_ancestor(ents: dict, path: str) -> None:
    """InstancePoses3D is not propagated: no ancestor may move the instances."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        anc = ents.get("/" + "/".join(parts[:depth]))
        if anc is not None:
            assert "Transform3D:translation" not in anc.columns and "Transform3D:translation" not in anc.static


def _blob(ent: Entity) -> bytes:
    value = ent.static["Asset3D:blob"]
    while isinstance(value, list) and len(value) == 1 and not isinstance(value[0], int):
        value = value[0]
    return bytes(value)


def _rotated_bounds(points: np.ndarray, t: np.ndarray, q: np.ndarray) -> np.ndarray:
    return _bounds(quat_rotate(np.tile(q, (len(points), 1)), points) + t)


def check_visuals(ents: dict, layout: str, layout_usd: dict, snip: Snip, truth: Truth, robot: Any) -> set[str]:
    """(b) Every visual of the converted USD is drawn with its geometry, in every logged env, at every frame; each
    distinct mesh is stored once in the file (a GLB, whatever the layout), the trunk with its own PNG. Returns the
    kinds of visuals checked."""
    from PIL import Image

    n = len(snip.frames)
    want = np.stack([truth.at(ev)["pose"] for ev in snip.frames])  # (F, N, B, 7)
    names = list(robot.body_names)
    # the shared meshes: one entity per distinct geometry, its copies as instances
    shared = {p: e for p, e in ents.items() if "Asset3D:blob" in e.static}
    assert all(p.startswith("/World/envs/instances/") for p in shared)
    assert not [p for p, e in ents.items() if "Mesh3D:albedo_texture_buffer" in e.static], "no raw texture"
    meshes = {p: read_glb(_blob(e)) for p, e in shared.items()}
    distinct = {v["points"].tobytes() for body in layout_usd.values() for v in body["visuals"] if v["kind"] == "mesh"}
    assert len(shared) == len(distinct) == 5, "trunk, hip, thigh, mirrored thigh, calf: each once"
    poses = {
        p: (
            np.array(rows(e, "InstancePoses3D:translations", n), dtype=np.float64),  # (F, K, 3)
            np.array(rows(e, "InstancePoses3D:quaternions", n), dtype=np.float64),
        )
        for p, e in shared.items()
    }
    for path in shared:
        _no_moving_ancestor(ents, path)
    used: set[tuple[str, int]] = set()
    kinds = set()
    textured = 0
    for name, body in layout_usd.items():
        b = names.index(name)
        assert body["visuals"], f"{name} has no visual in the USD"
        for v in body["visuals"]:
            kinds.add(v["kind"])
            if v["kind"] != "mesh":  # the feet's spheres: small, below each body (per env) or merged (instanced)
                if layout == "instanced":
                    root = ents[f"/World/envs/instances/Robot/{body['rel']}"]
                    positions = _static_vectors(root, "Mesh3D:vertex_positions", 3)
                    np.testing.assert_allclose(_bounds(positions), _bounds(v["body_points"]), atol=1e-3, err_msg=name)
                else:
                    for e in LOGGED:
                        ent = ents[f"/World/envs/env_{e}/Robot/{body['rel']}/{v['rel']}"]
                        s = _static_vectors(ent, "Transform3D:scale", 3)[0] if "Transform3D:scale" in ent.static else 1
                        half = _static_vectors(ent, "Ellipsoids3D:half_sizes", 3)[0]
                        np.testing.assert_allclose(np.abs(half * s), v["radius"], atol=1e-6, err_msg=name)
                        t = _static_vectors(ent, "Transform3D:translation", 3)[0]
                        np.testing.assert_allclose(t, v["center"], atol=1e-6, err_msg=name)
                continue
            # a mesh: drawn by exactly one instance of one shared entity per logged env, at every frame
            for e in LOGGED:
                below = ents.get(f"/World/envs/env_{e}/Robot/{body['rel']}/{v['rel']}")
                assert below is None or not below.static, f"{name}/{v['rel']}: a mesh is not stored below each env"
            for e in LOGGED:
                expected = [_rotated_bounds(v["body_points"], want[k, e, b, :3], want[k, e, b, 3:]) for k in range(n)]
                hits = []
                for path, glb in meshes.items():
                    if len(glb.positions) > len(v["points"]) * 3 or len(glb.triangles) != v["n_triangles"]:
                        continue
                    t, q = poses[path]
                    for j in range(t.shape[1]):
                        got = _rotated_bounds(glb.positions, t[0, j], q[0, j])
                        if np.allclose(got, expected[0], atol=2e-4):
                            hits.append((path, j))
                assert len(hits) == 1, f"{name}/{v['rel']} env {e}: drawn by {hits}"
                path, j = hits[0]
                used.add(hits[0])
                glb = meshes[path]
                t, q = poses[path]
                for k in range(n):
                    got = _rotated_bounds(glb.positions, t[k, j], q[k, j])
                    np.testing.assert_allclose(got, expected[k], atol=2e-4, err_msg=f"{path}[{j}] frame {k}")
                # the same points as the USD's faces (welded: a point once per normal / UV seam; on a 0.12 mm grid)
                there = cKDTree(v["used_points"]).query(glb.positions)[0]
                back = cKDTree(glb.positions).query(v["used_points"])[0]
                grid = math.sqrt(3) * 0.5 / 2**13 + 1e-6  # half a 0.12 mm step on each axis
                assert there.max() < grid and back.max() < grid, (v["rel"], there.max(), back.max())
            if v["texture"]:
                textured += 1
                glb = meshes[path]
                assert glb.mime == "image/png" and glb.image == Path(v["texture"]).read_bytes(), "the file's own PNG"
                decoded = np.array(Image.open(io.BytesIO(glb.image)))
                np.testing.assert_array_equal(decoded, np.array(Image.open(v["texture"])))
                assert glb.texcoords is not None and len(glb.texcoords) == len(glb.positions)
                assert np.ptp(glb.texcoords, axis=0).min() > 0.1
    total = sum(t.shape[1] for t, _ in poses.values())
    assert len(used) == total, "every instance draws a visual of a logged env (no extra copy)"
    assert textured == 1, "the trunk is the A1's one textured mesh"
    return kinds


def check_contacts(ents: dict, snip: Snip, truth: Truth, layout: str, robot: Any, sensor: Any) -> int:
    """(c) Contact arrows: the sensor's ``net_forces_w`` x scale at the sensed bodies' positions, every frame (bodies
    under 1e-3 N have none); returns the number of foot arrows seen."""
    n = len(snip.frames)
    names = list(sensor.sensor_names)
    body_index = [list(robot.body_names).index(s) for s in names]
    feet = [k for k, s in enumerate(names) if s in FEET]
    groups = [LOGGED] if layout == "instanced" else [[e] for e in LOGGED]
    paths = (
        ["/World/sensors/contact_forces"]
        if layout == "instanced"
        else [f"/World/sensors/contact_forces/env_{e}" for e in LOGGED]
    )
    foot_arrows = 0
    for path, envs in zip(paths, groups, strict=True):
        ent = ents[path]
        origins, vectors = rows(ent, "Arrows3D:origins", n), rows(ent, "Arrows3D:vectors", n)
        for k, event in enumerate(snip.frames):
            state = truth.at(event)
            want_o, want_v = [], []
            for e in envs:
                force = state["forces"][e]
                keep = np.linalg.norm(force, axis=-1) >= 1e-3
                want_o.append(state["pose"][e, body_index, :3][keep])
                want_v.append(force[keep] * CONTACT_SCALE)
                foot_arrows += int(keep[feet].sum())
            got_o = np.asarray(origins[k] or np.zeros((0, 3)), dtype=np.float64).reshape(-1, 3)
            got_v = np.asarray(vectors[k] or np.zeros((0, 3)), dtype=np.float64).reshape(-1, 3)
            np.testing.assert_allclose(got_o, np.concatenate(want_o), atol=POS_TOL, err_msg=f"{path} frame {k}")
            np.testing.assert_allclose(got_v, np.concatenate(want_v), atol=1e-5, err_msg=f"{path} frame {k}")
    return foot_arrows


def check_command_markers(ents: dict, snip: Snip, truth: Truth, base: Any) -> None:
    """(d) The velocity-command arrows (debug vis): one per logged env, over its base (+0.5 m), along the command's
    xy velocity turned into the world by the base's orientation, 3 x |v| x the prototype's scale (instance and
    prototype) long; the current-velocity arrows the same way from the base's measured velocity (``root_lin_vel_b``)."""
    n = len(snip.frames)
    term = base.command_manager.get_term("base_velocity")
    lengths: dict[str, list[np.ndarray]] = {"command": [], "lin_vel_b": []}
    for marker, key, visualizer in (
        ("velocity_goal", "command", term.goal_vel_visualizer),
        ("velocity_current", "lin_vel_b", term.current_vel_visualizer),
    ):
        proto = visualizer.cfg.markers["arrow"].scale[0]
        ent = ents[f"/World/markers/Command/{marker}/arrow"]
        origins, vectors = rows(ent, "Arrows3D:origins", n), rows(ent, "Arrows3D:vectors", n)
        for k, event in enumerate(snip.frames):
            state = truth.at(event)
            v = state[key][LOGGED, :2]
            heading = np.arctan2(v[:, 1], v[:, 0])
            zero = np.zeros_like(heading)
            yaw = np.stack([zero, zero, np.sin(heading / 2), np.cos(heading / 2)], -1)
            length = np.linalg.norm(v, axis=1) * 3.0 * proto * proto
            want = quat_rotate(quat_mul(state["root_quat"][LOGGED], yaw), np.stack([length, zero, zero], -1))
            np.testing.assert_allclose(np.asarray(vectors[k]), want, atol=1e-4, err_msg=f"{marker} frame {k}")
            np.testing.assert_allclose(
                np.asarray(origins[k]),
                state["root_pos"][LOGGED] + [0.0, 0.0, 0.5],
                atol=POS_TOL,
                err_msg=f"{marker} frame {k}",
            )
            lengths[key].append(length)
    assert np.max(lengths["command"]) > 0.2, "the commands must be non-zero for this test to mean anything"
    assert np.max(lengths["lin_vel_b"]) > 0.01, "the robots must move for the current-velocity arrows to mean much"


# the assets -----------------------------------------------------------------------------------------------------------
def test_asset_links_are_direct_children_with_visuals(a1_usd):
    """Every A1 link is a rigid body directly under the robot prim, with its visual mesh (the repaired hip meshes
    too) and the trunk's texture; the base floats; every joint names links of the robot."""
    from pxr import Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

    stage = Usd.Stage.Open(str(a1_usd))
    root = stage.GetDefaultPrim()
    children = {p.GetName(): p for p in root.GetChildren()}
    for name in a1.A1_BODY_NAMES:
        assert name in children, f"{name} is not a direct child of {root.GetPath()}"
        assert children[name].HasAPI(UsdPhysics.RigidBodyAPI), name
    rigid = [p.GetName() for p in Usd.PrimRange(root) if p.HasAPI(UsdPhysics.RigidBodyAPI)]
    assert sorted(rigid) == sorted(a1.A1_BODY_NAMES)

    for name in MESH_LINKS:
        meshes = [
            UsdGeom.Mesh(p)
            for p in children[name].GetChildren()
            if p.IsA(UsdGeom.Mesh) and UsdGeom.Imageable(p).ComputePurpose() == UsdGeom.Tokens.default_
        ]
        assert len(meshes) == 1, f"{name}: visual meshes {meshes}"
        points = meshes[0].GetPointsAttr().Get()
        indices = meshes[0].GetFaceVertexIndicesAttr().Get()
        assert len(points) > 100 and len(indices) > 100, name
        # the repair: every point is used by a face (hip.obj had unreferenced ones)
        assert set(indices) == set(range(len(points))), name
        assert UsdShade.MaterialBindingAPI(meshes[0].GetPrim()).ComputeBoundMaterial()[0], name
    for foot in FEET:
        assert any(
            p.IsA(UsdGeom.Sphere) and UsdGeom.Imageable(p).ComputePurpose() == UsdGeom.Tokens.default_
            for p in children[foot].GetChildren()
        ), foot

    trunk_mesh = next(p for p in children["trunk"].GetChildren() if p.IsA(UsdGeom.Mesh))
    material = UsdShade.MaterialBindingAPI(trunk_mesh).ComputeBoundMaterial()[0]
    textures = [
        UsdShade.Shader(p)
        for p in Usd.PrimRange(material.GetPrim())
        if UsdShade.Shader(p).GetIdAttr().Get() == "UsdUVTexture"
    ]
    assert len(textures) == 1
    file_value = textures[0].GetInput("file").GetValueProducingAttributes()[0].Get()
    assert isinstance(file_value, Sdf.AssetPath) and file_value.resolvedPath.endswith("trunk_A1.png")
    assert UsdGeom.PrimvarsAPI(trunk_mesh).GetPrimvar("st").HasValue()

    joints = [p for p in Usd.PrimRange(root) if p.IsA(UsdPhysics.Joint)]
    assert "root_joint" not in {j.GetName() for j in joints}
    assert {j.GetName() for j in joints if j.IsA(UsdPhysics.RevoluteJoint)} == set(a1.A1_JOINT_NAMES)
    for joint in joints:
        api = UsdPhysics.Joint(joint)
        for target in [*api.GetBody0Rel().GetTargets(), *api.GetBody1Rel().GetTargets()]:
            assert target.GetParentPath() == root.GetPath() and target.name in a1.A1_BODY_NAMES, joint.GetPath()


def test_nested_asset_keeps_the_converters_hierarchy(a1_usd, a1_nested_usd):
    """``a1_nested.usd``: the same links, each nested under its parent link (thigh below hip below trunk), no root
    joint, the same visuals and texture at the same world transforms as the flat ``a1.usd``."""
    from pxr import Usd, UsdPhysics

    nested, flat = usd_layout(a1_nested_usd), usd_layout(a1_usd)
    assert sorted(nested) == sorted(a1.A1_BODY_NAMES) == sorted(flat)
    for leg in LEGS:
        chain = [nested[f"{leg}_{part}"]["rel"] for part in ("hip", "thigh", "calf", "foot")]
        parents = [nested["trunk"]["rel"], *chain[:-1]]
        for rel, parent in zip(chain, parents, strict=True):
            assert rel.rpartition("/")[0] == parent, (rel, parent)
    assert all("/" not in body["rel"] for body in flat.values())
    for name, body in nested.items():
        mine, theirs = body["visuals"], flat[name]["visuals"]
        assert [v["rel"] for v in mine] == [v["rel"] for v in theirs], name
        for v, w in zip(mine, theirs, strict=True):
            np.testing.assert_allclose(v["body_points"], w["body_points"], atol=1e-6, err_msg=f"{name} {v['rel']}")
            assert v.get("texture") == w.get("texture")
    stage = Usd.Stage.Open(str(a1_nested_usd))
    assert not [p for p in stage.Traverse() if p.GetName() == "root_joint"]
    assert len([p for p in stage.Traverse() if p.HasAPI(UsdPhysics.ArticulationRootAPI)]) == 1


def test_nested_articulation_cfg_is_isaac_labs_a1(a1_nested_usd):
    from isaaclab_assets.robots.unitree import UNITREE_A1_CFG

    cfg = a1.a1_nested_articulation_cfg()
    assert cfg.spawn.usd_path == str(a1_nested_usd)
    assert cfg.prim_path == "{ENV_REGEX_NS}/Robot"
    assert cfg.actuators.keys() == UNITREE_A1_CFG.actuators.keys()
    assert cfg.init_state.joint_pos == UNITREE_A1_CFG.init_state.joint_pos


# configs, registration ------------------------------------------------------------------------------------------------
def test_cfg_choice_of_assets(tmp_path, monkeypatch):
    """``use_local_asset=False`` leaves Isaac Lab's task untouched; ``True`` without a build names setup.sh."""
    cfg = a1.a1_env_cfg(num_envs=2, use_local_asset=False)
    assert "newton" in type(cfg.sim.physics).__module__
    assert cfg.scene.robot.spawn.usd_path.endswith("Robots/Unitree/A1/a1.usd")
    assert cfg.scene.terrain.terrain_type == "plane"

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert a1.local_a1_usd_path() is None and a1.local_a1_nested_usd_path() is None
    with pytest.raises(a1.A1AssetMissingError, match=r"bash scripts/setup\.sh"):
        a1.a1_env_cfg(num_envs=2, use_local_asset=True)
    with pytest.raises(a1.A1AssetMissingError, match=r"a1_nested\.usd.*bash scripts/setup\.sh"):
        a1.a1_nested_articulation_cfg()


def test_kitless_task_is_registered_with_isaac_labs_agent_configs(a1_usd):
    """The kit-less id: Isaac Lab's env class and every agent-config entry point of its own A1 registration."""
    import gymnasium as gym

    ours, theirs = gym.spec(a1.A1_KITLESS_TASK_ID), gym.spec(a1.A1_TASK_ID)
    assert ours.entry_point == theirs.entry_point == "isaaclab.envs:ManagerBasedRLEnv"
    assert ours.disable_env_checker
    agents = {k: v for k, v in theirs.kwargs.items() if k != "env_cfg_entry_point"}
    assert {"rsl_rl_cfg_entry_point", "skrl_cfg_entry_point", "sb3_cfg_entry_point"} <= set(agents)
    assert {k: v for k, v in ours.kwargs.items() if k != "env_cfg_entry_point"} == agents
    assert ours.kwargs["env_cfg_entry_point"] == "isaac_rerun.testbed.a1:a1_kitless_env_cfg"


def test_isaac_labs_config_tools_build_the_kitless_task(a1_usd):
    """``parse_env_cfg`` gives exactly ``a1_env_cfg``'s config; Hydra's ``resolve_task_config`` (Isaac Lab 3.0's
    ``isaaclab train``) resolves it with Newton by default, with ``presets=`` / ``physics=`` selectors and
    ``env.`` / ``agent.`` overrides, and the agent configs load."""
    from isaaclab.utils import to_dict
    from isaaclab_tasks.utils import parse_env_cfg, resolve_task_config

    cfg = parse_env_cfg(a1.A1_KITLESS_TASK_ID, device="cpu", num_envs=4)
    assert to_dict(cfg) == to_dict(a1.a1_env_cfg(num_envs=4, device="cpu", seed=None))
    assert type(cfg.sim.physics).__name__ == "NewtonCfg" and cfg.sim.physics.solver_cfg.njmax == 60
    assert cfg.scene.robot.spawn.usd_path == str(a1_usd) and cfg.scene.terrain.terrain_type == "usd"

    env_cfg, agent_cfg = resolve_task_config(a1.A1_KITLESS_TASK_ID, "rsl_rl_cfg_entry_point", overrides=[])
    assert to_dict(env_cfg) == to_dict(
        a1.a1_env_cfg(num_envs=env_cfg.scene.num_envs, device=env_cfg.sim.device, seed=None)
    )
    assert type(agent_cfg).__name__ == "UnitreeA1FlatPPORunnerCfg"
    overrides = ["presets=newton_mjwarp", "env.scene.num_envs=3", "agent.seed=7", "env.episode_length_s=4.0"]
    env_cfg, agent_cfg = resolve_task_config(a1.A1_KITLESS_TASK_ID, "skrl_cfg_entry_point", overrides=overrides)
    assert (env_cfg.scene.num_envs, env_cfg.episode_length_s, agent_cfg["seed"]) == (3, 4.0, 7)
    assert type(env_cfg.sim.physics).__name__ == "NewtonCfg"
    env_cfg, agent_cfg = resolve_task_config(
        a1.A1_KITLESS_TASK_ID, "sb3_cfg_entry_point", overrides=["physics=isaacsim_physx"]
    )
    assert type(env_cfg.sim.physics).__name__ == "PhysxCfg", "the task's other physics presets stay selectable"
    assert agent_cfg["n_steps"] == 24


# the task -------------------------------------------------------------------------------------------------------------
def test_task_builds_and_steps(a1_env, a1_usd):
    """Isaac Lab's own task (as the kit-less id), Newton physics, the local A1 and ground slab; random actions step."""
    base = a1_env.unwrapped
    assert a1_env.spec.id == a1.A1_KITLESS_TASK_ID
    assert base.cfg.scene.robot.spawn.usd_path == str(a1_usd)
    assert base.cfg.scene.terrain.terrain_type == "usd"
    assert "newton" in type(base.cfg.sim.physics).__module__
    assert base.scene.stage.GetPrimAtPath("/World/ground/terrain").IsValid()
    obs, _ = a1_env.reset()
    assert obs["policy"].shape == (NUM_ENVS, 48)
    assert a1_env.action_space.shape == (NUM_ENVS, 12)
    for _ in range(10):
        actions = 2.0 * torch.rand(a1_env.action_space.shape) - 1.0
        obs, reward, _, _, extras = a1_env.step(actions)
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()
    assert "Episode_Termination/base_contact" in extras["log"]


def test_body_and_joint_names_are_isaac_labs(a1_env):
    """The articulation has Isaac Lab's A1 bodies and joints, and the task's own name patterns resolve."""
    base = a1_env.unwrapped
    robot = base.scene["robot"]
    assert sorted(robot.body_names) == sorted(a1.A1_BODY_NAMES)
    assert sorted(robot.joint_names) == sorted(a1.A1_JOINT_NAMES)
    sensor = base.scene["contact_forces"]
    assert sorted(sensor.sensor_names) == sorted(a1.A1_BODY_NAMES)
    # the task's terms, as Isaac Lab configured them, found their bodies
    feet_cfg = base.reward_manager.get_term_cfg("feet_air_time").params["sensor_cfg"]
    assert sorted(sensor.sensor_names[i] for i in feet_cfg.body_ids) == sorted(FEET)
    base_cfg = base.termination_manager.get_term_cfg("base_contact").params["sensor_cfg"]
    assert [sensor.sensor_names[i] for i in base_cfg.body_ids] == ["trunk"]


def test_base_height_after_settling(settled):
    """Standing on its default joint targets, the base rests at the A1's height, upright."""
    height = settled["height"]
    # ~0.31 m with the joints exactly at their defaults; the DC motors' 25 N·m/rad lets the knees give ~0.15 rad
    # under the robot's weight (the task randomizes the trunk mass by ±25 %): 0.25-0.28 m measured
    assert ((height > 0.22) & (height < 0.35)).all(), height
    assert (settled["gravity_b"][:, 2] < -0.95).all(), settled["gravity_b"]


def test_contact_sensor_sees_the_feet(settled):
    """At rest the four feet, and only they, touch the ground and carry the robot's weight."""
    forces, names = settled["forces"], settled["sensor_bodies"]
    feet = [names.index(f) for f in FEET]
    others = [i for i in range(len(names)) if i not in feet]
    assert (forces[:, feet] > 1.0).all(), forces
    assert (forces[:, others] < 1e-3).all(), forces
    weight = settled["mass"] * settled["gravity"]
    assert torch.allclose(forces[:, feet].sum(dim=1), weight, rtol=0.15), (forces[:, feet].sum(dim=1), weight)


def test_base_contact_terminates(a1_env, settled):
    """The task's ``base_contact`` termination fires when the trunk hits the ground (env 0 dropped upside down)."""
    base = a1_env.unwrapped
    robot = base.scene["robot"]
    env_ids = torch.tensor([0])
    pose = robot.data.root_pose_w.torch[:1].clone()
    pose[0, 2] = 0.25
    pose[0, 3:] = torch.tensor([math.sin(math.pi / 2), 0.0, 0.0, math.cos(math.pi / 2)])  # xyzw: half turn about x
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=env_ids)
    robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(1, 6), env_ids=env_ids)
    zero = torch.zeros(a1_env.action_space.shape)
    for _ in range(25):
        _, _, terminated, truncated, extras = a1_env.step(zero)
        if terminated[0]:
            break
    assert terminated[0] and not truncated[0]
    assert extras["log"]["Episode_Termination/base_contact"] > 0


# recordings -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_task_recording_matches_the_simulator(a1_env, a1_usd, tmp_path, layout):
    """One snippet of the task with 0.4 s episodes (every env times out twice inside it), envs 0 and 2 logged, trails
    of the base and the feet (as in the docs' pictures): (a) every link's world pose at every frame, terminal and reset
    frames included; (b) every visual of the converted USD with its geometry and the trunk's texture; (c) the contact
    arrows; (d) the velocity-command arrows; the trails, and the return of the whole episode inside the snippet."""
    base = a1_env.unwrapped
    saved = base.cfg.episode_length_s
    base.cfg.episode_length_s = 0.4  # 20 steps
    try:
        trails = {"trails": ["trunk", ".*_foot"]}
        ents, snip, truth = record(a1_env, tmp_path, 45, 44, layout, scene_log_cfg=trails)
    finally:
        base.cfg.episode_length_s = saved
    ends = [s for s, h in enumerate(truth.history[:42]) if h["done"][LOGGED].all()]
    assert ends == [19, 39], "the logged envs time out twice inside the snippet"
    assert {("reset", s) for s in ends} <= set(snip.frames), "terminal frames, each with the reset frame after it"
    robot, sensor = base.scene["robot"], base.scene["contact_forces"]
    layout_usd = usd_layout(a1_usd)
    assert check_poses(ents, snip, truth, layout, robot, layout_usd) == 44  # 42 steps + 2 reset frames
    assert check_visuals(ents, layout, layout_usd, snip, truth, robot) == {"mesh", "sphere"}
    # the A1 drops from 0.42 m at each reset, then stands and steps: feet in contact on most frames
    assert check_contacts(ents, snip, truth, layout, robot, sensor) > len(snip.frames) * len(LOGGED)
    check_command_markers(ents, snip, truth, base)

    # trails: a segment per frame (per env: none at the snippet's start and where the env was reset)
    for body in ("trunk", *FEET):
        if layout == "per_env":
            for e in LOGGED:
                assert ents[f"/World/trails/envs/env_{e}/Robot/{body}"].n == len(snip.frames) - 1 - len(ends)
        else:
            assert ents[f"/World/trails/envs/instances/Robot/{body}"].n == len(snip.frames)
    # the second episode (steps 20-39) is whole inside the snippet: its return is plotted at its terminal frame
    terminal = snip.frames.index(("step", 39))
    want = {e: sum(truth.history[s]["reward"][e] for s in range(20, 40)) for e in LOGGED}
    if layout == "per_env":
        for e in LOGGED:
            ret = ents[f"/scalars/env_{e}/episode_return"]
            assert ret.columns["frame"] == [terminal]
            np.testing.assert_allclose(ret.columns["Scalars:scalars"][0], [want[e]], rtol=1e-5)
    else:
        ret = ents["/scalars/episode_return"]
        assert ret.columns["frame"] == [terminal]
        np.testing.assert_allclose(ret.columns["Scalars:scalars"][0], [want[e] for e in LOGGED], rtol=1e-5)


# training -------------------------------------------------------------------------------------------------------------
class StepTruth:
    """Between the Isaac Lab env and a framework's wrapper: what the simulator did at each ``env.step()``."""

    def __init__(self, env: Any):
        import gymnasium as gym

        outer = self

        class Spy(gym.Wrapper):
            def reset(self, **kwargs):
                out = self.env.reset(**kwargs)
                outer.truth.after_reset()
                return out

            def step(self, action):
                out = self.env.step(action)
                outer.truth.after_step(out[2], out[3])
                return out

        self.truth = Truth(env.unwrapped)
        self.env = Spy(env)

    def remove(self) -> None:
        self.truth.remove()


def check_training_snippet(folder: Path, truth: Truth, start: int, length: int, prefix: str) -> Snip:
    """The snippet a step trigger at ``start`` recorded while a framework trained: every frame's body poses (per-env
    layout, envs 0 and 2) against the simulator."""
    tracked = [bool(h["done"][LOGGED[0]]) for h in truth.history]
    (snip,) = [s for s in expected_snippets(tracked, None, lambda s: s == start, length, prefix) if s.frames]
    ents = read_rrd(folder / f"{snip.name}.rrd")
    names = list(truth.base.scene["robot"].body_names)
    want = np.stack([truth.at(ev)["pose"] for ev in snip.frames])
    for e in LOGGED:
        for b, name in enumerate(names):
            ent = ents[f"/World/envs/env_{e}/Robot/{name}"]
            pos = np.array([r[0] for r in rows(ent, "Transform3D:translation", len(snip.frames))])
            np.testing.assert_allclose(pos, want[:, e, b, :3], atol=POS_TOL, err_msg=f"{snip.name} env {e} {name}")
            steps = ent.timeline("env_step", ent.sorted_by("frame"))
            assert list(steps) == [max(s, 0) for _, s in snip.frames]
    return snip


TRAIN_START, TRAIN_FRAMES = 10, 30
TRAIN_LOGGED: dict[str, Any] = {
    "logged_envs": LOGGED,
    "step_trigger": lambda s: s == TRAIN_START,
    "recording_length": TRAIN_FRAMES,
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_demo_snippets_store_each_visual_once(a1_env, tmp_path, layout):
    """What ``scripts/demo.sh`` records (2 logged envs, 100-frame snippets, trails of the trunk and the feet, the
    contact and command arrows): at most 2 MB a snippet in either layout (8.1 MB in 0.2.0, where each env had its
    own copy of every mesh and the trunk's texture was raw RGBA); each distinct mesh stored once, as a GLB."""
    ents, snip, _ = record(a1_env, tmp_path, 100, 100, layout, scene_log_cfg={"trails": ["trunk", ".*_foot"]})
    assert len(snip.frames) == 100
    size = (tmp_path / f"{snip.name}.rrd").stat().st_size
    assert size <= 2_000_000, f"{layout}: {size / 1e6:.2f} MB"
    blobs = [_blob(e) for e in ents.values() if "Asset3D:blob" in e.static]
    assert len(blobs) == len(set(blobs)) == 5, "trunk, hip, thigh, mirrored thigh, calf: each once"
    assert sum(len(b) for b in blobs) < 1_500_000


def test_rsl_rl_trains_with_the_task_agent_config(a1_env, tmp_path):
    """rsl_rl PPO with the registered task's own agent config (``rsl_rl_cfg_entry_point``), 2 iterations, through
    ``RslRlVecEnvWrapper`` and ``RerunRunnerMixin``."""
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, check_rsl_rl_version, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry
    from rsl_rl.runners import OnPolicyRunner

    from isaac_rerun.integrations.rsl_rl import RerunRunnerMixin

    class Runner(RerunRunnerMixin, OnPolicyRunner):
        pass

    agent_cfg: Any = load_cfg_from_registry(a1.A1_KITLESS_TASK_ID, "rsl_rl_cfg_entry_point")
    agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
    agent_cfg.device = "cpu"
    train_cfg = agent_cfg.to_dict()
    train_cfg["rerun"] = {"save_dir": str(tmp_path / "rerun"), **TRAIN_LOGGED}
    a1_env.reset()
    spy = StepTruth(a1_env)
    try:
        venv = RslRlVecEnvWrapper(spy.env, clip_actions=agent_cfg.clip_actions)
        runner = Runner(venv, train_cfg, log_dir=None, device="cpu")
        runner.learn(num_learning_iterations=2)
    finally:
        spy.remove()
    assert len(spy.truth.history) == 2 * agent_cfg.num_steps_per_env
    check_training_snippet(tmp_path / "rerun", spy.truth, TRAIN_START, TRAIN_FRAMES, "rl-rerun")


def test_sb3_trains_with_the_task_agent_config(a1_env, tmp_path):
    """SB3 PPO with the registered task's own agent config (``sb3_cfg_entry_point``, processed as Isaac Lab's train
    script does), 2 rollouts, through ``Sb3VecEnvWrapper`` + ``VecNormalize`` and ``RerunCallback``."""
    from isaaclab_rl.sb3 import Sb3VecEnvWrapper, process_sb3_cfg
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from isaac_rerun.integrations.sb3 import RerunCallback

    agent_cfg: Any = process_sb3_cfg(load_cfg_from_registry(a1.A1_KITLESS_TASK_ID, "sb3_cfg_entry_point"), NUM_ENVS)
    policy = agent_cfg.pop("policy")
    agent_cfg.pop("n_timesteps")
    norm = {key: agent_cfg.pop(key) for key in ("normalize_input", "normalize_value", "clip_obs")}
    spy = StepTruth(a1_env)
    try:
        venv = VecNormalize(
            Sb3VecEnvWrapper(spy.env),
            training=True,
            norm_obs=norm["normalize_input"],
            norm_reward=norm["normalize_value"],
            clip_obs=norm["clip_obs"],
            gamma=agent_cfg["gamma"],
            clip_reward=np.inf,
        )
        model = PPO(policy, venv, verbose=0, device="cpu", **agent_cfg)
        with RerunCallback(save_dir=tmp_path / "rerun", name_prefix="sb3", **TRAIN_LOGGED) as callback:
            model.learn(2 * agent_cfg["n_steps"] * NUM_ENVS, callback=callback)
    finally:
        spy.remove()
    assert len(spy.truth.history) == 2 * agent_cfg["n_steps"]
    check_training_snippet(tmp_path / "rerun", spy.truth, TRAIN_START, TRAIN_FRAMES, "sb3")


def test_skrl_trains_with_the_task_agent_config(a1_env, tmp_path, monkeypatch):
    """skrl PPO built by skrl's ``Runner`` from the registered task's own agent config (``skrl_cfg_entry_point``),
    2 rollouts, through ``SkrlVecEnvWrapper``, recorded with ``attach_rerun`` on the runner's trainer."""
    from isaaclab_rl.skrl import SkrlVecEnvWrapper
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry
    from skrl.utils.runner.torch import Runner

    from isaac_rerun.integrations.skrl import attach_rerun

    monkeypatch.chdir(tmp_path)
    agent_cfg: Any = load_cfg_from_registry(a1.A1_KITLESS_TASK_ID, "skrl_cfg_entry_point")
    rollouts = agent_cfg["agent"]["rollouts"]
    agent_cfg["trainer"].update(
        timesteps=2 * rollouts, headless=True, disable_progressbar=True, close_environment_at_exit=False
    )
    agent_cfg["agent"]["experiment"].update(directory=str(tmp_path / "runs"), checkpoint_interval=0)
    spy = StepTruth(a1_env)
    try:
        runner = Runner(SkrlVecEnvWrapper(spy.env, ml_framework="torch"), agent_cfg)
        with attach_rerun(runner.trainer, save_dir=tmp_path / "rerun", name_prefix="skrl", **TRAIN_LOGGED):
            runner.run("train")
    finally:
        spy.remove()
    assert len(spy.truth.history) == 2 * rollouts
    check_training_snippet(tmp_path / "rerun", spy.truth, TRAIN_START, TRAIN_FRAMES, "skrl")


# nested links ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
def test_nested_recording_matches_the_simulator(nested_env, a1_nested_usd, tmp_path, layout):
    """The nested-links A1 (a plain ``ArticulationCfg`` in a small scene), 0.6 s episodes, envs 0 and 2: (a) every
    link's world pose at every frame, terminal frames included (per env: each link logged relative to its parent
    link's entity, the chain composed here; instanced: each mesh's instance i is the world pose in env i); (b) every
    visual with its geometry and the trunk's texture."""
    base = nested_env.unwrapped
    robot = base.scene["robot"]
    layout_usd = usd_layout(a1_nested_usd)
    stage_rel = {
        name: str(base.scene.stage.GetPrimAtPath(f"/World/envs/env_0/Robot/{body['rel']}").GetPath())
        for name, body in layout_usd.items()
    }
    assert all(path.startswith("/World/envs/env_0/Robot/Geometry/trunk") for path in stage_rel.values())
    saved = base.cfg.episode_length_s
    base.cfg.episode_length_s = 0.6  # 30 steps
    try:
        ents, snip, truth = record(nested_env, tmp_path, 45, 40, layout)
    finally:
        base.cfg.episode_length_s = saved
    ends = [s for s, h in enumerate(truth.history[:40]) if h["done"][LOGGED].all()]
    assert ends and ("reset", ends[0]) in snip.frames, "a terminal and a reset frame inside the snippet"
    assert check_poses(ents, snip, truth, layout, robot, layout_usd) == 40
    assert check_visuals(ents, layout, layout_usd, snip, truth, robot) == {"mesh", "sphere"}
    if layout == "per_env":
        # really nested: a calf's own transform is its pose in its thigh's frame, not in the world
        calf = ents[f"/World/envs/env_2/Robot/{layout_usd['FL_calf']['rel']}"]
        local = np.array([r[0] for r in rows(calf, "Transform3D:translation", len(snip.frames))])
        assert np.linalg.norm(local, axis=1).max() < 0.3
        world = np.stack([truth.at(ev)["pose"][2, list(robot.body_names).index("FL_calf"), :3] for ev in snip.frames])
        assert np.linalg.norm(world, axis=1).min() > 1.0, "env 2 is away from the origin"


# Isaac Lab's CLI ------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_isaaclab_train_cli_trains_the_kitless_task(one_env, a1_usd, tmp_path, monkeypatch):
    """``isaaclab train --rl_library rsl_rl --task IsaacRerun-Velocity-Flat-UnitreeA1 ...`` in-process (Isaac Lab 3.0's
    unified entrypoint; the task id registered by importing ``isaac_rerun.testbed``): one iteration, 4 envs."""
    from isaaclab_rl.entrypoints.dispatch import run_cli

    one_env.close()
    one_env.pool.close()
    monkeypatch.chdir(tmp_path)
    argv = ["--rl_library", "rsl_rl", "--task", a1.A1_KITLESS_TASK_ID, "--device", "cpu", "--num_envs", "4"]
    assert run_cli("train", [*argv, "--max_iterations", "1", "agent.device=cpu"]) == 0
    (run,) = (tmp_path / "logs" / "rsl_rl" / "unitree_a1_flat").iterdir()
    assert (run / "model_0.pt").is_file()
    assert f'"task": "{a1.A1_KITLESS_TASK_ID}"' in (run / "run.json").read_text()
    env_yaml = (run / "params" / "env.yaml").read_text()
    assert f"usd_path: {a1_usd}" in env_yaml and "num_envs: 4" in env_yaml


# why it happened: Isaac Lab's managers of the A1 task ----------------------------------------------------------------
def _flip(robot: Any, env: int) -> None:
    """Put ``env``'s A1 upside down just above the ground (its trunk hits it: ``base_contact``)."""
    env_ids = torch.tensor([env])
    pose = robot.data.root_pose_w.torch[env : env + 1].clone()
    pose[0, 2] = 0.25
    pose[0, 3:] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # xyzw: a half turn about x
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=env_ids)
    robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(1, 6), env_ids=env_ids)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_task_signals_equal_the_managers(a1_env, tmp_path, layout):
    """On Isaac Lab's own A1 task: every reward term's contribution (weighted value x step_dt) at every frame of every
    logged env, the velocity command, the joints and actions named by the A1's joints, and each whole episode's
    termination reason (env 0 is flipped twice: two ``base_contact`` ends) equal the managers' own buffers."""
    from tests.test_signals import Truth, _expected_state, env_series

    from isaac_rerun import LogRerun

    base = a1_env.unwrapped
    robot = base.scene["robot"]
    envs = [0, 1] if layout == "per_env" else "all"
    w = LogRerun(a1_env, logged_envs=envs, save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=1000,
                 scene_log_cfg={"layout": layout})  # fmt: skip
    truth = Truth(base, w._rec.logged_envs)
    w.reset()
    truth.pre = None
    _flip(robot, 0)
    gen = torch.Generator().manual_seed(3)
    steps, flips = 0, 1
    while flips < 3 and steps < 80:
        w.step(0.3 * torch.randn(a1_env.action_space.shape, generator=gen))
        truth.after_step(steps)
        steps += 1
        if any(s == steps - 1 and e == 0 for s, e, _ in truth.ended):
            flips += 1
            if flips < 3:
                _flip(robot, 0)
    w.session.close()
    rec = read_rrd(next(tmp_path.glob("*-step-0.rrd")))
    logged = truth.envs
    terms = [
        n for n, c in zip(base.reward_manager.active_terms, base.reward_manager._term_cfgs, strict=True) if c.weight
    ]
    joints = list(robot.joint_names)
    ends0 = [(s, why) for s, e, why in truth.ended if e == 0]
    assert [why for _, why in ends0][:2] == ["base_contact", "base_contact"], truth.ended

    def entity(j: int, path: str) -> tuple[np.ndarray, np.ndarray]:
        return env_series(rec, layout, logged, j, path)

    all_terms = list(base.reward_manager.active_terms)
    for j in range(len(logged)):
        total = np.zeros(steps)
        for term in terms:
            at, values = entity(j, f"reward/{term}")
            assert at.tolist() == list(range(steps)), term
            want = [truth.frames[s][0]["reward_terms"][j][all_terms.index(term)] for s in range(steps)]
            np.testing.assert_allclose(values[:, 0], want, rtol=1e-5, atol=1e-6, err_msg=term)
            total += values[:, 0]
        np.testing.assert_allclose(entity(j, "reward")[1][:, 0], total, rtol=1e-4, atol=1e-5)
        for key, path in (("command", "command/base_velocity"), ("joint_pos", "joint_pos"), ("joint_vel", "joint_vel")):
            at, values = entity(j, path)
            np.testing.assert_allclose(values, _expected_state(truth, key, j, at), rtol=1e-5, atol=1e-5, err_msg=path)
    names = rec["/scalars/env_0/action" if layout == "per_env" else "/scalars/action"].static["SeriesLines:names"]
    action_joints = list(base.action_manager.get_term("joint_pos")._joint_names)
    assert sorted(action_joints) == sorted(joints) and len(action_joints) == 12
    want_names = [f"env {e} {n}" for e in (logged[:1] if layout == "per_env" else logged) for n in action_joints]
    assert names == want_names
    props = rec["/__properties/rl-rerun-step-0"].static
    whole = [(e, r) for e, r in zip(props["episode_envs"], props["episode_reasons"], strict=True) if e == 0]
    assert whole == [(0, "base_contact")]  # the second end: its episode started inside the snippet
