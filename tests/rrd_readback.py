"""Read a ``.rrd`` back with Rerun's own reader (``rerun.chunk.RrdReader``) into plain numpy, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rerun.chunk import RrdReader

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
