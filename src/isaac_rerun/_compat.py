"""The few places where supported rerun-sdk versions (0.23 … 0.41) differ. Keep every version branch here."""

from __future__ import annotations

import inspect
import os
import tempfile
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import rerun as rr
import rerun.blueprint as rrb

_cleanup: Callable[[], None] | None
try:  # the clean-up for rerun-io/rerun#2116 (dropped streams keep their threads), from rerun-sdk 0.24 on
    from rerun_bindings import flush_and_cleanup_orphaned_recordings as _cleanup
except ImportError:  # rerun-sdk 0.23
    _cleanup = None

RELEASES_STREAM_THREADS = _cleanup is not None
"""False on rerun-sdk 0.23: a closed, dropped recording stream keeps its 2 threads until the process exits."""

_warned: set[str] = set()


CLEANUP_EVERY = 4
"""Streams closed between two clean-ups of dropped streams' threads (a clean-up costs ~8 ms of CPU): at most about
``2 * CLEANUP_EVERY`` threads wait for their release."""
_closed_since_cleanup = [0]


def cleanup_orphaned_recordings(*, force: bool = False) -> None:
    """Release the threads of recording streams that were dropped (rerun-io/rerun#2116), every
    :data:`CLEANUP_EVERY`-th call or when ``force`` (a no-op on rerun-sdk 0.23, which cannot)."""
    _closed_since_cleanup[0] += 1
    if _cleanup is not None and (force or _closed_since_cleanup[0] >= CLEANUP_EVERY):
        _closed_since_cleanup[0] = 0
        _cleanup()


def warn_stream_threads_kept() -> None:
    """Say once per process, where a new stream is made per snippet, that rerun-sdk 0.23 keeps its threads."""
    if RELEASES_STREAM_THREADS or "threads" in _warned:
        return
    _warned.add("threads")
    warnings.warn(
        f"isaac_rerun: rerun-sdk {rr.__version__} cannot release the threads of a finished recording stream "
        "(rerun-io/rerun#2116; fixed in rerun-sdk 0.24, which needs numpy >= 2): each snippet file keeps 2 threads "
        "until the process exits. For long runs with many snippets, record fewer snippets, use `save_path=` "
        "(one stream for all snippets) or a newer rerun-sdk.",
        RuntimeWarning,
        stacklevel=3,
    )


def send_recording_name(stream: rr.RecordingStream, name: str) -> None:
    """Name a recording in the viewer's list (``send_recording_name``: rerun-sdk 0.23.1 and newer have it)."""
    fn = getattr(stream, "send_recording_name", None)
    if fn is not None:
        fn(name)


def quaternion(xyzw: Any) -> Any:
    """A rotation for ``rr.Transform3D(quaternion=...)``: a float32 ``(4,)`` array, read as xyzw by every version.

    Not ``rr.Quaternion(xyzw=...)``: in rerun-sdk 0.23.x its ``__array__`` calls ``np.asarray(..., copy=...)``, a
    numpy 2 keyword, so with numpy 1.x (Isaac Lab 2.x) the rotation is dropped with a warning (an error in strict
    mode). Typed ``Any``: Rerun annotates the argument as ``Quaternion`` but converts any xyzw array-like.
    """
    return np.asarray(xyzw, dtype=np.float32).reshape(4)


def spatial3d_view(name: str, origin: str, eye: tuple[Any, Any] | None, trails: Sequence[str], timeline: str) -> Any:
    """A 3D view, framed by ``eye`` = (position, look target), in which each of the ``trails`` entities shows what
    was logged from the start of ``timeline`` up to the cursor. rerun-sdk 0.23 has neither eye controls nor (with
    numpy < 2) working time-range overrides: there the view has the viewer's default framing and trails show only
    their latest segment."""
    kwargs: dict[str, Any] = {"name": name, "origin": origin}
    if hasattr(rrb, "EyeControls3D"):  # rerun-sdk 0.24+
        if eye is not None:
            kwargs["eye_controls"] = rrb.EyeControls3D(position=eye[0], look_target=eye[1], eye_up=(0.0, 0.0, 1.0))
        if trails:
            since_start = rrb.VisibleTimeRanges(
                rrb.VisibleTimeRange(
                    timeline, start=rrb.TimeRangeBoundary.infinite(), end=rrb.TimeRangeBoundary.cursor_relative()
                )
            )
            kwargs["overrides"] = {path: since_start for path in trails}
    return rrb.Spatial3DView(**kwargs)


FLUSH_TIMEOUT_S = 20.0
"""How long a flush may wait for a stream's sink (a file on a full disk can block it forever)."""


def flush(stream: rr.RecordingStream) -> None:
    """Flush a stream, waiting at most :data:`FLUSH_TIMEOUT_S` (rerun-sdk 0.24+; 0.23's flush has no timeout).

    Raises when the timeout is reached, so that a caller's clean-up and warning run instead of training hanging.
    """
    try:
        stream.flush(timeout_sec=FLUSH_TIMEOUT_S)
    except TypeError:  # rerun-sdk 0.23: flush(blocking=True)
        stream.flush()


def time_panel(timeline: str) -> list[Any]:
    """A time panel that opens on ``timeline`` (rerun-sdk 0.24+; older versions cannot choose: none)."""
    if "timeline" not in inspect.signature(rrb.TimePanel.__init__).parameters:
        return []
    return [rrb.TimePanel(timeline=timeline, state="collapsed")]


def has_video_stream() -> bool:
    """Rerun's encoded-video archetype ``rr.VideoStream`` (H.264/AV1 samples on a timeline) exists: rerun-sdk 0.24+;
    0.23 (Isaac Lab 2.x) logs camera frames as raw images instead."""
    return hasattr(rr, "VideoStream") and hasattr(rr, "VideoCodec")


def connect_grpc(stream: rr.RecordingStream, url: str) -> None:
    """Connect a stream to a viewer or server over gRPC."""
    stream.connect_grpc(url)


class _ArrowColumn:
    """A ready component column for ``send_columns`` (its documented duck type: a descriptor and an arrow array)."""

    __slots__ = ("_array", "_descriptor")

    def __init__(self, descriptor: Any, array: pa.Array):
        self._descriptor = descriptor
        self._array = array

    def component_descriptor(self) -> Any:
        return self._descriptor

    def as_arrow_array(self) -> pa.Array:
        return self._array


class PoseColumns:
    """``Transform3D`` translation + quaternion columns built straight from float32 arrays.

    ``rr.Transform3D.columns`` validates and converts its input on every call (~100 µs); a recorder sends one pose
    column per body per flush, so it builds the arrow arrays itself (zero-copy from numpy), with the descriptors and
    arrow types taken once from Rerun's own ``Transform3D.columns``. Works with every supported rerun-sdk: rerun-sdk
    0.23 also puts an (empty) ``Transform3DIndicator`` column first, which is reproduced here the same way.
    """

    def __init__(self) -> None:
        t, t_indicator = _data_and_indicator(rr.Transform3D.columns(translation=np.zeros((1, 3), dtype=np.float32)))
        q, _ = _data_and_indicator(rr.Transform3D.columns(quaternion=np.array([[0, 0, 0, 1]], dtype=np.float32)))
        self._t_desc, self._t_type = t.component_descriptor(), t.as_arrow_array().type
        self._q_desc, self._q_type = q.component_descriptor(), q.as_arrow_array().type
        self._indicator = None if t_indicator is None else t_indicator.component_descriptor()
        self._offsets: dict[int, pa.Array] = {}
        self._indicators: dict[int, pa.Array] = {}

    def __call__(self, translation: np.ndarray, quaternion_xyzw: np.ndarray) -> list[Any]:  # ComponentColumn-like
        """Columns for ``n`` rows: ``translation`` (n, 3) and ``quaternion_xyzw`` (n, 4), float32, C-contiguous."""
        n = translation.shape[0]
        offsets = self._offsets.get(n)
        if offsets is None:
            offsets = self._offsets[n] = pa.array(np.arange(n + 1, dtype=np.int32))
        columns = [
            _ArrowColumn(self._t_desc, _list_of_vectors(offsets, translation, self._t_type)),
            _ArrowColumn(self._q_desc, _list_of_vectors(offsets, quaternion_xyzw, self._q_type)),
        ]
        if self._indicator is not None:  # rerun-sdk 0.23: one empty indicator list per row
            indicator = self._indicators.get(n)
            if indicator is None:
                zeros = pa.array(np.zeros(n + 1, dtype=np.int32))
                indicator = self._indicators[n] = pa.ListArray.from_arrays(zeros, pa.nulls(0))
            columns.insert(0, _ArrowColumn(self._indicator, indicator))
        return columns


def _data_and_indicator(columns: Any) -> tuple[Any, Any]:
    """The one data column, and the indicator column if this rerun-sdk adds one (0.23 does, newer ones do not)."""
    data, indicator = [], None
    for col in columns:
        if "Indicator" in str(col.component_descriptor()):
            indicator = col
        else:
            data.append(col)
    (only,) = data
    return only, indicator


def _list_of_vectors(offsets: pa.Array, values: np.ndarray, list_type: pa.DataType) -> pa.Array:
    inner_type = list_type.value_type
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1), type=inner_type.value_type)
    return pa.ListArray.from_arrays(offsets, pa.FixedSizeListArray.from_arrays(flat, type=inner_type), type=list_type)


def send_blueprint(stream: rr.RecordingStream, blueprint: Any, application_id: str) -> None:
    """Send a blueprint into a stream without leaking the blueprint stream's threads.

    ``RecordingStream.send_blueprint`` builds a temporary blueprint stream that it never disconnects: two threads
    stay behind per call (rerun-io/rerun#2116), i.e. per snippet. Same steps as Rerun's own (0.23 … 0.41), plus the
    disconnect; falls back to the public call if those internals are missing. On rerun-sdk 0.23, which cannot
    release a dropped stream's threads at all, one blueprint stream per application id is kept and reused (each
    send drains it into a fresh memory sink; every recording still gets the blueprint's store info and all of its
    chunks, under one blueprint store id per application id).
    """
    with _blueprint_lock:  # a kept blueprint stream is shared by every recorder of the process
        _send_blueprint(stream, blueprint, application_id)


def _send_blueprint(stream: rr.RecordingStream, blueprint: Any, application_id: str) -> None:
    try:
        from rerun_bindings import new_blueprint
        from rerun_bindings import send_blueprint as _send

        bp_stream = None if RELEASES_STREAM_THREADS else _blueprint_streams.get(application_id)
        if bp_stream is None:
            bp_stream = rr.RecordingStream._from_native(
                new_blueprint(
                    application_id=application_id, make_default=False, make_thread_default=False, default_enabled=True
                )
            )
            if not RELEASES_STREAM_THREADS:
                _blueprint_streams[application_id] = bp_stream
        chunks = _blueprint_chunks(blueprint, application_id) if RELEASES_STREAM_THREADS else None
        if chunks is not None:
            bp_stream.send_chunks(chunks)  # logged once: no archetypes built and converted again per snippet
        else:
            bp_stream.set_time("blueprint", sequence=0)
            blueprint._log_to_stream(bp_stream)
        memory = bp_stream.memory_recording()
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - other internals
        stream.send_blueprint(blueprint)
        return
    try:
        _send(memory.storage, True, True, recording=stream.to_native())
    finally:
        if RELEASES_STREAM_THREADS:
            bp_stream.disconnect()
        del bp_stream, memory


_blueprint_streams: dict[str, rr.RecordingStream] = {}
_blueprint_lock = threading.Lock()
_BLUEPRINT_CHUNKS: dict[int, list[Any] | bool] = {}  # True: sent once; False: this rerun-sdk cannot; else chunks


def _blueprint_chunks(blueprint: Any, application_id: str) -> list[Any] | None:
    """The chunks ``blueprint`` logs, from its second send on (:func:`logged_chunks`: logged and read back once per
    blueprint object); sending them again is a quarter of the cost of logging the blueprint again. None the first
    time, and where this rerun-sdk cannot."""
    key = id(blueprint)
    chunks = _BLUEPRINT_CHUNKS.get(key)
    if chunks is None:  # the first send logs it as usual
        _BLUEPRINT_CHUNKS[key] = True
        weakref.finalize(blueprint, _BLUEPRINT_CHUNKS.pop, key, None)
        return None
    if chunks is True:

        def log(bp_stream: rr.RecordingStream) -> None:
            bp_stream.set_time("blueprint", sequence=0)
            blueprint._log_to_stream(bp_stream)

        logged = logged_chunks(log, application_id, blueprint=True)
        chunks = _BLUEPRINT_CHUNKS[key] = logged if logged is not None else False
    return chunks if isinstance(chunks, list) else None


def logged_chunks(
    log: Callable[[rr.RecordingStream], None], application_id: str = "isaac_rerun", *, blueprint: bool = False
) -> list[Any] | None:
    """What ``log(stream)`` logs, as Rerun chunks (rerun-sdk 0.41 on: ``rerun.chunk`` and ``send_chunks``), to be sent
    again to other recordings with ``stream.send_chunks``: logged into memory once and read back with Rerun's own
    reader. ``blueprint``: into a blueprint stream. None where this rerun-sdk cannot (then log each time)."""
    try:
        from rerun.chunk import RrdReader
        from rerun_bindings import new_blueprint

        if not RELEASES_STREAM_THREADS or not hasattr(rr.RecordingStream, "send_chunks"):
            return None
        if blueprint:
            stream = rr.RecordingStream._from_native(
                new_blueprint(
                    application_id=application_id, make_default=False, make_thread_default=False, default_enabled=True
                )
            )
        else:
            stream = rr.RecordingStream(application_id, make_default=False, make_thread_default=False)
        try:
            memory = stream.memory_recording()
            log(stream)
            data = memory.drain_as_bytes()
        finally:
            stream.disconnect()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "logged.rrd")
            with open(path, "wb") as f:
                f.write(data)
            reader = RrdReader(path)
            (store,) = reader.blueprints() if blueprint else reader.recordings()
            return list(reader.stream(store=store).to_chunks())
    except Exception:  # other internals
        return None


class StaticOnce:
    """Static data that is the same in every snippet file: logged into the first file as usual; from the second on,
    its chunks (logged once more into memory and read back, :func:`logged_chunks`) are sent, which costs a fraction
    of logging it again (no archetypes converted to Arrow again). Where this rerun-sdk cannot, it is logged each
    time."""

    def __init__(self, log: Callable[[rr.RecordingStream], None]):
        self._log = log
        self._chunks: list[Any] | None = None
        self._sent = 0

    def send(self, stream: rr.RecordingStream) -> None:
        self._sent += 1
        if self._sent == 2:  # a second file: it is worth keeping
            self._chunks = logged_chunks(self._log)
        if self._chunks is None:
            self._log(stream)
        else:
            stream.send_chunks(self._chunks)


def application_id(stream: rr.RecordingStream) -> str | None:
    """The application id a stream was created with (blueprints only apply to recordings of the same id)."""
    from rerun.recording_stream import get_application_id

    return get_application_id(recording=stream)


class InstancePoseColumns:
    """``InstancePoses3D`` translation + quaternion columns built straight from float32 arrays (like
    :class:`PoseColumns`; ``rr.InstancePoses3D.columns`` costs 7–30× more). Every row carries both components:
    rerun-sdk 0.41 resets the whole pose at each row (a component missing from a row is not taken from an earlier one).
    rerun-sdk 0.23's extra indicator column is reproduced as Rerun's own ``columns`` makes it."""

    def __init__(self) -> None:
        one = np.zeros((1, 3), dtype=np.float32)
        t, t_indicator = _data_and_indicator(rr.InstancePoses3D.columns(translations=one))
        q, _ = _data_and_indicator(rr.InstancePoses3D.columns(quaternions=np.array([[0, 0, 0, 1]], np.float32)))
        self._t_desc, self._t_type = t.component_descriptor(), t.as_arrow_array().type
        self._q_desc, self._q_type = q.component_descriptor(), q.as_arrow_array().type
        self._indicator = None if t_indicator is None else t_indicator.component_descriptor()

    def __call__(self, poses: np.ndarray, per_row: int) -> list[Any]:
        """Columns of ``len(poses) // per_row`` rows of ``per_row`` instances: ``poses`` ``(n, 7)`` xyzw."""
        rows = len(poses) // per_row
        offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * per_row)
        columns = [
            _ArrowColumn(self._t_desc, _list_of_vectors(offsets, np.ascontiguousarray(poses[:, 0:3]), self._t_type)),
            _ArrowColumn(self._q_desc, _list_of_vectors(offsets, np.ascontiguousarray(poses[:, 3:7]), self._q_type)),
        ]
        if self._indicator is not None:  # rerun-sdk 0.23: one empty indicator list per row
            zeros = pa.array(np.zeros(rows + 1, dtype=np.int32))
            columns.insert(0, _ArrowColumn(self._indicator, pa.ListArray.from_arrays(zeros, pa.nulls(0))))
        return columns


def send_properties(stream: rr.RecordingStream, name: str, values: dict[str, Any]) -> None:
    """Write ``values`` as the recording property ``name`` (static, at ``/__properties/{name}``; rerun-sdk 0.23.1
    and newer have ``send_property``): what ``isaac-rerun ls`` reads back without a viewer.

    Each value becomes a component named by its key, as ``rr.AnyValues`` makes it (the same descriptor and Arrow
    type: ``tests/test_compat.py`` compares them), built here directly: ``AnyValues`` costs ~0.7 ms per call (type
    guessing per value), twice per snippet. Text is ``string``; a bool ``bool``; an int ``int64``; a float
    ``float64``; a list of numbers ``int64``, or ``float64`` if one is a float (an empty list: an empty ``int64``
    array, in every rerun-sdk: ``AnyValues`` keeps it on 0.23 and drops it on 0.41); a list with text, text; an array
    of text (``dtype.kind == "U"``) a ``string`` array, even empty. ``None`` is left out, as ``AnyValues`` leaves it
    out. A value of another kind goes through ``AnyValues`` alone.
    """
    stream.send_property(name, property_batches(values))


def property_batches(values: dict[str, Any]) -> list[Any]:
    """The component batches :func:`send_properties` sends for ``values``."""
    batches: list[Any] = []
    for key, value in values.items():
        array = _property_array(value)
        if array is None:
            continue
        if array is _UNKNOWN:
            batches.extend(rr.AnyValues(**{key: value}).as_component_batches())
            continue
        descriptor = _PROPERTY_DESCRIPTORS.get(key)
        if descriptor is None:
            descriptor = _PROPERTY_DESCRIPTORS[key] = rr.ComponentDescriptor(key)
        batches.append(_ArrowColumn(descriptor, array))
    return batches


_PROPERTY_DESCRIPTORS: dict[str, Any] = {}
_UNKNOWN: Any = object()


def _property_array(value: Any) -> Any:
    """The Arrow array of one property value (see :func:`send_properties`); None: left out; ``_UNKNOWN``: not a kind
    built here."""
    if value is None:
        return None
    if isinstance(value, str):
        return pa.array([value], type=pa.string())
    if isinstance(value, (bool, np.bool_)):
        return pa.array([bool(value)], type=pa.bool_())
    if isinstance(value, (int, np.integer)):
        return pa.array([int(value)], type=pa.int64())
    if isinstance(value, (float, np.floating)):
        return pa.array([float(value)], type=pa.float64())
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, str) for v in value):
            return pa.array([str(v) for v in value], type=pa.string())
        is_float = any(isinstance(v, (float, np.floating)) for v in value)
        return pa.array(np.asarray(value, dtype=np.float64 if is_float else np.int64))
    if isinstance(value, np.ndarray) and value.ndim == 1:
        if value.dtype.kind == "U":
            return pa.array(value.tolist(), type=pa.string())
        if value.dtype.kind in "iuf" and len(value):
            return pa.array(value)
    return _UNKNOWN
