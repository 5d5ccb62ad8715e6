"""Read a ``.rrd`` back with the installed Rerun's own reader into plain Python/numpy, for assertions.

Two readers, one result (:class:`Entity` per entity path, columns named ``Archetype:field`` as in newer Rerun,
timelines by name, durations in seconds), so that the tests stay version-agnostic:

* ``rerun.chunk.RrdReader`` (newer rerun-sdk, e.g. 0.41): every chunk as an arrow record batch, one row per logged row.
* rerun-sdk 0.23 (the newest Rerun beside numpy < 2, i.e. on the Isaac Lab 2.x stack) has no ``rerun.chunk``; there
  the dataframe API is used: ``rerun.dataframe.load_recording(path)`` and, per entity and per timeline,
  ``recording.view(index=timeline, contents={entity: components}).select()`` (static data: ``select_static()``).
  A view keeps one row per distinct index value (the last one logged), so the rows of an entity are the union of its
  views on every timeline, de-duplicated by their index values: a row is lost only if another row of the same entity
  has the same value on **every** timeline (then the later one is what any viewer shows). 0.23 names columns
  ``/entity:ComponentName``; the ``Archetype:field`` name is rebuilt from the column's ``rerun.archetype`` /
  ``rerun.archetype_field`` metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

try:
    from rerun.chunk import RrdReader
except ImportError:  # rerun-sdk 0.23: no chunk reader, the dataframe API below
    RrdReader = None

ROW_ID = "rerun.controls.RowId"


@dataclass
class Entity:
    """All rows logged to one entity: static components, and temporal columns (one list entry per row)."""

    static: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    n: int = 0

    def add(self, names: list[str], values: dict[str, list[Any]], rows: int) -> None:
        for name in set(self.columns) | set(names):
            col = self.columns.setdefault(name, [None] * self.n)
            col.extend(values.get(name, [None] * rows))
        self.n += rows

    def column(self, name: str) -> list[Any]:
        return self.columns[name]

    def sorted_by(self, timeline: str) -> np.ndarray:
        """Row order sorted by a timeline (rows without it are dropped)."""
        t = self.columns.get(timeline, [])
        idx = [i for i, v in enumerate(t) if v is not None]
        return np.array(sorted(idx, key=lambda i: t[i]), dtype=int)

    def vectors(self, name: str, order: np.ndarray) -> np.ndarray:
        """A component holding one fixed-size vector per row (e.g. a translation) as an (n, k) array."""
        return np.array([self.columns[name][i][0] for i in order], dtype=np.float64)

    def timeline(self, name: str, order: np.ndarray) -> np.ndarray:
        return np.array([self.columns[name][i] for i in order])


def read_rrd(path: str | Path) -> dict[str, Entity]:
    """Every entity of a recording file, static and temporal data separated."""
    if RrdReader is None:
        return _read_rrd_dataframe(path)
    store = RrdReader(str(path)).stream().collect()
    out: dict[str, Entity] = {}
    for chunk in store.stream():
        rb = chunk.to_record_batch()
        names = [n for n in rb.schema.names if n != ROW_ID]
        ent = out.setdefault(chunk.entity_path, Entity())
        if chunk.is_static:
            for n in names:
                ent.static[n] = rb.column(n).to_pylist()[-1]
        else:
            ent.add(names, {n: _pylist(rb.column(n)) for n in names}, rb.num_rows)
    return out


def _read_rrd_dataframe(path: str | Path) -> dict[str, Entity]:
    """rerun-sdk 0.23: the same result through ``rerun.dataframe`` (see the module docstring)."""
    import rerun.dataframe as rdf

    recording = rdf.load_recording(str(path))
    schema = recording.schema()
    timelines = [c.name for c in schema.index_columns()]
    static: dict[str, list[str]] = {}
    temporal: dict[str, list[str]] = {}
    for c in schema.component_columns():
        (static if c.is_static else temporal).setdefault(c.entity_path, []).append(c.component_name)
    out: dict[str, Entity] = {}
    for entity, components in static.items():
        view = recording.view(index=timelines[0] if timelines else "log_tick", contents={entity: components})
        table = view.select_static().read_all()
        ent = out.setdefault(entity, Entity())
        for field_, col in zip(table.schema, table.columns, strict=True):
            if field_.name not in timelines:
                ent.static[_field_name(field_)] = col.to_pylist()[-1]
    for entity, components in temporal.items():
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for timeline in timelines:
            table = recording.view(index=timeline, contents={entity: components}).select().read_all()
            if table.num_rows == 0:
                continue
            names = [f.name if f.name in timelines else _field_name(f) for f in table.schema]
            values = {n: _pylist(col.combine_chunks()) for n, col in zip(names, table.columns, strict=True)}
            for i in range(table.num_rows):
                key = tuple(values[t][i] if t in values else None for t in timelines)
                rows.setdefault(key, {n: v[i] for n, v in values.items() if v[i] is not None})
        ent = out.setdefault(entity, Entity())
        names = sorted({n for r in rows.values() for n in r})
        ent.add(names, {n: [r.get(n) for r in rows.values()] for n in names}, len(rows))
    return out


def _field_name(field_: pa.Field) -> str:
    """``Archetype:field`` (the newer readers' column name) of a 0.23 dataframe column ``/entity:Component``."""
    meta = field_.metadata or {}
    archetype = meta.get(b"rerun.archetype", b"").decode()
    name = meta.get(b"rerun.archetype_field", b"").decode()
    if archetype and name:
        return f"{archetype.rsplit('.', 1)[-1]}:{name}"
    return field_.name.rsplit(":", 1)[-1]


def _pylist(col: pa.Array) -> list[Any]:
    """Python values; durations (the ``sim_time`` timelines) and timestamps as float seconds."""
    if pa.types.is_duration(col.type) or pa.types.is_timestamp(col.type):
        return [None if v is None else v * 1e-9 for v in col.cast(pa.int64()).to_pylist()]
    return col.to_pylist()


def quat_close(a: np.ndarray, b: np.ndarray, atol: float = 1e-5) -> bool:
    """Quaternions equal up to sign (q and -q are the same rotation)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    dot = np.abs(np.sum(a * b, axis=-1))
    return bool(
        np.all(np.abs(dot - 1.0) <= atol * 10) and np.all(np.minimum(np.abs(a - b), np.abs(a + b)).max(axis=-1) <= atol)
    )
