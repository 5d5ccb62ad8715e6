"""H.264 encoding of camera frames for Rerun's ``VideoStream`` (PyAV's ``libx264``, on the CPU).

One :class:`H264Encoder` per camera and logged env and per snippet: each RGB frame becomes one Annex-B access unit
(one ``VideoStream`` sample), encoded with ``tune=zerolatency``, ``preset=veryfast`` and no B-frames, so that every
frame comes out of the encoder at once, in display order. The first frame of an encoder is a keyframe (IDR, with its
SPS/PPS), and so is every :data:`KEYFRAME_INTERVAL`-th frame after it (scrubbing decodes from the keyframe before
the cursor). ``yuv420p`` needs an even width and height: odd frames are padded by repeating their last column / row.

PyAV (``av`` on the package index, FFmpeg's libraries) is an optional dependency, installed by the extra
``isaac-rerun[video]``; :func:`unavailable_reason` says why H.264 cannot be used here (no PyAV, no ``libx264`` in
it, or a rerun-sdk without ``VideoStream``, e.g. 0.23 on the Isaac Lab 2.x stack).
"""

from __future__ import annotations

import fractions
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _compat

__all__ = ["KEYFRAME_INTERVAL", "H264Encoder", "unavailable_reason"]

KEYFRAME_INTERVAL = 30
"""Frames from one keyframe to the next (the encoder's GOP size); each snippet also starts with one."""

_reason: list[str | None] = []  # cached answer of unavailable_reason()


def unavailable_reason() -> str | None:
    """Why camera frames cannot be encoded as H.264 ``VideoStream`` samples here, or None if they can (cached)."""
    if _reason:
        return _reason[0]
    reason: str | None = None
    if not _compat.has_video_stream():
        reason = f"rerun-sdk {rr.__version__} has no `VideoStream` (it needs rerun-sdk 0.24 or newer)"
    else:
        try:
            import av
        except ImportError as exc:
            reason = f"PyAV is not installed ({exc}; install it with `pip install isaac-rerun[video]`)"
        else:
            try:
                av.codec.Codec("libx264", "w")
            except Exception as exc:
                reason = f"PyAV {av.__version__} has no libx264 encoder ({exc!r})"
    _reason.append(reason)
    return reason


class H264Encoder:
    """Encode RGB frames of one camera of one env into H.264 Annex-B samples, one per frame (see the module doc).

    Parameters
    ----------
    width, height:
        The camera's image size [pixels]; odd sizes are padded to the next even one.
    keyframe_interval:
        Frames from one keyframe to the next.
    """

    def __init__(self, width: int, height: int, *, keyframe_interval: int = KEYFRAME_INTERVAL):
        import av

        self.width, self.height = int(width), int(height)
        self.pad = (self.height % 2, self.width % 2)
        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width = self.width + self.pad[1]
        ctx.height = self.height + self.pad[0]
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = fractions.Fraction(1, 30)  # samples are placed on the timelines, not by their pts
        ctx.gop_size = int(keyframe_interval)
        ctx.max_b_frames = 0
        ctx.thread_count = 1  # small frames encode faster on one thread; the other cores are training's
        ctx.options = {"tune": "zerolatency", "preset": "veryfast"}
        ctx.open()
        self._ctx = ctx
        self._from_ndarray = av.VideoFrame.from_ndarray
        self.frames = 0
        self.keyframe = False
        """Whether the last encoded frame is a keyframe."""

    def encode(self, rgb: np.ndarray) -> bytes:
        """The Annex-B access unit of one ``(height, width, 3)`` uint8 frame (raises if the encoder fails)."""
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise ValueError(
                f"expected a ({self.height}, {self.width}, 3) uint8 RGB frame, got {rgb.shape} {rgb.dtype}"
            )
        if self.pad != (0, 0):
            rgb = np.pad(rgb, ((0, self.pad[0]), (0, self.pad[1]), (0, 0)), mode="edge")
        frame = self._from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.frames
        packets = self._ctx.encode(frame)
        if len(packets) != 1:
            raise RuntimeError(f"libx264 returned {len(packets)} packets for frame {self.frames}, expected 1")
        self.frames += 1
        self.keyframe = bool(packets[0].is_keyframe)
        return bytes(packets[0])

    def close(self) -> None:
        """Release the encoder (what it still holds is dropped: with zero latency, nothing)."""
        self._ctx = None
