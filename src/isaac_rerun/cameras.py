"""Camera sensors of the logged envs as images on the recording's timelines (off by default).

Reading a camera's data renders it (Isaac Lab renders cameras lazily, on access), so images are only logged for the
cameras :attr:`SceneLogCfg.cameras <isaac_rerun.scene.SceneLogCfg.cameras>` names (``True``: all). Kit-less on the
CPU, Isaac Lab 3.0 renders ``CameraCfg(renderer_cfg=NewtonWarpRendererCfg())`` cameras with Newton's Warp ray tracer
(the default RTX renderer needs Isaac Sim).

Per camera and logged env, at ``/World/sensors/<camera name>/env_<i>``: the camera pose each frame
(``Transform3D`` from ``data.pos_w`` and ``data.quat_w_ros``), a ``Pinhole`` from ``data.intrinsic_matrices``
(optical frame: x right, y down, z forward), and below it ``rgb`` (``Image``, from ``"rgb"`` or ``"rgba"``) and
``depth`` (``DepthImage`` in metres, from ``"distance_to_image_plane"`` or ``"depth"``) for the data types the camera
produces. In the 3D view the images appear on the camera's frustum; each also has its own 2D view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import rerun as rr

from isaac_rerun.sensors import Channel, SensorChannel, TimeColumns, sensor_kind

if TYPE_CHECKING:
    from isaac_rerun.scene import IsaacLabScene

__all__ = ["CameraChannel", "camera_channels"]

_RGB = ("rgb", "rgba")
_DEPTH = ("distance_to_image_plane", "depth")


class CameraChannel(SensorChannel):
    """Images, pose and intrinsics of one camera sensor for the logged envs (see the module docstring)."""

    def __init__(self, layout: IsaacLabScene, name: str, sensor: Any):
        super().__init__(layout, name, sensor)
        self._pinholes: dict[int, set[str]] = {}  # stream id -> entities whose pinhole was logged

    def gather(self, poses: np.ndarray) -> Any:
        rows = self.layout.env_rows
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
        if self.layout.cfg.env_layout == "origin":
            pos = pos - self.layout.env_origins()
        frame["pos"] = pos
        frame["quat"] = rows(data.quat_w_ros)
        frame["K"] = rows(data.intrinsic_matrices)
        return frame

    def send(self, stream: rr.RecordingStream, frames: Sequence[Any], time_columns: TimeColumns) -> None:
        logged = self._pinholes.setdefault(id(stream), set())
        rows = list(range(len(frames)))
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
                indexes=time_columns(rows),
                columns=rr.Transform3D.columns(translation=pos, quaternion=quat),
            )
            if "rgb" in first:
                images = np.stack([f["rgb"][j] for f in frames]).reshape(len(frames), -1)
                stream.send_columns(
                    f"{entity}/rgb", indexes=time_columns(rows), columns=rr.Image.columns(buffer=images)
                )
            if "depth" in first:
                depth = np.stack([f["depth"][j] for f in frames]).astype(np.float32).reshape(len(frames), -1)
                stream.send_columns(
                    f"{entity}/depth",
                    indexes=time_columns(rows),
                    columns=rr.DepthImage.columns(buffer=depth.view(np.uint8)),
                )


def _image_size(frame: dict[str, np.ndarray]) -> tuple[int, int]:
    img = frame["rgb"] if "rgb" in frame else frame["depth"]
    return int(img.shape[1]), int(img.shape[2])


def camera_channels(layout: IsaacLabScene) -> list[Channel]:
    """A :class:`CameraChannel` per camera sensor that ``layout.cfg.cameras`` names (``True``: every camera)."""
    wanted = layout.cfg.cameras
    if wanted is False:
        return []
    sensors = getattr(layout.scene, "sensors", None) or {}
    cameras = {name: s for name, s in sensors.items() if sensor_kind(s) == "camera"}
    if wanted is not True:
        unknown = sorted(set(wanted) - set(cameras))
        if unknown:
            raise ValueError(
                f"`cameras` names {unknown}, which are not camera sensors of the scene; its cameras are "
                f"{sorted(cameras)}"
            )
        cameras = {name: s for name, s in cameras.items() if name in wanted}
    return [CameraChannel(layout, name, sensor) for name, sensor in cameras.items()]
