"""USD stage → static Rerun visuals.

A scene logger logs each rigid body's world pose every step as a ``rr.Transform3D`` on the body's entity
(e.g. ``/World/envs/env_3/Robot/pole``) and, once and as static, the visual geometry found under that body in USD.
This module reads that geometry:

* :func:`collect_visuals` walks a body prim (and its descendants, through instance proxies) and returns one
  :class:`PrimVisual` per renderable gprim: its transform relative to the nearest *logged* ancestor (another collected
  visual, else the body's rigid frame) and a ready-made Rerun archetype.
* :func:`collect_global_visuals` does the same for everything outside the cloned environments (ground, terrain),
  relative to the world.
* :func:`log_visuals` logs a list of visuals under an entity root, one ``log`` call per visual.

Conventions:

* The body's frame is its **rigid** world frame: USD world transform with the scale removed (physics poses carry no
  scale). A visual whose nearest collected ancestor is another visual is expressed relative to that ancestor's full
  matrix (scale included), because a Rerun child entity's transform composes with its parent's. Transforms are
  decomposed as translation · rotation · scale; where USD composes a non-uniform scale with a rotation *below* it
  without a collected visual in between (a shear), the closest rotation is used.
* Colours follow what a USD renderer shows: the bound material first (``UsdPreviewSurface``
  ``diffuseColor``/``opacity``, a ``UsdUVTexture`` feeding ``diffuseColor``, or OmniPBR's
  ``diffuse_color_constant × diffuse_tint`` / ``diffuse_texture``), then ``primvars:displayColor`` /
  ``displayOpacity``, then USD's 0.18 grey — the precedence Isaac Lab applies for its own viewers. USD colours are
  linear; they are encoded to sRGB for Rerun.
* Rerun texture coordinates have their origin at the top-left, USD's ``st`` at the bottom-left: V is flipped.

Everything here is plain ``pxr`` + numpy; it needs no Isaac Lab. Importing this module without ``pxr`` works (for
:class:`PrimVisual` / :func:`log_visuals`); the collectors then raise ``ImportError``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _compat, _quat
from isaac_rerun._quat import compose_matrix as _compose
from isaac_rerun._quat import decompose_matrix as _decompose
from isaac_rerun._quat import rigid_matrix as _rigid

_HAVE_PXR: bool
try:
    from pxr import Sdf, Usd, UsdGeom, UsdShade
except ImportError:  # pragma: no cover - exercised only without USD
    _HAVE_PXR = False
else:
    _HAVE_PXR = True

__all__ = [
    "MeshData",
    "PrimVisual",
    "baked_meshes",
    "collect_global_visuals",
    "collect_visuals",
    "log_visuals",
    "mesh_data",
]

logger = logging.getLogger(__name__)

#: USD's own fallback display colour (linear 0.18 grey), used when neither a material nor displayColor is authored.
DEFAULT_LINEAR_RGB = (0.18, 0.18, 0.18)
#: Segments around the axis of generated cones / cylinders / frusta.
MESH_SEGMENTS = 32
#: Textures larger than this (either side) are downsampled before they go into the recording.
MAX_TEXTURE_SIZE = 2048

# ---------------------------------------------------------------------------------------------------------------------
# Rerun version compatibility (rerun-sdk 0.23 … 0.41). Everything version-dependent is in this block.
#
# * ``rr.Cylinders3D`` does not exist in 0.23 → cylinders become a generated ``Mesh3D`` there.
# * ``Capsules3D`` only takes ``fill_mode`` (and ``line_radii``) after 0.23; ``Cylinders3D`` may lack it in its first
#   releases → ``fill_mode=Solid`` is passed only where the archetype's constructor accepts it. ``Boxes3D`` and
#   ``Ellipsoids3D`` take ``fill_mode`` in both (their default is a wireframe, so it is always set).
# * ``Mesh3D`` gained ``face_rendering`` after 0.23 (default ``DoubleSided``, which is what 0.23 draws) → not used.
#   ``vertex_positions/triangle_indices/vertex_normals/vertex_colors/vertex_texcoords/albedo_texture/albedo_factor``
#   are the same in both.
# * ``Capsules3D(lengths, radii, translations, quaternions, colors)``, ``Boxes3D(half_sizes, colors)``,
#   ``Ellipsoids3D(half_sizes, colors)`` and ``Transform3D(translation, quaternion, scale)`` are the same in both.
# ---------------------------------------------------------------------------------------------------------------------
_CYLINDERS3D: Any = getattr(rr, "Cylinders3D", None)


@functools.cache
def _init_params(cls: type) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(cls).parameters)
    except (TypeError, ValueError):  # pragma: no cover - defensive
        return frozenset()


def _solid(cls: type) -> dict[str, Any]:
    """``fill_mode=Solid`` where the archetype accepts it (see the compatibility notes above)."""
    return {"fill_mode": rr.components.FillMode.Solid} if "fill_mode" in _init_params(cls) else {}


# ---------------------------------------------------------------------------------------------------------------------
# Public data model
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PrimVisual:
    """One renderable USD gprim, ready to be logged under an entity root.

    Attributes:
        rel_path: gprim path relative to the collection root, e.g. ``"geometry/mesh"`` (entity path is
            ``entity_root + "/" + rel_path``). When the root itself is a gprim its visual is named after the root
            prim (``"<root name>"``), so that it never overwrites the body's own per-step transform.
        kind: USD type name (``"Mesh"``, ``"Cube"``, ``"Sphere"``, ``"Capsule"``, ``"Cylinder"``, ``"Cone"``,
            ``"Plane"``, or the ``_1`` variants).
        translation: (3,) float32, relative to the frame named by ``parent_rel_path``.
        quaternion_xyzw: (4,) float32 unit quaternion, ``w >= 0``.
        scale: (3,) float32 (one component negative for mirrored prims).
        parent_rel_path: ``""`` = the root's rigid frame; else the ``rel_path`` of the nearest ancestor visual.
        archetype: a Rerun archetype (``Mesh3D``, ``Boxes3D``, ``Ellipsoids3D``, ``Capsules3D``, ``Cylinders3D``).
        prim_path: the full USD path of the gprim (for diagnostics).
    """

    rel_path: str
    kind: str
    translation: np.ndarray
    quaternion_xyzw: np.ndarray
    scale: np.ndarray
    parent_rel_path: str
    archetype: Any
    prim_path: str = ""

    def entity_path(self, entity_root: str) -> str:
        """Rerun entity path of this visual under ``entity_root`` (``""`` or ``"/"`` = the recording root)."""
        root = entity_root.rstrip("/")
        return f"{root}/{self.rel_path}"

    def transform(self) -> rr.Transform3D:
        """The visual's transform relative to its parent entity."""
        return rr.Transform3D(
            translation=self.translation,
            quaternion=_compat.quaternion(self.quaternion_xyzw),
            scale=self.scale,
        )

    def shifted(self, delta: np.ndarray) -> PrimVisual:
        """This visual moved by ``delta`` in its parent frame (a top-level visual: in the world)."""
        if self.parent_rel_path:
            return self
        return dataclasses.replace(self, translation=(self.translation + delta).astype(np.float32))

    def matrix(self) -> np.ndarray:
        """4x4 (column-vector convention) of ``translation · rotation · scale``."""
        return _compose(
            self.translation.astype(np.float64),
            self.quaternion_xyzw.astype(np.float64),
            self.scale.astype(np.float64),
        )


def log_visuals(rec: rr.RecordingStream, entity_root: str, visuals: Sequence[PrimVisual]) -> None:
    """Log every visual as static data at ``entity_root/<rel_path>``: its ``Transform3D`` and its archetype together,
    in one ``log`` call per visual. ``entity_root`` ``""`` or ``"/"`` logs at the recording root (global visuals)."""
    for visual in visuals:
        rec.log(visual.entity_path(entity_root), visual.transform(), visual.archetype, static=True)


# ---------------------------------------------------------------------------------------------------------------------
# Collection
# ---------------------------------------------------------------------------------------------------------------------


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

    Skipped: inactive / abstract / undefined prims, prims whose computed purpose is ``guide`` or ``proxy``, invisible
    subtrees, materials, lights, cameras and point instancers (with their prototypes).
    """
    _require_pxr()
    if not root or not root.IsValid():
        raise ValueError(f"invalid root prim: {root!r}")
    cache = xform_cache if xform_cache is not None else UsdGeom.XformCache()
    ctx = _Context(time=cache.GetTime())
    if root.IsPseudoRoot():
        root_frame = np.eye(4)
    else:
        imageable = UsdGeom.Imageable(root)
        if imageable and imageable.ComputeVisibility(ctx.time) == UsdGeom.Tokens.invisible:
            return []
        root_frame = _rigid(_gf_matrix(cache.GetLocalToWorldTransform(root)))
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
    _require_pxr()
    envs_path = Sdf.Path(envs_root) if envs_root else None

    def _stop(prim: Usd.Prim) -> bool:
        if envs_path is not None and prim.GetPath().HasPrefix(envs_path):
            return True
        return bool(stop_at(prim)) if stop_at is not None else False

    return collect_visuals(stage.GetPseudoRoot(), stop_at=_stop, xform_cache=xform_cache)


def _require_pxr() -> None:
    if not _HAVE_PXR:
        raise ImportError("isaac_rerun.usd_visuals needs OpenUSD's `pxr` (pip install usd-core or usd-exchange)")


@dataclass
class _Context:
    time: Any
    material_cache: dict[str, _Appearance | None] = field(default_factory=dict)
    texture_cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict)


def _collect(
    root: Usd.Prim,
    root_frame: np.ndarray,
    stop_at: Callable[[Usd.Prim], bool] | None,
    cache: UsdGeom.XformCache,
    ctx: _Context,
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
            archetype = _build_archetype(prim, ctx)
        except Exception as exc:  # a malformed prim must not take the whole scene down
            logger.warning("isaac_rerun: skipping visual %s: %s", prim.GetPath(), exc)
            continue
        if archetype is None:
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
        translation, quat, scale = _decompose(np.linalg.inv(parent_world) @ world)
        if is_root:
            name = prim.GetName()
            rel_path = name if name not in child_names else f"{name}_visual"
        else:
            rel_path = str(prim.GetPath().MakeRelativePath(root_path))
            logged[prim.GetPath()] = (rel_path, parent_world @ _compose(translation, quat, scale))
        visuals.append(
            PrimVisual(
                rel_path=rel_path,
                kind=str(prim.GetTypeName()),
                translation=translation.astype(np.float32),
                quaternion_xyzw=quat.astype(np.float32),
                scale=scale.astype(np.float32),
                parent_rel_path=parent_rel,
                archetype=archetype,
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


# ---------------------------------------------------------------------------------------------------------------------
# Transforms (column-vector convention internally: p' = M @ p; USD matrices are row-vector and get transposed)
# ---------------------------------------------------------------------------------------------------------------------


def _gf_matrix(m: Any) -> np.ndarray:
    return np.array(m, dtype=np.float64).reshape(4, 4).T


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


def _z_to_axis(v: np.ndarray, axis: str) -> np.ndarray:
    """Cyclic coordinate permutation (a proper rotation) taking a +Z-aligned shape onto ``axis``."""
    if axis == "X":
        return v[:, [2, 0, 1]]
    if axis == "Y":
        return v[:, [1, 2, 0]]
    return v


# ---------------------------------------------------------------------------------------------------------------------
# Appearance
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class _ElementColors:
    rgba: np.ndarray  # (n, 4) uint8
    interpolation: str


@dataclass
class _Appearance:
    rgba: np.ndarray  # (4,) uint8 — the colour for primitives, and the constant colour of meshes
    texture: np.ndarray | None = None  # (H, W, 3|4) uint8 albedo texture
    uv_name: str | None = None  # primvar the texture reads its coordinates from
    alpha: int = 255  # overall opacity (albedo_factor alpha when a texture / per-element colours are used)
    element_colors: _ElementColors | None = None  # non-constant displayColor (meshes)


def _srgb_u8(linear: Any) -> np.ndarray:
    """Linear RGB floats → sRGB-encoded uint8 (sRGB OETF)."""
    c = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    srgb = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)
    return np.round(srgb * 255.0).astype(np.uint8)


def _alpha_u8(opacity: float) -> int:
    return round(min(max(float(opacity), 0.0), 1.0) * 255.0)


def _rgba(linear_rgb: Any, opacity: float = 1.0) -> np.ndarray:
    rgb = _srgb_u8(np.asarray(linear_rgb, dtype=np.float64).reshape(-1)[:3])
    return np.array([rgb[0], rgb[1], rgb[2], _alpha_u8(opacity)], dtype=np.uint8)


def _resolve_appearance(prim: Usd.Prim, ctx: _Context) -> _Appearance:
    material_app = _material_appearance(prim, ctx)
    if material_app is not None:
        return material_app
    display = _display_color_appearance(prim, ctx.time)
    if display is not None:
        return display
    return _Appearance(rgba=_rgba(DEFAULT_LINEAR_RGB))


def _display_color_appearance(prim: Usd.Prim, time: Any) -> _Appearance | None:
    colors = _primvar(prim, "displayColor", time, inherit=True)
    opacities = _primvar(prim, "displayOpacity", time, inherit=True)
    if colors is None and opacities is None:
        return None
    const_opacity = 1.0
    if opacities is not None and len(opacities[0]) > 0:
        op_values = opacities[0].reshape(-1)
        const_opacity = float(op_values[0]) if opacities[1] == UsdGeom.Tokens.constant else float(op_values.mean())
    if colors is None or len(colors[0]) == 0:
        return _Appearance(rgba=_rgba(DEFAULT_LINEAR_RGB, const_opacity))
    values, interp = colors[0].reshape(-1, 3), colors[1]
    if interp == UsdGeom.Tokens.constant or len(values) == 1:
        return _Appearance(rgba=_rgba(values[0], const_opacity))
    rgba = np.empty((len(values), 4), dtype=np.uint8)
    rgba[:, :3] = _srgb_u8(values)
    rgba[:, 3] = 255
    alpha = _alpha_u8(const_opacity)
    if opacities is not None and opacities[1] == interp and len(opacities[0]) == len(values):
        rgba[:, 3] = np.round(np.clip(opacities[0].reshape(-1), 0.0, 1.0) * 255.0).astype(np.uint8)
        alpha = 255
    return _Appearance(
        rgba=_rgba(values.mean(axis=0), const_opacity),
        alpha=alpha,
        element_colors=_ElementColors(rgba=rgba, interpolation=str(interp)),
    )


def _material_appearance(prim: Usd.Prim, ctx: _Context) -> _Appearance | None:
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    if not material:
        return None
    key = str(material.GetPath())
    if key not in ctx.material_cache:
        ctx.material_cache[key] = _read_material(material, ctx)
    return ctx.material_cache[key]


def _surface_shader(material: UsdShade.Material) -> UsdShade.Shader | None:
    shader = material.ComputeSurfaceSource()[0]
    if shader and shader.GetPrim().IsValid():
        return shader
    for context in ("mdl",):  # Omniverse MDL materials (OmniPBR) connect a render-context-specific output
        output = material.GetSurfaceOutput(context)
        if output:
            source = output.GetConnectedSource()
            if source and source[0].GetPrim().IsValid():
                return UsdShade.Shader(source[0].GetPrim())
    for child in material.GetPrim().GetChildren():
        if child.IsA(UsdShade.Shader):
            return UsdShade.Shader(child)
    return None


def _shader_id(shader: UsdShade.Shader) -> str:
    try:
        shader_id = shader.GetShaderId()
    except Exception:  # pragma: no cover - defensive
        shader_id = None
    return str(shader_id) if shader_id else ""


def _input_source(shader: UsdShade.Shader, name: str, time: Any) -> tuple[Any, UsdShade.Shader | None]:
    """(authored value, connected upstream shader) of ``inputs:<name>``, following material interface connections."""
    inp = shader.GetInput(name)
    if not inp:
        return None, None
    for attr in UsdShade.Utils.GetValueProducingAttributes(inp):
        if UsdShade.Output.IsOutput(attr):
            return None, UsdShade.Shader(attr.GetPrim())
        value = attr.Get(time)
        if value is not None:
            return value, None
    return None, None


def _read_material(material: UsdShade.Material, ctx: _Context) -> _Appearance | None:
    shader = _surface_shader(material)
    if shader is None:
        return None
    time = ctx.time
    if _shader_id(shader) == "UsdPreviewSurface":
        opacity, _ = _input_source(shader, "opacity", time)
        alpha = _alpha_u8(opacity if opacity is not None else 1.0)
        value, upstream = _input_source(shader, "diffuseColor", time)
        if upstream is not None and _shader_id(upstream) == "UsdUVTexture":
            return _texture_appearance(upstream, alpha, ctx)
        if upstream is not None and _shader_id(upstream).startswith("UsdPrimvarReader"):
            return None  # diffuseColor <- a primvar reader (typically displayColor): the prim's primvars decide
        color = value if value is not None else DEFAULT_LINEAR_RGB  # the UsdPreviewSurface default
        return _Appearance(rgba=_rgba(color, alpha / 255.0), alpha=alpha)
    if shader.GetInput("diffuse_color_constant") or shader.GetInput("diffuse_texture") or _is_omnipbr(shader):
        color, _ = _input_source(shader, "diffuse_color_constant", time)
        tint, _ = _input_source(shader, "diffuse_tint", time)
        linear = np.asarray(color if color is not None else (0.2, 0.2, 0.2), dtype=np.float64).reshape(-1)[:3]
        linear = linear * np.asarray(tint if tint is not None else (1.0, 1.0, 1.0), dtype=np.float64).reshape(-1)[:3]
        app = _Appearance(rgba=_rgba(linear))
        tex_asset, _ = _input_source(shader, "diffuse_texture", time)
        loaded = _load_texture(tex_asset, ctx) if tex_asset is not None else None
        if loaded is not None:
            app.texture, mean = loaded
            app.rgba = mean
        return app
    return None


def _is_omnipbr(shader: UsdShade.Shader) -> bool:
    attr = shader.GetPrim().GetAttribute("info:mdl:sourceAsset")
    value = attr.Get() if attr else None
    return value is not None and str(getattr(value, "path", value)).endswith("OmniPBR.mdl")


def _texture_appearance(texture: UsdShade.Shader, alpha: int, ctx: _Context) -> _Appearance:
    time = ctx.time
    fallback, _ = _input_source(texture, "fallback", time)
    fallback_rgb = np.asarray(fallback, dtype=np.float64).reshape(-1)[:3] if fallback is not None else (0, 0, 0)
    app = _Appearance(rgba=_rgba(fallback_rgb, alpha / 255.0), alpha=alpha)
    file_value, _ = _input_source(texture, "file", time)
    loaded = _load_texture(file_value, ctx) if file_value is not None else None
    if loaded is None:
        return app
    app.texture, mean = loaded
    app.rgba = np.array([mean[0], mean[1], mean[2], alpha], dtype=np.uint8)
    # Which primvar holds the coordinates: inputs:st <- UsdPrimvarReader_float2.inputs:varname
    _, reader = _input_source(texture, "st", time)
    if reader is not None:
        varname, _ = _input_source(reader, "varname", time)
        if varname:
            app.uv_name = str(varname)
    return app


def _load_texture(asset: Any, ctx: _Context) -> tuple[np.ndarray, np.ndarray] | None:
    """Load an image asset as an (H, W, 3|4) uint8 array plus its mean RGBA; None when it is not a local file."""
    resolved = str(getattr(asset, "resolvedPath", "") or "")
    raw = str(getattr(asset, "path", asset) or "")
    path = resolved if resolved and os.path.isfile(resolved) else raw
    if not path or not os.path.isfile(path):
        return None
    if path in ctx.texture_cache:
        return ctx.texture_cache[path]
    result: tuple[np.ndarray, np.ndarray] | None = None
    try:
        from PIL import Image

        with Image.open(path) as image:
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            converted = image.convert("RGBA" if has_alpha else "RGB")
            if max(converted.size) > MAX_TEXTURE_SIZE:
                converted.thumbnail((MAX_TEXTURE_SIZE, MAX_TEXTURE_SIZE))
            pixels = np.array(converted, dtype=np.uint8)
        mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0)
        mean_rgba = np.array([mean[0], mean[1], mean[2], 255], dtype=np.float64).round().astype(np.uint8)
        result = (pixels, mean_rgba)
    except Exception as exc:
        logger.warning("isaac_rerun: cannot load texture %s: %s", path, exc)
    ctx.texture_cache[path] = result
    return result


def _primvar(prim: Usd.Prim, name: str, time: Any, *, inherit: bool = False) -> tuple[np.ndarray, str] | None:
    """Flattened (de-indexed) values and interpolation of an authored primvar, or None."""
    api = UsdGeom.PrimvarsAPI(prim)
    primvar = api.FindPrimvarWithInheritance(name) if inherit else api.GetPrimvar(name)
    if not primvar or not primvar.HasAuthoredValue():
        return None
    values = primvar.ComputeFlattened(time)
    if values is None:
        return None
    return np.array(values, dtype=np.float32), str(primvar.GetInterpolation())


# ---------------------------------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------------------------------


def _attr(prim: Usd.Prim, name: str, time: Any, default: Any) -> Any:
    attr = prim.GetAttribute(name)
    value = attr.Get(time) if attr else None
    return default if value is None else value


def _build_archetype(prim: Usd.Prim, ctx: _Context) -> Any:
    kind = str(prim.GetTypeName())
    time = ctx.time
    if kind == "Mesh":
        return _mesh_archetype(prim, _resolve_appearance(prim, ctx), ctx)
    if kind not in ("Cube", "Sphere", "Capsule", "Capsule_1", "Cylinder", "Cylinder_1", "Cone", "Plane"):
        logger.debug("isaac_rerun: no Rerun visual for %s prim %s", kind, prim.GetPath())
        return None
    app = _resolve_appearance(prim, ctx)
    colors = [app.rgba]
    axis = str(_attr(prim, "axis", time, "Z"))
    if kind == "Cube":
        half = float(_attr(prim, "size", time, 2.0)) / 2.0
        return rr.Boxes3D(half_sizes=[[half, half, half]], colors=colors, **_solid(rr.Boxes3D))
    if kind == "Sphere":
        radius = float(_attr(prim, "radius", time, 1.0))
        return rr.Ellipsoids3D(half_sizes=[[radius, radius, radius]], colors=colors, **_solid(rr.Ellipsoids3D))
    height = float(_attr(prim, "height", time, 2.0 if kind != "Capsule" else 1.0))
    if kind == "Plane":
        width = float(_attr(prim, "width", time, 2.0))
        length = float(_attr(prim, "length", time, 2.0))
        positions, normals, triangles = _plane_mesh(width, length, axis)
        return _primitive_mesh(positions, normals, triangles, app)
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
        return rr.Capsules3D(
            lengths=[height],
            radii=[max(r_top, r_bottom)],
            translations=[-0.5 * height * _AXIS_VEC.get(axis, _AXIS_VEC["Z"])],
            quaternions=[_Z_TO_AXIS_QUAT.get(axis, _Z_TO_AXIS_QUAT["Z"])],
            colors=colors,
            **_solid(rr.Capsules3D),
        )
    if kind.startswith("Cylinder") and r_top == r_bottom and _CYLINDERS3D is not None:
        return _CYLINDERS3D(
            lengths=[height],
            radii=[r_top],
            centers=[[0.0, 0.0, 0.0]],
            quaternions=[_Z_TO_AXIS_QUAT.get(axis, _Z_TO_AXIS_QUAT["Z"])],
            colors=colors,
            **_solid(_CYLINDERS3D),
        )
    positions, normals, triangles = _frustum_mesh(r_bottom, r_top, height, axis)
    return _primitive_mesh(positions, normals, triangles, app)


def _primitive_mesh(positions: np.ndarray, normals: np.ndarray, triangles: np.ndarray, app: _Appearance) -> Any:
    return rr.Mesh3D(
        vertex_positions=positions,
        triangle_indices=triangles,
        vertex_normals=normals,
        albedo_factor=app.rgba,
    )


def _frustum_mesh(
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


def _plane_mesh(width: float, length: float, axis: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


class _Topology:
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


def _smooth_normals(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
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


def _mesh_normals(prim: Usd.Prim, time: Any) -> tuple[np.ndarray, str] | None:
    primvar = _primvar(prim, "normals", time)  # primvars:normals wins over the normals attribute
    if primvar is None:
        mesh = UsdGeom.Mesh(prim)
        value = mesh.GetNormalsAttr().Get(time)
        if value is None or len(value) == 0:
            return None
        primvar = np.array(value, dtype=np.float32), str(mesh.GetNormalsInterpolation())
    values, interp = primvar
    return (values.reshape(-1, 3), interp) if values.size and values.size % 3 == 0 else None


_UV_NAMES = ("st", "uv", "st0", "st_0", "UVMap", "map1")


def _mesh_uvs(prim: Usd.Prim, preferred: str | None, time: Any) -> tuple[np.ndarray, str] | None:
    names = [preferred] if preferred else []
    names += list(_UV_NAMES)
    names += [
        pv.GetPrimvarName()
        for pv in UsdGeom.PrimvarsAPI(prim).GetPrimvarsWithAuthoredValues()
        if pv.GetTypeName().role == Sdf.ValueRoleNames.TextureCoordinate
    ]
    for name in names:
        found = _primvar(prim, str(name), time)
        if found is not None and found[0].ndim == 2 and found[0].shape[1] == 2:
            return found
    return None


def _mesh_archetype(prim: Usd.Prim, app: _Appearance, ctx: _Context) -> Any:
    time = ctx.time
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
    topo = _Topology(len(points), counts, indices, left_handed, mesh.GetHoleIndicesAttr().Get(time))
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
    if vertex_normals is None:
        smooth = _smooth_normals(points, point_triangles)
        vertex_normals = smooth[indices] if per_corner else smooth
    if per_corner:
        positions, triangles = points[indices], topo.tri_corners
    else:
        positions, triangles = points, point_triangles

    kwargs: dict[str, Any] = {}
    if vertex_uvs is not None and app.texture is not None:
        texcoords = np.array(vertex_uvs, dtype=np.float32)
        texcoords[:, 1] = 1.0 - texcoords[:, 1]  # USD st: origin bottom-left; Rerun: top-left
        kwargs.update(vertex_texcoords=texcoords, albedo_texture=app.texture)
        kwargs["albedo_factor"] = np.array([255, 255, 255, app.alpha], dtype=np.uint8)
    elif vertex_colors is not None:
        kwargs["vertex_colors"] = np.ascontiguousarray(vertex_colors, dtype=np.uint8)
        if app.alpha < 255:
            kwargs["albedo_factor"] = np.array([255, 255, 255, app.alpha], dtype=np.uint8)
    else:
        kwargs["albedo_factor"] = app.rgba
    return rr.Mesh3D(
        vertex_positions=np.ascontiguousarray(positions, dtype=np.float32),
        triangle_indices=np.ascontiguousarray(triangles, dtype=np.uint32),
        vertex_normals=np.ascontiguousarray(vertex_normals, dtype=np.float32),
        **kwargs,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Baked meshes (the instanced layout)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class MeshData:
    """A visual's geometry as a triangle mesh in its own frame (what :func:`mesh_data` reads off an archetype)."""

    positions: np.ndarray  # (n, 3) float32
    triangles: np.ndarray  # (m, 3) uint32
    normals: np.ndarray | None = None  # (n, 3) float32
    colors: np.ndarray | None = None  # (n, 4) uint8 (vertex colours x albedo)
    texcoords: np.ndarray | None = None  # (n, 2) float32
    texture: tuple[Any, Any] | None = None  # (albedo_texture_buffer, albedo_texture_format) component batches


def _arrow(batch: Any) -> Any:
    return None if batch is None else batch.as_arrow_array()


def _vectors(batch: Any, width: int, dtype: Any = np.float32) -> np.ndarray | None:
    array = _arrow(batch)
    if array is None or len(array) == 0:
        return None
    return np.asarray(array.flatten().to_numpy(zero_copy_only=False), dtype=dtype).reshape(-1, width)


def _rgba_u8(batch: Any) -> np.ndarray | None:
    """Rerun colours (packed 0xRRGGBBAA u32) as (n, 4) uint8."""
    array = _arrow(batch)
    if array is None or len(array) == 0:
        return None
    packed = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.uint32)
    return np.stack([(packed >> s) & 0xFF for s in (24, 16, 8, 0)], axis=1).astype(np.uint8)


def _scalar(batch: Any, default: float) -> float:
    array = _arrow(batch)
    return float(array.to_numpy(zero_copy_only=False)[0]) if array is not None and len(array) else default


def _uv_sphere(segments: int = 24, rings: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere: positions (= normals) and triangles."""
    theta = np.linspace(0.0, np.pi, rings + 1)
    phi = np.linspace(0.0, 2.0 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    pts = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
    tris = []
    for i in range(rings):
        for j in range(segments):
            a, b = i * segments + j, i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            tris += [[a, c, b], [b, c, d]]
    return pts.astype(np.float32), np.asarray(tris, dtype=np.uint32)


def _box_mesh(half: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return (
        np.asarray(positions, np.float32),
        np.asarray(normals, np.float32),
        np.asarray(tris, np.uint32),
    )


def _capsule_mesh(length: float, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rerun's capsule: from the origin along +Z, ``length`` between the centres of its two hemispheres."""
    pts, tris = _uv_sphere()
    upper = pts[:, 2] >= 0
    positions = pts * radius + np.where(upper[:, None], [0.0, 0.0, length], [0.0, 0.0, 0.0])
    return positions.astype(np.float32), pts.astype(np.float32), tris


def _posed(
    positions: np.ndarray, normals: np.ndarray, translation: np.ndarray | None, quaternion: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    q = np.array([0, 0, 0, 1], np.float32) if quaternion is None else quaternion.reshape(4)
    t = np.zeros(3, np.float32) if translation is None else translation.reshape(3)
    return (_quat.rotate(q, positions) + t).astype(np.float32), _quat.rotate(q, normals).astype(np.float32)


def mesh_data(visual: PrimVisual) -> MeshData | None:
    """The visual's geometry as a triangle mesh in the visual's own frame (primitives tessellated), or None."""
    arch = visual.archetype
    name = type(arch).__name__
    color = _rgba_u8(getattr(arch, "colors", None))
    if name == "Mesh3D":
        positions = _vectors(arch.vertex_positions, 3)
        if positions is None:
            return None
        tris = _vectors(arch.triangle_indices, 3, np.uint32)
        if tris is None:
            tris = np.arange(len(positions), dtype=np.uint32).reshape(-1, 3)
        colors = _rgba_u8(arch.vertex_colors)
        albedo = _rgba_u8(arch.albedo_factor)
        if albedo is not None:
            base = colors if colors is not None else np.full((len(positions), 4), 255, np.uint8)
            colors = (base.astype(np.uint16) * albedo[0].astype(np.uint16) // 255).astype(np.uint8)
        texture = None
        if arch.albedo_texture_buffer is not None:
            texture = (arch.albedo_texture_buffer, arch.albedo_texture_format)
        return MeshData(
            positions, tris, _vectors(arch.vertex_normals, 3), colors, _vectors(arch.vertex_texcoords, 2), texture
        )
    if name == "Boxes3D":
        half = _vectors(arch.half_sizes, 3)
        positions, normals, tris = _box_mesh(half[0] if half is not None else np.full(3, 0.5))
        positions, normals = _posed(positions, normals, _vectors(arch.centers, 3), _vectors(arch.quaternions, 4))
    elif name == "Ellipsoids3D":
        half = _vectors(arch.half_sizes, 3)
        h = half[0] if half is not None else np.ones(3, np.float32)
        unit, tris = _uv_sphere()
        positions = unit * h
        normals = unit / np.where(np.abs(h) > 1e-12, h, 1.0)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        positions, normals = _posed(positions, normals, _vectors(arch.centers, 3), _vectors(arch.quaternions, 4))
    elif name == "Capsules3D":
        positions, normals, tris = _capsule_mesh(_scalar(arch.lengths, 1.0), _scalar(arch.radii, 0.5))
        positions, normals = _posed(positions, normals, _vectors(arch.translations, 3), _vectors(arch.quaternions, 4))
    elif name == "Cylinders3D":
        r = _scalar(arch.radii, 0.5)
        positions, normals, tris = _frustum_mesh(r, r, _scalar(arch.lengths, 1.0), "Z")
        positions, normals = _posed(positions, normals, _vectors(arch.centers, 3), _vectors(arch.quaternions, 4))
    else:
        return None
    colors = np.tile(color[:1], (len(positions), 1)) if color is not None else None
    return MeshData(positions, tris.astype(np.uint32), normals, colors)


def _image_format(batch: Any) -> Any:
    """The native ``ImageFormat`` of a one-element ``ImageFormatBatch``: ``Mesh3D.from_fields`` does not take the
    batch itself (it warns and drops the texture's format, so the viewer cannot draw the texture)."""
    native = getattr(sys.modules.get(type(batch).__module__), "ImageFormat", None)
    if native is None:
        return batch
    return native(**batch.as_arrow_array().to_pylist()[0])


def baked_meshes(parts: Sequence[tuple[PrimVisual, np.ndarray]]) -> list[tuple[str, Any]]:
    """Visuals baked into meshes in one frame: each ``(visual, matrix)`` with ``matrix`` (4x4) from the visual's
    frame to the common frame (scale and shear included). Untextured meshes are merged into one ``Mesh3D`` with
    per-vertex colours (name ``""``); a textured one keeps its own ``Mesh3D`` (named by its ``rel_path``)."""
    merged: list[MeshData] = []
    out: list[tuple[str, Any]] = []
    for visual, matrix in parts:
        mesh = mesh_data(visual)
        if mesh is None:
            continue
        a = np.asarray(matrix, dtype=np.float64)
        positions = (mesh.positions.astype(np.float64) @ a[:3, :3].T + a[:3, 3]).astype(np.float32)
        normals = None
        if mesh.normals is not None:
            inv_t = np.linalg.inv(a[:3, :3]).T
            n = mesh.normals.astype(np.float64) @ inv_t.T
            normals = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        triangles = mesh.triangles
        if np.linalg.det(a[:3, :3]) < 0:  # a mirror flips the winding
            triangles = triangles[:, [0, 2, 1]]
        baked = MeshData(positions, triangles, normals, mesh.colors, mesh.texcoords, mesh.texture)
        if baked.texture is not None:
            fields: dict[str, Any] = {"vertex_positions": positions, "triangle_indices": triangles}
            if normals is not None:
                fields["vertex_normals"] = normals
            if baked.texcoords is not None:
                fields["vertex_texcoords"] = baked.texcoords
            mesh3d = rr.Mesh3D.from_fields(
                **fields, albedo_texture_buffer=baked.texture[0], albedo_texture_format=_image_format(baked.texture[1])
            )
            out.append((visual.rel_path, mesh3d))
        else:
            merged.append(baked)
    if merged:
        offsets = np.cumsum([0] + [len(m.positions) for m in merged[:-1]])
        grey = _rgba(DEFAULT_LINEAR_RGB)
        mesh3d = rr.Mesh3D(
            vertex_positions=np.concatenate([m.positions for m in merged]),
            triangle_indices=np.concatenate([m.triangles + o for m, o in zip(merged, offsets, strict=True)]),
            vertex_normals=np.concatenate(
                [m.normals if m.normals is not None else _smooth_normals(m.positions, m.triangles) for m in merged]
            ),
            vertex_colors=np.concatenate(
                [m.colors if m.colors is not None else np.tile(grey, (len(m.positions), 1)) for m in merged]
            ),
        )
        out.insert(0, ("", mesh3d))
    return out
