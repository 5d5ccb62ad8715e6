"""Writing one snippet: open its sink, send the layout, static data and properties, buffer frames, flush, finish.

:class:`SnippetWriter` is the one writer of snippets: the recorder's (from triggers) and the rolling history's (kept
episodes, NaN dumps) go through it, each with its own channels and its own time values — nothing is swapped in or
out. What a snippet is, and why it was recorded, lives in its recording's **properties** (``/__properties/{name}``):
``trigger`` (``"step"``, ``"episode"``, ``"iteration"``, ``"kept:<reason>"``, ``"nan"``, ``"manual"``), ``ident``
(the step, episode or iteration that started it; the episode id of a kept episode), ``envs``, ``run``,
``name_prefix``, ``step_dt``, ``first_env_step``, ``complete`` and, once finished, ``frames``, ``sim_time``,
``last_env_step`` and what each channel summarises (``episode_envs``, ``episode_returns``, ``episode_lengths``,
``episode_reasons`` …). ``isaac-rerun ls`` reads them; a file name is only a name.

Timelines per snippet: ``frame`` (the frame index) and ``sim_time`` (env steps since the snippet started ×
``step_dt``; a reset frame shares the time of the terminal frame before it); global: ``env_step`` and the framework's
own counter. Frames are sent with ``send_columns`` every ``flush_every`` frames, when ``max_latency_s`` has passed
since the last send, and when the snippet ends. A failure (disk full, viewer gone) warns once; training goes on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _compat
from isaac_rerun._util import WarnOnce
from isaac_rerun.blueprint import BlueprintCache
from isaac_rerun.channels import Channel, StepRows
from isaac_rerun.outputs import Output, Sink

__all__ = ["Snippet", "SnippetWriter", "snippet_facts"]


def snippet_facts(
    trigger: str, ident: int, envs: Sequence[int], first_env_step: int, *, complete: bool = True, **run: Any
) -> dict[str, Any]:
    """A snippet's properties at its start (the module docstring says what each means); ``run``: ``run``,
    ``name_prefix`` and ``iteration``."""
    return {
        "trigger": trigger,
        "ident": int(ident),
        "envs": [int(e) for e in envs],
        **run,
        "first_env_step": max(int(first_env_step), 0),
        "complete": bool(complete),
    }


@dataclass
class Snippet:
    """An open snippet: its sink, channels, frame count and the time values of the frames not sent yet."""

    sink: Sink
    channels: list[Channel]
    facts: dict[str, Any]
    """Its properties at the start (trigger, ident, envs, run, first_env_step, complete …)."""
    frames: int = 0
    steps: int = 0  # env steps since it started (sim_time = steps * step_dt)
    last_step: int = 0  # env_step of the last frame
    frame_idx: list[int] = field(default_factory=list)
    sim_time: list[float] = field(default_factory=list)
    env_step: list[int] = field(default_factory=list)
    global_step: list[int] = field(default_factory=list)
    last_flush: float = field(default_factory=time.monotonic)
    failed: bool = False
    flush_at: int = 1  # buffered frames that make a flush (the writer's flush_every, or less for a channel)


class SnippetWriter:
    """Writes snippets into one output (see the module docstring).

    Parameters
    ----------
    output:
        Where snippets go.
    step_dt:
        Simulated seconds per env step.
    global_timeline:
        The framework's counter timeline, or None.
    flush_every, max_latency_s:
        The flush policy (frames; seconds, default 0.5 s for live outputs and 30 s for files).
    verbose:
        1: one line per saved snippet.
    """

    def __init__(
        self,
        output: Output,
        *,
        step_dt: float,
        global_timeline: str | None,
        flush_every: int,
        max_latency_s: float | None,
        verbose: int = 0,
        warn: WarnOnce | None = None,
    ):
        self.output = output
        self.step_dt = step_dt
        self.global_timeline = global_timeline
        self.flush_every = flush_every
        self.max_latency_s = float(max_latency_s) if max_latency_s is not None else (0.5 if output.live else 30.0)
        self.verbose = verbose
        self.warn = warn or WarnOnce()
        self.finished: list[Sink] = []
        self.on_finished: list[Callable[[Sink], None]] = []

    def open(
        self,
        name: str,
        channels: Sequence[Channel],
        facts: dict[str, Any],
        *,
        layout: BlueprintCache | Any = None,
        eye: Callable[[], Any] | None = None,
        static: bool | None = None,
    ) -> Snippet | None:
        """Open snippet ``name``: its layout (a :class:`~isaac_rerun.blueprint.BlueprintCache`, or a blueprint),
        channels' static data (``static``: default once per stream) and its properties ``facts``; None if the output
        cannot open it (one warning)."""
        try:
            sink = self.output.open(name)
        except Exception as exc:  # disk full, viewer gone … — training goes on
            self.warn("open", f"isaac_rerun: could not open recording {name!r} ({exc!r}); recording skipped")
            return None
        channels = list(channels)
        snippet = Snippet(sink, channels, dict(facts))
        snippet.last_step = int(facts.get("first_env_step", 0))
        snippet.flush_at = min([self.flush_every, *(c.max_buffered_frames for c in channels if c.max_buffered_frames)])
        try:
            static = not sink.static_logged if static is None else static
            if static:
                blueprint = layout
                if isinstance(layout, BlueprintCache):
                    blueprint = layout.get(sink.frame_timeline, eye() if eye is not None else None)
                if blueprint is not None:
                    _compat.send_blueprint(sink.stream, blueprint, self.output.application_id)
            for channel in channels:
                channel.start(sink.stream, static=static)
            sink.static_logged = True
            self._properties(snippet)
        except Exception as exc:
            self.warn("static", f"isaac_rerun: could not log the scene's visuals to {name!r} ({exc!r})")
        return snippet

    def capture(self, s: Snippet, gathered: Sequence[Any], step: StepRows, *, env_step: int, global_step: int) -> None:
        """Buffer one frame: ``gathered`` (one item per channel, from ``gather``) with what the framework handed
        over (``step``), at ``env_step`` / ``global_step``."""
        if step.advance:
            s.steps += 1
        row = len(s.frame_idx)
        s.frame_idx.append(s.frames)
        s.sim_time.append(s.steps * self.step_dt)
        s.env_step.append(env_step)
        s.global_step.append(global_step)
        for channel, data in zip(s.channels, gathered, strict=True):
            channel.append(row, data, step)
        s.frames += 1
        s.last_step = env_step
        if len(s.frame_idx) >= s.flush_at or time.monotonic() - s.last_flush >= self.max_latency_s:
            self.flush(s)

    def flush(self, s: Snippet, *, sync: bool = False) -> None:
        """Send the buffered frames (``sync``: and wait until the output has them)."""
        if s.frame_idx and not s.failed:
            try:
                self._send(s)
            except Exception as exc:  # a full disk or a vanished viewer must not stop training
                s.failed = True
                self.warn("send", f"isaac_rerun: recording {s.sink.name!r} failed ({exc!r}); it stops here")
        if s.failed:
            for channel in s.channels:
                channel.clear()
        s.frame_idx, s.sim_time, s.env_step, s.global_step = [], [], [], []
        s.last_flush = time.monotonic()
        if sync:
            with contextlib.suppress(Exception):
                _compat.flush(s.sink.stream)

    def finish(self, s: Snippet) -> Path | None:
        """Send what is buffered, describe the snippet in its properties and complete its file."""
        self.flush(s)
        if not s.failed:
            try:
                self._properties(s, final=True)
            except Exception as exc:
                self.warn("properties", f"isaac_rerun: could not describe recording {s.sink.name!r} ({exc!r})")
        try:
            self.output.finish(s.sink)
        except Exception as exc:
            self.warn("finish", f"isaac_rerun: could not finish recording {s.sink.name!r} ({exc!r})")
            return None
        self.finished.append(s.sink)
        if self.verbose >= 1:
            where = s.sink.path if s.sink.path is not None else "the recording stream"
            print(f"isaac_rerun: saved {s.sink.name} ({s.frames} frames) to {where}")
        for cb in self.on_finished:
            cb(s.sink)
        return s.sink.path

    def _properties(self, s: Snippet, *, final: bool = False) -> None:
        values = dict(s.facts, step_dt=self.step_dt)
        if final:
            values.update(frames=s.frames, sim_time=s.steps * self.step_dt, last_env_step=s.last_step)
            for channel in s.channels:
                values.update(channel.summary())
        _compat.send_properties(s.sink.stream, s.sink.name, values)

    def _send(self, s: Snippet) -> None:
        sink = s.sink
        frame = np.asarray(s.frame_idx, dtype=np.int64)
        sim_time = np.asarray(s.sim_time, dtype=np.float64)
        env_step = np.asarray(s.env_step, dtype=np.int64)
        global_step = np.asarray(s.global_step, dtype=np.int64)
        everything: list[rr.TimeColumn] | None = None

        def times(rows: Sequence[int] | None = None) -> list[rr.TimeColumn]:
            nonlocal everything
            if rows is None and everything is not None:
                return everything
            sel: Any = slice(None) if rows is None else np.asarray(rows, dtype=np.int64)
            cols = [
                rr.TimeColumn(sink.frame_timeline, sequence=frame[sel]),
                rr.TimeColumn(sink.time_timeline, duration=sim_time[sel]),
                rr.TimeColumn("env_step", sequence=env_step[sel]),
            ]
            if self.global_timeline:
                cols.append(rr.TimeColumn(self.global_timeline, sequence=global_step[sel]))
            if rows is None:
                everything = cols
            return cols

        for channel in s.channels:
            channel.send(sink.stream, times)
