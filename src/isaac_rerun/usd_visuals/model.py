"""The data model: a visual (:class:`PrimVisual`) and the geometry it carries (a :class:`Shape` or a :class:`TriMesh`).

A visual is what one USD gprim draws, read once from the stage: its transform relative to the nearest logged frame
and its geometry in its own frame, as plain numpy. Everything that logs visuals (per-env entities, baked instanced
meshes, the global prims) starts from this model; Rerun archetypes are built from it where they are logged
(:mod:`isaac_rerun.usd_visuals.archetypes`), never read back.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from isaac_rerun._quat import compose_matrix

__all__ = ["Geometry", "PrimVisual", "Shape", "Texture", "TriMesh"]


@dataclass(frozen=True, eq=False)
class Texture:
    """An albedo texture as it goes into the recording: encoded (PNG or JPEG), never as raw pixels.

    ``data`` is the source file's own bytes when it is a PNG or JPEG no larger than the size limit, else the image
    re-encoded as PNG (downscaled to the limit)."""

    data: bytes
    mime: str
    """``"image/png"`` or ``"image/jpeg"``."""
    width: int
    height: int
    mean_rgba: np.ndarray
    """(4,) uint8: the mean colour (what a primitive with this texture is drawn with)."""
    source: str = ""
    """The file it was read from."""

    def pixels(self) -> np.ndarray:
        """The decoded image, (H, W, 3 | 4) uint8."""
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            return np.array(image.convert("RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"), dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class Shape:
    """A primitive Rerun draws natively: ``"box"``, ``"sphere"``, ``"capsule"`` or ``"cylinder"``.

    ``size``: the box's or the ellipsoid's half sizes (3,); for a capsule or a cylinder ``(length, radius)``.
    ``translation`` / ``quaternion_xyzw`` place the shape in the visual's frame (Rerun's capsules run from the
    origin along +Z, its cylinders are centred on +Z; USD's are centred on an axis)."""

    kind: str
    size: np.ndarray
    rgba: np.ndarray
    """(4,) uint8, sRGB."""
    translation: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3, np.float32))
    quaternion_xyzw: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0, 0, 0, 1], np.float32))


@dataclass(frozen=True, eq=False)
class TriMesh:
    """A triangle mesh in the visual's frame, with what Rerun's ``Mesh3D`` (or a glTF) needs to draw it.

    Colour: ``texture`` (with ``texcoords``) if set, else ``vertex_colors`` if set, else ``albedo`` alone. ``albedo``
    is the constant colour (sRGB) or, with a texture or vertex colours, the factor they are multiplied by
    (``[255, 255, 255, alpha]``). Texture coordinates have their origin at the image's top-left (Rerun, glTF)."""

    positions: np.ndarray  # (n, 3) float32
    triangles: np.ndarray  # (m, 3) uint32
    normals: np.ndarray  # (n, 3) float32
    albedo: np.ndarray  # (4,) uint8
    vertex_colors: np.ndarray | None = None  # (n, 4) uint8
    texcoords: np.ndarray | None = None  # (n, 2) float32
    texture: Texture | None = None

    @property
    def nbytes(self) -> int:
        """Bytes this mesh takes in a recording (arrays and the encoded texture)."""
        arrays = (self.positions, self.triangles, self.normals, self.vertex_colors, self.texcoords)
        return sum(a.nbytes for a in arrays if a is not None) + (len(self.texture.data) if self.texture else 0)


Geometry = Shape | TriMesh


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
        geometry: what it draws, in its own frame (a :class:`Shape` or a :class:`TriMesh`).
        prim_path: the full USD path of the gprim (for diagnostics).
    """

    rel_path: str
    kind: str
    translation: np.ndarray
    quaternion_xyzw: np.ndarray
    scale: np.ndarray
    parent_rel_path: str
    geometry: Geometry
    prim_path: str = ""

    def entity_path(self, entity_root: str) -> str:
        """Rerun entity path of this visual under ``entity_root`` (``""`` or ``"/"`` = the recording root)."""
        root = entity_root.rstrip("/")
        return f"{root}/{self.rel_path}"

    def transform(self) -> Any:
        """The visual's ``rr.Transform3D`` relative to its parent entity."""
        from isaac_rerun.usd_visuals.archetypes import transform

        return transform(self)

    @functools.cached_property
    def archetype(self) -> Any:
        """The Rerun archetype that draws the geometry (built once, on first use)."""
        from isaac_rerun.usd_visuals.archetypes import archetype

        return archetype(self.geometry)

    def shifted(self, delta: np.ndarray) -> PrimVisual:
        """This visual moved by ``delta`` in its parent frame (a top-level visual: in the world)."""
        if self.parent_rel_path:
            return self
        return dataclasses.replace(self, translation=(self.translation + delta).astype(np.float32))

    def matrix(self) -> np.ndarray:
        """4x4 (column-vector convention) of ``translation · rotation · scale``."""
        return compose_matrix(
            self.translation.astype(np.float64),
            self.quaternion_xyzw.astype(np.float64),
            self.scale.astype(np.float64),
        )
