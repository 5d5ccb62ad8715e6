"""Procedural USD asset of the test-bed robot: a cart on a rail with a two-link pole.

The robot is authored with plain ``pxr`` (no Isaac Sim, no network) and committed next to this module as
``assets/robot.usda``; :data:`ROBOT_USD_PATH` points at that file. Regenerate it after changing this module with::

    python -m isaac_rerun.testbed.assets            # rewrites src/isaac_rerun/testbed/assets/robot.usda
    python -m isaac_rerun.testbed.assets out.usda   # or writes somewhere else

Layout of the asset (``/Robot`` is the default prim, the articulation root and a plain ``Xform``)::

    /Robot                            Xform, ArticulationRootAPI
        base                          rigid body, welded to the world by joints/base_weld
            rail                      Cube, non-uniform scale, displayColor
            stop_left, stop_right     Sphere, displayColor
        cart                          rigid body, slides along x on joints/cart_slider (prismatic)
            chassis                   Mesh (hand-made, quads + triangles, face-varying normals), bound material
            wheel_front, wheel_back   Cylinder (axis Y), displayColor
            collider                  Cube, purpose "guide", collision only
        pole                          rigid body, hinged to the cart by joints/pole_hinge (revolute about y)
            rod                       Capsule, bound material, also the pole's collider
            hub                       Sphere, displayColor
        tip                           rigid body, hinged to the pole by joints/tip_hinge (revolute about y)
            rod                       Cylinder, bound material
            cap                       Cone, displayColor
            flag                      Plane (pure visual, rotated, non-uniform scale), bound material
            collider                  Capsule, purpose "guide", collision only
        joints                        Scope with the four joints
        Looks                         Scope with the UsdPreviewSurface materials

Only ``pxr`` is imported, so this module can be used without Isaac Lab.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade, Vt

__all__ = [
    "BODY_NAMES",
    "COLLIDER_PRIMS",
    "JOINT_NAMES",
    "POLE_HINGE_HEIGHT",
    "ROBOT_PRIM_NAME",
    "ROBOT_USD_PATH",
    "VISUAL_PRIMS",
    "build_robot_stage",
    "write_robot_usd",
]

ROBOT_USD_PATH: Path = Path(__file__).resolve().parent / "assets" / "robot.usda"
"""Path of the committed robot asset (regenerate it with :func:`write_robot_usd`)."""

ROBOT_PRIM_NAME = "Robot"
"""Name of the default prim (the articulation root) in the asset."""

BODY_NAMES: tuple[str, ...] = ("base", "cart", "pole", "tip")
"""Rigid bodies of the robot, parent before child."""

JOINT_NAMES: tuple[str, ...] = ("cart_slider", "pole_hinge", "tip_hinge")
"""Movable joints (degrees of freedom) of the robot, parent before child."""

VISUAL_PRIMS: dict[str, str] = {
    "base/rail": "Cube",
    "base/stop_left": "Sphere",
    "base/stop_right": "Sphere",
    "cart/chassis": "Mesh",
    "cart/wheel_front": "Cylinder",
    "cart/wheel_back": "Cylinder",
    "pole/rod": "Capsule",
    "pole/hub": "Sphere",
    "tip/rod": "Cylinder",
    "tip/cap": "Cone",
    "tip/flag": "Plane",
}
"""Visual gprims of the robot (path relative to the root prim -> USD type name)."""

COLLIDER_PRIMS: dict[str, str] = {
    "cart/collider": "Cube",
    "pole/rod": "Capsule",
    "tip/collider": "Capsule",
}
"""Collision shapes of the robot (relative path -> USD type). ``pole/rod`` is visual and collider at once."""

RAIL_HALF_LENGTH = 2.0
"""Half length of the rail [m]; the cart slider is limited to slightly less."""

POLE_HINGE_OFFSET = (0.0, 0.12, 0.06)
"""Position of the pole hinge in the cart frame [m]."""

POLE_HINGE_HEIGHT = POLE_HINGE_OFFSET[2]
"""Height of the pole hinge above the rail [m]."""

POLE_LENGTH = 0.6
"""Distance between the pole hinge and the tip hinge [m]."""

TIP_LENGTH = 0.4
"""Length of the tip link [m]."""


def _vec3(v: Sequence[float]) -> Gf.Vec3f:
    return Gf.Vec3f(float(v[0]), float(v[1]), float(v[2]))


def _set_local_transform(
    prim: Usd.Prim,
    translate: Sequence[float] = (0.0, 0.0, 0.0),
    rotate_xyz_deg: Sequence[float] | None = None,
    scale: Sequence[float] | None = None,
) -> None:
    """Author ``translate`` / ``rotateXYZ`` / ``scale`` ops on ``prim`` (in that order)."""
    xformable = UsdGeom.Xformable(prim)
    xformable.AddTranslateOp().Set(Gf.Vec3d(*map(float, translate)))
    if rotate_xyz_deg is not None:
        xformable.AddRotateXYZOp().Set(_vec3(rotate_xyz_deg))
    if scale is not None:
        xformable.AddScaleOp().Set(_vec3(scale))


def _set_extent(gprim: UsdGeom.Boundable) -> None:
    extent = UsdGeom.Boundable.ComputeExtentFromPlugins(gprim, Usd.TimeCode.Default())
    if extent is not None:
        gprim.CreateExtentAttr(extent)


def _display_color(gprim: UsdGeom.Gprim, rgb: Sequence[float]) -> None:
    gprim.CreateDisplayColorAttr(Vt.Vec3fArray([_vec3(rgb)]))


def _preview_material(stage: Usd.Stage, path: str, rgb: Sequence[float], roughness: float = 0.5) -> UsdShade.Material:
    """Define a ``UsdPreviewSurface`` material with a constant ``diffuseColor``."""
    material = UsdShade.Material.Define(stage, path)
    shader = UsdShade.Shader.Define(stage, f"{path}/Shader")
    shader.CreateIdAttr("UsdPreviewSurface")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(_vec3(rgb))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(roughness))
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    surface = shader.CreateOutput("surface", Sdf.ValueTypeNames.Token)
    material.CreateSurfaceOutput().ConnectToSource(surface)
    return material


def _bind(prim: Usd.Prim, material: UsdShade.Material) -> None:
    UsdShade.MaterialBindingAPI.Apply(prim).Bind(material)


def _rigid_body(
    stage: Usd.Stage,
    path: str,
    translate: Sequence[float],
    mass: float,
    com: Sequence[float],
    inertia: Sequence[float],
) -> Usd.Prim:
    """Define an ``Xform`` rigid body with explicit mass properties."""
    prim = UsdGeom.Xform.Define(stage, path).GetPrim()
    _set_local_transform(prim, translate)
    UsdPhysics.RigidBodyAPI.Apply(prim)
    mass_api = UsdPhysics.MassAPI.Apply(prim)
    mass_api.CreateMassAttr(float(mass))
    mass_api.CreateCenterOfMassAttr(_vec3(com))
    mass_api.CreateDiagonalInertiaAttr(_vec3(inertia))
    return prim


def _chassis_mesh(stage: Usd.Stage, path: str) -> UsdGeom.Mesh:
    """A small hand-made mesh: a frustum-shaped box with a wedge-shaped (triangular-sided) roof.

    8 quads and 2 triangles, outward (counter-clockwise) winding and face-varying normals.
    """
    hx0, hy0, z0 = 0.16, 0.09, -0.05  # bottom rectangle
    hx1, hy1, z1 = 0.12, 0.07, 0.04  # top rectangle
    ridge_z, ridge_hx = 0.08, 0.08  # roof ridge along x
    points = [
        (-hx0, -hy0, z0),  # 0
        (hx0, -hy0, z0),  # 1
        (hx0, hy0, z0),  # 2
        (-hx0, hy0, z0),  # 3
        (-hx1, -hy1, z1),  # 4
        (hx1, -hy1, z1),  # 5
        (hx1, hy1, z1),  # 6
        (-hx1, hy1, z1),  # 7
        (-ridge_hx, 0.0, ridge_z),  # 8
        (ridge_hx, 0.0, ridge_z),  # 9
    ]
    faces = [
        (0, 3, 2, 1),  # bottom (-z)
        (0, 1, 5, 4),  # front side (-y)
        (1, 2, 6, 5),  # right side (+x)
        (2, 3, 7, 6),  # back side (+y)
        (3, 0, 4, 7),  # left side (-x)
        (4, 5, 9, 8),  # roof slope (-y)
        (6, 7, 8, 9),  # roof slope (+y)
        (5, 6, 9),  # roof gable (+x)
        (7, 4, 8),  # roof gable (-x)
    ]
    normals: list[Gf.Vec3f] = []
    for face in faces:
        # Newell's method: robust for planar polygons
        n = [0.0, 0.0, 0.0]
        for i, a in enumerate(face):
            p, q = points[a], points[face[(i + 1) % len(face)]]
            n[0] += (p[1] - q[1]) * (p[2] + q[2])
            n[1] += (p[2] - q[2]) * (p[0] + q[0])
            n[2] += (p[0] - q[0]) * (p[1] + q[1])
        length = math.sqrt(sum(c * c for c in n))
        normals.extend([_vec3([c / length for c in n])] * len(face))
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray([_vec3(p) for p in points]))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray([len(f) for f in faces]))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray([i for f in faces for i in f]))
    mesh.CreateNormalsAttr(Vt.Vec3fArray(normals))
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.faceVarying)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    mesh.CreateDoubleSidedAttr(False)
    _set_extent(mesh)
    return mesh


def _revolute_or_prismatic(
    joint: UsdPhysics.Joint,
    body0: str | None,
    body1: str,
    local_pos0: Sequence[float],
    local_pos1: Sequence[float] = (0.0, 0.0, 0.0),
) -> None:
    if body0 is not None:
        joint.CreateBody0Rel().SetTargets([Sdf.Path(body0)])
    joint.CreateBody1Rel().SetTargets([Sdf.Path(body1)])
    joint.CreateLocalPos0Attr(_vec3(local_pos0))
    joint.CreateLocalRot0Attr(Gf.Quatf(1.0))
    joint.CreateLocalPos1Attr(_vec3(local_pos1))
    joint.CreateLocalRot1Attr(Gf.Quatf(1.0))


def build_robot_stage(stage: Usd.Stage | None = None) -> Usd.Stage:
    """Author the test-bed robot into ``stage`` (a new in-memory stage by default) and return the stage."""
    if stage is None:
        stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)

    root_path = f"/{ROBOT_PRIM_NAME}"
    root = UsdGeom.Xform.Define(stage, root_path).GetPrim()
    stage.SetDefaultPrim(root)
    UsdPhysics.ArticulationRootAPI.Apply(root)

    # -- materials (UsdPreviewSurface, colour in ``diffuseColor``)
    looks = f"{root_path}/Looks"
    UsdGeom.Scope.Define(stage, looks)
    cart_mat = _preview_material(stage, f"{looks}/CartPaint", (0.10, 0.35, 0.80), roughness=0.35)
    pole_mat = _preview_material(stage, f"{looks}/PoleOrange", (0.95, 0.45, 0.10))
    tip_mat = _preview_material(stage, f"{looks}/TipGreen", (0.20, 0.70, 0.30))
    flag_mat = _preview_material(stage, f"{looks}/FlagRed", (0.85, 0.10, 0.15), roughness=0.8)

    # -- base: the rail, welded to the world
    base = f"{root_path}/base"
    _rigid_body(stage, base, (0.0, 0.0, 0.0), mass=10.0, com=(0.0, 0.0, 0.0), inertia=(0.05, 13.0, 13.0))
    rail = UsdGeom.Cube.Define(stage, f"{base}/rail")
    rail.CreateSizeAttr(1.0)
    _set_local_transform(rail.GetPrim(), (0.0, 0.0, -0.07), scale=(2.0 * RAIL_HALF_LENGTH, 0.04, 0.04))
    _display_color(rail, (0.55, 0.55, 0.58))
    _set_extent(rail)
    for name, x in (("stop_left", -RAIL_HALF_LENGTH), ("stop_right", RAIL_HALF_LENGTH)):
        stop = UsdGeom.Sphere.Define(stage, f"{base}/{name}")
        stop.CreateRadiusAttr(0.05)
        _set_local_transform(stop.GetPrim(), (x, 0.0, -0.07))
        _display_color(stop, (0.15, 0.15, 0.15))
        _set_extent(stop)

    # -- cart
    cart = f"{root_path}/cart"
    _rigid_body(stage, cart, (0.0, 0.0, 0.0), mass=1.0, com=(0.0, 0.0, 0.0), inertia=(0.004, 0.009, 0.011))
    chassis = _chassis_mesh(stage, f"{cart}/chassis")
    _set_local_transform(chassis.GetPrim(), (0.0, 0.0, 0.01))
    _bind(chassis.GetPrim(), cart_mat)
    for name, x in (("wheel_front", 0.11), ("wheel_back", -0.11)):
        wheel = UsdGeom.Cylinder.Define(stage, f"{cart}/{name}")
        wheel.CreateRadiusAttr(0.04)
        wheel.CreateHeightAttr(0.03)
        wheel.CreateAxisAttr(UsdGeom.Tokens.y)
        _set_local_transform(wheel.GetPrim(), (x, -0.1, -0.05))
        _display_color(wheel, (0.05, 0.05, 0.05))
        _set_extent(wheel)
    cart_collider = UsdGeom.Cube.Define(stage, f"{cart}/collider")
    cart_collider.CreateSizeAttr(1.0)
    cart_collider.CreatePurposeAttr(UsdGeom.Tokens.guide)
    _set_local_transform(cart_collider.GetPrim(), (0.0, 0.0, 0.0), scale=(0.32, 0.18, 0.1))
    _set_extent(cart_collider)
    UsdPhysics.CollisionAPI.Apply(cart_collider.GetPrim())

    # -- pole (lower link), hinge at its origin
    pole = f"{root_path}/pole"
    pole_mass, pole_com = 0.4, POLE_LENGTH / 2
    pole_i = pole_mass * POLE_LENGTH**2 / 12.0
    _rigid_body(stage, pole, POLE_HINGE_OFFSET, pole_mass, (0.0, 0.0, pole_com), (pole_i, pole_i, 1e-4))
    rod = UsdGeom.Capsule.Define(stage, f"{pole}/rod")
    rod.CreateRadiusAttr(0.025)
    rod.CreateHeightAttr(POLE_LENGTH - 0.05)
    rod.CreateAxisAttr(UsdGeom.Tokens.z)
    _set_local_transform(rod.GetPrim(), (0.0, 0.0, POLE_LENGTH / 2))
    _bind(rod.GetPrim(), pole_mat)
    _set_extent(rod)
    UsdPhysics.CollisionAPI.Apply(rod.GetPrim())  # visual and collider at once
    hub = UsdGeom.Sphere.Define(stage, f"{pole}/hub")
    hub.CreateRadiusAttr(0.035)
    _set_local_transform(hub.GetPrim(), (0.0, 0.0, 0.0))
    _display_color(hub, (0.9, 0.9, 0.9))
    _set_extent(hub)

    # -- tip (upper link), hinge at its origin on top of the pole
    tip = f"{root_path}/tip"
    tip_mass = 0.2
    tip_i = tip_mass * TIP_LENGTH**2 / 12.0
    tip_pos = (POLE_HINGE_OFFSET[0], POLE_HINGE_OFFSET[1], POLE_HINGE_OFFSET[2] + POLE_LENGTH)
    _rigid_body(stage, tip, tip_pos, tip_mass, (0.0, 0.0, TIP_LENGTH / 2), (tip_i, tip_i, 1e-4))
    tip_rod = UsdGeom.Cylinder.Define(stage, f"{tip}/rod")
    tip_rod.CreateRadiusAttr(0.018)
    tip_rod.CreateHeightAttr(TIP_LENGTH)
    tip_rod.CreateAxisAttr(UsdGeom.Tokens.z)
    _set_local_transform(tip_rod.GetPrim(), (0.0, 0.0, TIP_LENGTH / 2))
    _bind(tip_rod.GetPrim(), tip_mat)
    _set_extent(tip_rod)
    cap = UsdGeom.Cone.Define(stage, f"{tip}/cap")
    cap.CreateRadiusAttr(0.04)
    cap.CreateHeightAttr(0.08)
    cap.CreateAxisAttr(UsdGeom.Tokens.z)
    _set_local_transform(cap.GetPrim(), (0.0, 0.0, TIP_LENGTH + 0.04))
    _display_color(cap, (0.95, 0.80, 0.10))
    _set_extent(cap)
    flag = UsdGeom.Plane.Define(stage, f"{tip}/flag")
    flag.CreateWidthAttr(1.0)
    flag.CreateLengthAttr(1.0)
    flag.CreateAxisAttr(UsdGeom.Tokens.y)  # normal along y: the flag hangs in the xz-plane
    flag.CreateDoubleSidedAttr(True)
    _set_local_transform(
        flag.GetPrim(), (0.07, 0.0, TIP_LENGTH - 0.05), rotate_xyz_deg=(0.0, 0.0, 20.0), scale=(0.12, 1.0, 0.08)
    )
    _bind(flag.GetPrim(), flag_mat)
    _set_extent(flag)
    tip_collider = UsdGeom.Capsule.Define(stage, f"{tip}/collider")
    tip_collider.CreateRadiusAttr(0.02)
    tip_collider.CreateHeightAttr(TIP_LENGTH)
    tip_collider.CreateAxisAttr(UsdGeom.Tokens.z)
    tip_collider.CreatePurposeAttr(UsdGeom.Tokens.guide)
    _set_local_transform(tip_collider.GetPrim(), (0.0, 0.0, TIP_LENGTH / 2))
    _set_extent(tip_collider)
    UsdPhysics.CollisionAPI.Apply(tip_collider.GetPrim())

    # -- joints
    joints = f"{root_path}/joints"
    UsdGeom.Scope.Define(stage, joints)
    # world weld: body0 is the world; identity local poses let importers take the world frame from the base
    weld = UsdPhysics.FixedJoint.Define(stage, f"{joints}/base_weld")
    _revolute_or_prismatic(weld, None, base, (0.0, 0.0, 0.0))

    slider = UsdPhysics.PrismaticJoint.Define(stage, f"{joints}/cart_slider")
    _revolute_or_prismatic(slider, base, cart, (0.0, 0.0, 0.0))
    slider.CreateAxisAttr(UsdPhysics.Tokens.x)
    slider.CreateLowerLimitAttr(-(RAIL_HALF_LENGTH - 0.1))
    slider.CreateUpperLimitAttr(RAIL_HALF_LENGTH - 0.1)
    drive = UsdPhysics.DriveAPI.Apply(slider.GetPrim(), UsdPhysics.Tokens.linear)
    drive.CreateTypeAttr(UsdPhysics.Tokens.force)
    drive.CreateStiffnessAttr(0.0)
    drive.CreateDampingAttr(0.0)
    drive.CreateMaxForceAttr(100.0)

    hinge = UsdPhysics.RevoluteJoint.Define(stage, f"{joints}/pole_hinge")
    _revolute_or_prismatic(hinge, cart, pole, POLE_HINGE_OFFSET)
    hinge.CreateAxisAttr(UsdPhysics.Tokens.y)

    tip_hinge = UsdPhysics.RevoluteJoint.Define(stage, f"{joints}/tip_hinge")
    _revolute_or_prismatic(tip_hinge, pole, tip, (0.0, 0.0, POLE_LENGTH))
    tip_hinge.CreateAxisAttr(UsdPhysics.Tokens.y)
    tip_hinge.CreateLowerLimitAttr(-60.0)  # degrees (USD convention for angular limits)
    tip_hinge.CreateUpperLimitAttr(60.0)
    return stage


def write_robot_usd(path: str | Path = ROBOT_USD_PATH) -> Path:
    """Author the robot and write it to ``path`` (default: the committed :data:`ROBOT_USD_PATH`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = build_robot_stage()
    layer = stage.GetRootLayer()
    layer.documentation = "Test-bed robot of isaac_rerun. Generated by isaac_rerun.testbed.assets; do not edit."
    layer.Export(str(path))
    return path


if __name__ == "__main__":  # pragma: no cover - manual regeneration
    print(write_robot_usd(*sys.argv[1:2]))
