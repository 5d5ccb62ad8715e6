"""Sensor data beside the bodies: contact forces as arrows, ray-caster hits as points.

One channel per sensor of ``scene.sensors`` that :class:`~isaac_rerun.config.SceneLogCfg` turns on. Entities:
``/World/sensors/<sensor name>/env_<i>`` per logged env, or ``/World/sensors/<sensor name>`` holding every logged
env's arrows / points in the instanced layout (world frame; with ``env_layout="origin"`` shifted like the bodies).

* **Contact sensors** (``isaaclab.sensors.ContactSensor``): ``data.net_forces_w`` ``(num_envs, S, 3)`` [N] as
  ``Arrows3D`` starting at each sensed body's position (the body's recorded pose), ``contact_force_scale`` metres per
  newton. Bodies with a force below ``1e-3`` N get no arrow. The data is computed by Isaac Lab anyway (lazy sensors
  compute it on first access per step), so contact forces are on by default.
* **Ray casters** (``isaaclab.sensors.RayCaster``): ``data.ray_hits_w`` ``(num_envs, R, 3)`` as ``Points3D``; rays
  that hit nothing (``inf``) are left out.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun.channels.base import Channel, ChannelContext, Sample, StepRows, TimeColumns, partitioned

__all__ = ["SENSORS_ROOT", "ContactForceChannel", "RayHitChannel", "SensorChannel", "channels", "sensor_kind"]

SENSORS_ROOT = "/World/sensors"

_CONTACT_COLOR = (230, 57, 70)
_RAY_COLOR = (255, 209, 102)
_MIN_FORCE = 1e-3  # N


def sensor_kind(sensor: Any) -> str | None:
    """``"camera"``, ``"contact"`` or ``"ray_caster"`` from the sensor's class hierarchy (Isaac Lab 2.x and 3.x
    backends subclass these names), else None. Does not touch ``sensor.data`` (a camera would render)."""
    names = {cls.__name__ for cls in type(sensor).__mro__}
    if names & {"Camera", "TiledCamera", "RayCasterCamera", "MultiMeshRayCasterCamera"}:
        return "camera"
    if "ContactSensor" in names:
        return "contact"
    if names & {"RayCaster", "MultiMeshRayCaster"}:
        return "ray_caster"
    return None


def channels(ctx: ChannelContext) -> list[Channel]:
    """A channel per contact sensor and ray caster that ``ctx.cfg`` turns on."""
    cfg = ctx.cfg
    out: list[Channel] = []
    for name, sensor in ctx.sensors.items():
        kind = sensor_kind(sensor)
        if kind == "contact" and cfg.contact_forces:
            out.append(ContactForceChannel(ctx, name, sensor))
        elif kind == "ray_caster" and cfg.ray_hits:
            out.append(RayHitChannel(ctx, name, sensor))
    return out


class SensorChannel(Channel):
    """A channel of one sensor: one entity per logged env, or one for all of them (instanced layout)."""

    reads_simulator = True

    def __init__(self, ctx: ChannelContext, name: str, sensor: Any):
        self.ctx = ctx
        self.name = name
        self.sensor = sensor
        self.envs = list(ctx.logged_envs)
        if ctx.instanced:
            self.entities = [f"{SENSORS_ROOT}/{name}"]
        else:
            self.entities = [f"{SENSORS_ROOT}/{name}/env_{env}" for env in self.envs]
        self.frames: list[Any] = []

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.frames.append(data)

    def clear(self) -> None:
        self.frames = []

    def _send_points(
        self, stream: rr.RecordingStream, times: TimeColumns, per_env: list[list[np.ndarray]], make: Any
    ) -> None:
        """``per_env[j][f]``: (n, 3) arrays of env ``j`` at frame ``f`` → one entity per env, or one for all."""
        frames = range(len(per_env[0]))
        groups = [per_env] if self.ctx.instanced else [[p] for p in per_env]
        for entity, envs in zip(self.entities, groups, strict=True):
            values = [np.concatenate([env[f] for env in envs]) for f in frames]
            stream.send_columns(entity, indexes=times(None), columns=make(values))


class ContactForceChannel(SensorChannel):
    """Net contact forces of one contact sensor as arrows at the sensed bodies (see the module docstring)."""

    def __init__(self, ctx: ChannelContext, name: str, sensor: Any):
        super().__init__(ctx, name, sensor)
        self.scale = float(ctx.cfg.contact_force_scale)
        names = list(getattr(sensor, "sensor_names", None) or getattr(sensor, "body_names", None) or [])
        pattern = getattr(getattr(sensor, "cfg", None), "prim_path", "") or ""
        # the row (in the pose array) of each sensed body in each logged env; -1 if it is not logged
        self.rows = np.full((len(self.envs), len(names)), -1, dtype=np.int64)
        missing: set[str] = set()
        for j, env in enumerate(self.envs):
            resolved = ctx.resolve_env_pattern(pattern, env)
            regex = re.compile(resolved) if resolved else None
            for k, body in enumerate(names):
                for r, b in enumerate(ctx.bodies):
                    if b.env == env and b.name == body and (regex is None or _matches(regex, b.entity)):
                        self.rows[j, k] = r
                        break
                else:
                    missing.add(body)
        if missing:
            warnings.warn(
                f"isaac_rerun: contact sensor {name!r} senses bodies {sorted(missing)} that are not logged; "
                "their forces are not drawn",
                RuntimeWarning,
                stacklevel=4,
            )

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            for entity in self.entities:
                stream.log(entity, rr.Arrows3D.from_fields(colors=[_CONTACT_COLOR], radii=[0.01]), static=True)

    def gather(self, sample: Sample) -> Any:
        forces = self.ctx.rows(self.sensor.data.net_forces_w)  # (L, S, 3)
        origins = np.where((self.rows >= 0)[..., None], sample.poses[np.maximum(self.rows, 0), 0:3], np.nan)
        return forces, origins.astype(np.float32)

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if not self.frames:
            return
        origins: list[list[np.ndarray]] = [[] for _ in self.envs]
        vectors: list[list[np.ndarray]] = [[] for _ in self.envs]
        for forces, at in self.frames:
            for j in range(len(self.envs)):
                keep = (np.linalg.norm(forces[j], axis=-1) >= _MIN_FORCE) & np.isfinite(at[j]).all(axis=-1)
                origins[j].append(at[j][keep])
                vectors[j].append(forces[j][keep] * self.scale)
        self.frames = []
        frames = range(len(origins[0]))
        groups = [list(range(len(self.envs)))] if self.ctx.instanced else [[j] for j in range(len(self.envs))]
        for entity, envs in zip(self.entities, groups, strict=True):
            o, lengths = partitioned([np.concatenate([origins[j][f] for j in envs]) for f in frames], 3)
            v, _ = partitioned([np.concatenate([vectors[j][f] for j in envs]) for f in frames], 3)
            stream.send_columns(
                entity, indexes=times(None), columns=rr.Arrows3D.columns(origins=o, vectors=v).partition(lengths)
            )


class RayHitChannel(SensorChannel):
    """Hit points of one ray caster (see the module docstring)."""

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            for entity in self.entities:
                stream.log(entity, rr.Points3D.from_fields(colors=[_RAY_COLOR], radii=[0.015]), static=True)

    def gather(self, sample: Sample) -> Any:
        hits = self.ctx.rows(self.sensor.data.ray_hits_w)  # (L, R, 3), inf where a ray missed
        if sample.shift is not None:
            hits -= sample.shift[:, None, :]
        return hits

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if not self.frames:
            return
        per_env = [[hits[j][np.isfinite(hits[j]).all(axis=-1)] for hits in self.frames] for j in range(len(self.envs))]
        self.frames = []

        def make(values: list[np.ndarray]) -> Any:
            flat, lengths = partitioned(values, 3)
            return rr.Points3D.columns(positions=flat).partition(lengths)

        self._send_points(stream, times, per_env, make)


def _matches(regex: re.Pattern[str], entity: str) -> bool:
    """A sensor's prim-path regex matches a body's entity path (also when the body is nested below another)."""
    if regex.fullmatch(entity):
        return True
    # nested links (/Robot/trunk/FR_hip/FR_thigh) against a sensor written for flat ones (/Robot/.*)
    head, _, name = entity.rpartition("/")
    while head.count("/") > 1:
        head = head.rpartition("/")[0]
        if regex.fullmatch(f"{head}/{name}"):
            return True
    return False
