"""USD ``Mesh`` gprims → triangle meshes: topology, texture coordinates, normals and per-element colours.

Polygons are fan-triangulated (holes dropped, left-handed winding flipped). Primvars are mapped per point when every
one of them is per point, else everything is expanded per face corner. Missing normals are computed (area-weighted,
smooth). USD's ``st`` has its origin at the bottom-left, Rerun's and glTF's texture coordinates at the top-left: V is
flipped.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import numpy as np
from pxr import Sdf, UsdGeom

from isaac_rerun.usd_visuals.materials import Appearance, primvar
from isaac_rerun.usd_visuals.model import TriMesh

logger = logging.getLogger("isaac_rerun.usd_visuals")

_UV_NAMES = ("st", "uv", "st0", "st_0", "UVMap", "map1")
#: Faceted meshes (per-face normals) are drawn smooth between faces meeting at less than this angle [deg], which
#: lets their corners share vertices (see :func:`weld_corners`); 0 keeps the authored normals.
FACETED_SMOOTH_DEG = 30.0


class Topology:
    """Fan triangulation of a USD polygon mesh plus mapping of primvars to points or face corners."""

    def __init__(self, n_points: int, counts: np.ndarray, indices: np.ndarray, left_handed: bool, holes: Any):
        self.n_points = n_points
        self.indices = indices
        self.counts = counts
        self.n_faces = len(counts)
        self.n_corners = len(indices)
        valid = counts >= 3
        if holes is not None and len(holes) > 0:
            hole_ids = np.asarray(holes, dtype=np.int64)
            valid[hole_ids[(hole_ids >= 0) & (hole_ids < self.n_faces)]] = False
        n_tris = np.where(valid, counts - 2, 0)
        offsets = np.cumsum(counts) - counts
        tri_face = np.repeat(np.arange(self.n_faces), n_tris)
        first_tri = np.cumsum(n_tris) - n_tris
        k = np.arange(len(tri_face)) - np.repeat(first_tri, n_tris) + 1
        start = offsets[tri_face]
        second, third = (start + k + 1, start + k) if left_handed else (start + k, start + k + 1)
        self.tri_corners = np.stack([start, second, third], axis=1)  # indices into the corner list

    @functools.cached_property
    def corner_face(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_faces), self.counts)

    def per_corner(self, values: np.ndarray, interp: str) -> np.ndarray | None:
        if interp in ("vertex", "varying"):
            return values[self.indices] if len(values) >= self.n_points else None
        if interp == "faceVarying":
            return values[: self.n_corners] if len(values) >= self.n_corners else None
        if interp == "uniform":
            return values[self.corner_face] if len(values) >= self.n_faces else None
        if interp == "constant" and len(values) > 0:
            return np.repeat(values[:1], self.n_corners, axis=0)
        return None

    def per_point(self, values: np.ndarray, interp: str) -> np.ndarray | None:
        if interp in ("vertex", "varying"):
            return values[: self.n_points] if len(values) >= self.n_points else None
        if interp == "constant" and len(values) > 0:
            return np.repeat(values[:1], self.n_points, axis=0)
        return None


def smooth_normals(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area-weighted per-point normals of a (right-handed) triangle list."""
    p0, p1, p2 = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    face_normals = np.cross(p1 - p0, p2 - p0).astype(np.float64)
    out = np.zeros((len(points), 3), dtype=np.float64)
    for corner in range(3):
        for dim in range(3):
            out[:, dim] += np.bincount(triangles[:, corner], weights=face_normals[:, dim], minlength=len(points))
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(norm > 1e-20, out / np.where(norm > 1e-20, norm, 1.0), np.array([0.0, 0.0, 1.0]))
    return out.astype(np.float32)


def _mesh_normals(prim: Any, time: Any) -> tuple[np.ndarray, str] | None:
    found = primvar(prim, "normals", time)  # primvars:normals wins over the normals attribute
    if found is None:
        mesh = UsdGeom.Mesh(prim)
        value = mesh.GetNormalsAttr().Get(time)
        if value is None or len(value) == 0:
            return None
        found = np.array(value, dtype=np.float32), str(mesh.GetNormalsInterpolation())
    values, interp = found
    return (values.reshape(-1, 3), interp) if values.size and values.size % 3 == 0 else None


def _mesh_uvs(prim: Any, preferred: str | None, time: Any) -> tuple[np.ndarray, str] | None:
    names = [preferred] if preferred else []
    names += list(_UV_NAMES)
    names += [
        pv.GetPrimvarName()
        for pv in UsdGeom.PrimvarsAPI(prim).GetPrimvarsWithAuthoredValues()
        if pv.GetTypeName().role == Sdf.ValueRoleNames.TextureCoordinate
    ]
    for name in names:
        found = primvar(prim, str(name), time)
        if found is not None and found[0].ndim == 2 and found[0].shape[1] == 2:
            return found
    return None


def mesh_geometry(prim: Any, app: Appearance, time: Any) -> TriMesh | None:
    """The triangle mesh of a USD ``Mesh`` gprim coloured by ``app``; None for an empty or inconsistent mesh."""
    mesh = UsdGeom.Mesh(prim)
    raw_points = mesh.GetPointsAttr().Get(time)
    raw_counts = mesh.GetFaceVertexCountsAttr().Get(time)
    raw_indices = mesh.GetFaceVertexIndicesAttr().Get(time)
    if not raw_points or not raw_counts or not raw_indices:
        return None
    points = np.array(raw_points, dtype=np.float32).reshape(-1, 3)
    counts = np.array(raw_counts, dtype=np.int64)
    indices = np.array(raw_indices, dtype=np.int64)
    bad_counts = bool(np.any(counts < 0)) or int(counts.sum()) != len(indices)
    if bad_counts or bool(np.any(indices < 0)) or bool(np.any(indices >= len(points))):
        logger.warning("isaac_rerun: skipping mesh %s with inconsistent topology", prim.GetPath())
        return None
    left_handed = mesh.GetOrientationAttr().Get(time) == UsdGeom.Tokens.leftHanded
    topo = Topology(len(points), counts, indices, left_handed, mesh.GetHoleIndicesAttr().Get(time))
    if len(topo.tri_corners) == 0:
        return None

    normals = _mesh_normals(prim, time)
    uvs = _mesh_uvs(prim, app.uv_name, time) if app.texture is not None else None
    colors = (app.element_colors.rgba, app.element_colors.interpolation) if app.element_colors is not None else None
    attrs: list[tuple[np.ndarray, str] | None] = [normals, uvs, colors]
    per_corner = any(a is not None and a[1] in ("faceVarying", "uniform") for a in attrs)

    def _map(attr: tuple[np.ndarray, str] | None) -> np.ndarray | None:
        if attr is None:
            return None
        mapped = topo.per_corner(*attr) if per_corner else topo.per_point(*attr)
        if mapped is None:
            logger.debug("isaac_rerun: ignoring a %s primvar of the wrong size on %s", attr[1], prim.GetPath())
        return mapped

    vertex_normals, vertex_uvs, vertex_colors = _map(normals), _map(uvs), _map(colors)
    point_triangles = indices[topo.tri_corners]
    textured = vertex_uvs is not None and app.texture is not None
    if not textured:
        vertex_uvs = None
    if vertex_normals is None:
        smooth = smooth_normals(points, point_triangles)
        vertex_normals = smooth[indices] if per_corner else smooth
    if per_corner:
        extras = [a for a in (vertex_uvs, vertex_colors) if a is not None]
        first, triangles, vertex_normals = weld_corners(points, indices, topo.tri_corners, vertex_normals, extras)
        positions = points[indices[first]]
        vertex_uvs = vertex_uvs[first] if vertex_uvs is not None else None
        vertex_colors = vertex_colors[first] if vertex_colors is not None else None
    else:
        positions, triangles = points, point_triangles
    positions = np.ascontiguousarray(positions, dtype=np.float32)
    triangles = np.ascontiguousarray(triangles, dtype=np.uint32)
    vertex_normals = np.ascontiguousarray(vertex_normals, dtype=np.float32)
    factor = np.array([255, 255, 255, app.alpha], dtype=np.uint8)
    if textured:
        texcoords = np.array(vertex_uvs, dtype=np.float32)
        texcoords[:, 1] = 1.0 - texcoords[:, 1]  # USD st: origin bottom-left; Rerun and glTF: top-left
        return TriMesh(positions, triangles, vertex_normals, factor, texcoords=texcoords, texture=app.texture)
    if vertex_colors is not None:
        colors_u8 = np.ascontiguousarray(vertex_colors, dtype=np.uint8)
        return TriMesh(positions, triangles, vertex_normals, factor, vertex_colors=colors_u8)
    return TriMesh(positions, triangles, vertex_normals, app.rgba)


def weld_corners(
    points: np.ndarray,
    corner_points: np.ndarray,
    tri_corners: np.ndarray,
    normals: np.ndarray,
    extras: list[np.ndarray],
    smooth_deg: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-corner data as shared vertices: corners of the same point with the same attributes become one vertex.

    Faceted meshes (for 99 % of the corners, the normal is the face's normal, as OBJ → USD conversions write them)
    are drawn with their normals smoothed between faces that meet at less than ``smooth_deg``
    (:data:`FACETED_SMOOTH_DEG`), so that their corners can be shared: 3-4x fewer vertices, the edges sharper than
    that angle kept. Other normals are kept as authored (only identical corners are merged).

    Returns ``(first, triangles, normals)``: for each vertex the corner it is taken from, the triangles as vertex
    indices, and the vertices' normals.
    """
    angle = FACETED_SMOOTH_DEG if smooth_deg is None else smooth_deg
    n_corners = len(corner_points)
    tri = tri_corners.reshape(-1)
    p = points.astype(np.float64)[corner_points]
    area = np.cross(p[tri_corners[:, 1]] - p[tri_corners[:, 0]], p[tri_corners[:, 2]] - p[tri_corners[:, 0]])
    face = np.zeros((n_corners, 3))
    face[tri] = np.repeat(area, 3, axis=0)  # each corner: (twice) the area vector of a triangle it belongs to
    unit = face / np.maximum(np.linalg.norm(face, axis=1, keepdims=True), 1e-30)
    used = np.zeros(n_corners, dtype=bool)
    used[tri] = True
    used &= np.linalg.norm(face, axis=1) > 1e-20  # degenerate triangles have no normal to compare with
    flat = np.einsum("ij,ij->i", normals[used], unit[used]) > 0.999
    faceted = angle > 0 and bool(used.any()) and float(flat.mean()) >= 0.99
    if faceted:
        normals = _crease_normals(corner_points, face, unit, angle)
    columns = [corner_points.astype(np.float64)[:, None]]  # exact: float64 holds any point index and float32
    columns += [np.asarray(a, dtype=np.float64).reshape(n_corners, -1) for a in extras]
    columns.append(np.round(normals * 1e5) if faceted else np.asarray(normals, dtype=np.float64))
    _, first, inverse = np.unique(_row_ids(np.concatenate(columns, axis=1)), return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # vertices in the order of their first corner
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    triangles = rank[inverse.reshape(-1)][tri_corners]
    first = first[order]
    return first, triangles, np.asarray(normals, dtype=np.float32)[first]


def _row_ids(rows: np.ndarray) -> np.ndarray:
    """One int64 per row, equal for equal rows (one ``lexsort``: faster than ``np.unique(axis=0)``)."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    change = np.r_[True, np.any(ordered[1:] != ordered[:-1], axis=1)]
    ids = np.empty(len(rows), dtype=np.int64)
    ids[order] = np.cumsum(change) - 1
    return ids


def _crease_normals(corner_points: np.ndarray, face: np.ndarray, unit: np.ndarray, angle_deg: float) -> np.ndarray:
    """Per corner: the area-weighted sum of the face normals around its point that are within ``angle_deg`` of its
    own face's normal, normalised."""
    order = np.argsort(corner_points, kind="stable")
    sorted_points = corner_points[order]
    starts = np.flatnonzero(np.r_[True, sorted_points[1:] != sorted_points[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    per_corner = np.repeat(sizes, sizes)  # the size of each (sorted) corner's group
    group_start = np.repeat(starts, sizes)
    a = np.repeat(np.arange(len(order)), per_corner)  # every ordered pair of corners of the same point
    offset = np.arange(len(a)) - np.repeat(np.cumsum(per_corner) - per_corner, per_corner)
    ca, cb = order[a], order[group_start[a] + offset]
    near = np.einsum("ij,ij->i", unit[ca], unit[cb]) > math.cos(math.radians(angle_deg))
    acc = np.zeros_like(face)
    for dim in range(3):
        acc[:, dim] = np.bincount(ca[near], weights=face[cb[near], dim], minlength=len(face))
    norm = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.where(norm > 1e-30, acc / np.where(norm > 1e-30, norm, 1.0), unit)
