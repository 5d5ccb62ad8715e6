"""Materials and textures: what colour a gprim is drawn with (bound material, displayColor, USD's grey).

The precedence is what a USD renderer shows and what Isaac Lab applies for its own viewers: the bound material first
(``UsdPreviewSurface`` ``diffuseColor``/``opacity``, a ``UsdUVTexture`` feeding ``diffuseColor``, or OmniPBR's
``diffuse_color_constant × diffuse_tint`` / ``diffuse_texture``), then ``primvars:displayColor`` /
``displayOpacity``, then USD's 0.18 grey. USD colours are linear; they are encoded to sRGB for Rerun. Textures stay
encoded (:class:`~isaac_rerun.usd_visuals.model.Texture`): a PNG or JPEG file's own bytes, re-encoded as PNG only
when it is another format or larger than :data:`MAX_TEXTURE_SIZE`.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pxr import UsdGeom, UsdShade

from isaac_rerun.usd_visuals.model import Texture

logger = logging.getLogger("isaac_rerun.usd_visuals")

#: USD's own fallback display colour (linear 0.18 grey), used when neither a material nor displayColor is authored.
DEFAULT_LINEAR_RGB = (0.18, 0.18, 0.18)
#: Textures larger than this (either side) are downscaled (and re-encoded as PNG) before they go into the recording.
MAX_TEXTURE_SIZE = 2048

_KEPT_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass
class ElementColors:
    """A non-constant ``displayColor``: one colour per point, face or corner (``interpolation``)."""

    rgba: np.ndarray  # (n, 4) uint8
    interpolation: str


@dataclass
class Appearance:
    """How a gprim is coloured."""

    rgba: np.ndarray  # (4,) uint8 — the colour for primitives, and the constant colour of meshes
    texture: Texture | None = None  # albedo texture
    uv_name: str | None = None  # primvar the texture reads its coordinates from
    alpha: int = 255  # overall opacity (albedo factor alpha when a texture / per-element colours are used)
    element_colors: ElementColors | None = None  # non-constant displayColor (meshes)


@dataclass
class Context:
    """What one collection reads once: the time code, and the materials and textures already resolved."""

    time: Any
    material_cache: dict[str, Appearance | None] = field(default_factory=dict)
    texture_cache: dict[str, Texture | None] = field(default_factory=dict)


def srgb_u8(linear: Any) -> np.ndarray:
    """Linear RGB floats → sRGB-encoded uint8 (sRGB OETF)."""
    c = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    srgb = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055)
    return np.round(srgb * 255.0).astype(np.uint8)


def alpha_u8(opacity: float) -> int:
    return round(min(max(float(opacity), 0.0), 1.0) * 255.0)


def rgba(linear_rgb: Any, opacity: float = 1.0) -> np.ndarray:
    """A linear RGB colour and an opacity as sRGB RGBA uint8."""
    rgb = srgb_u8(np.asarray(linear_rgb, dtype=np.float64).reshape(-1)[:3])
    return np.array([rgb[0], rgb[1], rgb[2], alpha_u8(opacity)], dtype=np.uint8)


def primvar(prim: Any, name: str, time: Any, *, inherit: bool = False) -> tuple[np.ndarray, str] | None:
    """Flattened (de-indexed) values and interpolation of an authored primvar, or None."""
    api = UsdGeom.PrimvarsAPI(prim)
    found = api.FindPrimvarWithInheritance(name) if inherit else api.GetPrimvar(name)
    if not found or not found.HasAuthoredValue():
        return None
    values = found.ComputeFlattened(time)
    if values is None:
        return None
    return np.array(values, dtype=np.float32), str(found.GetInterpolation())


def resolve_appearance(prim: Any, ctx: Context) -> Appearance:
    """The gprim's appearance: its bound material, else its displayColor, else USD's grey."""
    material_app = _material_appearance(prim, ctx)
    if material_app is not None:
        return material_app
    display = _display_color_appearance(prim, ctx.time)
    if display is not None:
        return display
    return Appearance(rgba=rgba(DEFAULT_LINEAR_RGB))


def _display_color_appearance(prim: Any, time: Any) -> Appearance | None:
    colors = primvar(prim, "displayColor", time, inherit=True)
    opacities = primvar(prim, "displayOpacity", time, inherit=True)
    if colors is None and opacities is None:
        return None
    const_opacity = 1.0
    if opacities is not None and len(opacities[0]) > 0:
        op_values = opacities[0].reshape(-1)
        const_opacity = float(op_values[0]) if opacities[1] == UsdGeom.Tokens.constant else float(op_values.mean())
    if colors is None or len(colors[0]) == 0:
        return Appearance(rgba=rgba(DEFAULT_LINEAR_RGB, const_opacity))
    values, interp = colors[0].reshape(-1, 3), colors[1]
    if interp == UsdGeom.Tokens.constant or len(values) == 1:
        return Appearance(rgba=rgba(values[0], const_opacity))
    element = np.empty((len(values), 4), dtype=np.uint8)
    element[:, :3] = srgb_u8(values)
    element[:, 3] = 255
    alpha = alpha_u8(const_opacity)
    if opacities is not None and opacities[1] == interp and len(opacities[0]) == len(values):
        element[:, 3] = np.round(np.clip(opacities[0].reshape(-1), 0.0, 1.0) * 255.0).astype(np.uint8)
        alpha = 255
    return Appearance(
        rgba=rgba(values.mean(axis=0), const_opacity),
        alpha=alpha,
        element_colors=ElementColors(rgba=element, interpolation=str(interp)),
    )


def _material_appearance(prim: Any, ctx: Context) -> Appearance | None:
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


def _read_material(material: UsdShade.Material, ctx: Context) -> Appearance | None:
    shader = _surface_shader(material)
    if shader is None:
        return None
    time = ctx.time
    if _shader_id(shader) == "UsdPreviewSurface":
        opacity, _ = _input_source(shader, "opacity", time)
        alpha = alpha_u8(opacity if opacity is not None else 1.0)
        value, upstream = _input_source(shader, "diffuseColor", time)
        if upstream is not None and _shader_id(upstream) == "UsdUVTexture":
            return _texture_appearance(upstream, alpha, ctx)
        if upstream is not None and _shader_id(upstream).startswith("UsdPrimvarReader"):
            return None  # diffuseColor <- a primvar reader (typically displayColor): the prim's primvars decide
        color = value if value is not None else DEFAULT_LINEAR_RGB  # the UsdPreviewSurface default
        return Appearance(rgba=rgba(color, alpha / 255.0), alpha=alpha)
    if shader.GetInput("diffuse_color_constant") or shader.GetInput("diffuse_texture") or _is_omnipbr(shader):
        color, _ = _input_source(shader, "diffuse_color_constant", time)
        tint, _ = _input_source(shader, "diffuse_tint", time)
        linear = np.asarray(color if color is not None else (0.2, 0.2, 0.2), dtype=np.float64).reshape(-1)[:3]
        linear = linear * np.asarray(tint if tint is not None else (1.0, 1.0, 1.0), dtype=np.float64).reshape(-1)[:3]
        app = Appearance(rgba=rgba(linear))
        tex_asset, _ = _input_source(shader, "diffuse_texture", time)
        texture = load_texture(tex_asset, ctx) if tex_asset is not None else None
        if texture is not None:
            app.texture, app.rgba = texture, texture.mean_rgba
        return app
    return None


def _is_omnipbr(shader: UsdShade.Shader) -> bool:
    attr = shader.GetPrim().GetAttribute("info:mdl:sourceAsset")
    value = attr.Get() if attr else None
    return value is not None and str(getattr(value, "path", value)).endswith("OmniPBR.mdl")


def _texture_appearance(shader: UsdShade.Shader, alpha: int, ctx: Context) -> Appearance:
    time = ctx.time
    fallback, _ = _input_source(shader, "fallback", time)
    fallback_rgb = np.asarray(fallback, dtype=np.float64).reshape(-1)[:3] if fallback is not None else (0, 0, 0)
    app = Appearance(rgba=rgba(fallback_rgb, alpha / 255.0), alpha=alpha)
    file_value, _ = _input_source(shader, "file", time)
    texture = load_texture(file_value, ctx) if file_value is not None else None
    if texture is None:
        return app
    app.texture = texture
    app.rgba = np.array([*texture.mean_rgba[:3], alpha], dtype=np.uint8)
    # Which primvar holds the coordinates: inputs:st <- UsdPrimvarReader_float2.inputs:varname
    _, reader = _input_source(shader, "st", time)
    if reader is not None:
        varname, _ = _input_source(reader, "varname", time)
        if varname:
            app.uv_name = str(varname)
    return app


def load_texture(asset: Any, ctx: Context) -> Texture | None:
    """An image asset as an encoded :class:`Texture` (read once per file); None when it is not a readable local file."""
    resolved = str(getattr(asset, "resolvedPath", "") or "")
    raw = str(getattr(asset, "path", asset) or "")
    path = resolved if resolved and os.path.isfile(resolved) else raw
    if not path or not os.path.isfile(path):
        return None
    if path not in ctx.texture_cache:
        try:
            ctx.texture_cache[path] = read_texture(path)
        except Exception as exc:
            logger.warning("isaac_rerun: cannot load texture %s: %s", path, exc)
            ctx.texture_cache[path] = None
    return ctx.texture_cache[path]


def _kept_as_is(data: bytes, image_format: str, mode: str) -> bool:
    """Whether the viewer draws the file's own bytes as a colour texture: an 8-bit RGB, RGBA or palette PNG, an RGB
    JPEG (Rerun's glTF loader has no 16-bit RGB, and takes one- and two-channel images as red / red-green)."""
    if image_format == "PNG":
        return len(data) > 25 and data[24] == 8 and data[25] in (2, 3, 6)  # IHDR: bit depth, colour type
    return image_format == "JPEG" and mode == "RGB"


def read_texture(path: str, max_size: int = MAX_TEXTURE_SIZE) -> Texture:
    """Read an image file as a :class:`Texture`: an 8-bit colour PNG or an RGB JPEG up to ``max_size`` pixels a side
    keeps its own bytes; anything else (another format or pixel type, a larger image: downscaled to ``max_size``) is
    encoded as an 8-bit RGB(A) PNG."""
    from PIL import Image

    with open(path, "rb") as f:
        data = f.read()
    with Image.open(io.BytesIO(data)) as image:
        source_format = image.format or ""
        kept = _kept_as_is(data, source_format, image.mode)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        converted = image.convert("RGBA" if has_alpha else "RGB")
    mime = _KEPT_FORMATS.get(source_format) if kept else None
    if mime is None or max(converted.size) > max_size:
        if max(converted.size) > max_size:
            converted.thumbnail((max_size, max_size))
        out = io.BytesIO()
        converted.save(out, format="PNG", optimize=False)
        data, mime = out.getvalue(), "image/png"
    pixels = np.asarray(converted, dtype=np.uint8)
    mean = pixels.reshape(-1, pixels.shape[-1]).mean(axis=0)
    mean_rgba = np.array([mean[0], mean[1], mean[2], 255], dtype=np.float64).round().astype(np.uint8)
    return Texture(data, mime, converted.size[0], converted.size[1], mean_rgba, path)
