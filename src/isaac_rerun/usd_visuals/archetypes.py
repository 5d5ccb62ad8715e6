"""Visuals → the Rerun archetypes that draw them, and logging them under an entity root.

* a :class:`~isaac_rerun.usd_visuals.model.Shape`: ``Boxes3D``, ``Ellipsoids3D``, ``Capsules3D`` or
  ``Cylinders3D`` (solid);
* an untextured :class:`~isaac_rerun.usd_visuals.model.TriMesh`: a ``Mesh3D``;
* a textured one: an ``Asset3D`` holding a GLB (:mod:`isaac_rerun.usd_visuals.glb`), so that the texture stays a
  PNG/JPEG in the recording instead of raw pixels.

Rerun versions (0.23 … 0.41): ``Capsules3D`` and ``Cylinders3D`` take ``fill_mode`` only in later releases, so it is
passed where the constructor accepts it (``Boxes3D``/``Ellipsoids3D`` take it in both, and default to wireframe).
``Mesh3D``'s fields used here and ``Asset3D(contents=, media_type=)`` are the same in both; ``Cylinders3D`` does
not exist in 0.23 (cylinders are meshes there, see :mod:`isaac_rerun.usd_visuals.gprims`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import rerun as rr

from isaac_rerun import _compat
from isaac_rerun.usd_visuals.glb import MEDIA_TYPE, glb

if TYPE_CHECKING:  # the model imports this module (PrimVisual.archetype): no import back at run time
    from isaac_rerun.usd_visuals.model import Geometry, PrimVisual, Shape, TriMesh

__all__ = ["archetype", "log_visuals", "transform"]


@functools.cache
def _init_params(cls: type) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(cls).parameters)
    except (TypeError, ValueError):  # pragma: no cover - defensive
        return frozenset()


def _solid(cls: type) -> dict[str, Any]:
    """``fill_mode=Solid`` where the archetype accepts it (see the module docstring)."""
    return {"fill_mode": rr.components.FillMode.Solid} if "fill_mode" in _init_params(cls) else {}


def archetype(geometry: Geometry) -> Any:
    """The Rerun archetype drawing ``geometry`` in the visual's frame."""
    if hasattr(geometry, "triangles"):  # a TriMesh
        return mesh_archetype(geometry)  # type: ignore[arg-type]
    return shape_archetype(geometry)


def shape_archetype(shape: Shape) -> Any:
    colors = [shape.rgba]
    if shape.kind == "box":
        return rr.Boxes3D(half_sizes=[shape.size], colors=colors, **_solid(rr.Boxes3D))
    if shape.kind == "sphere":
        return rr.Ellipsoids3D(half_sizes=[shape.size], colors=colors, **_solid(rr.Ellipsoids3D))
    length, radius = float(shape.size[0]), float(shape.size[1])
    if shape.kind == "capsule":
        return rr.Capsules3D(
            lengths=[length],
            radii=[radius],
            translations=[shape.translation],
            quaternions=[shape.quaternion_xyzw],
            colors=colors,
            **_solid(rr.Capsules3D),
        )
    if shape.kind == "cylinder":
        cylinders = getattr(rr, "Cylinders3D")  # noqa: B009  # absent in 0.23, where no cylinder Shape is made
        return cylinders(
            lengths=[length],
            radii=[radius],
            centers=[shape.translation],
            quaternions=[shape.quaternion_xyzw],
            colors=colors,
            **_solid(cylinders),
        )
    raise ValueError(f"unknown shape kind {shape.kind!r}")  # pragma: no cover - the model has no other kind


def mesh_archetype(mesh: TriMesh, *, compact: bool = False) -> Any:
    """A ``Mesh3D``, or for a textured mesh an ``Asset3D`` GLB that keeps the encoded texture. ``compact``: a GLB for
    any mesh without vertex colours too (uint16 indices where they fit: smaller than ``Mesh3D``'s uint32)."""
    if (mesh.texture is not None and mesh.texcoords is not None) or (compact and mesh.vertex_colors is None):
        return rr.Asset3D(contents=glb(mesh), media_type=MEDIA_TYPE)
    kwargs: dict[str, Any] = {}
    if mesh.vertex_colors is not None:
        kwargs["vertex_colors"] = mesh.vertex_colors
        if mesh.albedo[3] < 255:
            kwargs["albedo_factor"] = mesh.albedo
    else:
        kwargs["albedo_factor"] = mesh.albedo
    return rr.Mesh3D(
        vertex_positions=mesh.positions,
        triangle_indices=mesh.triangles,
        vertex_normals=mesh.normals,
        **kwargs,
    )


def transform(visual: PrimVisual) -> rr.Transform3D:
    """The visual's transform relative to its parent entity."""
    return rr.Transform3D(
        translation=visual.translation,
        quaternion=_compat.quaternion(visual.quaternion_xyzw),
        scale=visual.scale,
    )


def log_visuals(rec: rr.RecordingStream, entity_root: str, visuals: Sequence[PrimVisual]) -> None:
    """Log every visual as static data at ``entity_root/<rel_path>``: its ``Transform3D`` and its archetype together,
    in one ``log`` call per visual. ``entity_root`` ``""`` or ``"/"`` logs at the recording root (global visuals)."""
    for visual in visuals:
        rec.log(visual.entity_path(entity_root), transform(visual), visual.archetype, static=True)
