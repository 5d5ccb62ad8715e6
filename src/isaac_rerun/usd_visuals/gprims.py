"""USD primitive gprims (Cube, Sphere, Capsule, Cylinder, Cone, Plane) → shapes, and shapes → triangles.

A primitive Rerun draws natively becomes a :class:`~isaac_rerun.usd_visuals.model.Shape` (box, ellipsoid, capsule,
cylinder); the others (cones, frusta, planes, and cylinders where Rerun has no ``Cylinders3D``, i.e. 0.23) become a
:class:`~isaac_rerun.usd_visuals.model.TriMesh`. :func:`tessellate` turns any shape into triangles (for baking).
Needs no ``pxr`` import: the prim's attributes are read through the prim.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _quat
from isaac_rerun.usd_visuals.model import Geometry, Shape, TriMesh

logger = logging.getLogger("isaac_rerun.usd_visuals")

#: Segments around the axis of generated cones / cylinders / frusta.
MESH_SEGMENTS = 32
PRIMITIVES = ("Cube", "Sphere", "Capsule", "Capsule_1", "Cylinder", "Cylinder_1", "Cone", "Plane")
#: ``rr.Cylinders3D`` does not exist in rerun-sdk 0.23: cylinders are a generated mesh there.
HAS_CYLINDERS = getattr(rr, "Cylinders3D", None) is not None

_S45 = math.sqrt(0.5)
#: Quaternion (xyzw) turning +Z onto the USD ``axis`` — for Rerun's +Z-aligned capsules and cylinders.
_Z_TO_AXIS_QUAT = {
    "X": np.array([0.0, _S45, 0.0, _S45], dtype=np.float32),  # +90° about Y
    "Y": np.array([-_S45, 0.0, 0.0, _S45], dtype=np.float32),  # -90° about X
    "Z": np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32),
}
_AXIS_VEC = {
    "X": np.array([1.0, 0.0, 0.0], dtype=np.float32),
    "Y": np.array([0.0, 1.0, 0.0], dtype=np.float32),
    "Z": np.array([0.0, 0.0, 1.0], dtype=np.float32),
}


def _attr(prim: Any, name: str, time: Any, default: Any) -> Any:
    attr = prim.GetAttribute(name)
    value = attr.Get(time) if attr else None
    return default if value is None else value


def primitive_geometry(prim: Any, color: np.ndarray, time: Any) -> Geometry | None:
    """The geometry of a primitive gprim (``color``: its sRGB RGBA), or None for a type that is not a primitive."""
    kind = str(prim.GetTypeName())
    if kind not in PRIMITIVES:
        logger.debug("isaac_rerun: no Rerun visual for %s prim %s", kind, prim.GetPath())
        return None
    axis = str(_attr(prim, "axis", time, "Z"))
    axis = axis if axis in _AXIS_VEC else "Z"
    if kind == "Cube":
        half = float(_attr(prim, "size", time, 2.0)) / 2.0
        return Shape("box", np.full(3, half, np.float32), color)
    if kind == "Sphere":
        return Shape("sphere", np.full(3, float(_attr(prim, "radius", time, 1.0)), np.float32), color)
    height = float(_attr(prim, "height", time, 2.0 if kind != "Capsule" else 1.0))
    if kind == "Plane":
        width = float(_attr(prim, "width", time, 2.0))
        length = float(_attr(prim, "length", time, 2.0))
        return _plain_mesh(*plane_mesh(width, length, axis), color)
    if kind in ("Capsule_1", "Cylinder_1"):
        r_top = float(_attr(prim, "radiusTop", time, 0.5 if kind == "Capsule_1" else 1.0))
        r_bottom = float(_attr(prim, "radiusBottom", time, 0.5 if kind == "Capsule_1" else 1.0))
    else:
        r_top = r_bottom = float(_attr(prim, "radius", time, 0.5 if kind == "Capsule" else 1.0))
    if kind == "Cone":
        r_top = 0.0
    if kind.startswith("Capsule"):
        # Rerun's capsule runs from the origin along +Z; USD's is centred on the origin along `axis`. Tapered
        # capsules (Capsule_1 with two radii) have no Rerun counterpart and are drawn with the larger radius.
        size = np.array([height, max(r_top, r_bottom)], np.float32)
        return Shape("capsule", size, color, -0.5 * height * _AXIS_VEC[axis], _Z_TO_AXIS_QUAT[axis])
    if kind.startswith("Cylinder") and r_top == r_bottom and HAS_CYLINDERS:
        return Shape("cylinder", np.array([height, r_top], np.float32), color, np.zeros(3, np.float32),
                     _Z_TO_AXIS_QUAT[axis])  # fmt: skip
    return _plain_mesh(*frustum_mesh(r_bottom, r_top, height, axis), color)


def _plain_mesh(positions: np.ndarray, normals: np.ndarray, triangles: np.ndarray, color: np.ndarray) -> TriMesh:
    return TriMesh(positions, triangles, normals, color)


def tessellate(geometry: Geometry) -> TriMesh:
    """Any geometry as a triangle mesh in the visual's frame (a shape's colour as the mesh's albedo)."""
    if isinstance(geometry, TriMesh):
        return geometry
    kind, size = geometry.kind, geometry.size.astype(np.float64)
    if kind == "box":
        positions, normals, triangles = box_mesh(size)
    elif kind == "sphere":
        unit, triangles = uv_sphere()
        positions = unit * size
        normals = unit / np.where(np.abs(size) > 1e-12, size, 1.0)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    elif kind == "capsule":
        positions, normals, triangles = capsule_mesh(float(size[0]), float(size[1]))
    elif kind == "cylinder":
        positions, normals, triangles = frustum_mesh(float(size[1]), float(size[1]), float(size[0]), "Z")
    else:  # pragma: no cover - the model has no other kind
        raise ValueError(f"unknown shape kind {kind!r}")
    q = geometry.quaternion_xyzw.astype(np.float64)
    positions = _quat.rotate(q, positions) + geometry.translation
    normals = _quat.rotate(q, normals)
    return TriMesh(positions.astype(np.float32), triangles.astype(np.uint32), normals.astype(np.float32), geometry.rgba)


def uv_sphere(segments: int = 24, rings: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere: positions (= normals) and triangles."""
    theta = np.linspace(0.0, np.pi, rings + 1)
    phi = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    pts = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a, b = i * segments + j, i * segments + (j + 1) % segments
    c, d = a + segments, b + segments
    tris = np.stack([np.stack([a, c, b], -1), np.stack([b, c, d], -1)], axis=2).reshape(-1, 3)
    return pts.astype(np.float32), tris.astype(np.uint32)


def box_mesh(half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A box of half sizes ``half``: four vertices per face (flat normals)."""
    positions: list[np.ndarray] = []
    normals: list[np.ndarray] = []
    tris: list[list[int]] = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u, v = np.eye(3)[(axis + 1) % 3], np.eye(3)[(axis + 2) % 3]
            if sign < 0:
                u, v = v, u
            base = len(positions)
            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                positions.append((n + a * u + b * v) * half)
                normals.append(n)
            tris += [[base, base + 1, base + 2], [base, base + 2, base + 3]]
    return np.asarray(positions, np.float32), np.asarray(normals, np.float32), np.asarray(tris, np.uint32)


def capsule_mesh(length: float, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rerun's capsule: from the origin along +Z, ``length`` between the centres of its two hemispheres."""
    pts, tris = uv_sphere()
    upper = pts[:, 2] >= 0
    positions = pts * radius + np.where(upper[:, None], [0.0, 0.0, length], [0.0, 0.0, 0.0])
    return positions.astype(np.float32), pts.astype(np.float32), tris


def _z_to_axis(v: np.ndarray, axis: str) -> np.ndarray:
    """Cyclic coordinate permutation (a proper rotation) taking a +Z-aligned shape onto ``axis``."""
    if axis == "X":
        return v[:, [2, 0, 1]]
    if axis == "Y":
        return v[:, [1, 2, 0]]
    return v


def frustum_mesh(
    r_bottom: float, r_top: float, height: float, axis: str, segments: int = MESH_SEGMENTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A capped frustum (cone when ``r_top == 0``, cylinder when equal radii) centred on the origin along ``axis``;
    the bottom (``r_bottom``) at -height/2, the top at +height/2 — USD's Cone/Cylinder/Cylinder_1 layout."""
    n = segments
    theta = 2.0 * np.pi * np.arange(n) / n
    cos, sin = np.cos(theta), np.sin(theta)
    h2 = 0.5 * height
    ring = np.arange(n)
    nxt = (ring + 1) % n

    side_normal = np.stack([cos * height, sin * height, np.full(n, r_bottom - r_top)], axis=1)
    side_normal /= np.maximum(np.linalg.norm(side_normal, axis=1, keepdims=True), 1e-12)
    bottom = np.stack([r_bottom * cos, r_bottom * sin, np.full(n, -h2)], axis=1)
    top = np.stack([r_top * cos, r_top * sin, np.full(n, h2)], axis=1)
    positions = [bottom, top]
    normals = [side_normal, side_normal]
    b, t = ring, ring + n
    tris = [np.stack([b, b[nxt], t[nxt]], axis=1)]
    if r_top > 0.0:
        tris.append(np.stack([b, t[nxt], t], axis=1))
    base = 2 * n
    if r_bottom > 0.0:  # bottom cap, facing -Z
        positions += [np.array([[0.0, 0.0, -h2]]), bottom]
        normals += [np.tile([0.0, 0.0, -1.0], (n + 1, 1))]
        centre, rim = base, base + 1 + ring
        tris.append(np.stack([np.full(n, centre), rim[nxt], rim], axis=1))
        base += n + 1
    if r_top > 0.0:  # top cap, facing +Z
        positions += [np.array([[0.0, 0.0, h2]]), top]
        normals += [np.tile([0.0, 0.0, 1.0], (n + 1, 1))]
        centre, rim = base, base + 1 + ring
        tris.append(np.stack([np.full(n, centre), rim, rim[nxt]], axis=1))
    pos = _z_to_axis(np.concatenate(positions).astype(np.float32), axis)
    nrm = _z_to_axis(np.concatenate(normals).astype(np.float32), axis)
    return pos, nrm, np.concatenate(tris).astype(np.uint32)


def plane_mesh(width: float, length: float, axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """USD Plane: normal along ``axis``; ``width`` along X (axis Z or Y) or Z (axis X), ``length`` along Y (axis Z
    or X) or Z (axis Y). Wound counter-clockwise around the normal; Rerun draws meshes double-sided by default."""
    ex, ey, ez = np.eye(3)
    if axis == "X":
        u, v, normal = ey * length, ez * width, ex
    elif axis == "Y":
        u, v, normal = ez * length, ex * width, ey
    else:
        u, v, normal = ex * width, ey * length, ez
    positions = np.stack([-u - v, u - v, u + v, -u + v]) * 0.5
    normals = np.tile(normal, (4, 1))
    triangles = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.uint32)
    return positions.astype(np.float32), normals.astype(np.float32), triangles
