"""Body poses and their USD visuals, per env or instanced; the prims outside the envs.

**Per-env layout** (:class:`PerEnvBodies`): each body of each logged env is one entity at its USD prim path
(``/World/envs/env_3/Robot/pole``); its visual gprims are logged once per recording, static, below it, and each frame
sets its ``Transform3D``. A body whose prim lies below another logged body's prim (nested links) is logged relative
to that parent body, since Rerun composes a child entity's transform with its parent's.

**Instanced layout** (:class:`InstancedBodies`): each body's visuals are logged **once**, baked into meshes in the
body's frame, at the body's path with ``env_<i>`` replaced by ``instances`` (``/World/envs/instances/Robot/pole``),
and each frame carries one ``InstancePoses3D`` row per mesh whose instance ``i`` is ``logged_envs[i]`` at that
body's world pose. A frame's cost barely grows with the number of logged envs. ``/World/envs/instances`` carries a
label per env (``env 37``) above each env's first root body.

Bodies of global assets (not cloned per env) are logged per entity in both layouts. :class:`GlobalPrims` logs the
visible prims outside ``/World/envs`` (ground, terrain, props) once per recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _compat, _quat
from isaac_rerun.channels.base import INSTANCES, Channel, ChannelContext, Sample, StepRows, TimeColumns, instanced_path
from isaac_rerun.usd_visuals import PrimVisual, baked_meshes, log_visuals

__all__ = ["GlobalPrims", "InstancedBodies", "PerEnvBodies", "channels"]

LABEL_HEIGHT = 0.35
"""Metres above an env's first root body at which its label is drawn (instanced layout)."""


def channels(ctx: ChannelContext) -> list[Channel]:
    """Global prims (if on), then the bodies in the context's layout."""
    out: list[Channel] = []
    if ctx.cfg.global_prims:
        out.append(GlobalPrims(ctx))
    if not ctx.instanced:
        out.append(PerEnvBodies(ctx, range(len(ctx.bodies))))
        return out
    global_rows = [r for r, b in enumerate(ctx.bodies) if b.env < 0]
    if global_rows:
        out.append(PerEnvBodies(ctx, global_rows))
    if len(global_rows) < len(ctx.bodies):
        out.append(InstancedBodies(ctx))
    return out


class GlobalPrims(Channel):
    """The visible prims outside the envs, logged once per recording (static), shifted like the envs."""

    def __init__(self, ctx: ChannelContext):
        self.ctx = ctx

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if not static:
            return
        visuals: Sequence[PrimVisual] = self.ctx.global_visuals()
        shift = self.ctx.global_shift()
        if shift is not None:  # env layout "origin": the world moves with the tracked env
            visuals = [v.shifted(-shift) for v in visuals]
        log_visuals(stream, "", visuals)


class PerEnvBodies(Channel):
    """One entity per body (per env): static visuals below it, a ``Transform3D`` per frame."""

    def __init__(self, ctx: ChannelContext, rows: Sequence[int]):
        self.ctx = ctx
        self.rows = np.asarray(rows, dtype=np.int64)
        self.all_rows = len(self.rows) == len(ctx.bodies)
        self.entities = [ctx.bodies[r].entity for r in self.rows]
        position = {int(r): i for i, r in enumerate(self.rows)}
        parents = [position.get(ctx.bodies[r].parent, -1) for r in self.rows]
        self.parents = np.asarray(parents, dtype=np.int64)
        self.nested = np.nonzero(self.parents >= 0)[0]
        self.frames: list[np.ndarray] = []
        self.columns = _compat.PoseColumns()

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            for r, entity in zip(self.rows, self.entities, strict=True):
                log_visuals(stream, entity, self.ctx.visuals(int(r)))

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
    textured one at its own path below it. So an instance's pose is the body's pose itself, and a frame is one row
    of ``L`` poses per mesh, whatever the visual's transform.
    """

    def __init__(self, ctx: ChannelContext):
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
            parts = list(zip(visuals, _body_matrices(visuals), strict=True))
            for rel_path, mesh in baked_meshes(parts):
                self.meshes.append((f"{root}/{rel_path}" if rel_path else root, mesh, s))
        # one label per env, above its first root body (else its first body)
        roots = [s for s, r in enumerate(sources) if ctx.bodies[r].root] or [0]
        self.label_source = roots[0]
        self.label_entity = f"/World/envs/{INSTANCES}"
        self.frames: list[np.ndarray] = []
        self.columns = _compat.InstancePoseColumns()

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if not static:
            return
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
