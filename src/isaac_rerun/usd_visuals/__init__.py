"""USD stage → static Rerun visuals: the public names of the package, one module per job.

A scene logger logs each rigid body's world pose every step and, once per recording and as static data, the visual
geometry found under that body in USD. This package reads that geometry and builds what is logged, directly:

* :mod:`~isaac_rerun.usd_visuals.walk`: the stage walk — which prims are visuals, and their transforms
  (:func:`collect_visuals`, :func:`collect_global_visuals`);
* :mod:`~isaac_rerun.usd_visuals.gprims`: primitive gprims → shapes, and shapes → triangles;
* :mod:`~isaac_rerun.usd_visuals.meshes`: USD meshes → triangle meshes (topology, UVs, normals, colours);
* :mod:`~isaac_rerun.usd_visuals.materials`: materials and textures → colour, opacity, an encoded texture;
* :mod:`~isaac_rerun.usd_visuals.model`: the data model (:class:`PrimVisual`, :class:`Shape`, :class:`TriMesh`);
* :mod:`~isaac_rerun.usd_visuals.glb`: a textured mesh → a GLB that keeps its PNG/JPEG;
* :mod:`~isaac_rerun.usd_visuals.archetypes`: the model → Rerun archetypes, and :func:`log_visuals`;
* :mod:`~isaac_rerun.usd_visuals.bake`: visuals baked into one frame (the instanced layout, :func:`baked_meshes`).

Importing the package without OpenUSD's ``pxr`` works (the model, :func:`log_visuals`, :func:`baked_meshes`); the
collectors then raise ``ImportError``.
"""

from __future__ import annotations

from typing import Any

from isaac_rerun.usd_visuals.archetypes import log_visuals
from isaac_rerun.usd_visuals.bake import baked_meshes, mesh_data
from isaac_rerun.usd_visuals.model import PrimVisual, Shape, Texture, TriMesh

try:
    from isaac_rerun.usd_visuals.materials import DEFAULT_LINEAR_RGB, MAX_TEXTURE_SIZE
    from isaac_rerun.usd_visuals.walk import collect_global_visuals, collect_visuals
except ImportError as _exc:  # pragma: no cover - exercised only without USD
    _PXR_ERROR = _exc
    DEFAULT_LINEAR_RGB = (0.18, 0.18, 0.18)
    MAX_TEXTURE_SIZE = 2048

    def _needs_pxr(*args: Any, **kwargs: Any) -> Any:
        raise ImportError(
            "isaac_rerun.usd_visuals needs OpenUSD's `pxr` (pip install usd-core or usd-exchange)"
        ) from _PXR_ERROR

    collect_visuals = collect_global_visuals = _needs_pxr

MeshData = TriMesh
"""The name :func:`mesh_data` returned before 0.3 (now a :class:`TriMesh`)."""

__all__ = [
    "DEFAULT_LINEAR_RGB",
    "MAX_TEXTURE_SIZE",
    "MeshData",
    "PrimVisual",
    "Shape",
    "Texture",
    "TriMesh",
    "baked_meshes",
    "collect_global_visuals",
    "collect_visuals",
    "log_visuals",
    "mesh_data",
]
