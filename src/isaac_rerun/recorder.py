"""The framework-neutral recorder: counters, triggers, snippets, timelines and batched logging.

An integration (the Gymnasium wrapper, the SB3 callback, the skrl trainer hooks, the rsl_rl runner mixin) owns one
:class:`Recorder` and calls, in this order:

1. :meth:`Recorder.begin` once the env has been reset (episode 0 of the tracked env starts);
2. :meth:`Recorder.after_step` after every vector ``env.step()`` with that step's done flags (and, optionally,
   rewards, actions and the framework's global counter);
3. :meth:`Recorder.close` when training ends or fails: the open snippet is finished and its file complete (a recorder
   never closed is closed at interpreter exit; a killed process loses the frames buffered since the last flush).

Counters
--------
``step_id``
    Vector steps since :meth:`begin`: 0 for the first ``env.step()``. Passed to ``step_trigger``.
``episode_id``
    Episodes of the **tracked env** (the first of ``logged_envs``): 0 at :meth:`begin`, +1 each time the tracked env's
    done flag (``terminated | truncated``) is set. Passed to ``episode_trigger``. ``reset()`` calls are not counted
    (Isaac Lab resets finished envs inside ``step()``; ``reset()`` runs once).

Frames
------
Each step the recorder logs one frame: the poses at the end of the step **before** the env's auto-reset moved the
finished envs (captured by a hook around the env's ``_reset_idx``). When the tracked env's episode ends, the snippet
also gets the next episode's first frame (after the reset) — or, with ``recording_length=0``, the snippet ends with the
terminal frame and an episode-triggered next snippet starts with that first frame.

Timelines
---------
Per snippet: ``frame`` (sequence: frame index in the snippet) and ``sim_time`` (duration: env steps since the
snippet started × ``step_dt``; a reset frame shares the time of the terminal frame before it). Global: ``env_step``
(the ``step_id`` above) and, when the integration provides one, its own counter (e.g. ``timesteps`` for SB3). In a
shared stream (:class:`~isaac_rerun.outputs.StreamOutput`) the per-snippet timelines are prefixed with the snippet
name (``{snippet}_frame``, ``{snippet}_sim_time``).

Batching
--------
Frames are buffered and sent with ``send_columns``, one call per entity per flush, every ``flush_every`` frames, when
``max_latency_s`` has passed since the last flush (so a live viewer keeps up), and when the snippet ends.
"""

from __future__ import annotations

import atexit
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rerun as rr
import rerun.blueprint as rrb

from isaac_rerun import _compat
from isaac_rerun.outputs import Output, Sink, check_name_prefix
from isaac_rerun.scene import IsaacLabScene
from isaac_rerun.triggers import (
    Trigger,
    capped_cubic_video_schedule,
    validate_recording_length,
    validate_trigger,
)

__all__ = ["Recorder", "default_blueprint"]

SCALARS_ROOT = "/scalars"
METRICS_ROOT = "/train"


def default_blueprint(
    scene_origin: str = "/World",
    *,
    eye: tuple[Any, Any] | None = None,
    trails: Sequence[str] = (),
    frame_timeline: str = "frame",
    envs: Sequence[int] = (),
) -> rrb.Blueprint:
    """The layout sent with each recording: the 3D scene beside the per-env scalar plots, on the snippet's frames.

    The plots: reward, action, and (in tabs) episode return and length of each logged env in ``envs``; with no
    ``envs``, one plot of everything under ``/scalars``. The time panel opens on ``frame_timeline`` (rerun-sdk 0.24+).

    Parameters
    ----------
    scene_origin:
        Origin entity of the 3D view.
    eye:
        ``(position, look_target)`` of the 3D view's camera (ignored by rerun-sdk < 0.24, which cannot set it).
    trails:
        Trail entities: each shows every segment logged from the start of ``frame_timeline`` up to the time cursor.
    frame_timeline:
        The snippet's frame timeline (the trails' visible time range is on it).
    envs:
        The logged envs (their ``/scalars/env_<i>/...`` entities).
    """
    if envs:

        def plot(name: str, metric: str) -> rrb.TimeSeriesView:
            contents = [f"{SCALARS_ROOT}/env_{e}/{metric}" for e in envs]
            return rrb.TimeSeriesView(name=name, origin=SCALARS_ROOT, contents=contents)

        plots: Any = rrb.Vertical(
            plot("reward", "reward"),
            plot("action", "action"),
            rrb.Tabs(plot("episode return", "episode_return"), plot("episode length", "episode_length")),
        )
    else:
        plots = rrb.TimeSeriesView(name="scalars", origin=SCALARS_ROOT)
    parts: list[Any] = [
        rrb.Horizontal(
            _compat.spatial3d_view("scene", scene_origin, eye, trails, frame_timeline), plots, column_shares=[3, 2]
        )
    ]
    parts += _compat.time_panel(frame_timeline)
    return rrb.Blueprint(*parts, collapse_panels=True)


@dataclass
class _Episode:
    """An episode of a logged env that ended on a recorded frame."""

    row: int  # index into the frame buffer
    env: int
    ret: float | None  # None: no rewards were given for it (e.g. log_scalars=False)
    length: int


@dataclass
class _Snippet:
    sink: Sink
    frames: int = 0
    steps: int = 0  # env steps since the snippet started (sim_time = steps * step_dt)
    # buffered rows since the last flush
    frame_idx: list[int] = field(default_factory=list)
    sim_time: list[float] = field(default_factory=list)
    env_step: list[int] = field(default_factory=list)
    global_step: list[int] = field(default_factory=list)
    poses: list[np.ndarray] = field(default_factory=list)
    rewards: list[np.ndarray | None] = field(default_factory=list)
    actions: list[np.ndarray | None] = field(default_factory=list)
    episodes: list[_Episode] = field(default_factory=list)
    jumps: list[np.ndarray | None] = field(default_factory=list)  # per logged env: a reset since the previous frame
    extras: list[list[Any] | None] = field(default_factory=list)  # sensors and markers (IsaacLabScene.gather_extras)
    last_flush: float = field(default_factory=time.monotonic)
    failed: bool = False
    trail_prev: np.ndarray | None = None  # (trails, 3): last trail point sent (None: the snippet's first frame)
    styled: set[str] = field(default_factory=set)  # entities whose static style was logged in this snippet


class Recorder:
    """Record snippets of an Isaac Lab scene, on triggers, into an :class:`~isaac_rerun.outputs.Output`.

    Parameters
    ----------
    scene:
        The scene layout (:class:`~isaac_rerun.scene.IsaacLabScene`) — it fixes ``logged_envs``.
    output:
        Where snippets go, or a function returning it: called once every other argument has been validated, so
        that nothing is created or written for invalid arguments.
    episode_trigger, step_trigger, recording_length:
        See :mod:`isaac_rerun.triggers`. Neither trigger → :func:`capped_cubic_video_schedule` on episodes.
    step_dt:
        Seconds of simulated time per env step (physics dt × decimation: ``env.unwrapped.step_dt``).
    name_prefix:
        Snippet names are ``{name_prefix}-episode-{id}`` / ``{name_prefix}-step-{id}``.
    global_timeline:
        Name of the integration's own counter timeline (e.g. ``"timesteps"``), or None.
    flush_every:
        Frames buffered before they are sent to Rerun (one ``send_columns`` per body per flush: ~80 µs each).
    max_latency_s:
        Also send buffered frames when this many seconds passed since the last send, checked at each frame: bounds
        how far a live viewer lags. Default: 0.5 s for streams and viewers, 5 s for files.
    reset_hook_target:
        The env (``env.unwrapped``) whose ``_reset_idx`` is wrapped to capture terminal frames; None disables it.
    verbose:
        1 prints one line per finished snippet.
    """

    def __init__(
        self,
        scene: IsaacLabScene,
        output: Output | Callable[[], Output],
        *,
        episode_trigger: Trigger | None = None,
        step_trigger: Trigger | None = None,
        recording_length: int = 0,
        step_dt: float,
        name_prefix: str = "rl-rerun",
        global_timeline: str | None = None,
        flush_every: int = 128,
        max_latency_s: float | None = None,
        reset_hook_target: Any = None,
        verbose: int = 0,
    ):
        episode_trigger = validate_trigger("episode_trigger", episode_trigger)
        step_trigger = validate_trigger("step_trigger", step_trigger)
        self.recording_length = validate_recording_length(recording_length)
        if isinstance(step_dt, bool) or not isinstance(step_dt, (int, float)) or not step_dt > 0:
            raise ValueError(f"`step_dt` must be a positive number of seconds, got {step_dt!r}")
        if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 1:
            raise ValueError(f"`flush_every` must be an int >= 1, got {flush_every!r}")
        if max_latency_s is not None and (not isinstance(max_latency_s, (int, float)) or not max_latency_s > 0):
            raise ValueError(f"`max_latency_s` must be None or a positive number of seconds, got {max_latency_s!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"`verbose` must be 0, 1 or 2, got {verbose!r}")
        if episode_trigger is None and step_trigger is None:
            episode_trigger = capped_cubic_video_schedule
        self.episode_trigger = episode_trigger
        self.step_trigger = step_trigger
        self.name_prefix = check_name_prefix(name_prefix)
        if global_timeline is not None and (not isinstance(global_timeline, str) or not global_timeline):
            raise ValueError(f"`global_timeline` must be None or a non-empty str, got {global_timeline!r}")
        self.scene = scene
        self.step_dt = float(step_dt)
        # every argument is valid: only now is the output created (a file or a viewer may appear)
        self.output: Output = output if isinstance(output, Output) else output()
        self.global_timeline = global_timeline
        self.flush_every = flush_every
        self._flush_at = min(flush_every, getattr(scene, "max_buffered_frames", None) or flush_every)
        self.max_latency_s = float(max_latency_s) if max_latency_s is not None else (0.5 if self.output.live else 5.0)
        self.verbose = verbose
        self.logged_envs = scene.logged_envs
        self.tracked_env = self.logged_envs[0]
        self.blueprint: rrb.Blueprint | None = None  # None: default_blueprint framed on the scene at each start

        self.step_id = -1
        self.episode_id = -1
        self.global_step = 0
        self.snippet: _Snippet | None = None
        self.finished: list[Sink] = []
        self.on_snippet_finished: list[Callable[[Sink], None]] = []
        self._closed = False
        self._pending_trigger: bool | None = None
        self._snapshot: tuple[np.ndarray, list[Any] | None] | None = None
        self._select = scene.env_rows  # the logged envs' rows of per-env arrays (dones, rewards, actions)
        self._ep_return = np.zeros(len(self.logged_envs))
        self._ep_rewarded = np.zeros(len(self.logged_envs), dtype=bool)  # rewards were given for this episode
        self._ep_length = np.zeros(len(self.logged_envs), dtype=np.int64)
        self._ep_seen_start = np.zeros(len(self.logged_envs), dtype=bool)
        self._warned: set[str] = set()
        self._hooked: Any = None
        self._metrics_blueprint_sent = False
        self._pose_columns = _compat.PoseColumns()
        self._flag_views: list[tuple[Any, tuple[int, int], np.ndarray] | None] = [None, None]
        self._jump = np.ones(len(self.logged_envs), dtype=bool)  # a logged env reset since the last captured frame
        if reset_hook_target is not None:
            self._install_reset_hook(reset_hook_target)
        # A recorder that is never closed (no `with` / `close()` around a loop that raised) still finishes its open
        # snippet at interpreter exit: without this, Rerun's own exit hook writes the file's footer but the frames
        # buffered since the last flush are lost (tests/test_reliability.py). A weak reference, so the hook does not
        # keep the recorder alive; it runs before Rerun's exit hook (registered at import, atexit runs LIFO).
        self._close_at_exit = _close_at_exit(weakref.ref(self))
        atexit.register(self._close_at_exit)

    # ------------------------------------------------------------------ public API
    @property
    def recording(self) -> bool:
        """True while a snippet is open."""
        return self.snippet is not None

    def begin(self, global_step: int | None = None, *, next_step_id: int | None = None) -> None:
        """The env was just reset: episode ``episode_id + 1`` of the tracked env starts (0 the first time).

        ``next_step_id`` sets the id the next vector step gets (default: one more than the last), for integrations
        whose step ids continue across runs (e.g. a resumed rsl_rl run: ``iteration * num_steps_per_env``).
        """
        self._snapshot = None
        self._pending_trigger = None
        if global_step is not None:
            self.global_step = int(global_step)
        if next_step_id is not None:
            self.step_id = int(next_step_id) - 1
        self.episode_id += 1
        if self.snippet is not None and self.recording_length == 0:
            self.stop()
        if self.episode_trigger is not None and self._call(self.episode_trigger, "episode_trigger", self.episode_id):
            self.start(f"{self.name_prefix}-episode-{self.episode_id}")
        self._ep_return[:] = 0
        self._ep_rewarded[:] = False
        self._ep_length[:] = 0
        self._ep_seen_start[:] = self.snippet is not None
        self._jump[:] = True  # every env was reset
        if self.snippet is not None:
            self._capture(self._gather(), rewards=None, actions=None, advance=False)

    def after_step(
        self,
        dones: Any,
        rewards: Any = None,
        actions: Any = None,
        *,
        truncated: Any = None,
        global_step: int | None = None,
    ) -> None:
        """Account for one vector step that just finished.

        Parameters
        ----------
        dones:
            Per-env done flags (``terminated | truncated``), numpy or torch, shape ``(num_envs,)``; or only the
            ``terminated`` flags when ``truncated`` is given separately.
        rewards, actions:
            Per-env rewards ``(num_envs,)`` and actions ``(num_envs, action_dim)``; logged for the logged envs.
        global_step:
            The integration's counter after this step (e.g. SB3 ``num_timesteps``).
        truncated:
            Per-env time-out flags, when ``dones`` holds only the terminations (Gymnasium / skrl style).
        """
        if self._closed:
            return
        self.step_id += 1
        if global_step is not None:
            self.global_step = int(global_step)
        snapshot, self._snapshot = self._snapshot, None
        fired = self._pending_trigger
        self._pending_trigger = None
        if fired is None:
            fired = self.step_trigger is not None and self._call(self.step_trigger, "step_trigger", self.step_id)
        if fired:
            self.start(f"{self.name_prefix}-step-{self.step_id}")
        tracked_done = self._flag(dones, 0) or (truncated is not None and self._flag(truncated, 1))
        if self.snippet is None and not tracked_done:
            return  # the not-recording fast path: a counter, a trigger call and one flag read
        if self.snippet is not None:
            done_rows = self._select(dones).astype(bool).reshape(-1)
            if truncated is not None:
                done_rows |= self._select(truncated).astype(bool).reshape(-1)
            rew = None if rewards is None else self._select(rewards).reshape(-1)
            act = None if actions is None else self._select(actions).reshape(len(self.logged_envs), -1)
            self._capture(snapshot if snapshot is not None else self._gather(), rew, act, advance=True, dones=done_rows)
            if self.recording_length and self.snippet is not None and self.snippet.frames >= self.recording_length:
                self.stop()
        if tracked_done:
            self.episode_id += 1
            if self.snippet is not None and self.recording_length == 0:
                self.stop()
            if self.episode_trigger is not None and self._call(
                self.episode_trigger, "episode_trigger", self.episode_id
            ):
                self.start(f"{self.name_prefix}-episode-{self.episode_id}")
                self._ep_seen_start[:] = False
                self._ep_seen_start[0] = True
                self._ep_return[0] = 0
                self._ep_rewarded[0] = False
                self._ep_length[0] = 0
            if self.snippet is not None:
                self._capture(self._gather(), None, None, advance=False)
                if self.recording_length and self.snippet.frames >= self.recording_length:
                    self.stop()

    def log_metrics(self, metrics: Mapping[str, float], *, global_step: int | None = None) -> None:
        """Log training metrics (e.g. ``{"rollout/ep_rew_mean": 12.3}``) at the current global counters.

        They go to ``/train/<name>`` in the output's metrics stream (``{prefix}-metrics.rrd`` for a folder output),
        on the ``env_step`` timeline and the integration's own (``global_timeline``). Non-numeric values are skipped.
        """
        if self._closed or not metrics:
            return
        if global_step is not None:
            self.global_step = int(global_step)
        try:
            stream = self.output.metrics_stream(self.name_prefix)
            if not self._metrics_blueprint_sent and stream is not getattr(self.output, "stream", None):
                bp = rrb.Blueprint(rrb.TimeSeriesView(name="training", origin=METRICS_ROOT))
                _compat.send_blueprint(stream, bp, self.output.application_id)
            self._metrics_blueprint_sent = True
            indexes = [rr.TimeColumn("env_step", sequence=[max(self.step_id, 0)])]
            if self.global_timeline:
                indexes.append(rr.TimeColumn(self.global_timeline, sequence=[self.global_step]))
            for name, value in metrics.items():
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                    continue
                path = f"{METRICS_ROOT}/{name.strip('/')}"
                stream.send_columns(path, indexes=indexes, columns=rr.Scalars.columns(scalars=[float(value)]))
        except Exception as exc:
            self._warn("metrics", f"isaac_rerun: could not log training metrics ({exc!r}); they are skipped")

    def start(self, name: str) -> None:
        """Start a snippet (finishing the open one first)."""
        if self.snippet is not None:
            self.stop()
        try:
            sink = self.output.open(name)
        except Exception as exc:  # disk full, viewer gone … — training goes on
            self._warn("open", f"isaac_rerun: could not open recording {name!r} ({exc!r}); recording skipped")
            return
        self.snippet = _Snippet(sink)
        self._ep_seen_start[:] = False
        try:
            if not sink.static_logged:
                blueprint = self.blueprint
                if blueprint is None:
                    blueprint = default_blueprint(
                        eye=self.scene.view_eye(self.scene.gather()),
                        trails=self.scene.trail_entities,
                        frame_timeline=sink.frame_timeline,
                        envs=self.logged_envs,
                    )
                _compat.send_blueprint(sink.stream, blueprint, self.output.application_id)
                self.scene.log_static(sink.stream)
                sink.static_logged = True
        except Exception as exc:
            self._warn("static", f"isaac_rerun: could not log the scene's visuals to {name!r} ({exc!r})")

    def stop(self) -> None:
        """Finish the open snippet: send what is buffered and complete its file."""
        snippet, self.snippet = self.snippet, None
        if snippet is None:
            return
        self._flush(snippet)
        try:
            self.output.finish(snippet.sink)
        except Exception as exc:
            self._warn("finish", f"isaac_rerun: could not finish recording {snippet.sink.name!r} ({exc!r})")
            return
        self.finished.append(snippet.sink)
        if self.verbose >= 1:
            where = snippet.sink.path if snippet.sink.path is not None else "the recording stream"
            print(f"isaac_rerun: saved {snippet.sink.name} ({snippet.frames} frames) to {where}")
        for cb in self.on_snippet_finished:
            cb(snippet.sink)

    def close(self) -> None:
        """Finish the open snippet, release the output and remove the reset hook. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._close_at_exit)
        try:
            self.stop()
        finally:
            self._remove_reset_hook()
            self.scene.close()
            try:
                self.output.close()
            except Exception as exc:  # e.g. a viewer's gRPC server went away: its final flush raises
                # same key as a failed finish: one warning for one fault (the snippets' finish fails the same way)
                self._warn("finish", f"isaac_rerun: could not close the output cleanly ({exc!r})")

    def _flag(self, flags: Any, slot: int) -> bool:
        """The tracked env's flag in a per-env array.

        Isaac Lab updates its done buffers in place (skrl hands out fresh views of them), so for a CPU tensor the
        numpy view of its memory is cached while the same memory comes back: a torch index + ``bool`` costs ~2 µs.
        """
        if isinstance(flags, np.ndarray):
            return bool(flags.reshape(-1)[self.tracked_env])
        if getattr(flags, "is_cpu", False) and flags.is_contiguous():
            cached = self._flag_views[slot]
            if cached is None or (cached[0] is not flags and cached[1] != (flags.data_ptr(), flags.numel())):
                # keep the tensor: its memory cannot be reused by another one while we hold the view
                cached = self._flag_views[slot] = (
                    flags,
                    (flags.data_ptr(), flags.numel()),
                    flags.detach().numpy().reshape(-1),
                )
            return bool(cached[2][self.tracked_env])
        return bool(flags.reshape(-1)[self.tracked_env])

    # ------------------------------------------------------------------ frames
    def _gather(self) -> tuple[np.ndarray, list[Any] | None]:
        """This frame: the body poses and the extras (sensors, markers) of the logged envs."""
        poses = self.scene.gather()
        return poses, self.scene.gather_extras(poses)

    def _capture(
        self,
        frame: tuple[np.ndarray, list[Any] | None],
        rewards: np.ndarray | None,
        actions: np.ndarray | None,
        *,
        advance: bool,
        dones: np.ndarray | None = None,
    ) -> None:
        s = self.snippet
        assert s is not None
        poses, extras = frame
        if advance:
            s.steps += 1
            self._ep_length += 1
            if rewards is not None:
                self._ep_return += rewards
                self._ep_rewarded[:] = True
        row = len(s.frame_idx)
        s.frame_idx.append(s.frames)
        s.sim_time.append(s.steps * self.step_dt)
        s.env_step.append(max(self.step_id, 0))
        s.global_step.append(self.global_step)
        s.poses.append(poses)
        s.extras.append(extras)
        s.rewards.append(rewards)
        s.actions.append(actions)
        s.jumps.append(self._jump.copy() if self._jump.any() else None)
        self._jump[:] = False if dones is None else dones
        s.frames += 1
        if dones is not None and dones.any():
            for j in np.nonzero(dones)[0]:
                if self._ep_seen_start[j]:
                    s.episodes.append(
                        _Episode(
                            row,
                            self.logged_envs[j],
                            float(self._ep_return[j]) if self._ep_rewarded[j] else None,
                            int(self._ep_length[j]),
                        )
                    )
                self._ep_seen_start[j] = True
                self._ep_return[j] = 0
                self._ep_rewarded[j] = False
                self._ep_length[j] = 0
        if len(s.frame_idx) >= self._flush_at or time.monotonic() - s.last_flush >= self.max_latency_s:
            self._flush(s)

    def _flush(self, s: _Snippet) -> None:
        n = len(s.frame_idx)
        if n == 0 or s.failed:
            return
        try:
            self._send(s, n)
        except Exception as exc:  # a full disk or a vanished viewer must not stop training
            s.failed = True
            self._warn("send", f"isaac_rerun: recording {s.sink.name!r} failed ({exc!r}); it stops here")
        s.frame_idx, s.sim_time, s.env_step, s.global_step = [], [], [], []
        s.poses, s.rewards, s.actions, s.episodes, s.jumps, s.extras = [], [], [], [], [], []
        s.last_flush = time.monotonic()

    def _send(self, s: _Snippet, n: int) -> None:
        stream, sink = s.sink.stream, s.sink
        frame = np.asarray(s.frame_idx, dtype=np.int64)
        sim_time = np.asarray(s.sim_time, dtype=np.float64)
        env_step = np.asarray(s.env_step, dtype=np.int64)
        global_step = np.asarray(s.global_step, dtype=np.int64)

        def time_columns(rows: Any = slice(None)) -> list[rr.TimeColumn]:
            cols = [
                rr.TimeColumn(sink.frame_timeline, sequence=frame[rows]),
                rr.TimeColumn(sink.time_timeline, duration=sim_time[rows]),
                rr.TimeColumn("env_step", sequence=env_step[rows]),
            ]
            if self.global_timeline:
                cols.append(rr.TimeColumn(self.global_timeline, sequence=global_step[rows]))
            return cols

        indexes = time_columns()
        world = np.stack(s.poses)  # (n, rows, 7)
        if len(self.scene.trail_rows):
            self._send_trails(s, world[:, self.scene.trail_rows, 0:3], time_columns)
        poses = self.scene.to_entity_frame(world)
        pos = np.ascontiguousarray(poses[..., 0:3].transpose(1, 0, 2))
        quat = np.ascontiguousarray(poses[..., 3:7].transpose(1, 0, 2))
        for r, entity in enumerate(self.scene.entity_paths):
            stream.send_columns(entity, indexes=indexes, columns=self._pose_columns(pos[r], quat[r]))
        self.scene.send_extras(stream, s.extras, time_columns)
        rows = [i for i, v in enumerate(s.rewards) if v is not None]
        if rows:
            sub = time_columns(rows)
            rew = np.stack([s.rewards[i] for i in rows])  # (m, L)
            for j, env in enumerate(self.logged_envs):
                stream.send_columns(
                    f"{SCALARS_ROOT}/env_{env}/reward", indexes=sub, columns=rr.Scalars.columns(scalars=rew[:, j])
                )
        rows = [i for i, v in enumerate(s.actions) if v is not None]
        if rows:
            sub = time_columns(rows)
            act = np.stack([s.actions[i] for i in rows])  # (m, L, A)
            for j, env in enumerate(self.logged_envs):
                cols = rr.Scalars.columns(scalars=act[:, j, :].reshape(-1)).partition([act.shape[2]] * len(rows))
                stream.send_columns(f"{SCALARS_ROOT}/env_{env}/action", indexes=sub, columns=cols)
        by_env: dict[int, list[_Episode]] = {}
        for ep in s.episodes:
            by_env.setdefault(ep.env, []).append(ep)
        for env, eps in by_env.items():
            for metric, rows_of in (
                ("episode_return", [e for e in eps if e.ret is not None]),
                ("episode_length", eps),
            ):
                if not rows_of:
                    continue
                values = [e.ret if metric == "episode_return" else e.length for e in rows_of]
                entity = f"{SCALARS_ROOT}/env_{env}/{metric}"
                if entity not in s.styled:  # one value per episode: points, visible even when there is one
                    s.styled.add(entity)
                    stream.log(entity, rr.SeriesPoints(marker_sizes=[4.0]), static=True)
                stream.send_columns(
                    entity,
                    indexes=time_columns([e.row for e in rows_of]),
                    columns=rr.Scalars.columns(scalars=values),
                )

    def _send_trails(self, s: _Snippet, points: np.ndarray, time_columns: Callable[[Any], list[rr.TimeColumn]]) -> None:
        """One line segment per trail and frame, from the previous frame's point, none across a reset."""
        n = points.shape[0]
        prev = np.concatenate([s.trail_prev[None] if s.trail_prev is not None else points[:1], points[:-1]])
        jumped = np.zeros((n, len(self.logged_envs)), dtype=bool)
        for i, jump in enumerate(s.jumps):
            if jump is not None:
                jumped[i] = jump
        if s.trail_prev is None:
            jumped[0] = True
        s.trail_prev = points[-1].copy()
        for t, entity in enumerate(self.scene.trail_entities):
            rows = np.nonzero(~jumped[:, self.scene.trail_envs[t]])[0]
            if len(rows) == 0:
                continue
            segments = np.stack([prev[rows, t], points[rows, t]], axis=1)  # (m, 2, 3)
            stream = s.sink.stream
            stream.send_columns(
                entity,
                indexes=time_columns(rows),
                columns=rr.LineStrips3D.columns(strips=segments).partition([1] * len(rows)),
            )

    # ------------------------------------------------------------------ terminal frames
    def _install_reset_hook(self, env: Any) -> None:
        original = getattr(env, "_reset_idx", None)
        if original is None or not callable(original):
            self._warn(
                "hook",
                f"isaac_rerun: {type(env).__name__} has no `_reset_idx`; terminal frames will show post-reset poses",
            )
            return
        recorder = self

        def _reset_idx(*args: Any, **kwargs: Any) -> Any:
            recorder._before_reset()
            return original(*args, **kwargs)

        _reset_idx.__wrapped__ = original  # type: ignore[attr-defined]
        previous = env.__dict__.get("_reset_idx")  # an instance-level hook of someone else, kept on removal
        env._reset_idx = _reset_idx
        self._hooked = (env, _reset_idx, previous)

    def _remove_reset_hook(self) -> None:
        if self._hooked is None:
            return
        env, hook, previous = self._hooked
        self._hooked = None
        if env.__dict__.get("_reset_idx") is hook:
            if previous is None:
                del env._reset_idx  # the class's own method shows through again
            else:
                env._reset_idx = previous

    def _before_reset(self) -> None:
        """Called inside ``env.step()`` just before finished envs are reset: keep their terminal poses if needed."""
        if self._closed or self._snapshot is not None:
            return
        if self.snippet is None:
            if self._pending_trigger is None:
                self._pending_trigger = self.step_trigger is not None and self._call(
                    self.step_trigger, "step_trigger", self.step_id + 1
                )
            if not self._pending_trigger:
                return
        self._snapshot = self._gather()

    @staticmethod
    def _call(trigger: Trigger, name: str, i: int) -> bool:
        """Call a user's trigger; an exception propagates, with a note saying which trigger and id raised it."""
        try:
            return bool(trigger(i))
        except Exception as exc:
            exc.add_note(f"isaac_rerun: raised by {name}({i}) ({getattr(trigger, '__name__', trigger)!r})")
            raise

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def _close_at_exit(ref: weakref.ReferenceType[Recorder]) -> Callable[[], None]:
    """An exit hook that closes the recorder behind ``ref`` if it still exists."""

    def close() -> None:
        recorder = ref()
        if recorder is not None:
            recorder.close()

    return close
