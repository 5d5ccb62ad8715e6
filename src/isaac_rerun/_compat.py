"""The few places where supported rerun-sdk versions (0.23 … 0.41) differ. Keep every version branch here."""

from __future__ import annotations

from collections.abc import Callable

import rerun as rr

_cleanup: Callable[[], None] | None
try:  # the clean-up for rerun-io/rerun#2116 (dropped streams keep their threads)
    from rerun_bindings import flush_and_cleanup_orphaned_recordings as _cleanup
except ImportError:  # pragma: no cover - very old bindings
    _cleanup = None


def cleanup_orphaned_recordings() -> None:
    """Release the threads of recording streams that were dropped."""
    if _cleanup is not None:
        _cleanup()


def send_recording_name(stream: rr.RecordingStream, name: str) -> None:
    """Name a recording in the viewer's list (``send_recording_name`` exists from rerun-sdk 0.24)."""
    fn = getattr(stream, "send_recording_name", None)
    if fn is not None:
        fn(name)


def connect_grpc(stream: rr.RecordingStream, url: str) -> None:
    """Connect a stream to a viewer or server over gRPC."""
    stream.connect_grpc(url)
