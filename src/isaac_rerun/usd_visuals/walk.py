"""Stage walk: which prims below a body (or outside the envs) are visuals, and their transforms.

Each renderable gprim becomes one :class:`~isaac_rerun.usd_visuals.model.PrimVisual` whose transform is relative to
the nearest *logged* ancestor: another collected visual, else the root's **rigid** world frame (USD world transform
with the scale removed: physics poses carry no scale). A visual below another visual is expressed relative to that
ancestor's full matrix (scale included), because a Rerun child entity's transform composes with its parent's.
Transforms are decomposed as translation · rotation · scale; where USD composes a non-uniform scale with a rotation
*below* it without a collected visual in between (a shear), the closest rotation is used. Skipped: inactive,
abstract and undefined prims, ``guide`` / ``proxy`` purposes, invisible subtrees, materials, lights, cameras and
point instancers (with their prototypes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from pxr import Sdf, Usd, UsdGeom, UsdShade

from isaac_rerun._quat import compose_matrix, decompose_matrix, rigid_matrix
from isaac_rerun.usd_visuals.gprims import primitive_geometry
from isaac_rerun.usd_visuals.materials import Context, resolve_appearance
from isaac_rerun.usd_visuals.meshes import mesh_geometry
from isaac_rerun.usd_visuals.model import Geometry, PrimVisual

logger = logging.getLogger("isaac_rerun.usd_visuals")

__all__ = ["collect_global_visuals", "collect_visuals"]


def collect_visuals(
    root: Usd.Prim,
    *,
    stop_at: Callable[[Usd.Prim], bool] | None = None,
    xform_cache: UsdGeom.XformCache | None = None,
) -> list[PrimVisual]:
    """Collect the renderable gprims at and below ``root``.

    Args:
        root: the body prim (or any prim; the stage's pseudo-root means "relative to the world").
        stop_at: called for every descendant (never for ``root`` itself); where it returns True the prim and its
            subtree are skipped — e.g. nested rigid bodies, which are logged as bodies of their own.
        xform_cache: reused for the world transforms (its time code is used for every attribute read).
    """
    if not root or not root.IsValid():
        raise ValueError(f"invalid root prim: {root!r}")
    cache = xform_cache if xform_cache is not None else UsdGeom.XformCache()
    ctx = Context(time=cache.GetTime())
    if root.IsPseudoRoot():
        root_frame = np.eye(4)
    else:
        imageable = UsdGeom.Imageable(root)
        if imageable and imageable.ComputeVisibility(ctx.time) == UsdGeom.Tokens.invisible:
            return []
        root_frame = rigid_matrix(_gf_matrix(cache.GetLocalToWorldTransform(root)))
    return _collect(root, root_frame, stop_at, cache, ctx)


def collect_global_visuals(
    stage: Usd.Stage,
    *,
    envs_root: str = "/World/envs",
    stop_at: Callable[[Usd.Prim], bool] | None = None,
    xform_cache: UsdGeom.XformCache | None = None,
) -> list[PrimVisual]:
    """Collect the visuals outside the cloned environments (ground plane, terrain, static props).

    The root is the stage's pseudo-root, so ``rel_path`` is the prim path without its leading ``/`` and transforms are
    relative to the world: log them with ``log_visuals(rec, "", visuals)`` to land on the USD paths. ``envs_root``
    (and its subtree) is skipped, as is whatever ``stop_at`` returns True for (e.g. rigid bodies logged elsewhere).
    """
    envs_path = Sdf.Path(envs_root) if envs_root else None

    def _stop(prim: Usd.Prim) -> bool:
        if envs_path is not None and prim.GetPath().HasPrefix(envs_path):
            return True
        return bool(stop_at(prim)) if stop_at is not None else False

    return collect_visuals(stage.GetPseudoRoot(), stop_at=_stop, xform_cache=xform_cache)


def _gf_matrix(m: Any) -> np.ndarray:
    """A Gf matrix (row vectors) as numpy for column vectors (p' = M @ p)."""
    return np.array(m, dtype=np.float64).reshape(4, 4).T


def _geometry(prim: Usd.Prim, ctx: Context) -> Geometry | None:
    kind = str(prim.GetTypeName())
    if kind == "Mesh":
        return mesh_geometry(prim, resolve_appearance(prim, ctx), ctx.time)
    return primitive_geometry(prim, resolve_appearance(prim, ctx).rgba, ctx.time)


def _collect(
    root: Usd.Prim,
    root_frame: np.ndarray,
    stop_at: Callable[[Usd.Prim], bool] | None,
    cache: UsdGeom.XformCache,
    ctx: Context,
) -> list[PrimVisual]:
    visuals: list[PrimVisual] = []
    # prim path -> (rel_path, world matrix of what Rerun will show for it) for collected visuals below the root
    logged: dict[Sdf.Path, tuple[str, np.ndarray]] = {}
    root_path = root.GetPath()
    child_names = {child.GetName() for child in root.GetAllChildren()}

    prim_range = Usd.PrimRange(root, Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate))
    it = iter(prim_range)
    for prim in it:
        is_root = prim.GetPath() == root_path
        if not is_root and stop_at is not None and stop_at(prim):
            it.PruneChildren()
            continue
        if _prune_subtree(prim, ctx.time):
            it.PruneChildren()
            continue
        if not prim.IsA(UsdGeom.Gprim):
            continue
        purpose = UsdGeom.Imageable(prim).ComputePurpose()
        if purpose in (UsdGeom.Tokens.guide, UsdGeom.Tokens.proxy):
            continue
        try:
            geometry = _geometry(prim, ctx)
        except Exception as exc:  # a malformed prim must not take the whole scene down
            logger.warning("isaac_rerun: skipping visual %s: %s", prim.GetPath(), exc)
            continue
        if geometry is None:
            continue

        # Nearest collected ancestor (strictly below the root: the root's own visual is not a Rerun ancestor).
        parent_rel, parent_world = "", root_frame
        ancestor = prim.GetPath().GetParentPath()
        while not is_root and ancestor != root_path and ancestor.pathElementCount > 0:
            hit = logged.get(ancestor)
            if hit is not None:
                parent_rel, parent_world = hit
                break
            ancestor = ancestor.GetParentPath()

        world = _gf_matrix(cache.GetLocalToWorldTransform(prim))
        translation, quat, scale = decompose_matrix(np.linalg.inv(parent_world) @ world)
        if is_root:
            name = prim.GetName()
            rel_path = name if name not in child_names else f"{name}_visual"
        else:
            rel_path = str(prim.GetPath().MakeRelativePath(root_path))
            logged[prim.GetPath()] = (rel_path, parent_world @ compose_matrix(translation, quat, scale))
        visuals.append(
            PrimVisual(
                rel_path=rel_path,
                kind=str(prim.GetTypeName()),
                translation=translation.astype(np.float32),
                quaternion_xyzw=quat.astype(np.float32),
                scale=scale.astype(np.float32),
                parent_rel_path=parent_rel,
                geometry=geometry,
                prim_path=str(prim.GetPath()),
            )
        )
    return visuals


def _prune_subtree(prim: Usd.Prim, time: Any) -> bool:
    """Subtrees that never hold visuals to log: invisible ones, materials, lights, cameras, point instancers."""
    if prim.IsPseudoRoot():
        return False
    if prim.IsA(UsdGeom.Imageable):
        vis = UsdGeom.Imageable(prim).GetVisibilityAttr().Get(time)
        if vis == UsdGeom.Tokens.invisible:
            return True
    if prim.IsA(UsdShade.Material) or prim.IsA(UsdGeom.Camera) or prim.IsA(UsdGeom.PointInstancer):
        return True
    return _is_light(prim)


def _is_light(prim: Usd.Prim) -> bool:
    """UsdLux lights (typed, or a non-geometry prim with LightAPI; emissive MeshLightAPI gprims stay visible)."""
    type_name = str(prim.GetTypeName())
    if type_name.endswith("Light") or type_name == "LightFilter":
        return True
    return "LightAPI" in prim.GetAppliedSchemas() and not prim.IsA(UsdGeom.Gprim)
