"""Baking: a body's visuals into meshes in the body's frame, for the instanced layout.

Each visual's geometry (primitives tessellated) is moved into one common frame by its matrix (offsets, scales,
mirrors and shears applied to the vertices), so that an instance's pose is the body's pose itself. The untextured
ones are merged into one ``Mesh3D`` with per-vertex colours; a textured one stays its own GLB ``Asset3D`` (its texture
encoded). Works on the model's arrays directly; nothing is read back from an archetype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun.usd_visuals.archetypes import mesh_archetype
from isaac_rerun.usd_visuals.gprims import tessellate
from isaac_rerun.usd_visuals.model import PrimVisual, TriMesh

__all__ = ["baked_meshes", "mesh_data", "transformed"]


def mesh_data(visual: PrimVisual) -> TriMesh:
    """The visual's geometry as a triangle mesh in the visual's own frame (primitives tessellated)."""
    return tessellate(visual.geometry)


def transformed(mesh: TriMesh, matrix: np.ndarray) -> TriMesh:
    """``mesh`` moved by the 4x4 ``matrix`` (column vectors): normals by its inverse transpose, a mirror's winding
    flipped so that the faces keep facing out."""
    a = np.asarray(matrix, dtype=np.float64)
    positions = (mesh.positions.astype(np.float64) @ a[:3, :3].T + a[:3, 3]).astype(np.float32)
    n = mesh.normals.astype(np.float64) @ np.linalg.inv(a[:3, :3])  # = (inv(A).T @ n.T).T
    normals = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    triangles = mesh.triangles[:, [0, 2, 1]] if np.linalg.det(a[:3, :3]) < 0 else mesh.triangles
    return TriMesh(positions, triangles, normals, mesh.albedo, mesh.vertex_colors, mesh.texcoords, mesh.texture)


def _colors(mesh: TriMesh) -> np.ndarray:
    """Per-vertex sRGB colours: vertex colours times the albedo factor, or the constant albedo."""
    if mesh.vertex_colors is None:
        return np.tile(mesh.albedo, (len(mesh.positions), 1))
    return (mesh.vertex_colors.astype(np.uint16) * mesh.albedo.astype(np.uint16) // 255).astype(np.uint8)


def baked_meshes(parts: Sequence[tuple[PrimVisual, np.ndarray]]) -> list[tuple[str, Any]]:
    """Visuals baked into meshes in one frame: each ``(visual, matrix)`` with ``matrix`` (4x4) from the visual's
    frame to the common frame. Returns ``(name, archetype)``: the untextured visuals merged into one ``Mesh3D``
    (name ``""``, first), each textured one an ``Asset3D`` named by its ``rel_path``."""
    merged: list[TriMesh] = []
    out: list[tuple[str, Any]] = []
    for visual, matrix in parts:
        mesh = transformed(mesh_data(visual), matrix)
        if mesh.texture is not None and mesh.texcoords is not None:
            out.append((visual.rel_path, mesh_archetype(mesh)))
        else:
            merged.append(mesh)
    if merged:
        offsets = np.cumsum([0] + [len(m.positions) for m in merged[:-1]])
        mesh3d = rr.Mesh3D(
            vertex_positions=np.concatenate([m.positions for m in merged]),
            triangle_indices=np.concatenate([m.triangles + o for m, o in zip(merged, offsets, strict=True)]),
            vertex_normals=np.concatenate([m.normals for m in merged]),
            vertex_colors=np.concatenate([_colors(m) for m in merged]),
        )
        out.insert(0, ("", mesh3d))
    return out
