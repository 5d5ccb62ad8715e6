"""Body poses and their USD visuals, per env or instanced; each heavy visual once; the prims outside the envs.

**Per-env layout** (:class:`PerEnvBodies`): each body of each logged env is one entity at its USD prim path
(``/World/envs/env_3/Robot/pole``); its light visual gprims are logged once per recording, static, below it, and each
frame sets its ``Transform3D``. A body whose prim lies below another logged body's prim (nested links) is logged
relative to that parent body, since Rerun composes a child entity's transform with its parent's.

**Instanced layout** (:class:`InstancedBodies`): each body's light visuals are logged **once**, baked into meshes in
the body's frame, at the body's path with ``env_<i>`` replaced by ``instances`` (``/World/envs/instances/Robot/pole``),
and each frame carries one ``InstancePoses3D`` row per mesh whose instance ``i`` is ``logged_envs[i]`` at that
body's world pose. A frame's cost barely grows with the number of logged envs. ``/World/envs/instances`` carries a
label per env (``env 37``) above each env's first root body.

**Heavy visuals, in both layouts** (:class:`SharedVisuals`): a visual mesh that is textured or larger than
:data:`SHARED_VISUAL_BYTES` is logged **once per snippet file**, whatever the number of envs and bodies that draw
it: one entity per distinct geometry (the four legs of a robot that share a mesh share it too), at the instanced path
of its first user (``/World/envs/instances/Robot/trunk/trunk``), drawn through ``InstancePoses3D`` rows whose
instance ``u·L + i`` is user ``u`` (a body and the visual's offset in it) in ``logged_envs[i]``. Rerun has no way to
draw one entity's data at another entity, so a visual below each env's body entity would be stored once per env: the
Unitree A1 (a 1.4 MB textured trunk and leg meshes) would write its visuals twice in a 2-env snippet. In the per-env
layout each env's bodies stay entities of their own (poses, nested links, selectable in the tree); their heavy
visuals are drawn from the shared entity, where hovering a copy shows its instance.

Bodies of global assets (not cloned per env) are logged per entity in both layouts. :class:`GlobalPrims` logs the
visible prims outside ``/World/envs`` (ground, terrain, props) once per recording.

The static data of each channel here is the same in every snippet file: from a recorder's second file on, it is sent
as the Rerun chunks it was logged as (:class:`~isaac_rerun._compat.StaticOnce`), not logged again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _compat, _quat
from isaac_rerun.channels.base import INSTANCES, Channel, ChannelContext, Sample, StepRows, TimeColumns, instanced_path
from isaac_rerun.usd_visuals import PrimVisual, TriMesh, baked_meshes, log_visuals
from isaac_rerun.usd_visuals.archetypes import mesh_archetype
from isaac_rerun.usd_visuals.bake import transformed

__all__ = ["SHARED_VISUAL_BYTES", "GlobalPrims", "InstancedBodies", "PerEnvBodies", "SharedVisuals", "channels"]

SHARED_VISUAL_BYTES = 16 * 1024
"""A visual mesh larger than this (its arrays and encoded texture), or any textured one, is logged once per snippet
file and drawn for every env and body that has it (:class:`SharedVisuals`); smaller ones (primitives, boxes) are
logged below each body as before."""

LABEL_HEIGHT = 0.35
"""Metres above an env's first root body at which its label is drawn (instanced layout)."""


def channels(ctx: ChannelContext) -> list[Channel]:
    """Global prims (if on), then the bodies in the context's layout, then the heavy visuals (if any)."""
    out: list[Channel] = []
    if ctx.cfg.global_prims:
        out.append(GlobalPrims(ctx))
    shared = SharedVisuals(ctx)
    if not ctx.instanced:
        out.append(PerEnvBodies(ctx, range(len(ctx.bodies)), share_heavy=bool(shared.groups)))
    else:
        global_rows = [r for r, b in enumerate(ctx.bodies) if b.env < 0]
        if global_rows:
            out.append(PerEnvBodies(ctx, global_rows))
        if len(global_rows) < len(ctx.bodies):
            out.append(InstancedBodies(ctx, share_heavy=bool(shared.groups)))
    if shared.groups:
        out.append(shared)
    return out


def is_heavy(visual: PrimVisual) -> bool:
    """A visual logged once per snippet file (:data:`SHARED_VISUAL_BYTES`)."""
    geometry = visual.geometry
    return isinstance(geometry, TriMesh) and (geometry.texture is not None or geometry.nbytes > SHARED_VISUAL_BYTES)


class GlobalPrims(Channel):
    """The visible prims outside the envs, logged once per recording (static), shifted like the envs."""

    def __init__(self, ctx: ChannelContext):
        self.ctx = ctx
        self._static: tuple[bytes | None, _compat.StaticOnce] | None = None  # (the shift it was logged with, it)

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if not static:
            return
        shift = self.ctx.global_shift()
        key = None if shift is None else shift.tobytes()
        if self._static is None or self._static[0] != key:
            self._static = (key, _compat.StaticOnce(lambda s: self._log(s, shift)))
        self._static[1].send(stream)

    def _log(self, stream: rr.RecordingStream, shift: np.ndarray | None) -> None:
        visuals: Sequence[PrimVisual] = self.ctx.global_visuals()
        if shift is not None:  # env layout "origin": the world moves with the tracked env
            visuals = [v.shifted(-shift) for v in visuals]
        log_visuals(stream, "", visuals)


class PerEnvBodies(Channel):
    """One entity per body (per env): static visuals below it, a ``Transform3D`` per frame."""

    def __init__(self, ctx: ChannelContext, rows: Sequence[int], *, share_heavy: bool = False):
        self.ctx = ctx
        self.share_heavy = share_heavy
        """:class:`SharedVisuals` draws the heavy visuals of the envs' bodies: they are not logged below them."""
        self.rows = np.asarray(rows, dtype=np.int64)
        self.all_rows = len(self.rows) == len(ctx.bodies)
        self.entities = [ctx.bodies[r].entity for r in self.rows]
        position = {int(r): i for i, r in enumerate(self.rows)}
        parents = [position.get(ctx.bodies[r].parent, -1) for r in self.rows]
        self.parents = np.asarray(parents, dtype=np.int64)
        self.nested = np.nonzero(self.parents >= 0)[0]
        self.frames: list[np.ndarray] = []
        self.columns = _compat.PoseColumns()
        self._static = _compat.StaticOnce(self._log)

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            self._static.send(stream)

    def _log(self, stream: rr.RecordingStream) -> None:
        for r, entity in zip(self.rows, self.entities, strict=True):
            visuals = self.ctx.visuals(int(r))
            if self.share_heavy and self.ctx.bodies[r].env >= 0:
                visuals = _without(visuals, frozenset(v.prim_path for v in visuals if is_heavy(v)))
            log_visuals(stream, entity, visuals)

    def gather(self, sample: Sample) -> np.ndarray:
        return sample.poses if self.all_rows else sample.poses[self.rows]

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.frames.append(data)

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if not self.frames:
            return
        poses = np.stack(self.frames)  # (F, rows, 7)
        self.frames = []
        if len(self.nested):
            parent = poses[:, self.parents[self.nested]]
            poses[:, self.nested] = _quat.relative_poses(parent, poses[:, self.nested])
        pos = np.ascontiguousarray(poses[..., 0:3].transpose(1, 0, 2))
        quat = np.ascontiguousarray(poses[..., 3:7].transpose(1, 0, 2))
        indexes = times(None)
        for i, entity in enumerate(self.entities):
            stream.send_columns(entity, indexes=indexes, columns=self.columns(pos[i], quat[i]))

    def clear(self) -> None:
        self.frames = []


class InstancedBodies(Channel):
    """Every visual once, drawn once per logged env through ``InstancePoses3D`` rows (see the module docstring).

    Each body's visuals are baked into meshes in the body's frame (their offsets, scales and primitive shapes
    applied to the vertices): the untextured ones merged into one ``Mesh3D`` at the body's instanced path, a
    textured one at its own path below it (with ``share_heavy``, the heavy ones are left to :class:`SharedVisuals`).
    So an instance's pose is the body's pose itself, and a frame is one row of ``L`` poses per mesh, whatever the
    visual's transform.
    """

    def __init__(self, ctx: ChannelContext, *, share_heavy: bool = False):
        self.ctx = ctx
        envs = ctx.logged_envs
        first = envs[0]
        sources = [r for r, b in enumerate(ctx.bodies) if b.env == first]
        index = {(b.env, b.source): r for r, b in enumerate(ctx.bodies) if b.env >= 0}
        # (L, S): the row of source body s in env j
        self.rows = np.array([[index[(e, s)] for s in sources] for e in envs], dtype=np.int64)
        self.meshes: list[tuple[str, Any, int]] = []  # (entity, Mesh3D, source body)
        for s, r in enumerate(sources):
            body = ctx.bodies[r]
            root = instanced_path(body.entity, body.env)
            visuals = ctx.visuals(r)
            parts = [
                (v, m)
                for v, m in zip(visuals, _body_matrices(visuals), strict=True)
                if not (share_heavy and is_heavy(v))
            ]
            for rel_path, mesh in baked_meshes(parts):
                self.meshes.append((f"{root}/{rel_path}" if rel_path else root, mesh, s))
        # one label per env, above its first root body (else its first body)
        roots = [s for s, r in enumerate(sources) if ctx.bodies[r].root] or [0]
        self.label_source = roots[0]
        self.label_entity = f"/World/envs/{INSTANCES}"
        self.frames: list[np.ndarray] = []
        self.columns = _compat.InstancePoseColumns()
        self._static = _compat.StaticOnce(self._log)

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            self._static.send(stream)

    def _log(self, stream: rr.RecordingStream) -> None:
        for entity, mesh, _s in self.meshes:
            stream.log(entity, mesh, static=True)
        labels = [f"env {e}" for e in self.ctx.logged_envs]
        stream.log(
            self.label_entity,
            rr.Points3D.from_fields(labels=labels, show_labels=True, radii=[0.02], colors=[(255, 255, 255)]),
            static=True,
        )

    def gather(self, sample: Sample) -> np.ndarray:
        return sample.poses[self.rows]  # (L, S, 7)

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.frames.append(data)

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if not self.frames:
            return
        poses = np.stack(self.frames)  # (F, L, S, 7)
        self.frames = []
        f, n = poses.shape[0], poses.shape[1]
        indexes = times(None)
        by_body = np.ascontiguousarray(poses.transpose(2, 0, 1, 3))  # (S, F, L, 7)
        for entity, _mesh, s in self.meshes:
            stream.send_columns(entity, indexes=indexes, columns=self.columns(by_body[s].reshape(f * n, 7), n))
        label_at = poses[:, :, self.label_source, 0:3].reshape(f * n, 3) + np.array([0, 0, LABEL_HEIGHT], np.float32)
        stream.send_columns(
            self.label_entity,
            indexes=indexes,
            columns=rr.Points3D.columns(positions=label_at).partition([n] * f),
        )

    def clear(self) -> None:
        self.frames = []


def _body_matrices(visuals: Sequence[PrimVisual]) -> list[np.ndarray]:
    """Each visual's 4x4 in the body's rigid frame: the chain of its visual ancestors composed (a visual's own
    transform is relative to its nearest visual ancestor)."""
    by_path = {v.rel_path: v for v in visuals}
    matrices: dict[str, np.ndarray] = {}

    def matrix(v: PrimVisual) -> np.ndarray:
        m = matrices.get(v.rel_path)
        if m is None:
            parent = by_path.get(v.parent_rel_path) if v.parent_rel_path else None
            m = v.matrix() if parent is None else matrix(parent) @ v.matrix()
            matrices[v.rel_path] = m
        return m

    return [matrix(v) for v in visuals]


def _without(visuals: Sequence[PrimVisual], skipped: frozenset[str]) -> list[PrimVisual]:
    """``visuals`` less the ``skipped`` ones (by prim path); a visual below a skipped one is re-expressed relative to
    its nearest kept ancestor (or the body), since the skipped visual's entity no longer carries a transform."""
    if not skipped or not any(v.prim_path in skipped for v in visuals):
        return list(visuals)
    by_path = {v.rel_path: v for v in visuals}
    matrices = dict(zip((v.rel_path for v in visuals), _body_matrices(visuals), strict=True))
    out = []
    for v in visuals:
        if v.prim_path in skipped:
            continue
        parent = by_path.get(v.parent_rel_path) if v.parent_rel_path else None
        if parent is None or parent.prim_path not in skipped:
            out.append(v)
            continue
        while parent is not None and parent.prim_path in skipped:  # the nearest kept ancestor visual
            parent = by_path.get(parent.parent_rel_path) if parent.parent_rel_path else None
        base = matrices[parent.rel_path] if parent is not None else np.eye(4)
        t, q, scale = _quat.decompose_matrix(np.linalg.inv(base) @ matrices[v.rel_path])
        out.append(
            dataclasses.replace(
                v,
                translation=t.astype(np.float32),
                quaternion_xyzw=q.astype(np.float32),
                scale=scale.astype(np.float32),
                parent_rel_path=parent.rel_path if parent is not None else "",
            )
        )
    return out


@dataclasses.dataclass
class _Group:
    """One distinct heavy geometry and who draws it."""

    entity: str
    archetype: Any
    sources: list[int] = dataclasses.field(default_factory=list)  # source-body position s of each user
    offsets: list[np.ndarray] = dataclasses.field(default_factory=list)  # (7,) the visual's rigid pose in the body


class SharedVisuals(Channel):
    """The heavy visuals of the envs' bodies, each distinct geometry logged once (see the module docstring).

    A user is a (body, visual) pair; its visual's matrix in the body's frame is split into a rigid pose (the
    instance's offset from the body) and the rest (scale, mirror, shear), which is baked into the logged mesh, so
    two users share an entity when their geometry and that rest are equal."""

    def __init__(self, ctx: ChannelContext):
        self.ctx = ctx
        self.groups: list[_Group] = []
        envs = ctx.logged_envs
        first = envs[0] if envs else -1
        sources = [r for r, b in enumerate(ctx.bodies) if b.env == first and b.env >= 0]
        index = {(b.env, b.source): r for r, b in enumerate(ctx.bodies) if b.env >= 0}
        self.rows = np.array([[index[(e, s)] for s in sources] for e in envs], dtype=np.int64).reshape(len(envs), -1)
        by_key: dict[bytes, _Group] = {}
        skipped: set[str] = set()
        for s, r in enumerate(sources):
            body = ctx.bodies[r]
            visuals = ctx.visuals(r)
            for v, matrix in zip(visuals, _body_matrices(visuals), strict=True):
                if not is_heavy(v):
                    continue
                skipped.add(v.prim_path)
                t, q, _ = _quat.decompose_matrix(matrix)
                rest = np.eye(4)
                rest[:3, :3] = _quat.matrix_from_quat(q).T @ matrix[:3, :3]  # matrix = [R t] · rest
                key = _geometry_key(v.geometry, rest)
                group = by_key.get(key)
                if group is None:
                    assert isinstance(v.geometry, TriMesh)  # is_heavy
                    mesh = transformed(v.geometry, rest)
                    entity = f"{instanced_path(body.entity, body.env)}/{v.rel_path}"
                    group = by_key[key] = _Group(entity, mesh_archetype(mesh, compact=True))
                    self.groups.append(group)
                group.sources.append(s)
                group.offsets.append(np.concatenate([t, q]).astype(np.float64))
        self.skipped = frozenset(skipped)
        """Prim paths of the visuals drawn here (the other channels leave them out)."""
        self.frames: list[np.ndarray] = []
        self.columns = _compat.InstancePoseColumns()
        self._static = _compat.StaticOnce(self._log)

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            self._static.send(stream)

    def _log(self, stream: rr.RecordingStream) -> None:
        for group in self.groups:
            stream.log(group.entity, group.archetype, static=True)

    def gather(self, sample: Sample) -> np.ndarray:
        return sample.poses[self.rows]  # (L, S, 7)

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.frames.append(data)

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if not self.frames:
            return
        poses = np.stack(self.frames).astype(np.float64)  # (F, L, S, 7)
        self.frames = []
        f, n = poses.shape[0], poses.shape[1]
        indexes = times(None)
        for group in self.groups:
            body = poses[:, :, group.sources].transpose(0, 2, 1, 3)  # (F, U, L, 7): instance u * L + i
            offset = np.stack(group.offsets)[None, :, None, :]  # (1, U, 1, 7)
            world = np.empty(body.shape, dtype=np.float32)
            world[..., 0:3] = body[..., 0:3] + _quat.rotate(
                body[..., 3:7], np.broadcast_to(offset[..., 0:3], body[..., 0:3].shape)
            )
            world[..., 3:7] = _quat.multiply(body[..., 3:7], offset[..., 3:7])
            per_row = len(group.sources) * n
            stream.send_columns(
                group.entity, indexes=indexes, columns=self.columns(world.reshape(f * per_row, 7), per_row)
            )

    def clear(self) -> None:
        self.frames = []


def _geometry_key(geometry: Any, rest: np.ndarray) -> bytes:
    """Equal for visuals that draw the same thing: the geometry's arrays and texture, and the baked rest matrix."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update((np.round(rest, 6) + 0.0).tobytes())  # + 0.0: -0.0 and 0.0 are the same rest
    if isinstance(geometry, TriMesh):
        for array in (geometry.positions, geometry.triangles, geometry.normals, geometry.albedo):
            digest.update(np.ascontiguousarray(array).tobytes())
        for optional in (geometry.vertex_colors, geometry.texcoords):
            digest.update(b"-" if optional is None else np.ascontiguousarray(optional).tobytes())
        digest.update(geometry.texture.data if geometry.texture is not None else b"-")
    else:
        digest.update(repr(geometry).encode())
    return digest.digest()
