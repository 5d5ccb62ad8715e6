"""The framework-neutral recorder: counters, triggers, snippets, timelines and the flush policy.

An integration (through :class:`~isaac_rerun.session.RecordingSession`) calls, in this order:

1. :meth:`Recorder.begin` once the env has been reset (an episode of the tracked env starts);
2. :meth:`Recorder.iteration_start` before the first step of a training iteration, where the framework has them;
3. :meth:`Recorder.after_step` after every vector ``env.step()`` with that step's done flags (and, optionally,
   rewards, actions and the framework's counters);
4. :meth:`Recorder.end_run` / :meth:`Recorder.close` when a run ends or training fails: the open snippet is finished
   and its file complete (a recorder never closed is closed at interpreter exit; a killed process loses the frames
   buffered since the last flush).

Counters
--------
``step_id``
    Vector steps since :meth:`begin`: 0 for the first ``env.step()`` (or the framework's own step counter, passed as
    ``after_step(step_id=...)``). Passed to ``step_trigger``; the ``env_step`` timeline.
``episode_id``
    Episodes of the **tracked env** (the first of ``logged_envs``): 0 at the first :meth:`begin`, +1 each time the
    tracked env's done flag (``terminated | truncated``) is set or the env is reset again. Passed to
    ``episode_trigger``. Isaac Lab resets finished envs inside ``step()``; ``reset()`` runs once.
``iteration``
    The framework's training iteration (:meth:`iteration_start`), passed to ``iteration_trigger``.

Frames
------
Each step while a snippet is open is one frame: the state at the end of the step **before** the env's auto-reset
moved the finished envs (captured by a hook around the env's ``_reset_idx``). When the tracked env's episode ends, the
snippet also gets the next episode's first frame (after the reset) — or, with ``recording_length=0``, the snippet
ends with the terminal frame and an episode-triggered next snippet starts with that first frame. What a frame holds is
up to the channels (:mod:`isaac_rerun.channels`): the recorder asks each to gather, buffer and send. With an episode
filter or the NaN guard, the rolling history (:mod:`isaac_rerun.history`) also sees every step.

Timelines
---------
Per snippet: ``frame`` (sequence: frame index in the snippet) and ``sim_time`` (duration: env steps since the
snippet started × ``step_dt``; a reset frame shares the time of the terminal frame before it). Global: ``env_step``
(the ``step_id`` above) and, when the integration provides one, the framework's own counter (``timesteps`` for SB3,
``timestep`` for skrl, ``iteration`` for rsl_rl). In a shared stream the per-snippet timelines are prefixed with the
snippet name (``{snippet}_frame``, ``{snippet}_sim_time``).

Flushing
--------
Frames are buffered and sent with ``send_columns`` (one call per entity per flush) every ``flush_every`` frames,
when ``max_latency_s`` has passed since the last send (so a live viewer keeps up), and when the snippet ends.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rerun as rr
import rerun.blueprint as rrb

from isaac_rerun import _compat
from isaac_rerun._util import WarnOnce
from isaac_rerun.channels import Channel, Sample, StepRows, build_channels
from isaac_rerun.channels.scalars import SCALARS_ROOT
from isaac_rerun.config import RecordingCfg
from isaac_rerun.envs import ResetHook
from isaac_rerun.outputs import MetricsLog, Output, Sink
from isaac_rerun.scene import IsaacLabScene
from isaac_rerun.triggers import Trigger, capped_cubic_video_schedule

if TYPE_CHECKING:
    from isaac_rerun.history import History, KeptFrames

__all__ = ["Recorder", "default_blueprint"]


def _flag_view(array: np.ndarray) -> Any:
    """A flat view of per-env flags: a ``memoryview`` for bools (indexing it gives a Python bool, cheaper than a
    numpy scalar on every step), the numpy array otherwise."""
    flat = array.reshape(-1)
    if flat.dtype == np.bool_ and flat.flags.c_contiguous:
        return memoryview(flat.view(np.uint8)).cast("?")
    return flat


def default_blueprint(
    scene_origin: str = "/World",
    *,
    eye: tuple[Any, Any] | None = None,
    trails: Sequence[str] = (),
    frame_timeline: str = "frame",
    envs: Sequence[int] = (),
    instanced: bool = False,
) -> rrb.Blueprint:
    """The layout sent with each recording: the 3D scene beside the per-env scalar plots, on the snippet's frames.

    The plots: reward, action, and (in tabs) episode return and length of each logged env in ``envs`` (one entity
    per signal with a series per env when ``instanced``); with no ``envs``, one plot of everything under
    ``/scalars``. The time panel opens on ``frame_timeline`` (rerun-sdk 0.24+).

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
    instanced:
        The instanced layout's plots (``/scalars/reward`` …).
    """
    if envs:

        def plot(name: str, metric: str) -> rrb.TimeSeriesView:
            per_env = [f"{SCALARS_ROOT}/env_{e}/{metric}" for e in envs]
            contents = [f"{SCALARS_ROOT}/{metric}"] if instanced else per_env
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
class _Snippet:
    sink: Sink
    channels: list[Channel]
    frames: int = 0
    steps: int = 0  # env steps since the snippet started (sim_time = steps * step_dt)
    # time values of the frames buffered since the last flush
    frame_idx: list[int] = field(default_factory=list)
    sim_time: list[float] = field(default_factory=list)
    env_step: list[int] = field(default_factory=list)
    global_step: list[int] = field(default_factory=list)
    last_flush: float = field(default_factory=time.monotonic)
    failed: bool = False
    first_step: int = 0  # env_step of the first frame
    last_step: int = 0  # env_step of the last frame
    trigger: str = "manual"  # why it was recorded: "step", "episode", "iteration", "kept:…", "nan", "manual"
    complete: bool = True  # False: a kept episode longer than the history (its start is missing)
    envs: list[int] | None = None  # its envs, when not the logged envs (a kept episode)


class Recorder:
    """Record snippets of an Isaac Lab scene, on triggers, into an :class:`~isaac_rerun.outputs.Output`.

    Parameters
    ----------
    scene:
        The logged envs (:class:`~isaac_rerun.scene.IsaacLabScene`, or any object with its ``logged_envs``,
        ``env_rows``, ``layout``, ``context()``, ``sample()`` and ``view_eye()``); the first is the tracked env.
    output:
        Where snippets go, or a function returning it: called once every other argument has been validated, so
        that nothing is created or written for invalid arguments.
    cfg:
        The recording options (:class:`~isaac_rerun.config.RecordingCfg` or a dict); the recorder uses the triggers,
        ``recording_length``, the history options, ``name_prefix``, ``log_scalars``, ``flush_every``,
        ``max_latency_s`` and ``verbose``.
    step_dt:
        Seconds of simulated time per env step (physics dt × decimation: ``env.unwrapped.step_dt``).
    global_timeline:
        Name of the framework's own counter timeline (e.g. ``"timesteps"``), or None.
    reset_hook_target:
        The env (``env.unwrapped``) whose ``_reset_idx`` is wrapped, while a run is on, to capture terminal frames;
        None disables it.
    start_run:
        Start a run (:meth:`begin_run`) at once; False leaves it to the caller (a session starts one per
        ``learn()``).
    channels:
        What each frame records; default: the channels the scene's
        :class:`~isaac_rerun.config.SceneLogCfg` turns on (:func:`~isaac_rerun.channels.build_channels`).
    action_dim:
        Actions per env, if known (states the rolling history's memory up front).
    **options:
        Fields of :class:`~isaac_rerun.config.RecordingCfg` given as keyword arguments (override ``cfg``).
    """

    def __init__(
        self,
        scene: IsaacLabScene,
        output: Output | Callable[[], Output],
        cfg: RecordingCfg | Mapping[str, Any] | None = None,
        *,
        step_dt: float,
        global_timeline: str | None = None,
        reset_hook_target: Any = None,
        start_run: bool = True,
        channels: Sequence[Channel] | None = None,
        action_dim: int | None = None,
        **options: Any,
    ):
        cfg = RecordingCfg.coerce(cfg, **options)
        if isinstance(step_dt, bool) or not isinstance(step_dt, (int, float)) or not step_dt > 0:
            raise ValueError(f"`step_dt` must be a positive number of seconds, got {step_dt!r}")
        if global_timeline is not None and (not isinstance(global_timeline, str) or not global_timeline):
            raise ValueError(f"`global_timeline` must be None or a non-empty str, got {global_timeline!r}")
        self.cfg = cfg
        self.scene = scene
        self.step_dt = float(step_dt)
        self.global_timeline = global_timeline
        self.recording_length = cfg.recording_length
        self.name_prefix = cfg.name_prefix
        self.verbose = cfg.verbose
        self.episode_trigger: Trigger | None = cfg.episode_trigger  # type: ignore[assignment]
        self.step_trigger: Trigger | None = cfg.step_trigger  # type: ignore[assignment]
        self.iteration_trigger: Trigger | None = cfg.iteration_trigger  # type: ignore[assignment]
        no_trigger = self.episode_trigger is None and self.step_trigger is None and self.iteration_trigger is None
        if no_trigger and not cfg.history_on:  # with only an episode filter, nothing is recorded before the fact
            self.episode_trigger = capped_cubic_video_schedule
        self.logged_envs = scene.logged_envs
        self.tracked_env = self.logged_envs[0]
        self._warn = WarnOnce()
        self.history: History | None = None
        if cfg.history_on:
            from isaac_rerun.history import History

            self.history = History(scene, cfg, action_dim=action_dim, write=self._write_kept)
        if channels is None:
            channels = build_channels(scene.context(), log_scalars=cfg.log_scalars)
        self.channels: list[Channel] = list(channels)
        try:
            # every argument is valid: only now is the output created (a file or a viewer may appear)
            self.output: Output = output if isinstance(output, Output) else output()
        except BaseException:
            for channel in self.channels:
                channel.close()
            raise
        self.flush_every = cfg.flush_every
        bounds = [c.max_buffered_frames for c in self.channels if c.max_buffered_frames]
        self._flush_at = min([cfg.flush_every, *bounds])
        latency = cfg.max_latency_s
        self.max_latency_s = float(latency) if latency is not None else (0.5 if self.output.live else 30.0)
        self.blueprint: rrb.Blueprint | None = None  # None: default_blueprint framed on the scene at each start
        self.metrics = MetricsLog(self.output, self.name_prefix, global_timeline, self._warn)

        self.run_label = ""  # the run in progress (set by the session)
        self.step_id = -1
        self.episode_id = -1
        self.iteration = -1
        self.global_step = 0
        self.snippet: _Snippet | None = None
        self.finished: list[Sink] = []
        self.on_snippet_finished: list[Callable[[Sink], None]] = []
        self._closed = False
        self._pending: str | bool | None = None  # the snippet due at step `_pending_for` (name), False: none
        self._pending_for = -2
        self._run_on = False  # between begin_run() and end_run()
        self._armed: int | None = None  # an iteration waiting for the tracked env's next episode to start
        self._start_step: int | None = None  # an iteration whose first step starts a snippet
        self._snapshot: list[Any] | None = None
        self._select = scene.env_rows  # the logged envs' rows of per-env arrays (dones, rewards, actions)
        self._flag_views: list[tuple[Any, tuple[int, int], Any] | None] = [None, None]
        self._jumped = np.ones(len(self.logged_envs), dtype=bool)  # a logged env reset since the last captured frame
        self._tracked_only = np.zeros(len(self.logged_envs), dtype=bool)
        self._tracked_only[0] = True
        self._all = np.ones(len(self.logged_envs), dtype=bool)
        self._new_episode_snippet = False  # the last episode start began a snippet
        self._hook_target = reset_hook_target
        self._hook: ResetHook | None = None
        if start_run:
            self.begin_run()
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

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def begin(self, global_step: int | None = None, *, next_step_id: int | None = None) -> None:
        """The env was just reset: episode ``episode_id + 1`` of the tracked env starts (0 the first time).

        ``next_step_id`` sets the id the next vector step gets (default: one more than the last), for integrations
        whose step ids continue across runs (e.g. a resumed rsl_rl run: ``iteration * num_steps_per_env``).
        """
        if self._closed:
            return
        self._snapshot = None
        self._pending, self._pending_for = None, -2  # the step ids may jump (next_step_id): ask the trigger again
        if global_step is not None:
            self.global_step = int(global_step)
        if next_step_id is not None:
            self.step_id = int(next_step_id) - 1
        if self.history is not None:
            self.history.begin()
        self._episode_starts()
        self._jumped[:] = True  # every env was reset
        if self.snippet is not None:
            self._capture(self._gather(), StepRows(started=self._all, jumped=self._jumped.copy(), advance=False))
            self._jumped[:] = False
        self._look_ahead()

    def iteration_start(self, iteration: int) -> None:
        """A training iteration begins (call it before its first ``env.step()``): arms ``iteration_trigger``."""
        self.iteration = int(iteration)
        if self._closed:
            return
        if self.history is not None:
            self.history.iteration_start(self.iteration)
        if self.iteration_trigger is None:
            return
        if not self._call(self.iteration_trigger, "iteration_trigger", self.iteration):
            return
        if self.recording_length > 0:
            self._start_step = self.iteration  # the snippet starts with this iteration's first step
            self._sync_hook()
        else:
            self._armed = self.iteration  # the tracked env's next episode start begins the snippet

    def after_step(
        self,
        dones: Any,
        rewards: Any = None,
        actions: Any = None,
        truncated: Any = None,
        global_step: int | None = None,
        step_id: int | None = None,
        observations: Any = None,
        info: Any = None,
    ) -> None:
        """Account for one vector step that just finished.

        Parameters
        ----------
        dones:
            Per-env done flags (``terminated | truncated``), numpy or torch, shape ``(num_envs,)``; or only the
            ``terminated`` flags when ``truncated`` is given separately.
        rewards, actions:
            Per-env rewards ``(num_envs,)`` and actions ``(num_envs, action_dim)``; logged for the logged envs.
        truncated:
            Per-env time-out flags, when ``dones`` holds only the terminations (Gymnasium / skrl style), or to tell
            time-outs from terminations (the history's episodes).
        global_step:
            The framework's counter after this step (e.g. SB3 ``num_timesteps``).
        step_id:
            The framework's id of this step (default: one more than the last).
        observations, info:
            The step's observations (checked by the NaN guard) and the framework's ``extras`` / ``info`` (an ended
            episode's ``ep.info``); used only when the rolling history is on.
        """
        # the not-recording fast path, kept to a counter, at most one trigger call and one or two flag reads: right
        # after a CPU env.step() every Python operation is slow (cold caches), so nothing else happens here
        sid = self.step_id = self.step_id + 1 if step_id is None else int(step_id)
        if global_step is not None:
            self.global_step = int(global_step)
        if self.snippet is None and self.history is None and self._start_step is None:
            # the step trigger was asked at the previous step, for this one (look-ahead, below)
            due = self._pending if self._pending_for == sid else self._due_step(sid)
            if not due:
                views, tracked = self._flag_views, self.tracked_env
                cached = views[0]
                done = cached[2][tracked] if cached is not None and cached[0] is dones else self._flag(dones, 0)
                if not done:
                    if truncated is not None:
                        cached = views[1]
                        view = cached[2] if cached is not None and cached[0] is truncated else None
                        done = view[tracked] if view is not None else self._flag(truncated, 1)
                    if not done:
                        # look ahead: ask the step trigger for the next step now; the terminal-frame hook is on the
                        # env only for a step that may be recorded (so idle steps pay nothing inside env.step())
                        self._snapshot = None
                        trigger = self.step_trigger
                        if trigger is not None:
                            try:
                                ahead = trigger(sid + 1)
                            except Exception:  # asked again at its own step, where the error is raised
                                self._pending, self._pending_for = None, -2
                                self._sync_hook()
                                return
                            if not ahead:
                                self._pending, self._pending_for = False, sid + 1
                                if self._hook is not None:
                                    self._sync_hook()
                                return
                            self._pending, self._pending_for = f"{self.name_prefix}-step-{sid + 1}", sid + 1
                            self._sync_hook()
                        elif self._hook is not None:
                            self._sync_hook()
                        return
            self._pending, self._pending_for = due, sid
        self._after_step(dones, rewards, actions, truncated, observations, info)
        self._look_ahead()

    def _due_step(self, sid: int) -> str | bool:
        """The name of the snippet the step trigger starts at step ``sid``, or False (the trigger is called once)."""
        trigger = self.step_trigger
        if trigger is None:
            return False
        try:
            return f"{self.name_prefix}-step-{sid}" if trigger(sid) else False
        except Exception as exc:
            exc.add_note(f"isaac_rerun: raised by step_trigger({sid}) ({getattr(trigger, '__name__', trigger)!r})")
            raise

    def _look_ahead(self) -> None:
        """Ask the step trigger about the next step (once), and put the terminal-frame hook on the env if needed."""
        if self._closed:
            return
        nxt = self.step_id + 1
        if self._start_step is not None:
            self._pending, self._pending_for = False, nxt
        elif self._pending_for != nxt:
            self._peek(nxt)
        self._sync_hook()

    def _peek(self, sid: int) -> str | bool | None:
        """Ask the step trigger about step ``sid`` ahead of time. A trigger that raises is asked again at that step
        (the error is raised there, where it belongs); until then the step counts as one that may be recorded."""
        try:
            self._pending = self._due_step(sid)
        except Exception:
            self._pending, self._pending_for = None, -2
            return None
        self._pending_for = sid
        return self._pending

    def _sync_hook(self) -> None:
        """The terminal-frame hook is on the env during a run, for the steps that may be recorded: while a snippet is
        open, when the next step may start one, and always with the rolling history."""
        want = self._run_on and self._hook_target is not None and not self._closed
        want = want and (
            self.snippet is not None
            or self.history is not None
            or self._pending is None  # not known yet: may be recorded
            or bool(self._pending)
            or self._start_step is not None
        )
        if want and self._hook is None:
            self._hook = ResetHook(self._hook_target, self._before_reset, self._warn)
        elif not want and self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _after_step(self, dones: Any, rewards: Any, actions: Any, truncated: Any, observations: Any, info: Any) -> None:
        """The rest of :meth:`after_step` (the counters are already updated)."""
        if self._closed:
            return
        if self.history is not None:
            self.history.after_step(
                dones,
                truncated,
                rewards,
                actions,
                env_step=max(self.step_id, 0),
                global_step=self.global_step,
                iteration=self.iteration,
                info=info,
                observations=observations,
            )
        snapshot, self._snapshot = self._snapshot, None
        due = self._pending if self._pending_for == self.step_id and self._start_step is None else None
        self._pending, self._pending_for = None, -2
        if due is None:
            due = self._due_at(self.step_id)
        if due:
            self.start(due)  # type: ignore[arg-type]
        tracked_done = self._flag(dones, 0) or (truncated is not None and self._flag(truncated, 1))
        if self.snippet is None and not tracked_done:
            return  # the not-recording fast path: a counter, a trigger call and one or two flag reads
        if self.snippet is not None:
            ended = self._select(dones, dtype=bool).reshape(-1)
            if truncated is not None:
                ended |= self._select(truncated, dtype=bool).reshape(-1)
            rows = StepRows(
                rewards=None if rewards is None else self._select(rewards).reshape(-1),
                actions=None if actions is None else self._select(actions).reshape(len(self.logged_envs), -1),
                ended=ended,
                jumped=self._jumped.copy(),
            )
            self._capture(snapshot if snapshot is not None else self._gather(), rows)
            self._jumped = ended.copy()
            if self.recording_length and self.snippet is not None and self.snippet.frames >= self.recording_length:
                self.stop()
        if tracked_done:
            self._episode_starts()
            if self.snippet is not None:
                reset = StepRows(started=self._starts(), jumped=self._jumped.copy(), advance=False)
                self._capture(self._gather(), reset)
                self._jumped[:] = False
                if self.recording_length and self.snippet.frames >= self.recording_length:
                    self.stop()

    def log_metrics(self, metrics: Mapping[str, Any], *, global_step: int | None = None) -> None:
        """Log training metrics (e.g. ``{"rollout/ep_rew_mean": 12.3}``) at the current global counters.

        They go to ``/train/<name>`` in the output's metrics stream (``{prefix}-metrics.rrd`` for a folder output),
        on the ``env_step`` timeline and the framework's own (``global_timeline``). Non-numeric values are skipped.
        """
        if self._closed or not metrics:
            return
        if global_step is not None:
            self.global_step = int(global_step)
        self.metrics.log(metrics, env_step=max(self.step_id, 0), global_step=self.global_step)

    def start(self, name: str, *, trigger: str | None = None) -> None:
        """Start a snippet (finishing the open one first). ``trigger`` says why (default: from the name)."""
        if self.snippet is not None:
            self.stop()
        self.snippet = self._open(name, self.channels, trigger=trigger or _trigger_of(name), first_step=self.step_id)
        self._sync_hook()

    def stop(self) -> None:
        """Finish the open snippet: send what is buffered and complete its file."""
        snippet, self.snippet = self.snippet, None
        if snippet is not None:
            self._finish(snippet)

    def flush(self) -> None:
        """Send the buffered frames and metrics to the output now (the files stay open)."""
        if self.snippet is not None:
            self._flush(self.snippet)
            with contextlib.suppress(Exception):
                _compat.flush(self.snippet.sink.stream)
        self.metrics.flush()

    def begin_run(self) -> None:
        """A run (``learn()`` …) starts: the terminal-frame hook may go on the env again (:meth:`_sync_hook`)."""
        self._run_on = True
        self._look_ahead()

    def end_run(self) -> None:
        """A run ends: finish the open snippet, complete the run's metrics file, take the hook off the env.

        The recorder stays usable: the next :meth:`begin_run` continues the counters.
        """
        self.stop()
        if self.history is not None:
            self.history.close()  # decide the open window while its episodes are still kept
        self._pending, self._pending_for = None, -2
        self._snapshot = None
        self._armed = self._start_step = None
        self.metrics.finish()
        self._run_on = False
        self._sync_hook()

    def close(self) -> None:
        """Finish the open snippet, release the output, the channels and the reset hook. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.end_run()
        finally:
            atexit.unregister(self._close_at_exit)
            for channel in self.channels:
                channel.close()
            try:
                self.output.close()
            except Exception as exc:  # e.g. a viewer's gRPC server went away: its final flush raises
                # same key as a failed finish: one warning for one fault (the snippets' finish fails the same way)
                self._warn("finish", f"isaac_rerun: could not close the output cleanly ({exc!r})")

    # ------------------------------------------------------------------ snippets
    def _open(
        self,
        name: str,
        channels: list[Channel],
        *,
        trigger: str,
        first_step: int,
        scene: Any = None,
        static: bool | None = None,
        complete: bool = True,
        envs: list[int] | None = None,
    ) -> _Snippet | None:
        """Open a snippet's sink and log its blueprint and static data (``static``: default, once per stream)."""
        scene = self.scene if scene is None else scene
        try:
            sink = self.output.open(name)
        except Exception as exc:  # disk full, viewer gone … — training goes on
            self._warn("open", f"isaac_rerun: could not open recording {name!r} ({exc!r}); recording skipped")
            return None
        snippet = _Snippet(sink, channels, trigger=trigger, first_step=max(first_step, 0), complete=complete, envs=envs)
        try:
            static = not sink.static_logged if static is None else static
            if static:
                blueprint = self.blueprint
                if blueprint is None:
                    blueprint = default_blueprint(
                        eye=scene.view_eye(scene.sample().poses),
                        trails=[e for c in channels for e in getattr(c, "entities", []) if "/trails/" in e],
                        frame_timeline=sink.frame_timeline,
                        envs=scene.logged_envs,
                        instanced=scene.layout == "instanced",
                    )
                _compat.send_blueprint(sink.stream, blueprint, self.output.application_id)
            for channel in channels:
                channel.start(sink.stream, static=static)
            sink.static_logged = True
            self._properties(snippet)
        except Exception as exc:
            self._warn("static", f"isaac_rerun: could not log the scene's visuals to {name!r} ({exc!r})")
        return snippet

    def _finish(self, snippet: _Snippet) -> Path | None:
        """Send what is buffered, describe the snippet and complete its file."""
        self._flush(snippet)
        if not snippet.failed:
            try:
                self._properties(snippet, final=True)
            except Exception as exc:
                self._warn("properties", f"isaac_rerun: could not describe recording {snippet.sink.name!r} ({exc!r})")
        try:
            self.output.finish(snippet.sink)
        except Exception as exc:
            self._warn("finish", f"isaac_rerun: could not finish recording {snippet.sink.name!r} ({exc!r})")
            return None
        self.finished.append(snippet.sink)
        if self.verbose >= 1:
            where = snippet.sink.path if snippet.sink.path is not None else "the recording stream"
            print(f"isaac_rerun: saved {snippet.sink.name} ({snippet.frames} frames) to {where}")
        for cb in self.on_snippet_finished:
            cb(snippet.sink)
        return snippet.sink.path

    def _write_kept(self, kept: KeptFrames) -> Path | str | None:
        """Write frames the rolling history kept (an episode of one env, or its last frames before NaNs)."""
        scene = self.scene.for_envs([kept.env], layout="per_env")
        poses = scene.rows_from_assets(kept.parts).astype(np.float32)  # (F, rows, 7)
        shift = None
        if scene.cfg.env_layout == "origin":
            shift = scene.env_origins()
            poses[..., 0:3] -= shift[scene.row_envs][None]
        channels = build_channels(scene.context(), log_scalars=self.cfg.log_scalars, history=True)
        name = f"{self.name_prefix}{kept.name[len(self.cfg.name_prefix) :]}"  # with the run's label
        # visuals always: the kept env's bodies may be new to a shared stream
        snippet = self._open(
            name,
            channels,
            trigger=kept.trigger,
            first_step=kept.env_steps[0],
            scene=scene,
            static=True,
            complete=kept.complete,
            envs=[kept.env],
        )
        if snippet is None:
            return None
        for i, step in enumerate(kept.steps):
            sample = Sample(poses[i], shift)
            self.global_step, global_step = kept.global_steps[i], self.global_step
            self._capture([c.gather(sample) for c in channels], step, snippet, env_step=kept.env_steps[i])
            self.global_step = global_step
        path = self._finish(snippet)
        return path if path is not None else name

    def _properties(self, s: _Snippet, *, final: bool = False) -> None:
        """Describe the snippet in its recording's properties (``/__properties/{name}``), read by ``isaac-rerun ls``:
        why it was recorded, which envs, and (once finished) its frames, time span and whole episodes."""
        values: dict[str, Any] = {
            "trigger": s.trigger,
            "envs": list(s.envs if s.envs is not None else self.logged_envs),
            "run": self.run_label,
            "name_prefix": self.name_prefix,
            "step_dt": self.step_dt,
            "first_env_step": s.first_step,
            "complete": s.complete,
        }
        if final:
            values.update(frames=s.frames, sim_time=s.steps * self.step_dt, last_env_step=s.last_step)
            for channel in s.channels:
                values.update(channel.summary())
        _compat.send_properties(s.sink.stream, s.sink.name, values)

    # ------------------------------------------------------------------ triggers
    def _due_at(self, step_id: int) -> str | bool:
        """The name of the snippet that starts at step ``step_id`` (an iteration's or the step trigger's), or False."""
        if self._start_step is not None:
            it, self._start_step = self._start_step, None
            return f"{self.name_prefix}-iteration-{it}"
        if self.step_trigger is not None and self._call(self.step_trigger, "step_trigger", step_id):
            return f"{self.name_prefix}-step-{step_id}"
        return False

    def _episode_starts(self) -> None:
        """An episode of the tracked env starts: count it, finish a whole-episode snippet, maybe start one."""
        self.episode_id += 1
        if self.snippet is not None and self.recording_length == 0:
            self.stop()
        name = None
        if self.episode_trigger is not None and self._call(self.episode_trigger, "episode_trigger", self.episode_id):
            name = f"{self.name_prefix}-episode-{self.episode_id}"
        if self._armed is not None:  # an iteration's episode; one snippet if the episode trigger picked it too
            name, self._armed = f"{self.name_prefix}-iteration-{self._armed}", None
        self._new_episode_snippet = name is not None
        if name is not None:
            self.start(name)

    def _starts(self) -> np.ndarray | None:
        """Envs seen from their episode's start on a reset frame: the tracked env if its episode starts a snippet."""
        return self._tracked_only if self._new_episode_snippet else None

    def _flag(self, flags: Any, slot: int) -> bool:
        """The tracked env's flag in a per-env array.

        Isaac Lab updates its done buffers in place and hands out the same tensor every step: its numpy view is
        cached while the same tensor comes back (one identity check and one index). skrl hands out fresh views of
        the same memory: the view is kept while the memory is the same (a torch index + ``bool`` costs ~2 µs).
        """
        cached = self._flag_views[slot]
        if cached is not None and cached[0] is flags:
            return bool(cached[2][self.tracked_env])
        if isinstance(flags, np.ndarray):
            return bool(flags.reshape(-1)[self.tracked_env])
        if getattr(flags, "is_cpu", False) and flags.is_contiguous():
            key = (flags.data_ptr(), flags.numel())
            view = cached[2] if cached is not None and cached[1] == key else _flag_view(flags.detach().numpy())
            # keep the tensor: its memory cannot be reused by another one while we hold the view
            self._flag_views[slot] = (flags, key, view)
            return bool(view[self.tracked_env])
        return bool(flags.reshape(-1)[self.tracked_env])

    # ------------------------------------------------------------------ frames
    def _gather(self) -> list[Any]:
        """This frame's data of every channel, read from the simulator now."""
        sample = self.scene.sample()
        return [channel.gather(sample) for channel in self.channels]

    def _capture(
        self, gathered: list[Any], step: StepRows, s: _Snippet | None = None, *, env_step: int | None = None
    ) -> None:
        s = self.snippet if s is None else s
        assert s is not None
        if step.advance:
            s.steps += 1
        row = len(s.frame_idx)
        s.frame_idx.append(s.frames)
        s.sim_time.append(s.steps * self.step_dt)
        s.env_step.append(max(self.step_id, 0) if env_step is None else env_step)
        s.global_step.append(self.global_step)
        for channel, data in zip(s.channels, gathered, strict=True):
            channel.append(row, data, step)
        s.frames += 1
        s.last_step = s.env_step[-1]
        if len(s.frame_idx) >= self._flush_at or time.monotonic() - s.last_flush >= self.max_latency_s:
            self._flush(s)

    def _flush(self, s: _Snippet) -> None:
        if not s.frame_idx:
            return
        if not s.failed:
            try:
                self._send(s)
            except Exception as exc:  # a full disk or a vanished viewer must not stop training
                s.failed = True
                self._warn("send", f"isaac_rerun: recording {s.sink.name!r} failed ({exc!r}); it stops here")
        if s.failed:
            for channel in s.channels:
                channel.clear()
        s.frame_idx, s.sim_time, s.env_step, s.global_step = [], [], [], []
        s.last_flush = time.monotonic()

    def _send(self, s: _Snippet) -> None:
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

    # ------------------------------------------------------------------ terminal frames
    def _before_reset(self) -> None:
        """Called inside ``env.step()`` just before finished envs are reset: keep the frame if it will be recorded."""
        if self._closed:
            return
        if self.history is not None:
            self.history.before_reset()
        if self._snapshot is not None:
            return
        if self.snippet is None:
            sid = self.step_id + 1
            if self._pending_for != sid:
                self._pending, self._pending_for = self._due_at(sid), sid
            if not self._pending:
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


_TRIGGER = re.compile(r"-(step|episode|iteration)-\d+$")


def _trigger_of(name: str) -> str:
    """The trigger a snippet name says (``…-step-12`` → ``"step"``), ``"manual"`` for other names."""
    m = _TRIGGER.search(name)
    return m.group(1) if m else "manual"


def _close_at_exit(ref: weakref.ReferenceType[Recorder]) -> Callable[[], None]:
    """An exit hook that closes the recorder behind ``ref`` if it still exists."""

    def close() -> None:
        recorder = ref()
        if recorder is not None:
            recorder.close()

    return close
