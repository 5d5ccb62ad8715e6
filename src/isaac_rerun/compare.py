"""Snippets side by side on one timeline: :func:`compare` (the ``isaac-rerun compare`` command).

The Rerun viewer shows one recording at a time (no views, no time cursor across recordings), so a policy's progress
(the same env at iteration 0, 200 and 1000; the worst episodes beside the best) cannot be watched from separate
snippet files. :func:`compare` writes **one** recording in which each chosen snippet is a column:

- its data, **copied unchanged** (Rerun's chunk reader and writer, ``rerun.chunk``), under the entity prefix
  ``/<k>-<snippet name>`` (``k`` = the column, from 0): body poses, static visuals, scalars, markers, sensors,
  everything but the snippet's own properties;
- its own 3D view, titled with a label read from the snippet's properties (``iteration 200 · env 0 · return −3.1 ·
  ended: base_contact``), all views framed by the same camera (the first snippet's; rerun-sdk ≥ 0.24 sets it);
- its frames on the one ``frame`` timeline, each snippet from its first frame (frame 0): a snippet of a folder output
  is recorded on ``frame`` / ``sim_time`` already; one of a single-file or stream output (``{snippet}_frame`` /
  ``{snippet}_sim_time``, :mod:`isaac_rerun.outputs`) gets those timelines renamed, its values unchanged;
- its plots overlaid with the other columns': one time-series view per signal (``reward``, ``action``, … whatever
  the snippets recorded as ``Scalars``) holding that signal of every column (a series per column, per env);
- a recording property ``/__properties/<k>-<snippet name>`` saying where it came from (``source_file``,
  ``source_snippet``, ``envs``, ``label``, and the source's own description: trigger, frames, returns …), so
  ``isaac-rerun ls compare.rrd`` lists the columns; ``/__properties/isaac-rerun-compare`` marks the file as a
  comparison (a folder's comparisons are skipped by later comparisons).

Up to 4 columns sit in one row, more in a grid; above ``max_columns`` (``--max``, default 16) it refuses.
``envs`` keeps those envs only: the entities of other envs (paths with an ``env_<i>`` segment) are left out, global
ones (the ground) kept; in instanced entities (``/World/envs/instances/...``: each row one instance per recorded env,
in the order of the snippet's ``envs``) each row keeps the chosen envs' instances, their values copied as they are.
The plots of a snippet recorded with the **instanced** layout (one entity per signal, a series per env) are copied
whole: its label (``(plots: every env)``) and its property ``instanced`` say so.

The output is written to a temporary file beside ``out`` and renamed at the end: on an error nothing is left at
``out``. It needs rerun-sdk 0.41 or newer (``rerun.chunk``); Isaac Lab 2.x's rerun-sdk 0.23 gets an error saying so.
Nothing here imports Isaac Lab, torch or an RL framework; the snippets' descriptions are read with
:func:`isaac_rerun.recordings.read_snippets` (``isaac-rerun ls`` reads them the same way).
"""

from __future__ import annotations

import math
import os
import re
import sys
import types
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec

import rerun as rr
import rerun.blueprint as rrb

from isaac_rerun import _compat
from isaac_rerun.recordings import METRICS_SUFFIX, read_snippets, sort_snippets
from isaac_rerun.recordings import RecordedSnippet as Snippet

__all__ = [
    "COMPARE_PROPERTY",
    "DEFAULT_MAX_COLUMNS",
    "Column",
    "CompareError",
    "Comparison",
    "compare",
    "compare_snippets",
    "find_snippets",
    "label",
]

COMPARE_PROPERTY = "isaac-rerun-compare"
"""The recording property that marks a file written by :func:`compare`."""
DEFAULT_MAX_COLUMNS = 16
"""The most columns :func:`compare` writes unless told otherwise (``max_columns`` / ``--max``)."""
ROW_MAX = 4
"""Up to this many columns sit in one row; more go into a grid."""
APPLICATION_ID = "isaac_rerun_compare"
"""Its own application id: a viewer applies a layout to every recording of an application id."""

PROPERTIES = "/__properties"
SCALARS = "/scalars"
INSTANCES = "instances"
"""The env segment of the instanced entities' paths (``/World/envs/instances/Robot/trunk``): one instance per env."""
MINUS = "\u2212"
_ENV = re.compile(r"^env_(\d+)$")
_IDENT_020 = re.compile(r"-(iteration|episode|step)-(\d+)$")
"""What started a snippet, in the names isaac-rerun 0.2.0 wrote (its properties had no ``ident``)."""
P = ParamSpec("P")
_TRANSLATIONS = ("Transform3D:translation", "InstancePoses3D:translations")


class CompareError(ValueError):
    """Bad input to :func:`compare` (the message names the file or the argument); nothing was written.

    ``isaac-rerun compare`` reports it in one line with exit status 2.
    """


@dataclass
class Column:
    """One compared snippet: where it came from, which envs it shows, its entity prefix and its label."""

    snippet: Snippet
    index: int
    """Its place, from 0 (left to right, row by row)."""
    prefix: str
    envs: list[int]
    instanced: bool = False
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The column's name: its prefix without the leading ``/`` (also its property's name)."""
        return self.prefix[1:]


# ---------------------------------------------------------------------------------------------------------- input
def _require_chunk_api() -> None:
    try:
        import rerun.chunk  # noqa: F401
    except ImportError:
        raise CompareError(
            f"comparing snippets needs rerun-sdk 0.41 or newer (its chunk reader and writer, rerun.chunk); this "
            f"Python has rerun-sdk {getattr(rr, '__version__', '?')} (Isaac Lab 2.x's stack pins 0.23): compare the "
            "files with a newer rerun-sdk (`pip install rerun-sdk isaac-rerun`), e.g. on your laptop"
        ) from None
    if not hasattr(rr.RecordingStream, "send_chunks"):
        raise CompareError(
            f"comparing snippets needs rerun-sdk 0.41 or newer (RecordingStream.send_chunks); this Python has "
            f"rerun-sdk {getattr(rr, '__version__', '?')}: `pip install -U rerun-sdk`"
        )


def _read(path: Path) -> list[Snippet]:
    """The snippets of one file, or a :class:`CompareError` naming it."""
    try:
        snippets = read_snippets(path)
    except Exception as exc:
        raise CompareError(f"{path}: cannot be read as a Rerun recording ({type(exc).__name__}: {exc})") from None
    return snippets


def _is_comparison(snippets: Sequence[Snippet]) -> bool:
    return any(s.name == COMPARE_PROPERTY for s in snippets)


def find_snippets(paths: Iterable[str | os.PathLike[str]], *, recursive: bool = False) -> list[Snippet]:
    """Every snippet in ``paths`` (snippet files and folders of them, in any mix), oldest first.

    A folder's training-curve files (``*-metrics.rrd``) and earlier comparisons are skipped. Raises
    :class:`CompareError` naming the path for a missing path, a metrics file or comparison given by name, a file
    that cannot be read as a recording, an ``.rrd`` that is not a snippet (no ``/__properties/<name>`` with a
    trigger: not written by isaac-rerun), and a folder holding no snippet.
    """
    _require_chunk_api()
    found: list[Snippet] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise CompareError(f"{path}: no such snippet file or folder")
        if path.is_dir():
            files = sorted(path.rglob("*.rrd") if recursive else path.glob("*.rrd"))
            in_folder: list[Snippet] = []
            for f in files:
                if f.name.endswith(METRICS_SUFFIX) or not f.is_file():
                    continue
                snippets = _read(f)
                if _is_comparison(snippets):
                    continue
                _check_snippets(f, snippets)
                in_folder += snippets
            if not in_folder:
                raise CompareError(f"{path}: no snippets in this folder" + ("" if recursive else " (-r: also below)"))
            found += in_folder
            continue
        if path.name.endswith(METRICS_SUFFIX):
            raise CompareError(f"{path}: a training-curve file (*{METRICS_SUFFIX}), not a snippet")
        snippets = _read(path)
        if _is_comparison(snippets):
            raise CompareError(f"{path}: a comparison written by isaac-rerun compare, not a snippet")
        _check_snippets(path, snippets)
        found += snippets
    unique: dict[tuple[str, str], Snippet] = {}
    for s in found:  # the same snippet named twice (a file and its folder) is one column
        unique.setdefault((os.fspath(s.path.resolve()), s.name), s)
    return _oldest_first(list(unique.values()))


def _check_snippets(path: Path, snippets: Sequence[Snippet]) -> None:
    if not any(s.trigger is not None for s in snippets):
        raise CompareError(
            f"{path}: not an isaac-rerun snippet (no /__properties/<snippet> saying why it was recorded; "
            "training curves and other recordings cannot be compared)"
        )


def _oldest_first(snippets: Sequence[Snippet]) -> list[Snippet]:
    return list(reversed(sort_snippets(snippets, "time")))


def _choose(
    snippets: Sequence[Snippet], *, every: int | None, worst: int | None, best: int | None, why: str | None
) -> list[Snippet]:
    given = {k: v for k, v in dict(every=every, worst=worst, best=best, why=why).items() if v is not None}
    if len(given) > 1:
        raise CompareError(f"choose snippets one way: every, worst, best or why (got {sorted(given)})")
    for name in ("every", "worst", "best"):
        value = given.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise CompareError(f"`{name}` must be an int >= 1, got {value!r}")
    if every is not None:
        return list(snippets[::every])
    if worst is not None:
        ranked = [s for s in snippets if math.isfinite(s.worst_return)]
        return sorted(ranked, key=lambda s: s.worst_return)[:worst]
    if best is not None:
        ranked = [s for s in snippets if math.isfinite(s.best_return)]
        return sorted(ranked, key=lambda s: -s.best_return)[:best]
    if why is not None:
        if not isinstance(why, str) or not why:
            raise CompareError(f"`why` must be a non-empty str (an episode's end reason or a trigger), got {why!r}")
        reason = why.strip()
        return [
            s for s in snippets if s.ended_by(reason) or reason in (s.trigger, s.why, s.why.partition(":")[2].strip())
        ]
    return list(snippets)


# ---------------------------------------------------------------------------------------------------------- labels
def _number(value: float) -> str:
    text = f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
    return text.replace("-", MINUS)


def _ident(s: Snippet) -> str:
    """What started it, from its properties: the iteration, else its trigger and ident; the name's trigger and id
    only for files written by isaac-rerun 0.2.0, whose properties have no ``ident``."""
    iteration = s.iteration
    if iteration is not None and iteration >= 0:  # -1: recorded outside training iterations
        return f"iteration {iteration}"
    if s.ident is not None or (s.trigger is not None and s.trigger.startswith(("kept", "nan"))):
        return s.why
    m = _IDENT_020.search(s.name)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    return s.why if s.trigger not in (None, "manual") else s.name


def label(s: Snippet, envs: Sequence[int] | None = None) -> str:
    """A column's title from its snippet's properties: ``iteration 200 · env 0 · return −3.1 · ended: base_contact``.

    What started it (the iteration, episode or step; ``kept: worst`` for a kept episode), the envs shown (``envs``,
    default: all it recorded), then its first whole episode of those envs: the return (when recorded) and why it
    ended (when the recorder wrote ``episode_reasons``).
    """
    shown = list(s.envs if envs is None else envs)
    parts = [_ident(s)]
    if shown:
        parts.append(("env " if len(shown) == 1 else "envs ") + ",".join(str(e) for e in shown))
    reasons = s.reasons
    for i, env in enumerate(s.episode_envs):
        if shown and env not in shown:
            continue
        ret = s.episode_returns[i] if i < len(s.episode_returns) else None
        if ret is not None and math.isfinite(ret):
            parts.append(f"return {_number(ret)}")
        if i < len(reasons) and reasons[i]:
            parts.append(f"ended: {reasons[i]}")
        break
    return " \u00b7 ".join(parts)


# ---------------------------------------------------------------------------------------------------------- chunks
def _env_of(entity: str) -> int | None:
    for part in entity.split("/"):
        m = _ENV.match(part)
        if m:
            return int(m.group(1))
    return None


def _instances(chunk: Any, batch: Any, keep: Sequence[int], n: int) -> tuple[Any, Any]:
    """The chunk with only the instances at positions ``keep`` of each block of ``n`` instances, where every row of a
    component holds ``n`` instances (one per recorded env, in the order of the snippet's ``envs``) or ``u * n`` (a
    shared visual drawn for ``u`` bodies in each env); else unchanged. Kept values are
    copied as they are (Arrow ``take``)."""
    import numpy as np
    import pyarrow as pa
    from rerun.chunk import Chunk

    columns = list(batch.columns)
    changed = False
    picks = np.asarray(keep, dtype=np.int64)
    for i, (f, col) in enumerate(zip(batch.schema, batch.columns, strict=True)):
        if (f.metadata or {}).get(b"rerun:kind") != b"data" or not pa.types.is_list(col.type) or col.null_count:
            continue
        offsets = col.offsets.to_numpy().astype(np.int64)
        sizes = np.diff(offsets)
        if len(offsets) < 2 or not np.all(sizes == sizes[0]) or sizes[0] == 0 or sizes[0] % n:
            continue
        # a row holds blocks of n instances, one per recorded env: a body's (n), or a shared visual's, drawn for each
        # of u bodies in every env (u * n, instance b * n + i)
        blocks = int(sizes[0]) // n
        within = (np.arange(blocks)[:, None] * n + picks[None, :]).reshape(-1)
        take = (offsets[:-1, None] + within[None, :]).reshape(-1)
        new_offsets = pa.array(np.arange(len(offsets), dtype=np.int32) * len(within))
        columns[i] = pa.ListArray.from_arrays(new_offsets, col.values.take(pa.array(take)), type=col.type)
        changed = True
    if not changed:
        return chunk, batch
    out = pa.RecordBatch.from_arrays(columns, schema=batch.schema)
    (filtered,) = Chunk.from_record_batch(out)
    return filtered, out


def _retimed(chunk: Any, batch: Any, renames: dict[str, str]) -> Any:
    """The chunk (``batch``: its record batch) with timelines renamed (``{snippet}_frame`` → ``frame``); values,
    rows and components unchanged."""
    import pyarrow as pa
    from rerun.chunk import Chunk

    if not any(t in renames for t in chunk.timeline_names):
        return chunk
    fields = []
    for f in batch.schema:
        new = renames.get(f.name)
        if new is None:
            fields.append(f)
            continue
        meta = dict(f.metadata or {})
        meta[b"rerun:index_name"] = new.encode()
        fields.append(pa.field(new, f.type, f.nullable, meta))
    batch = pa.RecordBatch.from_arrays(batch.columns, schema=pa.schema(fields, metadata=batch.schema.metadata))
    (out,) = Chunk.from_record_batch(batch)
    return out


class _File:
    """One source file's chunks (read once, however many of its snippets are compared), its camera."""

    def __init__(self, path: Path):
        from rerun.chunk import RrdReader

        reader = RrdReader(str(path))
        stores = reader.recordings()
        self.chunks: list[Any] = []
        for store in stores:
            self.chunks += reader.stream(store=store).drop(content=f"{PROPERTIES}/**").to_chunks()
        self.batches = {c.id: c.to_record_batch() for c in self.chunks}
        self.timelines = {t for c in self.chunks for t in c.timeline_names}

    def of(self, name: str) -> tuple[list[Any], dict[str, str]]:
        """The snippet's chunks, and the timelines to rename: a shared stream's ``{name}_frame`` / ``_sim_time``."""
        frame = f"{name}_frame"
        if frame not in self.timelines:
            return self.chunks, {}
        mine = [c for c in self.chunks if c.is_static or frame in c.timeline_names]
        return mine, {frame: "frame", f"{name}_sim_time": "sim_time"}


def _framing(poses: dict[str, list[Any]]) -> tuple[list[float], list[float]] | None:
    """One camera (eye position, look target) for every column, framed the way the recorder frames a snippet
    (:meth:`isaac_rerun.scene.IsaacLabScene.view_eye`) on the bodies of every column at every frame: the translations
    of the bodies in ``poses`` (entity → the record batches of its pose chunks) that have no posed ancestor (a nested
    body's pose is relative to its parent's)."""
    import numpy as np

    roots = [e for e in poses if not any(e.startswith(other + "/") for other in poses)]
    pts = []
    for entity in roots:
        for batch in poses[entity]:
            for name in _TRANSLATIONS:
                if name in batch.schema.names:
                    flat = batch.column(name).flatten().flatten().to_numpy(zero_copy_only=False)
                    pts.append(np.asarray(flat, dtype=np.float64).reshape(-1, 3))
    if not pts:
        return None
    xyz = np.concatenate(pts)
    xyz = xyz[np.all(np.isfinite(xyz), axis=1)]
    if len(xyz) == 0:
        return None
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    target = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.75)
    eye = target + np.ones(3) / math.sqrt(3.0) * (2.2 * radius + 1.0)
    return [float(v) for v in eye], [float(v) for v in target]


# ---------------------------------------------------------------------------------------------------------- layout
def _signal(relative: str) -> str:
    """The signal an entity shows, whichever env: ``/scalars/env_3/reward`` → ``/scalars/reward``."""
    return "/".join(p for p in relative.split("/") if not _ENV.match(p)) or "/"


_FIRST_PLOTS = ("reward", "episode_return", "episode_length", "action")


def _plot_order(signal: str) -> tuple[int, str]:
    """The reward first, then the episodes' returns and lengths, the actions, and the rest by name."""
    last = signal.rsplit("/", 1)[-1]
    return (_FIRST_PLOTS.index(last) if last in _FIRST_PLOTS else len(_FIRST_PLOTS), signal)


def _series_names(columns: Sequence[Column], styles: dict[str, tuple[str, list[str]]]) -> dict[str, Any]:
    """Overrides of the plots naming each column's series ``<column>: <series>`` (``iteration 5: FL_hip_joint``,
    ``iteration 5: env 0``): the names the snippet gave them (its static ``SeriesLines`` / ``SeriesPoints`` names),
    or its env for an unnamed single series: in an overlaid plot every column's series would otherwise have the same
    names, or long entity paths. Only the layout says so; the data keep their names."""
    tags = [c.label.split(" \u00b7 ", 1)[0] for c in columns]
    if len(set(tags)) < len(tags):
        tags = [f"{k}: {t}" for k, t in enumerate(tags)]
    out: dict[str, Any] = {}
    for column, tag in zip(columns, tags, strict=True):
        for entity, (kind, names) in styles.items():
            if entity.startswith(column.prefix + "/"):
                archetype = rr.SeriesPoints if kind == "SeriesPoints" else rr.SeriesLines
                out[entity] = archetype.from_fields(names=[f"{tag}: {n}" for n in names])
    return out


def _blueprint(
    columns: Sequence[Column],
    signals: dict[str, list[str]],
    trails: dict[str, list[str]],
    eye: Any,
    styles: dict[str, tuple[str, list[str]]],
) -> rrb.Blueprint:
    views = [
        _compat.spatial3d_view(c.label, f"{c.prefix}/World", eye, trails.get(c.prefix, []), "frame") for c in columns
    ]
    scenes: Any
    if len(views) <= ROW_MAX:
        scenes = rrb.Horizontal(*views)
    else:
        scenes = rrb.Grid(*views, grid_columns=math.ceil(math.sqrt(len(views))))
    names = _series_names(columns, styles)
    plots = [
        rrb.TimeSeriesView(
            name=signal.rsplit("/", 1)[-1] or signal,
            origin="/",
            contents=sorted(paths),
            overrides={p: names[p] for p in paths if p in names} or None,
        )
        for signal, paths in sorted(signals.items(), key=lambda kv: _plot_order(kv[0]))
    ]
    parts: list[Any]
    if plots:
        below = rrb.Horizontal(*plots) if len(plots) <= 3 else rrb.Tabs(*plots)
        parts = [rrb.Vertical(scenes, below, row_shares=[3, 1])]
    else:
        parts = [scenes]
    parts += _compat.time_panel("frame")
    return rrb.Blueprint(*parts, collapse_panels=True)


def _description(column: Column) -> dict[str, Any]:
    s = column.snippet
    values: dict[str, Any] = {
        "source_file": os.fspath(s.path.resolve()),
        "source_snippet": s.name,
        "envs": column.envs,
        "recorded_envs": list(s.envs),
        "label": column.label,
        "column": column.index,
        "instanced": column.instanced,
        "trigger": s.trigger,
        "run": s.run,
        "frames": s.frames,
        "sim_time": s.sim_time,
        "first_env_step": s.first_env_step,
        "last_env_step": s.last_env_step,
        "step_dt": s.step_dt,
        "complete": s.complete,
        "episode_envs": list(s.episode_envs),
        "episode_returns": [math.nan if r is None else float(r) for r in s.episode_returns],
        "episode_lengths": list(s.episode_lengths),
        "iteration": s.iteration if (s.iteration or 0) >= 0 else None,
        "episode_reasons": s.reasons,
    }
    return {k: v for k, v in values.items() if v is not None and not (k == "episode_reasons" and not v)}


# ---------------------------------------------------------------------------------------------------------- compare
def _envs_arg(envs: int | Sequence[int] | None) -> list[int] | None:
    if envs is None:
        return None
    items = [envs] if isinstance(envs, int) else list(envs)
    if not items or any(isinstance(e, bool) or not isinstance(e, int) or e < 0 for e in items):
        raise CompareError(
            f"`envs` must be None (every recorded env), an env id or a list of env ids >= 0, got {envs!r}"
        )
    return sorted(set(items))


def _out_arg(out: str | os.PathLike[str]) -> Path:
    if not isinstance(out, (str, os.PathLike)):
        raise CompareError(f"`out` must be a str or os.PathLike path, got {type(out).__name__}: {out!r}")
    path = Path(out).expanduser()
    if path.suffix != ".rrd":
        raise CompareError(f"`out` must name an .rrd file, got {os.fspath(out)!r}")
    if path.is_dir():
        raise CompareError(f"`out`: {path} is a folder")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise CompareError(f"`out`: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CompareError(f"`out`: the folder {parent} is not writable")
    return path


@dataclass
class Comparison:
    """What :func:`compare_snippets` wrote: the file and its columns."""

    out: Path
    columns: list[Column]


def compare_snippets(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    every: int | None = None,
    worst: int | None = None,
    best: int | None = None,
    why: str | None = None,
    envs: int | Sequence[int] | None = None,
    out: str | os.PathLike[str] = "compare.rrd",
    max_columns: int = DEFAULT_MAX_COLUMNS,
    recursive: bool = False,
) -> Comparison:
    """Write one recording showing the chosen snippets side by side on one ``frame`` timeline (module docstring).

    Parameters
    ----------
    paths:
        Snippet files (``.rrd``; a file holding several snippets gives all of them) and folders of them, in any
        mix: e.g. two runs' ``rerun`` folders.
    every:
        Every N-th snippet, oldest first (``every=1``: all of them).
    worst:
        The K snippets with the lowest episode return (those that hold a whole episode), worst first.
    best:
        The K snippets with the highest episode return, best first.
    why:
        The snippets holding an episode that ended for this reason (``"base_contact"``, ``"time_out"``: the
        recorder's ``episode_reasons``), or recorded for it (a trigger: ``"nan"``, ``"kept:worst"``, ``"worst"``).
        At most one of ``every`` / ``worst`` / ``best`` / ``why``; none: every snippet, oldest first.
    envs:
        Show only these envs of each snippet (see the module docstring); every snippet must have recorded them.
        ``None``: every recorded env.
    out:
        The ``.rrd`` to write (replaced if it exists; written to a temporary file first, renamed when complete).
    max_columns:
        Refuse to compare more snippets than this (the viewer slows down with many 3D views).
    recursive:
        Also the folders below each folder in ``paths``.

    Returns
    -------
    Comparison
        ``out`` and the columns written (their snippets, envs, labels).

    Raises
    ------
    CompareError
        Bad input (a missing, unreadable, metrics or non-snippet file; none chosen; too many; an env a snippet did
        not record; an old rerun-sdk), naming the file or the argument. Nothing is written then.
    """
    _require_chunk_api()
    if isinstance(max_columns, bool) or not isinstance(max_columns, int) or max_columns < 1:
        raise CompareError(f"`max_columns` (--max) must be an int >= 1, got {max_columns!r}")
    wanted = _envs_arg(envs)
    target = _out_arg(out)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise CompareError("`paths`: give at least one snippet file or folder")
    snippets = find_snippets(paths, recursive=recursive)
    chosen = _choose(snippets, every=every, worst=worst, best=best, why=why)
    if not chosen:
        how = ""
        if worst is not None or best is not None:
            how = " (none holds a whole episode with a return)"
        elif why is not None:
            how = f" (none holds an episode that ended for {why!r}, nor was recorded for it)"
        raise CompareError(f"no snippet to compare among the {len(snippets)} found{how}")
    if len(chosen) > max_columns:
        raise CompareError(
            f"{len(chosen)} snippets chosen, more than --max {max_columns} (max_columns): choose fewer (--every N, "
            "--worst K, --best K, --why REASON) or raise --max"
        )

    files: dict[Path, _File] = {}
    columns: list[Column] = []
    copied: list[Any] = []
    signals: dict[str, list[str]] = {}
    trails: dict[str, list[str]] = {}
    posed: dict[str, list[Any]] = {}  # the temporal chunks of the envs' bodies, for the camera
    styles: dict[str, tuple[str, list[str]]] = {}  # a plotted entity's series names, as the snippet logged them
    points: set[str] = set()  # plotted as points (the snippet's static SeriesPoints style)
    unnamed: dict[str, str] = {}  # one-series plotted entities, and a name for them
    for k, s in enumerate(chosen):
        source = files.get(s.path)
        if source is None:
            try:
                source = files[s.path] = _File(s.path)
            except Exception as exc:
                raise CompareError(f"{s.path}: cannot be read ({type(exc).__name__}: {exc})") from None
        chunks, renames = source.of(s.name)
        if wanted is not None and s.envs and not set(wanted) <= set(s.envs):
            raise CompareError(f"`envs` (--envs): {s.path} snippet {s.name!r} recorded envs {s.envs}, not {wanted}")
        instanced = any(
            not c.is_static and c.entity_path.startswith(f"{SCALARS}/") and _env_of(c.entity_path) is None
            for c in chunks
        )
        # with --envs, the kept envs' positions among the recorded ones: an instance row holds one per recorded env
        keep = [s.envs.index(e) for e in wanted] if wanted is not None and s.envs else None
        shown = list(s.envs) if wanted is None else wanted
        prefix = "/" + re.sub(r"[^A-Za-z0-9_.\-]", "_", f"{k}-{s.name}")
        column = Column(s, k, prefix, shown, instanced)
        column.label = label(s, shown) + (" (plots: every env)" if instanced and wanted is not None else "")
        columns.append(column)
        seen: set[str] = set()
        for chunk in chunks:
            entity = chunk.entity_path
            batch = source.batches[chunk.id]
            if keep is not None:
                env = _env_of(entity)
                if env is not None and env not in shown:
                    continue
                if not chunk.is_static and INSTANCES in entity.split("/") and len(keep) < len(s.envs):
                    chunk, batch = _instances(chunk, batch, keep, len(s.envs))
            copied.append(_retimed(chunk, batch, renames).with_entity_path(prefix + entity))
            components = batch.schema.names
            if chunk.is_static:
                if any(n.startswith("SeriesPoints:") for n in components):
                    points.add(prefix + entity)
                for kind in ("SeriesLines", "SeriesPoints"):
                    if f"{kind}:names" in components:
                        value = batch.column(f"{kind}:names").to_pylist()[-1]
                        if value:
                            styles[prefix + entity] = (kind, [str(v) for v in value])
                continue
            if entity.startswith("/World/envs/") and any(n in _TRANSLATIONS for n in components):
                posed.setdefault(prefix + entity, []).append(batch)
            if entity in seen:
                continue
            seen.add(entity)
            if entity.startswith("/World/trails/"):
                trails.setdefault(prefix, []).append(prefix + entity)
            if "Scalars:scalars" in components:
                signals.setdefault(_signal(entity), []).append(prefix + entity)
                first = batch.column("Scalars:scalars")[0].as_py() if batch.num_rows else None
                if first is not None and len(first) == 1:  # one series: named after its env, or its signal
                    env = _env_of(entity)
                    unnamed[prefix + entity] = f"env {env}" if env is not None else entity.rsplit("/", 1)[-1]
    for entity, name in unnamed.items():
        styles.setdefault(entity, ("SeriesPoints" if entity in points else "SeriesLines", [name]))
    for key in signals:
        signals[key] = sorted(set(signals[key]))
    for key in trails:
        trails[key] = sorted(set(trails[key]))
    blueprint = _blueprint(columns, signals, trails, _framing(posed), styles)
    _write(target, columns, copied, blueprint)
    return Comparison(target, columns)


def _returning_out(fn: Callable[P, Comparison]) -> Callable[P, Path]:
    def out(*args: P.args, **kwargs: P.kwargs) -> Path:
        return fn(*args, **kwargs).out

    return out


compare = _returning_out(compare_snippets)
compare.__name__ = compare.__qualname__ = "compare"
compare.__doc__ = """:func:`compare_snippets`, returning only ``out`` (a ``Path``): the same arguments and errors.

Example
-------
>>> isaac_rerun.compare("logs/rsl_rl/anymal/2026-12-07/rerun", every=5)  # doctest: +SKIP
PosixPath('compare.rrd')
"""


def _write(target: Path, columns: Sequence[Column], chunks: Sequence[Any], blueprint: rrb.Blueprint) -> None:
    """Write the comparison to a temporary file beside ``target``, then rename it (nothing half-written)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    stream = rr.RecordingStream(APPLICATION_ID, recording_id=f"compare-{uuid.uuid4()}")
    try:
        stream.save(os.fspath(tmp))
        _compat.send_recording_name(stream, f"compare: {', '.join(c.snippet.name for c in columns)}")
        _compat.send_blueprint(stream, blueprint, APPLICATION_ID)
        stream.send_chunks(list(chunks))
        _compat.send_properties(
            stream,
            COMPARE_PROPERTY,
            {
                "trigger": "compare",
                "columns": [c.name for c in columns],
                "labels": [c.label for c in columns],
                "source_files": [os.fspath(c.snippet.path.resolve()) for c in columns],
                "source_snippets": [c.snippet.name for c in columns],
            },
        )
        for c in columns:
            _compat.send_properties(stream, c.name, _description(c))
        _compat.flush(stream)
        stream.disconnect()
        os.replace(tmp, target)
    except BaseException:
        stream.disconnect()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        del stream
        _compat.cleanup_orphaned_recordings(force=True)


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`compare`.

    ``isaac_rerun.compare`` is the package's function (loaded lazily) and this module's name: once the module has
    been imported by its name (``from isaac_rerun.compare import CompareError``), Python binds the package's
    attribute to the module, so that ``isaac_rerun.compare(paths)`` calls the module — which calls the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Path:
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
