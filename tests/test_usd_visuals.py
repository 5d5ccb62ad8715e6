"""Tests for isaac_rerun.usd_visuals: USD stage → static Rerun visuals (real pxr stages, real .rrd files)."""

from __future__ import annotations

import io
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pxr = pytest.importorskip("pxr")

import rerun as rr  # noqa: E402
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdPhysics, UsdShade, Vt  # noqa: E402

from glb_readback import read_glb, srgb_to_linear  # noqa: E402
from isaac_rerun.usd_visuals import (  # noqa: E402
    PrimVisual,
    collect_global_visuals,
    collect_visuals,
    log_visuals,
)

BODY = "/World/envs/env_0/Robot/base"


@pytest.fixture(autouse=True)
def _strict_rerun():
    """Archetype construction errors raise instead of being logged as warnings."""
    from rerun.error_utils import strict_mode

    previous = strict_mode()
    rr.set_strict_mode(True)
    yield
    rr.set_strict_mode(previous)


# ---------------------------------------------------------------------------------------------------------------------
# helpers (independent of the module's own maths: they go through Gf)
# ---------------------------------------------------------------------------------------------------------------------


def _np_col(m: Gf.Matrix4d) -> np.ndarray:
    """Gf (row-vector) matrix → numpy column-vector convention."""
    return np.array(m, dtype=np.float64).reshape(4, 4).T


def _world(prim: Usd.Prim) -> np.ndarray:
    return _np_col(UsdGeom.XformCache().GetLocalToWorldTransform(prim))


def _rigid_world(prim: Usd.Prim) -> np.ndarray:
    xf = Gf.Transform(UsdGeom.XformCache().GetLocalToWorldTransform(prim))
    out = np.eye(4)
    out[:3, :3] = np.array(Gf.Matrix3d(xf.GetRotation()), dtype=np.float64).reshape(3, 3).T
    out[:3, 3] = np.array(xf.GetTranslation())
    return out


def _trs(v: PrimVisual) -> np.ndarray:
    x, y, z, w = (float(c) for c in v.quaternion_xyzw)
    out = np.eye(4)
    rot = np.array(Gf.Matrix3d(Gf.Rotation(Gf.Quatd(w, x, y, z))), dtype=np.float64).reshape(3, 3).T
    out[:3, :3] = rot * v.scale.astype(np.float64)[None, :]
    out[:3, 3] = v.translation
    return out


def _composed(visuals: list[PrimVisual], v: PrimVisual, root_frame: np.ndarray) -> np.ndarray:
    """What Rerun shows: root frame · (logged ancestors' transforms) · the visual's transform."""
    by_rel = {x.rel_path: x for x in visuals}
    chain = [v]
    while chain[-1].parent_rel_path:
        chain.append(by_rel[chain[-1].parent_rel_path])
    out = root_frame
    for item in reversed(chain):
        out = out @ _trs(item)
    return out


def _batch(archetype: Any, name: str) -> np.ndarray:
    """A component of an archetype as numpy (fixed-size lists flattened to rows)."""
    arr = getattr(archetype, name).as_arrow_array()
    import pyarrow as pa

    if pa.types.is_fixed_size_list(arr.type):
        return arr.flatten().to_numpy(zero_copy_only=False).reshape(len(arr), arr.type.list_size)
    return arr.to_numpy(zero_copy_only=False)


def _rgba(archetype: Any, name: str) -> np.ndarray:
    packed = _batch(archetype, name).astype(np.uint32).reshape(-1)
    return np.stack([(packed >> s) & 0xFF for s in (24, 16, 8, 0)], axis=1).astype(np.uint8)


def _srgb(c: float) -> int:
    c = min(max(c, 0.0), 1.0)
    s = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
    return round(s * 255)


def _xform(prim_schema: Any, t=(0, 0, 0), rxyz=(0, 0, 0), s=(1, 1, 1)) -> Any:
    x = UsdGeom.Xformable(prim_schema)
    x.AddTranslateOp().Set(Gf.Vec3d(*t))
    x.AddRotateXYZOp().Set(Gf.Vec3f(*rxyz))
    x.AddScaleOp().Set(Gf.Vec3f(*s))
    return prim_schema


def _preview_material(stage: Usd.Stage, path: str, diffuse=(0.2, 0.4, 0.6), opacity: float | None = None):
    material = UsdShade.Material.Define(stage, path)
    shader = UsdShade.Shader.Define(stage, f"{path}/Shader")
    shader.CreateIdAttr("UsdPreviewSurface")
    material.CreateSurfaceOutput().ConnectToSource(shader.CreateOutput("surface", Sdf.ValueTypeNames.Token))
    if diffuse is not None:
        shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*diffuse))
    if opacity is not None:
        shader.CreateInput("opacity", Sdf.ValueTypeNames.Float).Set(opacity)
    return material, shader


def _bind(prim_schema: Any, material: UsdShade.Material) -> None:
    prim = prim_schema.GetPrim() if hasattr(prim_schema, "GetPrim") else prim_schema
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(material)


def _by_rel(visuals: list[PrimVisual]) -> dict[str, PrimVisual]:
    return {v.rel_path: v for v in visuals}


# ---------------------------------------------------------------------------------------------------------------------
# the scene
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def scene() -> Usd.Stage:
    """A body with every gprim kind, a nested visual hierarchy, skipped prims and a nested rigid body."""
    s = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(s, "/World")
    UsdGeom.Xform.Define(s, "/World/envs")
    _xform(UsdGeom.Xform.Define(s, "/World/envs/env_0"), t=(4, 0, 0))
    _xform(UsdGeom.Xform.Define(s, "/World/envs/env_0/Robot"), t=(0, 1, 0), rxyz=(0, 0, 90))
    # the rigid body: rotated and (uniformly) scaled — the rigid frame drops the scale
    body = _xform(UsdGeom.Xform.Define(s, BODY), t=(1, 2, 3), rxyz=(10, 20, 30), s=(2, 2, 2))
    UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())

    # Isaac Lab layout: <asset>/geometry/mesh, a Cube with a non-uniform scale and a bound preview material
    _xform(UsdGeom.Xform.Define(s, f"{BODY}/geometry"), t=(0.1, 0, 0), rxyz=(0, 0, 45))
    cube = _xform(UsdGeom.Cube.Define(s, f"{BODY}/geometry/mesh"), t=(0.1, 0.2, 0.3), rxyz=(30, 0, 15), s=(2, 1, 0.5))
    cube.GetSizeAttr().Set(0.5)
    material, _ = _preview_material(s, f"{BODY}/geometry/material", diffuse=(1.0, 0.5, 0.0), opacity=0.5)
    _bind(cube, material)
    # a visual nested below a visual (its parent has a non-uniform scale and it is rotated: only exact by composing)
    flag = _xform(UsdGeom.Sphere.Define(s, f"{BODY}/geometry/mesh/flag"), t=(0, 0, 1), rxyz=(0, 90, 10), s=(1, 3, 1))
    flag.GetRadiusAttr().Set(0.1)
    flag.CreateDisplayColorPrimvar().Set([Gf.Vec3f(0.0, 1.0, 0.0)])

    for i, ax in enumerate("XYZ"):
        cap = _xform(UsdGeom.Capsule.Define(s, f"{BODY}/visuals/cap_{ax}"), t=(i, 0, 0), rxyz=(0, 0, 20 * i))
        cap.GetAxisAttr().Set(ax)
        cap.GetRadiusAttr().Set(0.1)
        cap.GetHeightAttr().Set(0.4)
        cyl = _xform(UsdGeom.Cylinder.Define(s, f"{BODY}/visuals/cyl_{ax}"), t=(i, 1, 0))
        cyl.GetAxisAttr().Set(ax)
        cyl.GetRadiusAttr().Set(0.2)
        cyl.GetHeightAttr().Set(0.6)
        cone = _xform(UsdGeom.Cone.Define(s, f"{BODY}/visuals/cone_{ax}"), t=(i, 2, 0))
        cone.GetAxisAttr().Set(ax)
        cone.GetRadiusAttr().Set(0.3)
        cone.GetHeightAttr().Set(0.8)
        plane = _xform(UsdGeom.Plane.Define(s, f"{BODY}/visuals/plane_{ax}"), t=(i, 3, 0))
        plane.GetAxisAttr().Set(ax)
        plane.GetWidthAttr().Set(0.5)
        plane.GetLengthAttr().Set(1.5)
    sphere = UsdGeom.Sphere.Define(s, f"{BODY}/visuals/ball")
    sphere.GetRadiusAttr().Set(0.25)
    sphere.CreateDisplayColorPrimvar().Set([Gf.Vec3f(0.0, 0.0, 1.0)])
    sphere.CreateDisplayOpacityPrimvar().Set([0.25])

    # skipped: guide purpose, invisible subtree, inactive prim, a nested rigid body (stop_at)
    UsdGeom.Xform.Define(s, f"{BODY}/collisions").CreatePurposeAttr(UsdGeom.Tokens.guide)  # inherited
    guide = UsdGeom.Cube.Define(s, f"{BODY}/collisions/box")
    guide.CreateDisplayColorPrimvar().Set([Gf.Vec3f(1, 1, 1)])
    hidden = UsdGeom.Xform.Define(s, f"{BODY}/hidden")
    hidden.MakeInvisible()
    UsdGeom.Sphere.Define(s, f"{BODY}/hidden/ball")
    UsdGeom.Cube.Define(s, f"{BODY}/inactive").GetPrim().SetActive(False)
    proxy = UsdGeom.Cube.Define(s, f"{BODY}/proxy_box")
    proxy.CreatePurposeAttr(UsdGeom.Tokens.proxy)
    child_body = _xform(UsdGeom.Xform.Define(s, f"{BODY}/child_link"), t=(0, 0, 2))
    UsdPhysics.RigidBodyAPI.Apply(child_body.GetPrim())
    UsdGeom.Cube.Define(s, f"{BODY}/child_link/box")
    return s


def _is_body(prim: Usd.Prim) -> bool:
    return prim.HasAPI(UsdPhysics.RigidBodyAPI)


# ---------------------------------------------------------------------------------------------------------------------
# traversal & transforms
# ---------------------------------------------------------------------------------------------------------------------


def test_traversal_skips_and_kinds(scene: Usd.Stage) -> None:
    visuals = collect_visuals(scene.GetPrimAtPath(BODY), stop_at=_is_body)
    rels = {v.rel_path: v.kind for v in visuals}
    expected = {"geometry/mesh": "Cube", "geometry/mesh/flag": "Sphere", "visuals/ball": "Sphere"}
    for ax in "XYZ":
        expected |= {
            f"visuals/cap_{ax}": "Capsule",
            f"visuals/cyl_{ax}": "Cylinder",
            f"visuals/cone_{ax}": "Cone",
            f"visuals/plane_{ax}": "Plane",
        }
    assert rels == expected  # no guide / proxy / invisible / inactive / nested body
    by = _by_rel(visuals)
    assert by["geometry/mesh/flag"].parent_rel_path == "geometry/mesh"
    assert by["geometry/mesh"].parent_rel_path == ""
    assert by["geometry/mesh"].prim_path == f"{BODY}/geometry/mesh"
    # without stop_at the nested body's geometry is collected too
    all_rels = {v.rel_path for v in collect_visuals(scene.GetPrimAtPath(BODY))}
    assert "child_link/box" in all_rels
    # and the nested body collects its own
    child = collect_visuals(scene.GetPrimAtPath(f"{BODY}/child_link"), stop_at=_is_body)
    assert [v.rel_path for v in child] == ["box"]


def test_transforms_compose_back_to_usd_world(scene: Usd.Stage) -> None:
    body = scene.GetPrimAtPath(BODY)
    visuals = collect_visuals(body, stop_at=_is_body)
    root_frame = _rigid_world(body)
    assert np.allclose(root_frame[:3, :3] @ root_frame[:3, :3].T, np.eye(3), atol=1e-9)  # rigid: no scale
    for v in visuals:
        assert v.translation.dtype == np.float32 and v.translation.shape == (3,)
        assert v.quaternion_xyzw.dtype == np.float32 and v.quaternion_xyzw.shape == (4,)
        assert v.scale.dtype == np.float32 and v.scale.shape == (3,)
        assert abs(np.linalg.norm(v.quaternion_xyzw) - 1.0) < 1e-6
        expected = _world(scene.GetPrimAtPath(v.prim_path))
        np.testing.assert_allclose(_composed(visuals, v, root_frame), expected, atol=1e-5, err_msg=v.rel_path)


def test_cube_relative_transform_values(scene: Usd.Stage) -> None:
    """The cube's transform is body-relative with the body's scale folded in (scale 2 · cube scale)."""
    visuals = _by_rel(collect_visuals(scene.GetPrimAtPath(BODY)))
    cube = visuals["geometry/mesh"]
    np.testing.assert_allclose(cube.scale, [4.0, 2.0, 1.0], atol=1e-5)
    flag = visuals["geometry/mesh/flag"]  # relative to the cube's full matrix: its local TRS
    np.testing.assert_allclose(flag.scale, [1.0, 3.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(flag.translation, [0.0, 0.0, 1.0], atol=1e-6)


def test_non_uniform_body_scale_and_mirror() -> None:
    s = Usd.Stage.CreateInMemory()
    body = _xform(UsdGeom.Xform.Define(s, "/body"), t=(1, -2, 0.5), rxyz=(0, 0, 60), s=(1.5, 0.5, 2.0))
    box = _xform(UsdGeom.Cube.Define(s, "/body/box"), t=(0.3, 0.1, -0.2), rxyz=(0, 0, 90), s=(1, 2, 3))
    # (a non-uniform body scale composed with a non-axis-aligned child rotation would be a shear, which no
    # translation/rotation/scale can express; 90° steps keep it exact)
    mirrored = _xform(UsdGeom.Sphere.Define(s, "/body/mirrored"), t=(0, 1, 0), rxyz=(0, 0, 90), s=(-1, 2, 1))
    visuals = collect_visuals(body.GetPrim())
    by = _by_rel(visuals)
    assert set(by) == {"box", "mirrored"}
    root_frame = _rigid_world(body.GetPrim())
    for v, prim in ((by["box"], box), (by["mirrored"], mirrored)):
        np.testing.assert_allclose(_composed(visuals, v, root_frame), _world(prim.GetPrim()), atol=1e-5)
    # the mirror shows up as exactly one negative scale component and a proper rotation
    assert np.sum(by["mirrored"].scale < 0) == 1
    np.testing.assert_allclose(np.abs(by["mirrored"].scale), [0.5 * 1, 1.5 * 2, 2.0 * 1], atol=1e-5)
    np.testing.assert_allclose(np.abs(by["box"].scale), [0.5 * 1, 1.5 * 2, 2.0 * 3], atol=1e-5)


def test_root_gprim_and_instance_proxies() -> None:
    s = Usd.Stage.CreateInMemory()
    root = _xform(UsdGeom.Cube.Define(s, "/World/envs/env_0/Box"), t=(0, 0, 1), s=(1, 1, 3))
    root.CreateDisplayColorPrimvar().Set([Gf.Vec3f(1, 0, 0)])
    # an instanceable wheel below the (gprim) root
    proto = UsdGeom.Xform.Define(s, "/Prototypes/Wheel")
    _xform(UsdGeom.Cylinder.Define(s, "/Prototypes/Wheel/tyre"), rxyz=(90, 0, 0))
    wheel = _xform(UsdGeom.Xform.Define(s, "/World/envs/env_0/Box/wheel"), t=(0.5, 0, 0))
    wheel.GetPrim().GetReferences().AddInternalReference(proto.GetPath())
    wheel.GetPrim().SetInstanceable(True)
    assert s.GetPrimAtPath("/World/envs/env_0/Box/wheel/tyre").IsInstanceProxy()

    visuals = collect_visuals(root.GetPrim())
    by = _by_rel(visuals)
    assert set(by) == {"Box", "wheel/tyre"}  # the root's own geometry gets its name, never the body entity itself
    assert by["Box"].kind == "Cube" and by["Box"].parent_rel_path == ""
    assert by["wheel/tyre"].parent_rel_path == ""  # the root's visual is a sibling entity, not a Rerun ancestor
    np.testing.assert_allclose(by["Box"].scale, [1, 1, 3], atol=1e-6)
    frame = _rigid_world(root.GetPrim())
    for v in visuals:
        expected = _world(s.GetPrimAtPath(v.prim_path))
        np.testing.assert_allclose(_composed(visuals, v, frame), expected, atol=1e-5)


def test_collect_global_visuals_skips_envs_lights_cameras() -> None:
    s = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(s, "/World")
    ground = _xform(UsdGeom.Cube.Define(s, "/World/ground/geometry/mesh"), t=(0, 0, -0.05), s=(20, 20, 0.1))
    UsdGeom.Cube.Define(s, "/World/envs/env_0/Cube/geometry/mesh")
    UsdLux.DistantLight.Define(s, "/World/Light")
    UsdLux.SphereLight.Define(s, "/World/Lamp")
    UsdGeom.Sphere.Define(s, "/World/Lamp/bulb")  # geometry under a light is not scene geometry
    UsdGeom.Camera.Define(s, "/World/Camera")
    UsdGeom.Cube.Define(s, "/World/guide").CreatePurposeAttr(UsdGeom.Tokens.guide)
    UsdGeom.Sphere.Define(s, "/World/Object/ball")
    UsdPhysics.RigidBodyAPI.Apply(s.GetPrimAtPath("/World/Object"))

    visuals = collect_global_visuals(s, stop_at=_is_body)
    assert [v.rel_path for v in visuals] == ["World/ground/geometry/mesh"]
    v = visuals[0]
    np.testing.assert_allclose(v.translation, [0, 0, -0.05], atol=1e-6)
    np.testing.assert_allclose(v.scale, [20, 20, 0.1], atol=1e-5)
    np.testing.assert_allclose(_composed(visuals, v, np.eye(4)), _world(ground.GetPrim()), atol=1e-5)
    assert v.entity_path("") == "/World/ground/geometry/mesh"
    # a different envs root
    rels = {v.rel_path for v in collect_global_visuals(s, envs_root="/World/ground")}
    assert "World/envs/env_0/Cube/geometry/mesh" in rels and "World/ground/geometry/mesh" not in rels


# ---------------------------------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------------------------------


def _z_onto(quat_xyzw: np.ndarray) -> np.ndarray:
    x, y, z, w = (float(c) for c in quat_xyzw)
    rot = np.array(Gf.Matrix3d(Gf.Rotation(Gf.Quatd(w, x, y, z))), dtype=np.float64).reshape(3, 3).T
    return rot @ np.array([0.0, 0.0, 1.0])


def test_primitive_archetypes(scene: Usd.Stage) -> None:
    by = _by_rel(collect_visuals(scene.GetPrimAtPath(BODY), stop_at=_is_body))
    cube = by["geometry/mesh"].archetype
    assert isinstance(cube, rr.Boxes3D)
    np.testing.assert_allclose(_batch(cube, "half_sizes"), [[0.25, 0.25, 0.25]])
    ball = by["visuals/ball"].archetype
    assert isinstance(ball, rr.Ellipsoids3D)
    np.testing.assert_allclose(_batch(ball, "half_sizes"), [[0.25, 0.25, 0.25]])

    axes = {"X": np.array([1.0, 0, 0]), "Y": np.array([0, 1.0, 0]), "Z": np.array([0, 0, 1.0])}
    for ax, axis_vec in axes.items():
        cap = by[f"visuals/cap_{ax}"].archetype
        assert isinstance(cap, rr.Capsules3D)
        np.testing.assert_allclose(_batch(cap, "lengths"), [0.4])
        np.testing.assert_allclose(_batch(cap, "radii"), [0.1])
        # Rerun's capsule runs from its translation along the rotated +Z: it must span -h/2..+h/2 along the USD axis
        start = _batch(cap, "translations")[0]
        end = start + 0.4 * _z_onto(_batch(cap, "quaternions")[0])
        np.testing.assert_allclose(start, -0.2 * axis_vec, atol=1e-6)
        np.testing.assert_allclose(end, 0.2 * axis_vec, atol=1e-6)

        cyl = by[f"visuals/cyl_{ax}"].archetype
        if hasattr(rr, "Cylinders3D"):
            assert isinstance(cyl, rr.Cylinders3D)
            np.testing.assert_allclose(_batch(cyl, "lengths"), [0.6])
            np.testing.assert_allclose(_batch(cyl, "radii"), [0.2])
            np.testing.assert_allclose(_batch(cyl, "centers"), [[0, 0, 0]], atol=1e-7)
            np.testing.assert_allclose(_z_onto(_batch(cyl, "quaternions")[0]), axis_vec, atol=1e-6)
        else:  # Rerun 0.23: a generated mesh
            assert isinstance(cyl, rr.Mesh3D)
            pos = _batch(cyl, "vertex_positions")
            np.testing.assert_allclose(pos @ axis_vec, np.clip(pos @ axis_vec, -0.3, 0.3))
            np.testing.assert_allclose(pos.max(axis=0) @ axis_vec, 0.3, atol=1e-6)

        cone = by[f"visuals/cone_{ax}"].archetype
        assert isinstance(cone, rr.Mesh3D)
        pos = _batch(cone, "vertex_positions")
        along = pos @ axis_vec
        radial = np.linalg.norm(pos - along[:, None] * axis_vec, axis=1)
        np.testing.assert_allclose([along.min(), along.max()], [-0.4, 0.4], atol=1e-6)
        assert radial[np.isclose(along, 0.4)].max() < 1e-6  # apex at +h/2
        np.testing.assert_allclose(radial[np.isclose(along, -0.4)].max(), 0.3, atol=1e-6)  # base radius at -h/2
        tris = _batch(cone, "triangle_indices")
        normals = _batch(cone, "vertex_normals")
        assert tris.max() < len(pos) and len(normals) == len(pos)
        # outward winding: every triangle's geometric normal points away from the axis or along the caps' normals
        p0, p1, p2 = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
        face_n = np.cross(p1 - p0, p2 - p0)
        centroid = (p0 + p1 + p2) / 3
        assert np.all(np.einsum("ij,ij->i", face_n, centroid) > -1e-9)

        plane = by[f"visuals/plane_{ax}"].archetype
        assert isinstance(plane, rr.Mesh3D)
        pos = _batch(plane, "vertex_positions")
        extent = UsdGeom.Boundable.ComputeExtentFromPlugins(
            UsdGeom.Plane(scene.GetPrimAtPath(f"{BODY}/visuals/plane_{ax}")), Usd.TimeCode.Default()
        )
        np.testing.assert_allclose(pos.min(axis=0), np.array(extent[0]), atol=1e-6)
        np.testing.assert_allclose(pos.max(axis=0), np.array(extent[1]), atol=1e-6)
        np.testing.assert_allclose(_batch(plane, "vertex_normals"), np.tile(axis_vec, (4, 1)), atol=1e-7)
        assert _batch(plane, "triangle_indices").shape == (2, 3)


# ---------------------------------------------------------------------------------------------------------------------
# colours & materials
# ---------------------------------------------------------------------------------------------------------------------


def test_colours(scene: Usd.Stage) -> None:
    by = _by_rel(collect_visuals(scene.GetPrimAtPath(BODY), stop_at=_is_body))
    # bound UsdPreviewSurface: diffuseColor (linear → sRGB) and opacity as alpha
    assert _rgba(by["geometry/mesh"].archetype, "colors").tolist() == [[255, _srgb(0.5), 0, 128]]
    # the flag has a displayColor, but it inherits the cube's material binding, and a bound material wins (as in a
    # USD renderer)
    assert _rgba(by["geometry/mesh/flag"].archetype, "colors").tolist() == [[255, _srgb(0.5), 0, 128]]
    # displayOpacity → alpha
    assert _rgba(by["visuals/ball"].archetype, "colors").tolist() == [[0, 0, 255, 64]]
    # nothing authored → neutral grey (USD's 0.18 linear)
    grey = _srgb(0.18)
    assert _rgba(by["visuals/cap_X"].archetype, "colors").tolist() == [[grey, grey, grey, 255]]
    assert _rgba(by["visuals/cone_X"].archetype, "albedo_factor").tolist() == [[grey, grey, grey, 255]]


def test_material_wins_over_display_color_and_defaults() -> None:
    s = Usd.Stage.CreateInMemory()
    both = UsdGeom.Sphere.Define(s, "/body/both")
    both.CreateDisplayColorPrimvar().Set([Gf.Vec3f(0, 1, 0)])
    material, _ = _preview_material(s, "/body/mat", diffuse=(1, 0, 0))
    _bind(both, material)
    unset = UsdGeom.Sphere.Define(s, "/body/unset")
    bare, _ = _preview_material(s, "/body/bare", diffuse=None)
    _bind(unset, bare)
    # a material bound on an ancestor applies to descendants
    group = UsdGeom.Xform.Define(s, "/body/group")
    blue, _ = _preview_material(s, "/body/blue", diffuse=(0, 0, 1))
    _bind(group, blue)
    UsdGeom.Cube.Define(s, "/body/group/box")
    # an OmniPBR-style MDL material (Isaac Sim assets): diffuse_color_constant × diffuse_tint
    mdl = UsdShade.Material.Define(s, "/body/omni")
    shader = UsdShade.Shader.Define(s, "/body/omni/Shader")
    shader.SetSourceAsset(Sdf.AssetPath("OmniPBR.mdl"), "mdl")
    shader.CreateInput("diffuse_color_constant", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(1.0, 1.0, 0.0))
    shader.CreateInput("diffuse_tint", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(1.0, 0.5, 1.0))
    mdl.CreateSurfaceOutput("mdl").ConnectToSource(shader.CreateOutput("out", Sdf.ValueTypeNames.Token))
    omni = UsdGeom.Sphere.Define(s, "/body/omni_ball")
    _bind(omni, mdl)
    # displayColor inherited (constant) from an ancestor primvar
    parent = UsdGeom.Xform.Define(s, "/body/painted")
    UsdGeom.PrimvarsAPI(parent).CreatePrimvar(
        "displayColor", Sdf.ValueTypeNames.Color3fArray, UsdGeom.Tokens.constant
    ).Set([Gf.Vec3f(1, 0, 1)])
    UsdGeom.Sphere.Define(s, "/body/painted/ball")

    by = _by_rel(collect_visuals(s.GetPrimAtPath("/body")))
    assert _rgba(by["both"].archetype, "colors").tolist() == [[255, 0, 0, 255]]
    grey = _srgb(0.18)
    assert _rgba(by["unset"].archetype, "colors").tolist() == [[grey, grey, grey, 255]]
    assert _rgba(by["group/box"].archetype, "colors").tolist() == [[0, 0, 255, 255]]
    assert _rgba(by["omni_ball"].archetype, "colors").tolist() == [[255, _srgb(0.5), 0, 255]]
    assert _rgba(by["painted/ball"].archetype, "colors").tolist() == [[255, 0, 255, 255]]


# ---------------------------------------------------------------------------------------------------------------------
# meshes
# ---------------------------------------------------------------------------------------------------------------------


def _quad_strip(s: Usd.Stage, path: str) -> UsdGeom.Mesh:
    """Two unit quads side by side in the XY plane (6 points, 8 corners)."""
    mesh = UsdGeom.Mesh.Define(s, path)
    mesh.GetPointsAttr().Set([(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 1, 0), (1, 1, 0), (2, 1, 0)])
    mesh.GetFaceVertexCountsAttr().Set([4, 4])
    mesh.GetFaceVertexIndicesAttr().Set([0, 1, 4, 3, 1, 2, 5, 4])
    return mesh


def _texture_material(s: Usd.Stage, path: str, image_path: Path, *, varname: str = "st") -> UsdShade.Material:
    material, surface = _preview_material(s, path, diffuse=None)
    texture = UsdShade.Shader.Define(s, f"{path}/Texture")
    texture.CreateIdAttr("UsdUVTexture")
    texture.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(str(image_path)))
    texture.CreateInput("fallback", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(0, 1, 0, 1))
    rgb = texture.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(rgb)
    reader = UsdShade.Shader.Define(s, f"{path}/Reader")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set(varname)
    texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
        reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)
    )
    return material


def test_quad_mesh_face_varying_normals_indexed_uvs_texture(tmp_path: Path) -> None:
    from PIL import Image

    image = np.zeros((2, 4, 3), dtype=np.uint8)
    image[0] = [200, 10, 10]  # top row red
    image[1] = [10, 10, 200]  # bottom row blue
    png = tmp_path / "albedo.png"
    Image.fromarray(image).save(png)

    s = Usd.Stage.CreateInMemory()
    mesh = _quad_strip(s, "/body/mesh")
    face_normals = [(0, 0, 1)] * 4 + [(0, 0.6, 0.8)] * 4
    normals = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
        "normals", Sdf.ValueTypeNames.Normal3fArray, UsdGeom.Tokens.faceVarying
    )
    normals.Set(face_normals)
    uv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
        "uvset", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying
    )
    uv.Set([(0, 0), (0.5, 0), (0.5, 1), (0, 1), (1, 0), (1, 1)])
    uv.SetIndices(Vt.IntArray([0, 1, 2, 3, 1, 4, 5, 2]))
    _bind(mesh, _texture_material(s, "/body/tex", png, varname="uvset"))

    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    arch = visual.archetype
    assert isinstance(arch, rr.Asset3D), "a textured mesh is a GLB that keeps its PNG"
    assert arch.media_type.as_arrow_array().to_pylist() == ["model/gltf-binary"]
    glb = read_glb(bytes(arch.blob.as_arrow_array().to_pylist()[0]))
    pos, tris = glb.positions, glb.triangles
    # per corner (no two corners share a point and all their attributes), fan-triangulated
    assert pos.shape == (8, 3) and tris.shape == (4, 3)
    corners = np.array([0, 1, 4, 3, 1, 2, 5, 4])
    points = np.array(mesh.GetPointsAttr().Get())
    np.testing.assert_allclose(pos, points[corners])
    np.testing.assert_allclose(glb.normals, face_normals, atol=2e-3)  # normals on a 2^-8 grid in the GLB
    expected_uv = np.array([(0, 0), (0.5, 0), (0.5, 1), (0, 1), (0.5, 0), (1, 0), (1, 1), (0.5, 1)], dtype=float)
    expected_uv[:, 1] = 1.0 - expected_uv[:, 1]  # Rerun and glTF: origin top-left
    np.testing.assert_allclose(glb.texcoords, expected_uv, atol=1e-4)
    # counter-clockwise around +Z (right-handed)
    p0, p1, p2 = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
    assert np.all(np.cross(p1 - p0, p2 - p0)[:, 2] > 0)
    # the texture travels with the mesh, as the file's own PNG bytes
    assert glb.mime == "image/png" and glb.image == png.read_bytes()
    assert glb.double_sided
    np.testing.assert_allclose(glb.base_color_factor, [1, 1, 1, 1])
    np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(glb.image)).convert("RGB")), image)

    # without UVs the same material falls back to the texture's mean colour
    s2 = Usd.Stage.CreateInMemory()
    _bind(_quad_strip(s2, "/body/mesh"), _texture_material(s2, "/body/tex", png))
    (plain,) = collect_visuals(s2.GetPrimAtPath("/body"))
    assert plain.archetype.vertex_texcoords is None and plain.archetype.albedo_texture_buffer is None
    assert _rgba(plain.archetype, "albedo_factor").tolist() == [[105, 10, 105, 255]]
    # a missing file → the UsdUVTexture fallback
    s3 = Usd.Stage.CreateInMemory()
    _bind(_quad_strip(s3, "/body/mesh"), _texture_material(s3, "/body/tex", tmp_path / "missing.png"))
    (missing,) = collect_visuals(s3.GetPrimAtPath("/body"))
    assert _rgba(missing.archetype, "albedo_factor").tolist() == [[0, 255, 0, 255]]


def test_vertex_mesh_keeps_shared_points_and_computes_normals() -> None:
    s = Usd.Stage.CreateInMemory()
    mesh = _quad_strip(s, "/body/mesh")
    colors = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1)]
    mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(colors)
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    arch = visual.archetype
    assert _batch(arch, "vertex_positions").shape == (6, 3)  # vertex interpolation: no de-indexing
    tris = _batch(arch, "triangle_indices")
    np.testing.assert_array_equal(tris, [[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4]])
    np.testing.assert_allclose(_batch(arch, "vertex_normals"), np.tile([0, 0, 1.0], (6, 1)), atol=1e-6)
    np.testing.assert_array_equal(_rgba(arch, "vertex_colors")[:, :3], np.array(colors) * 255)


def test_uniform_display_color_is_expanded_per_corner() -> None:
    s = Usd.Stage.CreateInMemory()
    mesh = _quad_strip(s, "/body/mesh")
    mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.uniform).Set([(1, 0, 0), (0, 0, 1)])
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    colors = _rgba(visual.archetype, "vertex_colors")
    assert colors.shape == (8, 4)
    assert colors[:4, :3].tolist() == [[255, 0, 0]] * 4 and colors[4:, :3].tolist() == [[0, 0, 255]] * 4


def test_material_reading_display_color_uses_the_primvar() -> None:
    """diffuseColor <- UsdPrimvarReader_float3(displayColor): the mesh's own per-vertex colours are used."""
    s = Usd.Stage.CreateInMemory()
    mesh = _quad_strip(s, "/body/mesh")
    colors = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1)]
    mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(colors)
    material, surface = _preview_material(s, "/body/mat", diffuse=None)
    reader = UsdShade.Shader.Define(s, "/body/mat/Reader")
    reader.CreateIdAttr("UsdPrimvarReader_float3")
    reader.CreateInput("varname", Sdf.ValueTypeNames.Token).Set("displayColor")
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(
        reader.CreateOutput("result", Sdf.ValueTypeNames.Float3)
    )
    _bind(mesh, material)
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    np.testing.assert_array_equal(_rgba(visual.archetype, "vertex_colors")[:, :3], np.array(colors) * 255)


def test_left_handed_polygons_holes_and_fans() -> None:
    s = Usd.Stage.CreateInMemory()
    mesh = UsdGeom.Mesh.Define(s, "/body/lh")
    # a pentagon, a triangle, a degenerate 2-gon and a hole face
    pts = [(0, 0, 0), (1, 0, 0), (1.5, 1, 0), (0.5, 1.5, 0), (-0.5, 1, 0), (3, 0, 0), (4, 0, 0), (3, 1, 0)]
    mesh.GetPointsAttr().Set(pts)
    mesh.GetFaceVertexCountsAttr().Set([5, 3, 2, 3])
    mesh.GetFaceVertexIndicesAttr().Set([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 5, 6, 7])
    mesh.GetHoleIndicesAttr().Set([3])
    mesh.GetOrientationAttr().Set(UsdGeom.Tokens.leftHanded)
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    arch = visual.archetype
    tris = _batch(arch, "triangle_indices")
    # pentagon → 3 fan triangles, triangle → 1; winding flipped for leftHanded
    np.testing.assert_array_equal(tris, [[0, 2, 1], [0, 3, 2], [0, 4, 3], [5, 7, 6]])
    # computed normals follow the (flipped) winding: -Z for these CCW-in-XY left-handed faces
    normals = _batch(arch, "vertex_normals")
    np.testing.assert_allclose(normals[[0, 1, 2, 5]], np.tile([0, 0, -1.0], (4, 1)), atol=1e-6)


def test_broken_mesh_is_skipped_not_fatal() -> None:
    s = Usd.Stage.CreateInMemory()
    mesh = UsdGeom.Mesh.Define(s, "/body/broken")
    mesh.GetPointsAttr().Set([(0, 0, 0), (1, 0, 0)])
    mesh.GetFaceVertexCountsAttr().Set([3])
    mesh.GetFaceVertexIndicesAttr().Set([0, 1, 7])
    UsdGeom.Mesh.Define(s, "/body/empty")
    UsdGeom.Sphere.Define(s, "/body/ok")
    assert [v.rel_path for v in collect_visuals(s.GetPrimAtPath("/body"))] == ["ok"]


def test_large_face_varying_mesh_is_vectorised() -> None:
    n = 300  # 300x300 quads → 180k triangles
    s = Usd.Stage.CreateInMemory()
    mesh = UsdGeom.Mesh.Define(s, "/World/terrain")
    xs, ys = np.meshgrid(np.arange(n + 1, dtype=np.float32), np.arange(n + 1, dtype=np.float32))
    points = np.stack([xs.ravel(), ys.ravel(), np.sin(xs.ravel() * 0.1)], axis=1)
    i, j = np.meshgrid(np.arange(n), np.arange(n))
    v0 = (j * (n + 1) + i).ravel()
    quads = np.stack([v0, v0 + 1, v0 + n + 2, v0 + n + 1], axis=1)
    mesh.GetPointsAttr().Set(Vt.Vec3fArray.FromNumpy(points))
    mesh.GetFaceVertexCountsAttr().Set(Vt.IntArray.FromNumpy(np.full(n * n, 4, dtype=np.int32)))
    mesh.GetFaceVertexIndicesAttr().Set(Vt.IntArray.FromNumpy(quads.ravel().astype(np.int32)))
    pv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
        "normals", Sdf.ValueTypeNames.Normal3fArray, UsdGeom.Tokens.faceVarying
    )
    pv.Set(Vt.Vec3fArray.FromNumpy(np.tile(np.array([0, 0, 1], dtype=np.float32), (4 * n * n, 1))))
    start = time.perf_counter()
    visuals = collect_global_visuals(s)
    elapsed = time.perf_counter() - start
    (visual,) = visuals
    assert _batch(visual.archetype, "triangle_indices").shape == (2 * n * n, 3)
    # the corners of a point carry the same normal (not the faces' own: the mesh is not faceted): one vertex each
    positions = _batch(visual.archetype, "vertex_positions")
    assert positions.shape == ((n + 1) ** 2, 3)
    np.testing.assert_array_equal(np.unique(positions, axis=0), np.unique(points, axis=0))
    np.testing.assert_array_equal(_batch(visual.archetype, "vertex_normals"), np.tile([0, 0, 1], ((n + 1) ** 2, 1)))
    assert elapsed < 10.0, elapsed


def _faceted_hinge(s: Usd.Stage, path: str, bend_deg: float) -> tuple[UsdGeom.Mesh, np.ndarray]:
    """Three unit quads in a row along X: A and B meet at ``bend_deg``, B and C at 90°; each corner's normal is its
    face's (faceVarying, as OBJ → USD conversions write them). Returns the mesh and the faces' normals."""
    b = math.radians(bend_deg)
    # A lies in z=0 for x in [-1, 0], tilted down by bend_deg; B in z=0 for x in [0, 1]; C goes up at x=1
    ax = np.array([-math.cos(b), 0.0, -math.sin(b)])
    pts = [ax, ax + np.array([0.0, 1.0, 0.0]), [0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]]
    mesh = UsdGeom.Mesh.Define(s, path)
    mesh.GetPointsAttr().Set([Gf.Vec3f(*map(float, p)) for p in pts])
    mesh.GetFaceVertexCountsAttr().Set([4, 4, 4])
    faces = [[0, 2, 3, 1], [2, 4, 5, 3], [4, 6, 7, 5]]
    mesh.GetFaceVertexIndicesAttr().Set([i for f in faces for i in f])
    p = np.array(pts, dtype=np.float64)
    normals = []
    for f in faces:
        n = np.cross(p[f[1]] - p[f[0]], p[f[2]] - p[f[0]])
        normals.append(n / np.linalg.norm(n))
    pv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
        "normals", Sdf.ValueTypeNames.Normal3fArray, UsdGeom.Tokens.faceVarying
    )
    pv.Set([Gf.Vec3f(*map(float, normals[k])) for k in range(3) for _ in range(4)])
    return mesh, np.array(normals)


def test_faceted_mesh_shares_corners_within_the_smoothing_angle() -> None:
    from isaac_rerun.usd_visuals.meshes import FACETED_SMOOTH_DEG

    s = Usd.Stage.CreateInMemory()
    _, normals = _faceted_hinge(s, "/body/hinge", bend_deg=10.0)
    assert FACETED_SMOOTH_DEG > 10.0
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    arch = visual.archetype
    pos = _batch(arch, "vertex_positions")
    nrm = _batch(arch, "vertex_normals")
    tris = _batch(arch, "triangle_indices")
    # 12 corners: A|B's edge (10°) is shared (2 vertices), B|C's (90°) is not: 12 - 2 = 10 vertices
    assert pos.shape == (10, 3) and tris.shape == (6, 3)
    by_point: dict[tuple, list[np.ndarray]] = {}
    for p, n in zip(pos.round(6), nrm, strict=True):
        by_point.setdefault(tuple(p), []).append(n)
    hinge = by_point[(0.0, 0.0, 0.0)]
    assert len(hinge) == 1, "A and B meet at 10°: one smooth vertex"
    between = (normals[0] + normals[1]) / np.linalg.norm(normals[0] + normals[1])
    np.testing.assert_allclose(hinge[0], between, atol=1e-5)
    edge = by_point[(1.0, 0.0, 0.0)]
    assert len(edge) == 2, "B and C meet at 90°: the edge stays sharp"
    np.testing.assert_allclose(sorted(map(tuple, np.round(edge, 5))), sorted(map(tuple, np.round(normals[1:], 5))))
    # every triangle still faces its face's way
    p0, p1, p2 = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
    face_n = np.cross(p1 - p0, p2 - p0)
    assert np.all(np.einsum("ij,ij->i", face_n, nrm[tris[:, 0]]) > 0)

    # a 45° bend is sharper than the smoothing angle: nothing shared, the authored normals kept
    s2 = Usd.Stage.CreateInMemory()
    _, normals2 = _faceted_hinge(s2, "/body/hinge", bend_deg=45.0)
    (sharp,) = collect_visuals(s2.GetPrimAtPath("/body"))
    assert _batch(sharp.archetype, "vertex_positions").shape == (12, 3)
    np.testing.assert_allclose(_batch(sharp.archetype, "vertex_normals"), np.repeat(normals2, 4, axis=0), atol=1e-6)


def test_textures_stay_encoded_and_are_downscaled_above_the_limit(tmp_path: Path) -> None:
    from PIL import Image

    from isaac_rerun.usd_visuals.materials import read_texture

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (32, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels).save(tmp_path / "a.jpg", quality=90)
    Image.fromarray(pixels).save(tmp_path / "a.bmp")
    png = read_texture(str(tmp_path / "a.png"))
    assert (png.mime, png.width, png.height) == ("image/png", 64, 32) and png.data == (tmp_path / "a.png").read_bytes()
    np.testing.assert_array_equal(png.pixels(), pixels)
    np.testing.assert_allclose(png.mean_rgba[:3], pixels.reshape(-1, 3).mean(axis=0), atol=0.5)
    jpg = read_texture(str(tmp_path / "a.jpg"))
    assert jpg.mime == "image/jpeg" and jpg.data == (tmp_path / "a.jpg").read_bytes()
    bmp = read_texture(str(tmp_path / "a.bmp"))  # another format: encoded as PNG, pixels unchanged
    assert bmp.mime == "image/png" and bmp.data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(bmp.pixels(), pixels)
    grey = pixels[..., 0]
    Image.fromarray(grey).save(tmp_path / "grey.png")  # one channel: the viewer would draw it red, so RGB
    gray = read_texture(str(tmp_path / "grey.png"))
    assert gray.mime == "image/png" and gray.data != (tmp_path / "grey.png").read_bytes()
    np.testing.assert_array_equal(gray.pixels(), np.repeat(grey[..., None], 3, axis=2))
    small = read_texture(str(tmp_path / "a.png"), max_size=16)  # above the limit: downscaled, re-encoded
    assert (small.mime, small.width, small.height) == ("image/png", 16, 8)
    assert small.pixels().shape == (8, 16, 3)


def test_untextured_glb_keeps_the_colour_in_linear_space() -> None:
    from isaac_rerun.usd_visuals.archetypes import mesh_archetype

    s = Usd.Stage.CreateInMemory()
    mesh = _quad_strip(s, "/body/mesh")
    material, _ = _preview_material(s, "/body/mat", diffuse=(0.8, 0.2, 0.05), opacity=0.5)
    _bind(mesh, material)
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    assert isinstance(visual.archetype, rr.Mesh3D), "untextured meshes are Mesh3D unless asked for a GLB"
    srgb = _rgba(visual.archetype, "albedo_factor")[0]
    glb = read_glb(bytes(mesh_archetype(visual.geometry, compact=True).blob.as_arrow_array().to_pylist()[0]))
    assert glb.image is None and glb.texcoords is None
    np.testing.assert_allclose(glb.base_color_factor[:3], srgb_to_linear(srgb[:3] / 255.0), atol=1e-6)
    np.testing.assert_allclose(glb.base_color_factor[:3], (0.8, 0.2, 0.05), atol=0.01)  # the USD's linear colour
    assert glb.base_color_factor[3] == pytest.approx(128 / 255)
    np.testing.assert_allclose(glb.positions, _batch(visual.archetype, "vertex_positions"))
    np.testing.assert_array_equal(glb.triangles, _batch(visual.archetype, "triangle_indices"))


def test_glb_reads_back_with_trimesh(tmp_path: Path) -> None:
    """An independent glTF reader (trimesh, where installed) sees the same mesh and texture."""
    trimesh = pytest.importorskip("trimesh")
    from PIL import Image

    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[:, :4] = [250, 20, 20]
    Image.fromarray(image).save(tmp_path / "t.png")
    s = Usd.Stage.CreateInMemory()
    mesh = _quad_strip(s, "/body/mesh")
    uv = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
    uv.Set([(0, 0), (0.5, 0), (1, 0), (0, 1), (0.5, 1), (1, 1)])
    _bind(mesh, _texture_material(s, "/body/tex", tmp_path / "t.png"))
    (visual,) = collect_visuals(s.GetPrimAtPath("/body"))
    blob = bytes(visual.archetype.blob.as_arrow_array().to_pylist()[0])
    loaded = trimesh.load(io.BytesIO(blob), file_type="glb", force="mesh")
    np.testing.assert_allclose(np.unique(np.asarray(loaded.vertices), axis=0), np.unique(_np_points(mesh), axis=0))
    assert len(loaded.faces) == 4
    texture = loaded.visual.material.baseColorTexture
    np.testing.assert_array_equal(np.array(texture.convert("RGB")), image)


def _np_points(mesh: UsdGeom.Mesh) -> np.ndarray:
    return np.array(mesh.GetPointsAttr().Get(), dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------------
# a real recording
# ---------------------------------------------------------------------------------------------------------------------


def test_log_visuals_round_trip(scene: Usd.Stage, tmp_path: Path) -> None:
    from rrd_readback import read_rrd

    body = scene.GetPrimAtPath(BODY)
    visuals = collect_visuals(body, stop_at=_is_body)
    ground = UsdGeom.Cube.Define(scene, "/World/ground")
    ground.GetSizeAttr().Set(3.0)
    global_visuals = collect_global_visuals(scene, stop_at=_is_body)
    assert [v.rel_path for v in global_visuals] == ["World/ground"]

    path = tmp_path / "visuals.rrd"
    rec = rr.RecordingStream("test")
    rec.save(path)
    log_visuals(rec, BODY, visuals)
    log_visuals(rec, "/", global_visuals)
    rec.flush()
    rec.disconnect()

    entities = read_rrd(path)  # the installed Rerun's own reader (rerun.chunk, or rerun.dataframe on 0.23)
    entity_paths = set(entities)
    expected_paths = {f"{BODY}/{v.rel_path}" for v in visuals} | {"/World/ground"}
    assert expected_paths <= entity_paths
    assert not any(p.endswith(("collisions/box", "hidden/ball", "inactive", "child_link/box")) for p in entity_paths)
    assert all(ent.n == 0 for ent in entities.values()), "visuals are static"
    columns: dict[str, dict[str, Any]] = {e: ent.static for e, ent in entities.items()}

    def _vec(entity: str, column: str, width: int) -> np.ndarray:
        return np.asarray(columns[entity][column], dtype=np.float64).reshape(-1, width)

    by = _by_rel(visuals)
    cube_entity = f"{BODY}/geometry/mesh"
    np.testing.assert_allclose(_vec(cube_entity, "Transform3D:translation", 3)[0], by["geometry/mesh"].translation)
    np.testing.assert_allclose(_vec(cube_entity, "Transform3D:quaternion", 4)[0], by["geometry/mesh"].quaternion_xyzw)
    np.testing.assert_allclose(_vec(cube_entity, "Transform3D:scale", 3)[0], by["geometry/mesh"].scale)
    np.testing.assert_allclose(_vec(cube_entity, "Boxes3D:half_sizes", 3), [[0.25, 0.25, 0.25]])
    assert "Boxes3D:colors" in columns[cube_entity]
    np.testing.assert_allclose(_vec("/World/ground", "Boxes3D:half_sizes", 3), [[1.5, 1.5, 1.5]])

    for ax in "XYZ":
        cap = columns[f"{BODY}/visuals/cap_{ax}"]
        assert {"Capsules3D:lengths", "Capsules3D:radii", "Capsules3D:translations", "Capsules3D:quaternions"} <= set(
            cap
        )
        cone = f"{BODY}/visuals/cone_{ax}"
        cone_positions = _vec(cone, "Mesh3D:vertex_positions", 3)
        np.testing.assert_allclose(cone_positions, _batch(by[f"visuals/cone_{ax}"].archetype, "vertex_positions"))
        assert {"Mesh3D:triangle_indices", "Mesh3D:vertex_normals", "Mesh3D:albedo_factor"} <= set(columns[cone])
        cyl = columns[f"{BODY}/visuals/cyl_{ax}"]
        assert "Cylinders3D:lengths" in cyl or "Mesh3D:vertex_positions" in cyl
    assert "Ellipsoids3D:half_sizes" in columns[f"{BODY}/geometry/mesh/flag"]


@pytest.mark.isaaclab
def test_isaaclab_spawners() -> None:
    """Real Isaac Lab 3.x spawners (no simulation): the <asset>/geometry/mesh layout and its preview material."""
    sim_utils = pytest.importorskip("isaaclab.sim")
    from isaaclab.sim.utils import create_new_stage

    stage = create_new_stage()
    red = sim_utils.PreviewSurfaceCfg(diffuse_color=(1.0, 0.0, 0.0), opacity=0.5)
    cfgs = {
        "Cube": sim_utils.CuboidCfg(size=(0.2, 0.4, 0.6), visual_material=red),
        "Ball": sim_utils.SphereCfg(radius=0.3),
        "Capsule": sim_utils.CapsuleCfg(radius=0.1, height=0.5, axis="X"),
        "Cone": sim_utils.ConeCfg(radius=0.1, height=0.5, axis="Y"),
        "MeshCube": sim_utils.MeshCuboidCfg(size=(0.2, 0.4, 0.6), visual_material=red),
    }
    for name, cfg in cfgs.items():
        cfg.func(f"/World/envs/env_0/{name}", cfg, translation=(1.0, 2.0, 3.0))
    out = {name: collect_visuals(stage.GetPrimAtPath(f"/World/envs/env_0/{name}")) for name in cfgs}
    assert {name: [(v.rel_path, v.kind) for v in vs] for name, vs in out.items()} == {
        "Cube": [("geometry/mesh", "Cube")],
        "Ball": [("geometry/mesh", "Sphere")],
        "Capsule": [("geometry/mesh", "Capsule")],
        "Cone": [("geometry/mesh", "Cone")],
        "MeshCube": [("geometry/mesh", "Mesh")],
    }
    (cube,) = out["Cube"]
    half = _batch(cube.archetype, "half_sizes")[0] * cube.scale
    np.testing.assert_allclose(half, [0.1, 0.2, 0.3], atol=1e-6)  # size × the prim's scale = the configured size
    assert _rgba(cube.archetype, "colors").tolist() == [[255, 0, 0, 128]]
    (mesh_cube,) = out["MeshCube"]
    pos = _batch(mesh_cube.archetype, "vertex_positions") * mesh_cube.scale
    np.testing.assert_allclose(pos.max(axis=0) - pos.min(axis=0), [0.2, 0.4, 0.6], atol=1e-6)
    assert _rgba(mesh_cube.archetype, "albedo_factor").tolist() == [[255, 0, 0, 128]]
