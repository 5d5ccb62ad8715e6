"""Sensor data beside the bodies: contact forces as arrows, ray-caster hits as points.

A :class:`Channel` is per-frame data of the logged envs that the recorder gathers at every recorded frame (next to
the body poses, including the terminal frame kept before an auto-reset) and sends in batches with the poses. The
scene logger (:class:`~isaac_rerun.scene.IsaacLabScene`) builds one channel per sensor of ``scene.sensors`` that
:class:`~isaac_rerun.scene.SceneLogCfg` turns on; the markers channel lives in :mod:`isaac_rerun.markers`.

Entities: ``/World/sensors/<sensor name>/env_<i>`` (world frame; with ``env_layout="origin"`` shifted like the bodies).

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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import rerun as rr

if TYPE_CHECKING:
    from isaac_rerun.scene import IsaacLabScene

__all__ = ["SENSORS_ROOT", "Channel", "ContactForceChannel", "RayHitChannel", "SensorChannel", "sensor_channels"]

SENSORS_ROOT = "/World/sensors"
TimeColumns = Callable[[Sequence[int]], list[rr.TimeColumn]]

_CONTACT_COLOR = (230, 57, 70)
_RAY_COLOR = (255, 209, 102)
_MIN_FORCE = 1e-3  # N


class Channel:
    """Per-frame data of the logged envs, gathered with the poses and sent in batches (see the module docstring)."""

    def log_static(self, stream: rr.RecordingStream) -> None:
        """Log what does not change (styles) once per recording."""

    def gather(self, poses: np.ndarray) -> Any:
        """This frame's data for the logged envs (owned arrays), given this frame's body poses ``(rows, 7)``."""
        raise NotImplementedError

    def send(self, stream: rr.RecordingStream, frames: Sequence[Any], time_columns: TimeColumns) -> None:
        """Send the buffered frames (one :meth:`gather` result each) with their time columns."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the channel installed (hooks)."""


def _partitioned(values: list[np.ndarray], width: int) -> tuple[np.ndarray, list[int]]:
    lengths = [len(v) for v in values]
    flat = np.concatenate(values) if values else np.zeros((0, width), np.float32)
    return flat.reshape(-1, width), lengths


class SensorChannel(Channel):
    """A channel of one sensor of ``scene.sensors``: one entity per logged env, ``/World/sensors/<name>/env_<i>``."""

    def __init__(self, layout: IsaacLabScene, name: str, sensor: Any):
        self.name = name
        self.sensor = sensor
        self.layout = layout
        self.envs = layout.logged_envs
        self.entities = [f"{SENSORS_ROOT}/{name}/env_{env}" for env in self.envs]


class ContactForceChannel(SensorChannel):
    """Net contact forces of one contact sensor as arrows at the sensed bodies (see the module docstring)."""

    def __init__(self, layout: IsaacLabScene, name: str, sensor: Any, scale: float):
        super().__init__(layout, name, sensor)
        self.scale = float(scale)
        names = list(getattr(sensor, "sensor_names", None) or getattr(sensor, "body_names", None) or [])
        pattern = getattr(getattr(sensor, "cfg", None), "prim_path", "") or ""
        # the row (in the layout's pose array) of each sensed body in each logged env; -1 if it is not logged
        self.rows = np.full((len(self.envs), len(names)), -1, dtype=np.int64)
        missing: set[str] = set()
        for j, env in enumerate(self.envs):
            resolved = layout.resolve_env_pattern(pattern, env)
            regex = re.compile(resolved) if resolved else None
            for k, body in enumerate(names):
                for r, b in enumerate(layout.bodies):
                    if b.env == env and b.name == body and (regex is None or regex.fullmatch(b.entity)):
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

    def log_static(self, stream: rr.RecordingStream) -> None:
        for entity in self.entities:
            stream.log(entity, rr.Arrows3D.from_fields(colors=[_CONTACT_COLOR], radii=[0.01]), static=True)

    def gather(self, poses: np.ndarray) -> Any:
        forces = self.layout.env_rows(self.sensor.data.net_forces_w)  # (L, S, 3)
        origins = np.where((self.rows >= 0)[..., None], poses[np.maximum(self.rows, 0), 0:3], np.nan)
        return forces, origins.astype(np.float32)

    def send(self, stream: rr.RecordingStream, frames: Sequence[Any], time_columns: TimeColumns) -> None:
        for j, entity in enumerate(self.entities):
            origins, vectors = [], []
            for forces, at in frames:
                keep = (np.linalg.norm(forces[j], axis=-1) >= _MIN_FORCE) & np.isfinite(at[j]).all(axis=-1)
                origins.append(at[j][keep])
                vectors.append(forces[j][keep] * self.scale)
            flat_o, lengths = _partitioned(origins, 3)
            flat_v, _ = _partitioned(vectors, 3)
            stream.send_columns(
                entity,
                indexes=time_columns(range(len(frames))),
                columns=rr.Arrows3D.columns(origins=flat_o, vectors=flat_v).partition(lengths),
            )


class RayHitChannel(SensorChannel):
    """Hit points of one ray caster (see the module docstring)."""

    def log_static(self, stream: rr.RecordingStream) -> None:
        for entity in self.entities:
            stream.log(entity, rr.Points3D.from_fields(colors=[_RAY_COLOR], radii=[0.015]), static=True)

    def gather(self, poses: np.ndarray) -> Any:
        hits = self.layout.env_rows(self.sensor.data.ray_hits_w)  # (L, R, 3), inf where a ray missed
        if self.layout.cfg.env_layout == "origin":
            hits -= self.layout.env_origins()[:, None, :]
        return hits

    def send(self, stream: rr.RecordingStream, frames: Sequence[Any], time_columns: TimeColumns) -> None:
        for j, entity in enumerate(self.entities):
            points = [hits[j][np.isfinite(hits[j]).all(axis=-1)] for hits in frames]
            flat, lengths = _partitioned(points, 3)
            stream.send_columns(
                entity,
                indexes=time_columns(range(len(frames))),
                columns=rr.Points3D.columns(positions=flat).partition(lengths),
            )


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


def sensor_channels(layout: IsaacLabScene) -> list[Channel]:
    """The channels for the sensors in ``layout.scene.sensors`` that ``layout.cfg`` turns on (cameras: see
    :mod:`isaac_rerun.cameras`)."""
    cfg = layout.cfg
    channels: list[Channel] = []
    for name, sensor in (getattr(layout.scene, "sensors", None) or {}).items():
        kind = sensor_kind(sensor)
        if kind == "contact" and cfg.contact_forces:
            channels.append(ContactForceChannel(layout, name, sensor, cfg.contact_force_scale))
        elif kind == "ray_caster" and cfg.ray_hits:
            channels.append(RayHitChannel(layout, name, sensor))
    return channels
