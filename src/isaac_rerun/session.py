"""A recording session: what one integration object records across its runs, and what it must finish.

A session is made from a :class:`~isaac_rerun.config.RecordingCfg` before training starts; it is attached to the
Isaac Lab env once the env is known (building the scene layout, the output and the recorder), and then sees **runs**:
each ``learn()`` / ``train()`` / ``eval()`` call.

* Counters continue from run to run (step and episode ids, the framework's global counter).
* Runs are labelled: the first ``train`` run has no label, later ones ``train2``, ``train3`` …, the first ``eval`` run
  ``eval``, then ``eval2`` …. A labelled run's snippets are named ``{name_prefix}-{label}-…`` and its metrics go to
  ``{name_prefix}-{label}-metrics.rrd`` (or under ``/train/{label}`` in a stream), so nothing is overwritten.
* Each run ends with complete files: the open snippet is finished and the run's metrics file closed.
* :meth:`RecordingSession.close` releases what the session made (its output, the env hooks); it never closes what
  the user passed in (their recording stream) beyond flushing it.
* A ``SIGTERM`` (what cluster schedulers send before they kill a job at its time limit) finishes every open session
  like Ctrl-C does, then lets the signal do what it did before: the previous handler runs (a Python handler is
  called; the default one terminates the process with the same signal; an ignored signal stays ignored). One that
  arrives while a session is already finishing its files (a run that raised, e.g. a rank whose peer died) waits for
  that finishing, then is handled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from isaac_rerun.config import RecordingCfg
from isaac_rerun.envs import application_id_of, find_isaac_env, step_dt_of
from isaac_rerun.outputs import Output, Sink, output_for
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene

__all__ = ["RecordingHandle", "RecordingSession"]


class RecordingSession:
    """What one integration object records across its runs (see the module docstring).

    Parameters
    ----------
    cfg:
        The recording options (validated already).
    global_timeline:
        The framework's own counter timeline (``"timesteps"`` for SB3, ``"timestep"`` for skrl, ``"iteration"``
        for rsl_rl), or None.
    """

    def __init__(self, cfg: RecordingCfg, *, global_timeline: str | None = None):
        self.cfg = cfg
        self.global_timeline = global_timeline
        self.recorder: Recorder | None = None
        self.env: Any = None
        self.label: str | None = None  # the run in progress (None between runs)
        self.closed = False
        self._runs: dict[str, int] = {}
        self._kind = "train"
        self._written: tuple[int, int] = (0, 0)

    # ------------------------------------------------------------------ set-up
    def attach(
        self,
        env: Any,
        *,
        log_folder: str | os.PathLike[str] | None = None,
        reset_hook: bool = True,
        argument: str = "env",
    ) -> Recorder:
        """Build the recorder for the Isaac Lab env behind ``env`` (once; later calls check it is the same env).

        ``log_folder``: where the framework writes its logs for this run (the default output's
        ``{log_folder}/rerun``). ``reset_hook``: catch terminal frames with a hook on ``_reset_idx`` (only when the
        recorder sees every step).
        """
        if self.closed:
            raise RuntimeError("this recording was closed; create a new one")
        base = find_isaac_env(env, argument)
        if self.recorder is not None:
            if base is not self.env:
                raise ValueError(
                    f"`{argument}` changed: this recording records the Isaac Lab env it was first used with; "
                    "use a new one for another env"
                )
            return self.recorder
        cfg = self.cfg
        scene = IsaacLabScene(base.scene, cfg.logged_envs, cfg=cfg.scene_log_cfg, env=base)  # checks logged_envs
        app_id = application_id_of(base)
        self.recorder = Recorder(
            scene,
            lambda: output_for(cfg, application_id=app_id, log_folder=log_folder),
            cfg,
            step_dt=step_dt_of(base),
            global_timeline=self.global_timeline,
            reset_hook_target=base if reset_hook else None,
            start_run=False,
        )
        self.env = base
        _SIGTERM.add(self)
        return self.recorder

    @property
    def output(self) -> Output | None:
        """Where the recording goes (None before :meth:`attach`)."""
        return self.recorder.output if self.recorder is not None else None

    # ------------------------------------------------------------------ runs
    def begin_run(self, kind: str = "train") -> str:
        """A run starts; returns its label (``""``, ``"train2"``, ``"eval"`` …). Ends a run still in progress."""
        if self.label is not None:
            self.end_run()
        n = self._runs[kind] = self._runs.get(kind, 0) + 1
        label = ("" if kind == "train" else kind) if n == 1 else f"{kind}{n}"
        self.label, self._kind = label, kind
        self._written = self._output_count()
        if self.recorder is not None:
            self.recorder.name_prefix = f"{self.cfg.name_prefix}-{label}" if label else self.cfg.name_prefix
            self.recorder.run_label = label
            self.recorder.metrics.set_run(label)
            self.recorder.begin_run()
        return label

    def end_run(self) -> None:
        """The run ends (returned or raised): its open snippet is finished and its metrics file complete.

        A run that recorded nothing (e.g. it failed at once) gives its label back to the next run of its kind.
        """
        if self.label is None:
            return
        self.label = None
        with _SIGTERM.finishing_files():
            if self.recorder is not None:
                self.recorder.end_run()
        if self._output_count() == self._written:
            self._runs[self._kind] -= 1

    def _output_count(self) -> tuple[int, int]:
        """How many snippets and metrics files were made so far."""
        if self.recorder is None:
            return (0, 0)
        return (len(self.recorder.finished), self.recorder.metrics.opened)

    @contextlib.contextmanager
    def run(self, kind: str = "train") -> Iterator[Recorder | None]:
        """``with session.run("train"):`` — :meth:`begin_run`, then :meth:`end_run` however the block ends."""
        self.begin_run(kind)
        try:
            yield self.recorder
        finally:
            self.end_run()

    # ------------------------------------------------------------------ the end
    def close(self) -> None:
        """Finish a run in progress and release the output, the channels and the env hooks. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.label = None
        with _SIGTERM.finishing_files():
            if self.recorder is not None:
                self.recorder.close()
            _SIGTERM.discard(self)  # after: the last session's discard puts the previous handler back

    def flush(self) -> None:
        """Send what is buffered to the files (on a ``SIGTERM`` that a handler of the program survives: the run goes
        on, and its files get their footers when it ends)."""
        if self.recorder is not None and not self.recorder.closed:
            self.recorder.flush()

    @property
    def finished(self) -> list[Sink]:
        """The snippets finished so far, oldest first."""
        return [] if self.recorder is None else list(self.recorder.finished)

    @property
    def paths(self) -> list[Path]:
        """The files of the snippets finished so far that still exist (``keep_last`` removes old ones)."""
        return [s.path for s in self.finished if s.path is not None and s.path.exists()]

    @property
    def metrics_paths(self) -> list[Path]:
        """The training-metrics files, one per run (folder output), oldest first."""
        return list(getattr(self.output, "metrics_paths", []))


class RecordingHandle:
    """What every integration object tells about its recording (its :attr:`session`)."""

    session: RecordingSession

    @property
    def recorder(self) -> Recorder | None:
        """The :class:`~isaac_rerun.recorder.Recorder` (None before the env is known)."""
        return self.session.recorder

    @property
    def finished(self) -> list[Sink]:
        """The snippets finished so far, oldest first."""
        return self.session.finished

    @property
    def paths(self) -> list[Path]:
        """The snippet files written so far (that still exist), oldest first."""
        return self.session.paths

    @property
    def metrics_paths(self) -> list[Path]:
        """The training-metrics files written so far, one per run (folder output)."""
        return self.session.metrics_paths

    def close(self) -> None:
        """Finish what is open and release the output (files complete when this returns). Safe to call twice."""
        self.session.close()


class _SigtermHandler:
    """Finishes the open sessions on ``SIGTERM``, then hands the signal to the handler that was there before."""

    def __init__(self) -> None:
        self.sessions: weakref.WeakSet[RecordingSession] = weakref.WeakSet()
        self.previous: Any = None
        self.installed = False
        self.lock = threading.Lock()
        self.finishing = 0
        """How many sessions are finishing their files on the main thread (a signal waits for them)."""
        self.pending: int | None = None
        """A signal that arrived while they were."""

    @contextlib.contextmanager
    def finishing_files(self) -> Iterator[None]:
        """A session finishes its files (a run's end, ``close``): a ``SIGTERM`` that arrives meanwhile is handled when
        they are finished. Handled at once, it would cut the finishing short where it was (a file taken off its
        holder but not yet closed gets no footer): what a rank whose step raised because a peer died meets when
        torchrun's ``SIGTERM`` follows."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers run on the main thread only: nothing to hold back
            return
        self.finishing += 1
        try:
            yield
        finally:
            self.finishing -= 1
            if not self.finishing and self.pending is not None:
                signum, self.pending = self.pending, None
                self.handle(signum, None)

    def add(self, session: RecordingSession) -> None:
        with self.lock:
            self.sessions.add(session)
            if self.installed or threading.current_thread() is not threading.main_thread():
                return  # signal handlers can only be set from the main thread
            try:
                self.previous = signal.signal(signal.SIGTERM, self.handle)
            except (ValueError, OSError):  # not the main interpreter, or no SIGTERM on this platform
                return
            self.installed = True

    def discard(self, session: RecordingSession) -> None:
        with self.lock:
            self.sessions.discard(session)
            if self.sessions or not self.installed:
                return
            self.installed = False
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signal.SIGTERM) == self.handle:
                    signal.signal(signal.SIGTERM, self.previous if self.previous is not None else signal.SIG_DFL)

    def handle(self, signum: int, frame: Any) -> None:
        if self.finishing:
            self.pending = signum
            return
        previous = self.previous
        dies = previous in (signal.SIG_DFL, None)
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                # the process is going away: close (files get their footers); else flush and go on recording
                if dies:
                    session.close()
                else:
                    session.flush()
        if callable(previous):
            previous(signum, frame)
        elif dies:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)  # terminate as the default handler would have


_SIGTERM = _SigtermHandler()
