"""Reading snippet files back: each snippet as its recording describes itself, from its recording properties.

The writer (:mod:`isaac_rerun.snippets`) records each snippet's description as the recording property
``/__properties/<snippet name>``: why it was recorded (``trigger``, ``ident``), which envs, the run and iteration,
and once finished its frames, time span and whole episodes with their returns, lengths and why they ended. Every
fact here is read from there; a snippet's name (and its file's) is only a name, so a renamed file reads as it was
recorded. Files written by isaac-rerun 0.2.0 (no ``episode_reasons``, ``ident`` nor ``iteration``) read too. A folder
of one ``.rrd`` per snippet and a single ``.rrd`` holding many snippets (``save_path=``) read the same way. Only the
properties are read (``rerun.chunk.RrdReader(...).stream().filter(content="/__properties/**")``), not the scene
data. ``isaac-rerun ls`` / ``view`` (:mod:`isaac_rerun.cli.browse`) and :func:`isaac_rerun.compare` use it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["METRICS_SUFFIX", "NoChunkReader", "RecordedSnippet", "read_snippets", "scan", "sort_snippets"]

METRICS_SUFFIX = "-metrics.rrd"
"""Training-curve files (:class:`~isaac_rerun.outputs.MetricsLog`): listed apart, never opened as snippets."""

PROPERTIES = "/__properties"
"""The entity under which a recording's properties live."""
SORTS = ("time", "return", "name", "size")
"""The orders of :func:`sort_snippets`."""


class NoChunkReader(RuntimeError):
    """This rerun-sdk cannot read recordings back (0.23, Isaac Lab 2.x's, has no ``rerun.chunk``)."""


@dataclass
class RecordedSnippet:
    """One snippet as its recording describes itself (see the module docstring); None where it says nothing."""

    name: str
    path: Path
    trigger: str | None = None
    ident: int | None = None
    """The step, episode or iteration that started it (a kept episode's episode id, a NaN dump's step), where the
    recording says (not in files written by isaac-rerun 0.2.0)."""
    envs: list[int] = field(default_factory=list)
    run: str = ""
    frames: int | None = None
    sim_time: float | None = None
    first_env_step: int | None = None
    last_env_step: int | None = None
    step_dt: float | None = None
    complete: bool | None = None
    episode_envs: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    episode_reasons: list[str] | None = None
    """Why each whole episode ended (aligned with ``episode_envs``): its termination term(s), several joined by
    ``+``; None where the recording does not say (isaac-rerun 0.2.0, or recorded without the terminations signal)."""
    iteration: int | None = None
    """The training iteration it was recorded in, where the recording says."""
    size: int = 0
    """Bytes of the file it is in."""
    in_file: int = 1
    """Snippets in that file (more than one: a ``save_path`` recording)."""
    started: float = 0.0
    """When its recording started (seconds since the epoch; the file's modification time where unknown)."""

    @property
    def worst_return(self) -> float:
        """The lowest finite episode return it holds (``inf`` without one: sorted last by ``--sort return``)."""
        finite = self._finite_returns()
        return min(finite) if finite else math.inf

    @property
    def best_return(self) -> float:
        """The highest finite episode return it holds (``-inf`` without one)."""
        finite = self._finite_returns()
        return max(finite) if finite else -math.inf

    @property
    def reasons(self) -> list[str]:
        """Why each of its whole episodes ended (aligned with ``episode_envs``; ``""`` where unknown, none at all
        where the recording does not say)."""
        return ["" if r is None else str(r) for r in self.episode_reasons or ()]

    def _finite_returns(self) -> list[float]:
        return [r for r in self.episode_returns if r is not None and math.isfinite(r)]

    @property
    def why(self) -> str:
        """The trigger as recorded, with what started it where the recording says: ``iteration 50``,
        ``episode 12``; an episode kept after the fact with the filter's reason (the recorder writes
        ``kept:<reason>``): ``kept: worst, episode 4``; a NaN dump: ``nan at step 1234``."""
        trigger = self.trigger or "?"
        if trigger.startswith("kept"):
            reason = trigger.partition(":")[2].strip()
            text = f"kept: {reason}" if reason else "kept"
            return text if self.ident is None else f"{text}, episode {self.ident}"
        if self.ident is not None and trigger in ("step", "episode", "iteration"):
            return f"{trigger} {self.ident}"
        if self.ident is not None and trigger == "nan":
            return f"nan at step {self.ident}"
        return trigger

    def ended_by(self, term: str) -> bool:
        """True when one of its whole episodes ended by the termination term ``term`` (alone or with others)."""
        return any(term in reason.split("+") for reason in self.reasons)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = os.fspath(self.path)
        out["episode_returns"] = [None if r is None or not math.isfinite(r) else r for r in self.episode_returns]
        return out


# ---------------------------------------------------------------------------------------------------------- read
def _reader() -> Any:
    try:
        from rerun.chunk import RrdReader
    except ImportError:  # rerun-sdk 0.23 (the Isaac Lab 2.x stack) has no chunk reader
        raise NoChunkReader(
            "reading the snippets' descriptions needs a rerun-sdk with rerun.chunk (0.41 has it); on an older "
            "stack, list the files with a newer rerun-sdk (`pip install rerun-sdk isaac-rerun`), e.g. on your laptop"
        ) from None
    return RrdReader


def read_snippets(path: Path) -> list[RecordedSnippet]:
    """The snippets in one ``.rrd`` file, from their ``/__properties/<name>`` (in the order they started); a file
    without any (not written by isaac-rerun) is one :class:`RecordedSnippet` named after the file, its fields
    unknown."""
    reader = _reader()(str(path))
    size = path.stat().st_size
    started = path.stat().st_mtime
    rows: dict[str, list[tuple[bytes, dict[str, Any]]]] = {}
    order: dict[str, bytes] = {}
    for store in reader.recordings():
        for chunk in reader.stream(store=store).filter(content=f"{PROPERTIES}/**").to_chunks():
            entity = chunk.entity_path
            batch = chunk.to_record_batch()
            names = batch.schema.names
            columns = {n: batch.column(n).to_pylist() for n in names}
            row_ids = columns.pop("rerun.controls.RowId", [b""] * batch.num_rows)
            for i, row_id in enumerate(row_ids):
                key = bytes(row_id) if row_id is not None else b""
                if entity == PROPERTIES:
                    start = _scalar(columns.get("RecordingInfo:start_time", [None] * batch.num_rows)[i])
                    if start:
                        started = _seconds(start)
                    continue
                if not entity.startswith(PROPERTIES + "/"):
                    continue
                name = entity[len(PROPERTIES) + 1 :]
                values = {n: v[i] for n, v in columns.items() if v[i] is not None}
                # a property written twice (at the start, again when finished): the later row wins, field by field
                rows.setdefault(name, []).append((key, values))
                order[name] = min(order[name], key) if name in order else key
    snippets = []
    for name in sorted(rows, key=lambda n: order[n]):
        merged: dict[str, Any] = {}
        for _, values in sorted(rows[name], key=lambda kv: kv[0]):  # row ids grow with time
            merged.update(values)
        snippets.append(_snippet(_unescape(name), path, merged, size, started))
    if not snippets:
        snippets.append(RecordedSnippet(name=path.stem, path=path, size=size, started=started))
    for s in snippets:
        s.in_file = len(snippets)
    return snippets


def _seconds(value: Any) -> float:
    """A Rerun timestamp (ns since the epoch, or a datetime) as seconds."""
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    return float(value) * 1e-9


def _unescape(name: str) -> str:
    return name.replace("\\", "")


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if len(value) == 1 else (value or None)
    return value


def _snippet(name: str, path: Path, values: dict[str, Any], size: int, started: float) -> RecordedSnippet:
    def get(key: str, cast: Any) -> Any:
        value = _scalar(values.get(key))
        if value is None:
            return None
        try:
            return cast(value)
        except (TypeError, ValueError):
            return None

    def items(key: str, cast: Any) -> list[Any]:
        value = values.get(key)
        if value is None:
            return []
        return [cast(v) if v is not None else None for v in (value if isinstance(value, list) else [value])]

    return RecordedSnippet(
        name=name,
        path=path,
        trigger=get("trigger", str),
        ident=get("ident", int),
        envs=items("envs", int),
        run=get("run", str) or "",
        frames=get("frames", int),
        sim_time=get("sim_time", float),
        first_env_step=get("first_env_step", int),
        last_env_step=get("last_env_step", int),
        step_dt=get("step_dt", float),
        complete=get("complete", bool),
        episode_envs=items("episode_envs", int),
        episode_returns=items("episode_returns", float),
        episode_lengths=items("episode_lengths", int),
        episode_reasons=items("episode_reasons", str) if "episode_reasons" in values else None,
        iteration=get("iteration", int),
        size=size,
        started=started,
    )


def scan(path: Path, *, recursive: bool = False) -> tuple[list[RecordedSnippet], list[Path], list[tuple[Path, str]]]:
    """Every snippet under ``path`` (a folder of ``.rrd`` files, or one file): ``(snippets, metrics files,
    unreadable files with why)``."""
    if not path.exists():
        raise FileNotFoundError(f"PATH: {path} does not exist")
    files = [path] if path.is_file() else sorted(path.rglob("*.rrd") if recursive else path.glob("*.rrd"))
    snippets: list[RecordedSnippet] = []
    metrics: list[Path] = []
    bad: list[tuple[Path, str]] = []
    for f in files:
        if f.name.endswith(METRICS_SUFFIX):
            metrics.append(f)
            continue
        try:
            snippets += read_snippets(f)
        except NoChunkReader:
            raise
        except Exception as exc:  # a truncated or foreign file: say so, list the rest
            bad.append((f, f"{type(exc).__name__}: {exc}"))
    return snippets, metrics, bad


def _natural(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def sort_snippets(snippets: Sequence[RecordedSnippet], by: str = "time") -> list[RecordedSnippet]:
    """``time``: newest first; ``return``: worst (lowest) episode return first; ``name``: by name (numbers in
    order); ``size``: largest file first."""
    if by == "time":
        return sorted(snippets, key=lambda s: (s.started, s.first_env_step or 0, _natural(s.name)), reverse=True)
    if by == "return":
        return sorted(snippets, key=lambda s: (s.worst_return, _natural(s.name)))
    if by == "name":
        return sorted(snippets, key=lambda s: (_natural(s.name), os.fspath(s.path)))
    if by == "size":
        return sorted(snippets, key=lambda s: (-s.size, _natural(s.name)))
    raise ValueError(f"`by` must be one of {SORTS}, got {by!r}")
