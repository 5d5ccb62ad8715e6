"""The recorder: drives the schedule from each env step, gathers the channels' frames and hands them to the writer.

An integration (through :class:`~isaac_rerun.session.RecordingSession`) calls, in this order:

1. :meth:`Recorder.begin` once the env has been reset (an episode of the tracked env starts);
2. :meth:`Recorder.iteration_start` before the first step of a training iteration, where the framework has them;
3. :meth:`Recorder.after_step` after every vector ``env.step()`` with that step's done flags (and, optionally,
   rewards, actions and the framework's counters);
4. :meth:`Recorder.end_run` / :meth:`Recorder.close` when a run ends or training fails: the open snippet is finished
   and its file complete (a recorder never closed is closed at interpreter exit; a killed process loses the frames
   buffered since the last flush).

Data flows one way: the framework's hook → :class:`~isaac_rerun.schedule.Schedule` (counters, triggers, which
frames are recorded) → the channels gather (:mod:`isaac_rerun.channels`) → :class:`~isaac_rerun.snippets.SnippetWriter`
buffers and sends. Each frame is the state at the end of the step **before** the env's auto-reset moved the finished
envs (captured by a hook around the env's ``_reset_idx``); when the tracked env's episode ends, the snippet also gets
the next episode's first frame. Counters, trigger semantics and the look-ahead: :mod:`isaac_rerun.schedule`; timelines,
flushing and properties: :mod:`isaac_rerun.snippets`; the rolling history: :mod:`isaac_rerun.history`.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isaac_rerun._util import WarnOnce, close_at_exit
from isaac_rerun.blueprint import BlueprintCache
from isaac_rerun.channels import Channel, build_channels
from isaac_rerun.config import RecordingCfg
from isaac_rerun.envs import ResetHook
from isaac_rerun.frames import FrameTaker
from isaac_rerun.outputs import MetricsLog, Output, Sink
from isaac_rerun.scene import IsaacLabScene
from isaac_rerun.schedule import Schedule
from isaac_rerun.snippets import Snippet, SnippetWriter, snippet_facts

if TYPE_CHECKING:
    from isaac_rerun.history import History, KeptFrames

__all__ = ["Recorder"]


class Recorder:
    """Record snippets of an Isaac Lab scene, on triggers, into an :class:`~isaac_rerun.outputs.Output`.

    Parameters
    ----------
    scene:
        The logged envs (:class:`~isaac_rerun.scene.IsaacLabScene`); the first is the tracked env.
    output:
        Where snippets go, or a function returning it: called once every other argument has been validated, so
        that nothing is created or written for invalid arguments.
    cfg:
        The recording options (:class:`~isaac_rerun.config.RecordingCfg` or a dict).
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
        What each frame records; default: what the configuration asks for
        (:func:`~isaac_rerun.channels.build_channels`).
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
        self.name_prefix = cfg.name_prefix
        self.run_label = ""  # the run in progress (set by the session)
        self.logged_envs = scene.logged_envs
        self.tracked_env = self.logged_envs[0]
        self._warn = WarnOnce()
        self.schedule = Schedule(
            self,
            episode_trigger=cfg.effective_episode_trigger,
            step_trigger=cfg.step_trigger,  # type: ignore[arg-type]
            iteration_trigger=cfg.iteration_trigger,  # type: ignore[arg-type]
            recording_length=cfg.recording_length,
            always_hooked=cfg.history_on,
        )
        self.channels: list[Channel] = list(channels) if channels is not None else build_channels(scene.context(), cfg)
        self.history: History | None = None
        try:
            if cfg.history_on:
                from isaac_rerun.history import History

                self.history = History(
                    scene, cfg, action_dim=action_dim, write=self._write_kept, channels=self.channels
                )
            # every argument is valid: only now is the output created (a file or a viewer may appear)
            self.output: Output = output if isinstance(output, Output) else output()
        except BaseException:
            for channel in self.channels:
                channel.close()
            raise
        self.writer = SnippetWriter(
            self.output,
            step_dt=self.step_dt,
            global_timeline=global_timeline,
            flush_every=cfg.flush_every,
            max_latency_s=cfg.max_latency_s,
            verbose=cfg.verbose,
            warn=self._warn,
        )
        self.layout = BlueprintCache(self.channels)
        self.metrics = MetricsLog(self.output, self.name_prefix, global_timeline, self._warn)
        self.global_step = 0
        self.snippet: Snippet | None = None
        self._closed = False
        self._hook_target = reset_hook_target
        self._hook: ResetHook | None = None
        self._step: tuple[Any, ...] = ()  # (terminal frame, dones, rewards, actions, truncated) of the step
        self._manual: tuple[str, str] | None = None  # a snippet started by name (start())
        self._select = scene.env_rows  # the logged envs' rows of per-env arrays (dones, rewards, actions)
        view = getattr(scene, "env_view", None)
        reasons = view.termination_reasons if "terminations" in cfg.builtin_signals and view else None
        self.frames = FrameTaker(scene.sample, self.channels, self._select, reasons)
        if start_run:
            self.begin_run()
        self._close_at_exit = close_at_exit(self)  # a recorder never closed still finishes its snippet at exit

    # ------------------------------------------------------------------ counters (the schedule's)
    @property
    def step_id(self) -> int:
        """Vector steps since :meth:`begin` (:mod:`isaac_rerun.schedule`)."""
        return self.schedule.step_id

    @property
    def episode_id(self) -> int:
        """Episodes of the tracked env (:mod:`isaac_rerun.schedule`)."""
        return self.schedule.episode_id

    @property
    def iteration(self) -> int:
        return self.schedule.iteration

    @property
    def recording(self) -> bool:
        """True while a snippet is open."""
        return self.snippet is not None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    @property
    def finished(self) -> list[Sink]:
        """The snippets finished so far, oldest first."""
        return self.writer.finished

    @property
    def on_snippet_finished(self) -> list[Callable[[Sink], None]]:
        """Called with each finished snippet's sink."""
        return self.writer.on_finished

    # ------------------------------------------------------------------ the framework's events
    def begin(self, global_step: int | None = None, *, next_step_id: int | None = None) -> None:
        """The env was just reset: episode ``episode_id + 1`` of the tracked env starts (0 the first time).

        ``next_step_id`` sets the id the next vector step gets (default: one more than the last), for integrations
        whose step ids continue across runs (e.g. a resumed rsl_rl run: ``iteration * num_steps_per_env``).
        """
        if self._closed:
            return
        if global_step is not None:
            self.global_step = int(global_step)
        if self.history is not None:
            self.history.begin()
        self.frames.env_reset(started=True)  # every env was reset: each is seen from its start
        self.schedule.begin(next_step_id)
        self.frames.env_reset(started=False)

    def iteration_start(self, iteration: int) -> None:
        """A training iteration begins (call it before its first ``env.step()``): arms ``iteration_trigger``."""
        if self.history is not None and not self._closed:
            self.history.iteration_start(int(iteration))
        self.schedule.iteration_start(iteration)

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
        # the idle path: one flag read, a counter and at most one trigger call (right after a CPU env.step()
        # every Python operation is slow: cold caches)
        if global_step is not None:
            self.global_step = int(global_step)
        select = self._select
        pair = select.pair  # the tracked env's done flag: Isaac Lab hands out the same buffers every step
        if pair[0] is dones and pair[2] is truncated:
            ended = pair[1][select.first] or (pair[3] is not None and pair[3][select.first])
        else:
            ended = select.done(dones, truncated)
        done = self.schedule.count(step_id, ended)
        if done is None:  # nothing open or due (and so no terminal frame gathered), the tracked env not done
            return
        terminal = self.frames.take_terminal()
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
        self._step = (terminal, dones, rewards, actions, truncated)
        self.schedule.step(done)
        self._step = ()

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

    # ------------------------------------------------------------------ snippets and runs
    def start(self, name: str, *, trigger: str = "manual") -> None:
        """Start a snippet named ``name`` now (finishing the open one); ``trigger`` says why (its properties)."""
        self._manual = (name, trigger)
        try:
            self.schedule.start(trigger, -1)
        finally:
            self._manual = None

    def stop(self) -> None:
        """Finish the open snippet: send what is buffered and complete its file."""
        self.schedule.stop()

    def flush(self) -> None:
        """Send the buffered frames and metrics to the output now (the files stay open)."""
        if self.snippet is not None:
            self.writer.flush(self.snippet, sync=True)
        self.metrics.flush()

    def begin_run(self) -> None:
        """A run (``learn()`` …) starts: the terminal-frame hook may go on the env again."""
        self.schedule.begin_run()

    def end_run(self) -> None:
        """A run ends: finish the open snippet, complete the run's metrics file, take the hook off the env.

        The recorder stays usable: the next :meth:`begin_run` continues the counters.
        """
        self.schedule.stop()
        if self.history is not None:
            self.history.close()  # decide the open window while its episodes are still kept
        self.frames.take_terminal()
        self.metrics.finish()
        self.schedule.end_run()

    def close(self) -> None:
        """Finish the open snippet, release the output, the channels and the reset hook. Safe to call twice."""
        if self._closed:
            return
        try:
            self.end_run()
        finally:
            self._closed = True
            self.schedule.close()
            atexit.unregister(self._close_at_exit)
            for channel in self.channels:
                channel.close()
            try:
                self.output.close()
            except Exception as exc:  # e.g. a viewer's gRPC server went away: its final flush raises
                self._warn("finish", f"isaac_rerun: could not close the output cleanly ({exc!r})")

    # ------------------------------------------------------------------ what the schedule asks for (Actions)
    def start_snippet(self, trigger: str, ident: int) -> bool:
        name, trigger = self._manual if self._manual is not None else (f"{self.name_prefix}-{trigger}-{ident}", trigger)
        facts = snippet_facts(trigger, ident, self.logged_envs, self.step_id, **self._run_facts())
        scene = self.scene
        self.snippet = self.writer.open(
            name, self.channels, facts, layout=self.layout, eye=lambda: scene.view_eye(scene.sample().poses)
        )
        return self.snippet is not None

    def stop_snippet(self) -> None:
        snippet, self.snippet = self.snippet, None
        if snippet is not None:
            self.writer.finish(snippet)

    def frame(self, reset: bool) -> None:
        """Record the step's frame (from :meth:`after_step`'s arguments) or the reset frame after it."""
        snippet = self.snippet
        if snippet is None:
            return
        if reset:
            gathered, rows = self.frames.reset_frame(tracked_started=self.schedule.episode_snippet)
        else:
            gathered, rows = self.frames.step_frame(*self._step)
        self.writer.capture(snippet, gathered, rows, env_step=max(self.step_id, 0), global_step=self.global_step)

    def hook(self, on: bool) -> None:
        """Put the terminal-frame hook on the env, or take it off."""
        if on and self._hook is None and self._hook_target is not None:
            self._hook = ResetHook(self._hook_target, self._before_reset, self._warn)
        elif not on and self._hook is not None:
            self._hook.remove()
            self._hook = None

    # ------------------------------------------------------------------ inside
    def _before_reset(self) -> None:
        """Inside ``env.step()`` just before finished envs are reset: keep the frame if it will be recorded."""
        if self._closed:
            return
        if self.history is not None:
            self.history.before_reset()
        self.frames.keep_terminal(self.schedule.terminal_frame_wanted)

    def _run_facts(self) -> dict[str, Any]:
        return {"run": self.run_label, "name_prefix": self.name_prefix, "iteration": self.iteration}

    def _write_kept(self, kept: KeptFrames) -> Path | str | None:
        """Write frames the rolling history kept (an episode of one env, or its last frames before NaNs)."""
        from isaac_rerun.kept import write_kept

        facts = snippet_facts(
            kept.trigger, kept.ident, [kept.env], kept.env_steps[0], complete=kept.complete, **self._run_facts()
        )
        return write_kept(
            kept, self.scene, self.cfg, self.channels, self.writer, f"{self.name_prefix}-{kept.name}", facts
        )
