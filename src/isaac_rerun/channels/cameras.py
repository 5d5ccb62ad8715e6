"""Camera sensors of the logged envs as video and images on the recording's timelines (off by default).

Reading a camera's data renders it (Isaac Lab renders cameras lazily, on access), so images are only logged for the
cameras :attr:`SceneLogCfg.cameras <isaac_rerun.config.SceneLogCfg.cameras>` names (``True``: all). Kit-less on the
CPU, Isaac Lab 3.0 renders ``CameraCfg(renderer_cfg=NewtonWarpRendererCfg())`` cameras with Newton's Warp ray tracer
(the default RTX renderer needs Isaac Sim).

Per camera and logged env, at ``/World/sensors/<camera name>/env_<i>`` (per env in both entity layouts): the camera
pose each frame (``Transform3D`` from ``data.pos_w`` and ``data.quat_w_ros``), a ``Pinhole`` from
``data.intrinsic_matrices`` (optical frame: x right, y down, z forward), and below it, for the data types the camera
produces:

* ``rgb`` (from ``"rgb"`` or ``"rgba"``): with :attr:`SceneLogCfg.camera_codec
  <isaac_rerun.config.SceneLogCfg.camera_codec>` ``"h264"`` (default) an H.264 ``VideoStream``: the codec once
  (static), then one Annex-B sample per frame (:mod:`isaac_rerun.channels.video`: libx264, zero latency, no
  B-frames, a keyframe at the first frame of every snippet and every
  :data:`~isaac_rerun.channels.video.KEYFRAME_INTERVAL` frames; odd sizes padded by one row / column). With
  ``"raw"``, or where H.264 is not available (rerun-sdk < 0.24, no PyAV; one warning says why), an ``Image`` per
  frame. If the encoder fails, a warning is given once and that camera's frames are raw images from then on;
  recording and training go on.
* ``depth`` (``DepthImage`` in metres, ``meter=1``, from ``"distance_to_image_plane"`` or ``"depth"``).

In the 3D view the images (and the video) appear on the camera's frustum; each also has its own 2D view.
:meth:`CameraChannel.gather` returns plain owned numpy data (the frame's ``uint8`` RGB, ``float32`` depth, pose and
intrinsics) and frames are encoded in :meth:`CameraChannel.append`, from the first frame after
:meth:`CameraChannel.start` on: frames gathered earlier and kept (as the rolling history keeps frames) are encoded
when they are written. With the rolling history on, every candidate env's frame is read each step
(:meth:`CameraChannel.read_all`: reading renders the camera; RGB kept as float32 on the device, 4 B per channel and
pixel, counted in the history's stated memory), so kept episodes and NaN dumps are encoded as video when written.
Raw images are large: while a camera's raw images (RGB or depth) are logged, frames are sent every 8 frames;
every :data:`VIDEO_BUFFERED_FRAMES` frames for a camera recorded as video alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun._arrays import as_tensor
from isaac_rerun._util import WarnOnce
from isaac_rerun.channels import video
from isaac_rerun.channels.base import Channel, ChannelContext, Sample, StepRows, TimeColumns
from isaac_rerun.channels.sensors import SENSORS_ROOT, SensorChannel, sensor_kind

__all__ = ["VIDEO_BUFFERED_FRAMES", "CameraChannel", "channels"]

_RGB = ("rgb", "rgba")
_DEPTH = ("distance_to_image_plane", "depth")

VIDEO_BUFFERED_FRAMES = 32
"""Frames between sends of a camera recorded as video alone: each send is a chunk of its own (~1 kB of schema)."""

_warn = WarnOnce()


class CameraChannel(SensorChannel):
    """Video / images, pose and intrinsics of one camera sensor for the logged envs (see the module docstring)."""

    max_buffered_frames: int | None = 8
    """Frames between sends while raw images (RGB or depth) are buffered; :data:`VIDEO_BUFFERED_FRAMES` for a camera
    recorded as video alone (no depth)."""

    def __init__(self, ctx: ChannelContext, name: str, sensor: Any):
        super().__init__(ctx, name, sensor)
        self.entities = [f"{SENSORS_ROOT}/{name}/env_{env}" for env in self.envs]  # images are per env in any layout
        self._static: set[str] = set()  # static parts (pinholes, codecs, image formats) logged in the current stream
        self.codec = ctx.cfg.camera_codec
        if self.codec == "h264":
            reason = video.unavailable_reason()
            if reason is not None:
                _warn("unavailable", f"isaac_rerun: camera frames are recorded as raw images: {reason}", stacklevel=5)
                self.codec = "raw"
        self.encoders: list[video.H264Encoder] | None = None  # one per logged env, for the current snippet
        data_types = set(getattr(getattr(sensor, "cfg", None), "data_types", None) or _DEPTH)
        if self.codec == "h264" and not data_types & set(_DEPTH):
            # only small video samples are buffered (raw images only after an encoder error): fewer, larger chunks
            self.max_buffered_frames = VIDEO_BUFFERED_FRAMES
        self._warn = WarnOnce()
        self._history_layout: list[tuple[str, Any, tuple[int, ...]]] | None = None

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:
            self._static = set()
        self.encoders = None  # a snippet starts: new encoders, so that its first frame is a keyframe

    # ------------------------------------------------------------------ the rolling history
    @property
    def key(self) -> str:  # type: ignore[override]
        """The history keeps this camera's frames under this name (a kept episode's video is encoded when written)."""
        return f"camera:{self.name}"

    def _parts(self) -> list[tuple[str, Any, tuple[int, ...]]]:
        """What a frame of this camera holds, in order: (field, every env's data, per-env shape)."""
        data = self.sensor.data
        output = data.output
        parts: list[tuple[str, Any, tuple[int, ...]]] = []
        rgb = next((k for k in _RGB if k in output), None)
        if rgb is not None:
            t = as_tensor(output[rgb])[..., :3]
            parts.append(("rgb", t, tuple(t.shape[1:])))
        depth = next((k for k in _DEPTH if k in output), None)
        if depth is not None:
            t = as_tensor(output[depth])[..., 0]
            parts.append(("depth", t, tuple(t.shape[1:])))
        for name, attr in (("pos", "pos_w"), ("quat", "quat_w_ros"), ("K", "intrinsic_matrices")):
            t = as_tensor(getattr(data, attr))
            parts.append((name, t, tuple(t.shape[1:])))
        return parts

    def read_all(self) -> Any:
        """Every env's frame (RGB, depth, pose, intrinsics) as one ``(num_envs, width)`` float32 tensor on the
        simulation device, for the rolling history (reading a camera's data renders it: every step, every candidate
        env, while the history is on)."""
        import torch

        parts = self._parts()
        if not parts or not all(isinstance(t, torch.Tensor) for _, t, _ in parts):
            return None
        return torch.cat([t.reshape(t.shape[0], -1).to(torch.float32) for _, t, _ in parts], dim=1)

    def from_rows(self, rows: np.ndarray) -> Any:
        """Rows of :meth:`read_all` as :meth:`gather` returns them (the pose in the world frame)."""
        frame: dict[str, np.ndarray] = {}
        start = 0
        for name, _, shape in self._layout():
            width = int(np.prod(shape))
            values = rows[:, start : start + width].reshape(len(rows), *shape)
            start += width
            frame[name] = np.clip(np.rint(values), 0, 255).astype(np.uint8) if name == "rgb" else values
        return frame

    def _layout(self) -> list[tuple[str, Any, tuple[int, ...]]]:
        if self._history_layout is None:
            self._history_layout = self._parts()
        return self._history_layout

    # ------------------------------------------------------------------ frames
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
            frame["depth"] = rows(output[depth])[..., 0].astype(np.float32, copy=False)
        pos = rows(data.pos_w)
        if sample.shift is not None:
            pos = pos - sample.shift
        frame["pos"] = pos
        frame["quat"] = rows(data.quat_w_ros)
        frame["K"] = rows(data.intrinsic_matrices)
        return frame

    def append(self, row: int, data: Any, step: StepRows) -> None:
        """Buffer one frame; with H.264, its RGB images are encoded now (one sample per env) and not kept."""
        if self.codec == "h264" and data is not None and "rgb" in data:
            rgb = data["rgb"]
            samples = self._encode(rgb)
            if samples is not None:
                # a new dict: ``data`` may be the history's, written again later
                data = {k: v for k, v in data.items() if k != "rgb"}
                data["samples"] = samples
                data["size"] = (int(rgb.shape[1]), int(rgb.shape[2]))
        self.frames.append(data)

    def _encode(self, rgb: np.ndarray) -> list[bytes] | None:
        """The H.264 samples of one frame of every logged env; None (and raw images from now on) if encoding fails."""
        try:
            if self.encoders is None:
                h, w = int(rgb.shape[1]), int(rgb.shape[2])
                self.encoders = [video.H264Encoder(w, h) for _ in self.envs]
            return [enc.encode(img) for enc, img in zip(self.encoders, rgb, strict=True)]
        except Exception as exc:
            self._warn(
                "encode",
                f"isaac_rerun: could not encode camera {self.name!r} as H.264 ({exc!r}); its frames are recorded as "
                "raw images from here on",
                stacklevel=4,
            )
            self.codec = "raw"
            self.encoders = None
            return None

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        frames, self.frames = self.frames, []
        if not frames:
            return
        first = frames[0]
        video_rows = [i for i, f in enumerate(frames) if "samples" in f]
        image_rows = [i for i, f in enumerate(frames) if "rgb" in f]
        everything = len(frames)
        logged = self._static
        h, w = _image_size(first)

        def rows_times(rows: list[int]) -> list[rr.TimeColumn]:
            return times(None) if len(rows) == everything else times(rows)

        for j, entity in enumerate(self.entities):
            if entity not in logged:
                logged.add(entity)
                stream.log(
                    entity,
                    rr.Pinhole(image_from_camera=first["K"][j], resolution=[w, h], camera_xyz=rr.ViewCoordinates.RDF),
                    static=True,
                )
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
            if video_rows:
                if f"{entity}/rgb:video" not in logged:
                    logged.add(f"{entity}/rgb:video")
                    stream.log(f"{entity}/rgb", rr.VideoStream(codec=rr.VideoCodec.H264), static=True)
                stream.send_columns(
                    f"{entity}/rgb",
                    indexes=rows_times(video_rows),
                    columns=rr.VideoStream.columns(sample=[frames[i]["samples"][j] for i in video_rows]),
                )
            if image_rows:
                if f"{entity}/rgb:image" not in logged:
                    logged.add(f"{entity}/rgb:image")
                    fmt = rr.components.ImageFormat(width=w, height=h, color_model="RGB", channel_datatype="U8")
                    stream.log(f"{entity}/rgb", rr.Image.from_fields(format=fmt), static=True)
                images = np.stack([frames[i]["rgb"][j] for i in image_rows]).reshape(len(image_rows), -1)
                stream.send_columns(
                    f"{entity}/rgb", indexes=rows_times(image_rows), columns=rr.Image.columns(buffer=images)
                )
            if "depth" in first:
                depth = np.stack([f["depth"][j] for f in frames]).astype(np.float32).reshape(len(frames), -1)
                stream.send_columns(
                    f"{entity}/depth",
                    indexes=times(None),
                    columns=rr.DepthImage.columns(buffer=depth.view(np.uint8)),
                )

    def close(self) -> None:
        self.encoders = None


def _image_size(frame: dict[str, Any]) -> tuple[int, int]:
    """``(height, width)`` of a buffered frame's images."""
    if "size" in frame:
        return frame["size"]
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
