"""Read a binary glTF 2.0 (GLB) back into numpy, written from the glTF 2.0 specification (independent of
``isaac_rerun.usd_visuals.glb``): header, JSON and BIN chunks, accessors (float, normalized unsigned, integer
indices), the base colour material and its embedded image."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


@dataclass
class Glb:
    positions: np.ndarray  # (n, 3)
    normals: np.ndarray | None
    texcoords: np.ndarray | None  # (n, 2) in [0, 1] (normalized integers decoded)
    triangles: np.ndarray  # (m, 3)
    base_color_factor: np.ndarray  # (4,) linear
    image: bytes | None
    mime: str | None
    double_sided: bool


def read_glb(data: bytes) -> Glb:
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data), (magic, version, length, len(data))
    json_len, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON"
    doc = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack_from("<I4s", data, 20 + json_len)
    assert bin_type == b"BIN\0"
    blob = data[28 + json_len : 28 + json_len + bin_len]
    assert doc["asset"]["version"] == "2.0"

    def view_bytes(index: int) -> bytes:
        view = doc["bufferViews"][index]
        start = view.get("byteOffset", 0)
        return blob[start : start + view["byteLength"]]

    def accessor(index: int) -> np.ndarray:
        acc = doc["accessors"][index]
        dtype = _COMPONENTS[acc["componentType"]]
        width = _WIDTH[acc["type"]]
        raw = view_bytes(acc["bufferView"])
        offset = acc.get("byteOffset", 0)
        values = np.frombuffer(raw, dtype=dtype, count=acc["count"] * width, offset=offset).reshape(-1, width)
        if acc.get("normalized"):
            values = values.astype(np.float64) / np.iinfo(dtype).max
        return values

    (mesh,) = doc["meshes"]
    (prim,) = mesh["primitives"]
    assert prim.get("mode", 4) == 4, "triangles"
    attributes: dict[str, Any] = prim["attributes"]
    material = doc["materials"][prim["material"]]
    pbr = material.get("pbrMetallicRoughness", {})
    image = mime = None
    if "baseColorTexture" in pbr:
        texture = doc["textures"][pbr["baseColorTexture"]["index"]]
        img = doc["images"][texture["source"]]
        image, mime = view_bytes(img["bufferView"]), img["mimeType"]
    return Glb(
        positions=accessor(attributes["POSITION"]).astype(np.float64),
        normals=accessor(attributes["NORMAL"]).astype(np.float64) if "NORMAL" in attributes else None,
        texcoords=accessor(attributes["TEXCOORD_0"]).astype(np.float64) if "TEXCOORD_0" in attributes else None,
        triangles=accessor(prim["indices"]).reshape(-1, 3).astype(np.int64),
        base_color_factor=np.asarray(pbr.get("baseColorFactor", [1, 1, 1, 1]), dtype=np.float64),
        image=image,
        mime=mime,
        double_sided=bool(material.get("doubleSided", False)),
    )


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
