"""Quaternion and rigid-transform maths (numpy), xyzw order throughout — Rerun's and Isaac Lab 3.x's order.

One place for it: the scene (nested body poses), the channels (marker arrows, instanced visuals) and the USD reader
(decomposing prim transforms) all use these.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "XYZW_FROM_WXYZ",
    "compose_matrix",
    "conjugate",
    "decompose_matrix",
    "matrix_from_quat",
    "multiply",
    "quat_from_matrix",
    "relative_poses",
    "rigid_matrix",
    "rotate",
]

XYZW_FROM_WXYZ = [0, 1, 2, 4, 5, 6, 3]
"""Column order that turns a pose ``(x, y, z, qw, qx, qy, qz)`` (Isaac Lab 2.x) into ``(…, qx, qy, qz, qw)``."""


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a ⊗ b`` of quaternions ``(..., 4)`` (xyzw), broadcasting."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    """The inverse rotation of unit quaternions ``(..., 4)`` (xyzw)."""
    return q * np.array([-1, -1, -1, 1], dtype=q.dtype)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` ``(..., 3)`` by unit quaternions ``q`` ``(..., 4)`` (xyzw), broadcasting."""
    u, w = q[..., 0:3], q[..., 3:4]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def relative_poses(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """``parent⁻¹ ∘ child`` for world poses ``(..., 7)``: the child's pose in the parent's frame."""
    q_inv = conjugate(parent[..., 3:7])
    out = np.empty_like(child)
    out[..., 0:3] = rotate(q_inv, child[..., 0:3] - parent[..., 0:3])
    out[..., 3:7] = multiply(q_inv, child[..., 3:7])
    return out


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    """3x3 rotation matrix of one unit quaternion (xyzw)."""
    x, y, z, w = (float(v) for v in q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def quat_from_matrix(r: np.ndarray) -> np.ndarray:
    """Rotation matrix → unit quaternion (x, y, z, w) with w >= 0 (Shepperd's method)."""
    tr = r[0, 0] + r[1, 1] + r[2, 2]
    if tr > 0.0:
        s = math.sqrt(tr + 1.0) * 2.0
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2.0
        q = [0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s]
    elif r[1, 1] > r[2, 2]:
        s = math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2.0
        q = [(r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s]
    else:
        s = math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2.0
        q = [(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s, (r[1, 0] - r[0, 1]) / s]
    quat = np.asarray(q, dtype=np.float64)
    quat /= np.linalg.norm(quat)
    return -quat if quat[3] < 0.0 else quat


def compose_matrix(translation: np.ndarray, quat_xyzw: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """4x4 (column-vector convention) of ``translation · rotation · scale``."""
    out = np.eye(4)
    out[:3, :3] = matrix_from_quat(quat_xyzw) * np.asarray(scale, dtype=np.float64)[None, :]
    out[:3, 3] = translation
    return out


def decompose_matrix(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine 4x4 → (translation, quaternion xyzw, scale), assuming no shear.

    Mirrors (negative determinant) are expressed as one negative scale component, on the axis that leaves the
    rotation closest to identity. With a shear, the closest rotation is used.
    """
    a = m[:3, :3]
    translation = m[:3, 3].copy()
    scale = np.linalg.norm(a, axis=0)
    rot = a / np.where(scale > 1e-12, scale, 1.0)
    # Re-orthonormalise (tolerates zero scales and round-off; keeps the determinant's sign).
    u, _, vt = np.linalg.svd(rot)
    rot = u @ vt
    if np.linalg.det(rot) < 0.0:
        axis = int(np.argmin(np.diag(rot)))
        rot[:, axis] *= -1.0
        scale[axis] *= -1.0
    return translation, quat_from_matrix(rot), scale


def rigid_matrix(m: np.ndarray) -> np.ndarray:
    """The rigid part (translation · rotation) of an affine 4x4."""
    translation, quat, _ = decompose_matrix(m)
    return compose_matrix(translation, quat, np.ones(3))
