"""Where snippets go: a folder of ``.rrd`` files, a given recording stream, or a live viewer.

An :class:`Output` hands the recorder one :class:`Sink` per snippet, and one metrics stream per run
(:class:`MetricsLog`). A sink is a recording stream plus the names of the per-snippet timelines to use in it:

- :class:`FolderOutput` — one ``.rrd`` file per snippet (``{prefix}-episode-{id}.rrd`` / ``{prefix}-step-{id}.rrd``),
  each its own recording under one application id, with timelines ``frame`` and ``sim_time``. Optional keep-last-N.
- :class:`StreamOutput` — the snippets become timelines ``{snippet}_frame`` / ``{snippet}_sim_time`` inside one
  stream that you own (the seed's behaviour); the global ``env_step`` timeline is shared.
- :class:`ViewerOutput` — like :class:`StreamOutput`, on a stream that spawns a local viewer or connects to one
  over gRPC (``rerun+http://host:9876/proxy``), so the same viewer can watch a run on a remote machine.

Which output a recording gets when none is given: :mod:`isaac_rerun.config` (one rule for every integration,
:func:`resolve_output`).

Streams that this module creates are closed deterministically (flush, disconnect, and the orphan clean-up of
rerun-io/rerun#2116, which otherwise leaks two threads per dropped stream).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rerun as rr
import rerun.blueprint as rrb

from isaac_rerun import _compat
from isaac_rerun._util import WarnOnce

if TYPE_CHECKING:
    from isaac_rerun.config import RecordingCfg

__all__ = [
    "METRICS_ROOT",
    "FolderOutput",
    "MetricsLog",
    "Output",
    "Sink",
    "StreamOutput",
    "ViewerOutput",
    "resolve_output",
    "validate_output_args",
]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
METRICS_ROOT = "/train"


@dataclass
class Sink:
    """One snippet's destination."""

    stream: rr.RecordingStream
    name: str
    frame_timeline: str
    time_timeline: str
    path: Path | None = None
    owns_stream: bool = False
    static_logged: bool = False


class Output:
    """Base class: opens a :class:`Sink` per snippet and closes it."""

    application_id: str = "isaac_rerun"
    live: bool = False
    """True when someone may watch as it is written (a viewer or a user's stream): flush more often."""

    def open(self, name: str) -> Sink:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self, sink: Sink) -> None:
        """Finish a snippet: its data is flushed (and its file complete) when this returns."""
        if sink.owns_stream:
            _close_stream(sink, "stream")
        else:
            _compat.flush(sink.stream)

    def open_metrics(self, name: str) -> rr.RecordingStream:  # pragma: no cover - interface
        """The stream that holds one run's training metrics on the global timelines (``name``: ``{prefix}-metrics``,
        ``{prefix}-{label}-metrics`` for later runs)."""
        raise NotImplementedError

    def finish_metrics(self, stream: rr.RecordingStream) -> None:
        """A run's metrics are complete (a file gets its footer)."""
        _compat.flush(stream)

    def shared_stream(self) -> rr.RecordingStream | None:
        """The one stream every snippet goes into (stream outputs), else None."""
        return None

    def describe(self) -> str:
        """Where the recording goes, for a progress line."""
        return f"the recording stream ({type(self).__name__})"

    def close(self) -> None:
        """Release what the output holds (nothing by default)."""


def _close_stream(owner: object, attr: str, *, final: bool = False) -> None:
    """Flush ``owner.<attr>`` (a stream), write its file footer, and release its threads (rerun-io/rerun#2116): at
    once when ``final`` (an output closes), else with the next batch of closed streams.

    The owner's reference is dropped first: Rerun frees a stream's threads only once nothing refers to it.
    """
    stream = getattr(owner, attr)
    setattr(owner, attr, None)
    try:
        _compat.flush(stream)
    finally:
        stream.disconnect()
        del stream
        _compat.cleanup_orphaned_recordings(force=final)


class FolderOutput(Output):
    """Write each snippet to ``folder/{name}.rrd``.

    Parameters
    ----------
    folder:
        Created if missing; must be writable (checked at construction).
    application_id:
        Rerun application id of every snippet recording (the viewer groups recordings by it).
    keep_last:
        Keep only the newest N snippet files written by this output (``None`` keeps all).
    """

    def __init__(
        self, folder: str | os.PathLike[str], *, application_id: str = "isaac_rerun", keep_last: int | None = None
    ):
        if not isinstance(folder, (str, os.PathLike)):
            raise TypeError(
                f"`save_dir` must be a str or os.PathLike folder path, got {type(folder).__name__}: {folder!r}"
            )
        if keep_last is not None and (isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1):
            raise ValueError(f"`keep_last` must be None (keep all) or an int >= 1, got {keep_last!r}")
        self.folder = Path(folder).expanduser().resolve()
        _check_writable_folder(self.folder)
        self.application_id = application_id
        self.keep_last = keep_last
        self.written: list[Path] = []
        self._kept: deque[Path] = deque()
        self._metrics: dict[int, rr.RecordingStream] = {}
        self.metrics_path: Path | None = None
        """The last metrics file opened."""
        self.metrics_paths: list[Path] = []
        """Every metrics file opened (one per run)."""

    def open(self, name: str) -> Sink:
        path = self.folder / f"{name}.rrd"
        self.folder.mkdir(parents=True, exist_ok=True)
        _compat.warn_stream_threads_kept()
        stream = rr.RecordingStream(self.application_id, recording_id=f"{name}-{os.getpid()}-{id(self):x}")
        stream.save(str(path))
        _compat.send_recording_name(stream, name)
        return Sink(stream, name, "frame", "sim_time", path=path, owns_stream=True)

    def finish(self, sink: Sink) -> None:
        super().finish(sink)
        if sink.path is None:
            return
        self.written.append(sink.path)
        self._kept.append(sink.path)
        if self.keep_last is not None:
            while len(self._kept) > self.keep_last:
                old = self._kept.popleft()
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()

    def open_metrics(self, name: str) -> rr.RecordingStream:
        """``folder/{name}.rrd``: one run's training curves (never removed by ``keep_last``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.rrd"
        stream = rr.RecordingStream(self.application_id, recording_id=f"{name}-{os.getpid()}-{id(self):x}")
        stream.save(str(path))
        _compat.send_recording_name(stream, name)
        self._metrics[id(stream)] = stream
        self.metrics_path = path
        if path not in self.metrics_paths:
            self.metrics_paths.append(path)
        return stream

    def finish_metrics(self, stream: rr.RecordingStream) -> None:
        holder = _Holder(self._metrics.pop(id(stream), stream))
        del stream
        _close_stream(holder, "stream")

    def describe(self) -> str:
        return str(self.folder)

    def close(self) -> None:
        for key in list(self._metrics):
            holder = _Holder(self._metrics.pop(key))
            _close_stream(holder, "stream", final=True)


class _Holder:
    """Holds the only reference to a stream while :func:`_close_stream` releases it."""

    def __init__(self, stream: rr.RecordingStream):
        self.stream: rr.RecordingStream | None = stream


class StreamOutput(Output):
    """Log snippets as timelines into one stream: a given one, or Rerun's global recording."""

    def __init__(self, stream: rr.RecordingStream | None = None):
        if stream is None:
            stream = rr.get_data_recording()
            if stream is None:
                raise ValueError(
                    "No output given: pass `save_dir=` (a folder for .rrd snippets), `save_path=`, "
                    "`recording_stream=`, or `viewer=`, or call `rr.init(...)` first so a global recording exists."
                )
        if not isinstance(stream, rr.RecordingStream):
            raise TypeError(f"`recording_stream` must be a rerun.RecordingStream, got {type(stream).__name__}")
        self.stream = stream
        self.application_id = _compat.application_id(stream) or "isaac_rerun"
        self.live = True
        self._static_logged = False

    def open_metrics(self, name: str) -> rr.RecordingStream:
        return self.stream

    def shared_stream(self) -> rr.RecordingStream | None:
        return self.stream

    def open(self, name: str) -> Sink:
        sink = Sink(self.stream, name, f"{name}_frame", f"{name}_sim_time", static_logged=self._static_logged)
        self._static_logged = True  # static visuals go into the stream once
        return sink


class ViewerOutput(StreamOutput):
    """Stream to a live viewer: ``"spawn"`` starts a local one, a ``rerun+http://…/proxy`` URL connects over gRPC."""

    def __init__(self, viewer: str, *, application_id: str = "isaac_rerun"):
        if not isinstance(viewer, str) or not (
            viewer == "spawn" or viewer.startswith(("rerun+http://", "rerun+https://"))
        ):
            raise ValueError(
                f"`viewer` must be 'spawn' or a gRPC URL like 'rerun+http://127.0.0.1:9876/proxy', got {viewer!r}"
            )
        stream = rr.RecordingStream(application_id)
        if viewer == "spawn":
            stream.spawn()
        else:
            _compat.connect_grpc(stream, viewer)
        super().__init__(stream)
        self.application_id = application_id

    def close(self) -> None:
        if self.stream is not None:
            _close_stream(self, "stream", final=True)


class _SingleFileOutput(StreamOutput):
    """``save_path=`` of the seed API: one ``.rrd`` file, snippets as timelines inside it."""

    def __init__(self, path: str | os.PathLike[str], *, application_id: str):
        p = Path(path).expanduser().resolve()
        _check_writable_folder(p.parent)
        stream = rr.RecordingStream(application_id)
        stream.save(str(p))
        super().__init__(stream)
        self.path = p
        self.live = False

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        if self.stream is not None:
            _close_stream(self, "stream", final=True)


def _check_writable_folder(folder: Path) -> None:
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"output folder {folder} cannot be created: {probe} exists and is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"output folder {folder} is not writable ({probe} denies write access)")
    # os.access trusts the permission bits, which root (or an NFS root_squash, or a kernel filesystem such as
    # /sys) ignores: make sure by creating an empty folder there and removing it again
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".isaac_rerun-probe-", dir=probe))
    except OSError as exc:
        raise PermissionError(f"output folder {folder} is not writable ({probe} refused a new folder: {exc})") from exc


def validate_output_args(
    *,
    save_dir: object = None,
    save_path: object = None,
    recording_stream: object = None,
    viewer: object = None,
    keep_last: object = None,
    application_id: object = "isaac_rerun",
    default_may_be_folder: bool = False,
) -> None:
    """Check the output arguments without creating or writing anything (raises naming the argument).

    ``default_may_be_folder``: when no output is given, the integration will pick a folder itself (so ``keep_last``
    alone is allowed).
    """
    given = dict(save_dir=save_dir, save_path=save_path, recording_stream=recording_stream, viewer=viewer)
    named = sorted(k for k, v in given.items() if v is not None)
    if len(named) > 1:
        raise ValueError(
            f"give at most one output; got {named}: save_dir (folder of .rrd snippets), save_path (one .rrd), "
            "recording_stream (your stream), or viewer ('spawn' / gRPC URL)"
        )
    for name in ("save_dir", "save_path"):
        value = given[name]
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"`{name}` must be a str or os.PathLike path, got {type(value).__name__}: {value!r}")
    if save_dir is not None:
        _check_writable_folder(Path(save_dir).expanduser().resolve())  # type: ignore[arg-type]
    if save_path is not None:
        _check_writable_folder(Path(save_path).expanduser().resolve().parent)  # type: ignore[arg-type]
    if recording_stream is not None and not isinstance(recording_stream, rr.RecordingStream):
        raise TypeError(f"`recording_stream` must be a rerun.RecordingStream, got {type(recording_stream).__name__}")
    if viewer is not None and not (
        isinstance(viewer, str) and (viewer == "spawn" or viewer.startswith(("rerun+http://", "rerun+https://")))
    ):
        raise ValueError(
            f"`viewer` must be 'spawn' or a gRPC URL like 'rerun+http://127.0.0.1:9876/proxy', got {viewer!r}"
        )
    if keep_last is not None:
        if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
            raise ValueError(f"`keep_last` must be None (keep all) or an int >= 1, got {keep_last!r}")
        if save_dir is None and (named or not default_may_be_folder):
            raise ValueError("`keep_last` only applies to `save_dir` (a folder of one .rrd per snippet)")
    if not isinstance(application_id, str) or not application_id:
        raise ValueError(f"`application_id` must be a non-empty str, got {application_id!r}")


def resolve_output(
    *,
    save_dir: str | os.PathLike[str] | None = None,
    save_path: str | os.PathLike[str] | None = None,
    recording_stream: rr.RecordingStream | None = None,
    viewer: str | None = None,
    application_id: str = "isaac_rerun",
    keep_last: int | None = None,
    log_folder: str | os.PathLike[str] | None = None,
) -> Output:
    """Validate the output arguments (at most one output), then create the output.

    When none is given (the rule of :mod:`isaac_rerun.config`): Rerun's global recording (``rr.init``), else
    ``{log_folder}/rerun`` when the framework has a log folder, else a ``ValueError``.
    """
    nothing = all(v is None for v in (save_dir, save_path, recording_stream, viewer))
    if nothing and rr.get_data_recording() is None and log_folder is not None:
        save_dir = Path(log_folder) / "rerun"
    validate_output_args(
        save_dir=save_dir,
        save_path=save_path,
        recording_stream=recording_stream,
        viewer=viewer,
        keep_last=keep_last,
        application_id=application_id,
    )
    if save_dir is not None:
        return FolderOutput(save_dir, application_id=application_id, keep_last=keep_last)
    if save_path is not None:
        return _SingleFileOutput(save_path, application_id=application_id)
    if viewer is not None:
        return ViewerOutput(viewer, application_id=application_id)
    return StreamOutput(recording_stream)


def check_name_prefix(name_prefix: object) -> str:
    """Validate a snippet file-name prefix."""
    if not isinstance(name_prefix, str) or not _SAFE_NAME.match(name_prefix):
        raise ValueError(
            f"`name_prefix` must be a non-empty str of letters, digits, '_', '-', '.', got {name_prefix!r}"
        )
    return name_prefix


def output_for(cfg: RecordingCfg, *, application_id: str, log_folder: str | os.PathLike[str] | None = None) -> Output:
    """The output ``cfg`` asks for (the default rule of :mod:`isaac_rerun.config` when it names none)."""
    return resolve_output(
        save_dir=cfg.save_dir,
        save_path=cfg.save_path,
        recording_stream=cfg.recording_stream,
        viewer=cfg.viewer,
        application_id=cfg.application_id or application_id,
        keep_last=cfg.keep_last,
        log_folder=log_folder,
    )


class MetricsLog:
    """One run's training metrics, to ``/train/<name>`` in the output's metrics stream, on the global timelines.

    A folder output gets one file per run, ``{prefix}-metrics.rrd`` (the first run) or ``{prefix}-{label}-metrics.rrd``
    (later runs: ``train2``, ``eval`` …), complete when the run ends. A stream output (one file, your stream, a viewer)
    gets them all, later runs under ``/train/{label}/…``. Non-numeric values are skipped.
    """

    def __init__(self, output: Output, prefix: str, global_timeline: str | None, warn: WarnOnce):
        self.output = output
        self.prefix = prefix
        self.global_timeline = global_timeline
        self.label = ""
        self._warn = warn
        self._stream: rr.RecordingStream | None = None
        self._blueprint_sent: set[int] = set()
        self.opened = 0
        """How many runs logged metrics (metrics streams opened)."""

    def set_run(self, label: str) -> None:
        """The next metrics belong to the run ``label`` (``""`` for the first)."""
        self.finish()
        self.label = label

    def log(self, metrics: Mapping[str, Any], *, env_step: int, global_step: int) -> None:
        try:
            if self._stream is None:
                name = f"{self.prefix}-{self.label}-metrics" if self.label else f"{self.prefix}-metrics"
                self._stream = self.output.open_metrics(name)
                self.opened += 1
            stream = self._stream
            shared = stream is self.output.shared_stream()
            if not shared and id(stream) not in self._blueprint_sent:
                self._blueprint_sent.add(id(stream))
                bp = rrb.Blueprint(rrb.TimeSeriesView(name="training", origin=METRICS_ROOT))
                _compat.send_blueprint(stream, bp, self.output.application_id)
            root = f"{METRICS_ROOT}/{self.label}" if shared and self.label else METRICS_ROOT
            indexes = [rr.TimeColumn("env_step", sequence=[env_step])]
            if self.global_timeline:
                indexes.append(rr.TimeColumn(self.global_timeline, sequence=[global_step]))
            for name, value in metrics.items():
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                    continue
                path = f"{root}/{str(name).strip('/')}"
                stream.send_columns(path, indexes=indexes, columns=rr.Scalars.columns(scalars=[float(value)]))
        except Exception as exc:
            self._warn("metrics", f"isaac_rerun: could not log training metrics ({exc!r}); they are skipped")

    def flush(self) -> None:
        """Send what was logged to the output now (the file stays open)."""
        if self._stream is not None:
            with contextlib.suppress(Exception):
                _compat.flush(self._stream)

    def finish(self) -> None:
        """The run's metrics are complete: a folder output's file is closed, a stream is flushed."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            self.output.finish_metrics(stream)
        except Exception as exc:  # a full disk or a vanished viewer: training goes on
            self._warn("finish", f"isaac_rerun: could not finish the training metrics ({exc!r})")


def open_once(make: Callable[[], Output]) -> Callable[[], Output]:
    """``make`` that is called once; later calls return the same output."""
    made: list[Output] = []

    def get() -> Output:
        if not made:
            made.append(make())
        return made[0]

    return get
