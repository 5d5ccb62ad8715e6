"""Camera sensors of the logged envs as images on the recording's timelines (off by default).

Reading a camera's data renders it (Isaac Lab renders cameras lazily, on access), so images are only logged for the
cameras :attr:`SceneLogCfg.cameras <isaac_rerun.config.SceneLogCfg.cameras>` names (``True``: all). Kit-less on the
CPU, Isaac Lab 3.0 renders ``CameraCfg(renderer_cfg=NewtonWarpRendererCfg())`` cameras with Newton's Warp ray tracer
(the default RTX renderer needs Isaac Sim).

Per camera and logged env, at ``/World/sensors/<camera name>/env_<i>``: the camera pose each frame
(``Transform3D`` from ``data.pos_w`` and ``data.quat_w_ros``), a ``Pinhole`` from ``data.intrinsic_matrices``
(optical frame: x right, y down, z forward), and below it ``rgb`` (``Image``, from ``"rgb"`` or ``"rgba"``) and
``depth`` (``DepthImage`` in metres, from ``"distance_to_image_plane"`` or ``"depth"``) for the data types the camera
produces (per env in both entity layouts). In the 3D view the images appear on the camera's frustum; each also has
its own 2D view. Images are large: while a camera is logged, frames are sent every 8 frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun.channels.base import Channel, ChannelContext, Sample, TimeColumns
from isaac_rerun.channels.sensors import SENSORS_ROOT, SensorChannel, sensor_kind

__all__ = ["CameraChannel", "channels"]

_RGB = ("rgb", "rgba")
_DEPTH = ("distance_to_image_plane", "depth")


class CameraChannel(SensorChannel):
    """Images, pose and intrinsics of one camera sensor for the logged envs (see the module docstring)."""

    max_buffered_frames = 8

    def __init__(self, ctx: ChannelContext, name: str, sensor: Any):
        super().__init__(ctx, name, sensor)
        self.entities = [f"{SENSORS_ROOT}/{name}/env_{env}" for env in self.envs]  # images are per env in any layout
        self._pinholes: set[str] = set()  # entities whose pinhole was logged in the current stream

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            self._pinholes = set()

    def gather(self, sample: Sample) -> Any:
        rows = self.ctx.rows
        data = self.sensor.data
        output = data.output
        frame: dict[str, np.ndarray] = {}
        rgb = next((k for k in _RGB if k in output), None)
        if rgb is not None:
            frame["rgb"] = np.ascontiguousarray(rows(output[rgb], dtype=np.uint8)[..., :3])
        depth = next((k for k in _DEPTH if k in output), None)
        if depth is not None:
            frame["depth"] = rows(output[depth])[..., 0]
        pos = rows(data.pos_w)
        if sample.shift is not None:
            pos = pos - sample.shift
        frame["pos"] = pos
        frame["quat"] = rows(data.quat_w_ros)
        frame["K"] = rows(data.intrinsic_matrices)
        return frame

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        frames, self.frames = self.frames, []
        if not frames:
            return
        logged = self._pinholes
        for j, entity in enumerate(self.entities):
            first = frames[0]
            if entity not in logged:
                logged.add(entity)
                h, w = _image_size(first)
                stream.log(
                    entity,
                    rr.Pinhole(image_from_camera=first["K"][j], resolution=[w, h], camera_xyz=rr.ViewCoordinates.RDF),
                    static=True,
                )
                if "rgb" in first:
                    fmt = rr.components.ImageFormat(width=w, height=h, color_model="RGB", channel_datatype="U8")
                    stream.log(f"{entity}/rgb", rr.Image.from_fields(format=fmt), static=True)
                if "depth" in first:
                    fmt = rr.components.ImageFormat(width=w, height=h, channel_datatype="F32")
                    stream.log(f"{entity}/depth", rr.DepthImage.from_fields(format=fmt, meter=1.0), static=True)
            pos = np.stack([f["pos"][j] for f in frames])
            quat = np.stack([f["quat"][j] for f in frames])
            stream.send_columns(
                entity,
                indexes=times(None),
                columns=rr.Transform3D.columns(translation=pos, quaternion=quat),
            )
            if "rgb" in first:
                images = np.stack([f["rgb"][j] for f in frames]).reshape(len(frames), -1)
                stream.send_columns(f"{entity}/rgb", indexes=times(None), columns=rr.Image.columns(buffer=images))
            if "depth" in first:
                depth = np.stack([f["depth"][j] for f in frames]).astype(np.float32).reshape(len(frames), -1)
                stream.send_columns(
                    f"{entity}/depth",
                    indexes=times(None),
                    columns=rr.DepthImage.columns(buffer=depth.view(np.uint8)),
                )


def _image_size(frame: dict[str, np.ndarray]) -> tuple[int, int]:
    img = frame["rgb"] if "rgb" in frame else frame["depth"]
    return int(img.shape[1]), int(img.shape[2])


def channels(ctx: ChannelContext) -> list[Channel]:
    """A :class:`CameraChannel` per camera sensor that ``ctx.cfg.cameras`` names (``True``: every camera)."""
    wanted = ctx.cfg.cameras
    if wanted is False:
        return []
    cameras = {name: s for name, s in ctx.sensors.items() if sensor_kind(s) == "camera"}
    if wanted is not True:
        unknown = sorted(set(wanted) - set(cameras))
        if unknown:
            raise ValueError(
                f"`cameras` names {unknown}, which are not camera sensors of the scene; its cameras are "
                f"{sorted(cameras)}"
            )
        cameras = {name: s for name, s in cameras.items() if name in wanted}
    return [CameraChannel(ctx, name, sensor) for name, sensor in cameras.items()]
