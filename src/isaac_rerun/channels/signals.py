"""Named per-env signals beside the scene: Isaac Lab's reward terms, commands, joints, observations, and your own.

Each signal (:class:`~isaac_rerun.envview.SignalSource`) is a ``(num_envs, k)`` reader with ``k`` column names. At a
recorded frame :class:`SignalChannel` reads every signal, picks the logged envs' rows on the device, joins them and
copies them to the host once. Per-env layout: ``/scalars/env_<i>/<path>`` with one series per column (``reward/
feet_air_time``, ``joint_pos`` named by joint); instanced layout: ``/scalars/<path>`` with one series per env and column
(``env 37 FL_hip_joint``). Signals of the step that led to a frame (reward terms) are not logged again on the reset
frame after a terminal frame. Reward terms are also summed over each whole episode and logged at its terminal frame
(``episode_return/<term>``, points).

The rolling history keeps what this channel gathers: :meth:`SignalChannel.read_all` gives every env's values on the
device (one ring per channel), :meth:`SignalChannel.from_rows` turns rows of it back into what :meth:`gather` returns.
A user's signal that raises is dropped with one warning; training goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun._util import WarnOnce
from isaac_rerun.channels.base import Channel, ChannelContext, Sample, StepRows, TimeColumns, Views
from isaac_rerun.envview import SignalSource
from isaac_rerun.signals import Signal

__all__ = ["SignalChannel", "sources_for", "user_sources"]

SCALARS_ROOT = "/scalars"
POINT_SIZE = 4.0


def user_sources(signals: dict[str, Signal], env: Any) -> list[SignalSource]:
    """The user's signals (:attr:`RecordingCfg.signals <isaac_rerun.config.RecordingCfg.signals>`) as sources."""
    out = []
    for name, sig in signals.items():

        def read(sig: Signal = sig) -> Any:
            return sig.read(env)

        cols = sig.columns or ()
        out.append(SignalSource(name, read, tuple(cols), per_step=sig.per_step, group=name.split("/")[0], user=True))
    return out


def sources_for(ctx: ChannelContext, builtin: Sequence[str], signals: dict[str, Signal]) -> list[SignalSource]:
    """Every signal the configuration asks for that the env has, in drawing order."""
    view = ctx.env
    if view is None:
        return []
    out: list[SignalSource] = []
    if "rewards" in builtin:
        out += view.reward_sources()
    if "commands" in builtin:
        out += view.command_sources()
    if "joints" in builtin:
        out += view.joint_sources()
    if "observations" in builtin:
        out += view.observation_sources()
    return out + user_sources(signals, view.env)


class SignalChannel(Channel):
    """Named per-env signals of the logged envs (see the module docstring).

    Parameters
    ----------
    ctx:
        The channel context (logged envs, layout, row selection).
    sources:
        The signals; each is read once here to learn its width: a user's signal whose value is not a
        ``(num_envs,)`` or ``(num_envs, k)`` array, or whose ``columns`` do not match ``k``, is an error naming it.
    """

    key = "signals"

    def __init__(self, ctx: ChannelContext, sources: Sequence[SignalSource], *, widths: Sequence[int] | None = None):
        self.envs = list(ctx.logged_envs)
        self.instanced = ctx.instanced
        self.num_envs = ctx.num_envs
        self.rows = ctx.rows
        self._warn = WarnOnce()
        self.sources: list[SignalSource] = []
        self.widths: list[int] = []
        for k, s in enumerate(sources):
            width = widths[k] if widths is not None else self._width(s)
            if width is None:
                continue
            if not s.columns:
                s = replace(s, columns=tuple(f"[{k}]" for k in range(width)))
            self.sources.append(s)
            self.widths.append(width)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)]).astype(int)
        self.width = int(self.offsets[-1])
        self.alive = [True] * len(self.sources)
        n = len(self.envs)
        self.summed = [i for i, s in enumerate(self.sources) if s.episode_sum]
        self.ep_sum = [np.zeros((n, self.widths[i])) for i in self.summed]  # per summed source: (envs, width)
        self.seen_start = np.zeros(n, dtype=bool)
        self.frames: list[tuple[int, list[np.ndarray | None], bool]] = []
        self.episodes: list[tuple[int, int, list[np.ndarray]]] = []  # (row, env position, sums per summed source)
        self.styled: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.sources)

    def for_context(self, ctx: ChannelContext) -> SignalChannel:
        """The same signals (read and checked already) for another set of logged envs (a kept episode's)."""
        channel = SignalChannel(ctx, self.sources, widths=self.widths)
        channel.alive = list(self.alive)
        return channel

    # ------------------------------------------------------------------ reading
    def _width(self, s: SignalSource) -> int | None:
        where = f"`signals[{s.path!r}]`" if s.user else f"signal {s.path!r}"
        try:
            value = s.read()
        except Exception as exc:
            if s.user:
                raise ValueError(f"{where} raised when first read ({exc!r})") from exc
            self._warn(s.path, f"isaac_rerun: {where} cannot be read ({exc!r}); it is not recorded")
            return None
        shape = tuple(getattr(value, "shape", np.shape(value)))
        if len(shape) not in (1, 2) or shape[0] != self.num_envs:
            if s.user:
                raise ValueError(
                    f"{where} must return a (num_envs, k) or (num_envs,) tensor with num_envs={self.num_envs}, "
                    f"got shape {shape}"
                )
            return None
        width = 1 if len(shape) == 1 else int(shape[1])
        if s.columns and len(s.columns) != width:
            raise ValueError(f"{where} has {len(s.columns)} `columns` {list(s.columns)} but {width} values per env")
        return width

    def read_all(self) -> Any:
        """Every env's values of every signal, joined: a ``(num_envs, width)`` float32 tensor on the simulation device
        (NaN for a dropped signal)."""
        return self._read(None)

    def _read(self, rows: Any, values: list[Any] | None = None) -> Any:
        import torch

        parts: list[Any] = []
        device = None
        if values is None:
            values = [self._value(i, s) for i, s in enumerate(self.sources)]
        for value in values:
            if value is not None:
                t = torch.as_tensor(value)
                device = t.device
                t = t.reshape(t.shape[0], -1)
                if rows is not None:
                    t = t.index_select(0, rows(t.device))
                parts.append(t.to(torch.float32))
            else:
                parts.append(None)
        n = self.num_envs if rows is None else len(self.envs)
        filled = [
            p if p is not None else torch.full((n, w), float("nan"), device=device)
            for p, w in zip(parts, self.widths, strict=True)
        ]
        return torch.cat(filled, dim=1) if filled else torch.zeros((n, 0))

    def _value(self, i: int, s: SignalSource) -> Any:
        if not self.alive[i]:
            return None
        try:
            value = s.read()
            if value is None:
                raise ValueError("returned None")
            return value.torch if hasattr(value, "torch") and hasattr(value, "warp") else value
        except Exception as exc:
            self.alive[i] = False
            what = f"`signals[{s.path!r}]`" if s.user else f"signal {s.path!r}"
            self._warn(s.path, f"isaac_rerun: {what} raised ({exc!r}); it is dropped, training goes on")
            return None

    def from_rows(self, rows: np.ndarray) -> list[np.ndarray | None]:
        """Rows ``(L, width)`` of :meth:`read_all` as :meth:`gather` returns them (per signal, None if dropped)."""
        return [
            rows[:, a:b] if self.alive[i] else None
            for i, (a, b) in enumerate(zip(self.offsets[:-1], self.offsets[1:], strict=True))
        ]

    def gather(self, sample: Sample) -> list[np.ndarray | None]:
        """The logged envs' rows of every signal (owned arrays): on the CPU picked straight out of each buffer; on a
        GPU selected on the device and joined before one copy to the host."""
        if not self.sources:
            return []
        values = [self._value(i, s) for i, s in enumerate(self.sources)]
        if all(v is None or getattr(v, "is_cpu", True) for v in values):
            rows = self.rows
            return [None if v is None else rows(v).reshape(len(self.envs), -1) for v in values]
        joined = self._read(self._device_rows, values)
        return self.from_rows(np.array(joined.detach().cpu().numpy(), dtype=np.float32, copy=True))

    def _device_rows(self, device: Any) -> Any:
        return self.rows.device_index(device)

    # ------------------------------------------------------------------ buffering and sending
    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        self.seen_start[:] = False
        for sums in self.ep_sum:
            sums[:] = 0
        if static:  # a new stream: its series styles are logged again
            self.styled = set()
        if static:
            for s in self.sources:
                if s.limits is not None:
                    stream.log(
                        self._limits_entity(s),
                        rr.TextDocument(_limits_table(s), media_type="text/markdown"),
                        static=True,
                    )

    @staticmethod
    def _limits_entity(s: SignalSource) -> str:
        return f"{SCALARS_ROOT}/limits/{s.path}"

    def append(self, row: int, data: Any, step: StepRows) -> None:
        if not self.sources:
            return
        if step.started is not None:
            started = np.nonzero(step.started)[0]
            self.seen_start[started] = True
            for sums in self.ep_sum:
                sums[started] = 0
        if data is not None:
            self.frames.append((row, data, step.advance))
        if self.summed and step.advance and data is not None:
            for sums, i in zip(self.ep_sum, self.summed, strict=True):
                if data[i] is not None:
                    sums += data[i]
        if step.ended is not None and step.ended.any():
            for j in np.nonzero(step.ended)[0]:
                if self.seen_start[j] and self.summed:
                    self.episodes.append((row, int(j), [sums[j].copy() for sums in self.ep_sum]))
                self.seen_start[j] = True
                for sums in self.ep_sum:
                    sums[j] = 0

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        for i, s in enumerate(self.sources):
            frames = [(r, d[i]) for r, d, advance in self.frames if d[i] is not None and (advance or not s.per_step)]
            if frames:
                values = np.stack([v for _, v in frames])  # (m, L, w)
                self._send_source(stream, s, [r for r, _ in frames], values, times)
        if self.episodes:
            rows = sorted({e[0] for e in self.episodes})
            at = {r: x for x, r in enumerate(rows)}
            for k, i in enumerate(self.summed):
                s = self.sources[i]
                values = np.full((len(rows), len(self.envs), self.widths[i]), np.nan)
                for row, j, sums in self.episodes:
                    values[at[row], j] = sums[k]
                for c, column in enumerate(s.columns):
                    path = f"{self._episode_root(s)}/{column}" if s.split else self._episode_root(s)
                    v = values[:, :, c : c + 1] if s.split else values
                    self._send(stream, path, rows, v, times, (column,) if s.split else s.columns, points=True,
                               sparse=True)  # fmt: skip
                    if not s.split:
                        break
        self.clear()

    def _send_source(
        self, stream: rr.RecordingStream, s: SignalSource, rows: list[int], values: np.ndarray, times: TimeColumns
    ) -> None:
        if not s.split:
            self._send(stream, s.path, rows, values, times, s.columns, points=False)
            return
        for c, column in enumerate(s.columns):
            self._send(stream, f"{s.path}/{column}", rows, values[:, :, c : c + 1], times, (column,), points=False)

    @staticmethod
    def _episode_root(s: SignalSource) -> str:
        """Where a summed source's episode values go: ``episode_return`` (+ ``/<column>``) for the reward terms."""
        return "episode_return" if s.path == "reward" else f"episode_return/{s.path}"

    def clear(self) -> None:
        self.frames, self.episodes = [], []

    def _send(
        self,
        stream: rr.RecordingStream,
        path: str,
        rows: list[int],
        values: np.ndarray,
        times: TimeColumns,
        columns: tuple[str, ...],
        *,
        points: bool,
        sparse: bool = False,
    ) -> None:
        """``values`` ``(m, L, w)`` at buffered frames ``rows``."""
        m, _, w = values.shape
        if not self.instanced:
            for j, env in enumerate(self.envs):
                v = values[:, j]
                keep = ~np.isnan(v).all(axis=1) if sparse else slice(None)
                v = v[keep]
                if not len(v):
                    continue
                entity = f"{SCALARS_ROOT}/env_{env}/{path}"
                self._style(stream, entity, points, [f"env {env} {c}" for c in columns])
                r = np.asarray(rows)[keep].tolist()
                cols = rr.Scalars.columns(scalars=v.reshape(-1)).partition([w] * len(v))
                stream.send_columns(entity, indexes=times(r), columns=cols)
            return
        entity = f"{SCALARS_ROOT}/{path}"
        names = [f"env {e}" if w == 1 else f"env {e} {c}" for e in self.envs for c in columns[: max(w, 1)]]
        self._style(stream, entity, points, names)
        flat = values.reshape(m, -1)
        stream.send_columns(
            entity,
            indexes=times(rows),
            columns=rr.Scalars.columns(scalars=flat.reshape(-1)).partition([flat.shape[1]] * m),
        )

    def _style(self, stream: rr.RecordingStream, entity: str, points: bool, names: list[str]) -> None:
        if entity in self.styled:
            return
        self.styled.add(entity)
        if points:
            stream.log(entity, rr.SeriesPoints(marker_sizes=[POINT_SIZE] * len(names), names=names), static=True)
        else:
            stream.log(entity, rr.SeriesLines(names=names), static=True)

    # ------------------------------------------------------------------ the default view
    def views(self) -> Views:
        groups: dict[str, list[str]] = {}
        for s in self.sources:
            groups.setdefault(s.group, []).extend(s.column_paths())
        v = Views()
        for name, paths in groups.items():
            slot = "top" if name == "reward" else "middle"
            v.plot(name, [p for path in paths for p in self._entities(path)], slot=slot)
        for i in self.summed:
            s = self.sources[i]
            paths = [f"{self._episode_root(s)}/{c}" for c in s.columns] if s.split else [self._episode_root(s)]
            v.plot("episode return", [p for path in paths for p in self._entities(path)], slot="bottom")
        v.documents += [(f"{s.path} limits", self._limits_entity(s)) for s in self.sources if s.limits is not None]
        return v

    def _entities(self, path: str) -> list[str]:
        if self.instanced:
            return [f"{SCALARS_ROOT}/{path}"]
        return [f"{SCALARS_ROOT}/env_{e}/{path}" for e in self.envs]

    def summary(self) -> dict[str, Any]:
        limits = {
            f"{s.path}_limits": [v for lo_hi in s.limits for v in lo_hi] for s in self.sources if s.limits is not None
        }
        dropped = [s.path for s, alive in zip(self.sources, self.alive, strict=True) if not alive]
        out = {"signals": [s.path for s in self.sources], **limits}
        return {**out, "signals_dropped": dropped} if dropped else out


def _limits_table(s: SignalSource) -> str:
    """A markdown table of a signal's per-column limits (joint position limits)."""
    rows = [f"| {c} | {lo:.4g} | {hi:.4g} |" for c, (lo, hi) in zip(s.columns, s.limits or (), strict=False)]
    return "\n".join([f"**{s.path}** limits", "", "| joint | lower | upper |", "| --- | --- | --- |", *rows])
