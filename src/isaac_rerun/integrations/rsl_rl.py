"""rsl_rl: :class:`RerunRunnerMixin` records an Isaac Lab scene to Rerun while an rsl_rl runner trains.

Mix it in front of ``OnPolicyRunner`` or ``DistillationRunner``; ``learn()`` is wrapped, not copied: during each
``learn()`` call (one run of the session, :mod:`isaac_rerun.session`) the runner's env instance gets a ``step`` that
hands each step to the recorder, and the runner's ``Logger`` a ``log`` that copies what rsl_rl writes to its writer
(TensorBoard, W&B, Neptune, any ``LogWriter``) for that iteration into the metrics.

Counters: ``step_id`` (``env_step``) is ``iteration * num_steps_per_env + k`` for the ``k``-th ``env.step()`` of
rsl_rl's learning iteration ``iteration`` — the number it prints ("Learning iteration 42/1500"), uses as the
TensorBoard step and in ``model_42.pt`` (the ``iteration`` timeline; ``iteration_trigger``). rsl_rl starts the next
``learn()`` at the last finished iteration, so a continued or resumed run repeats that iteration's number and step
ids, as rsl_rl's own logs do. ``episode_id`` counts the tracked env's episodes from its ``dones``, continuing from
run to run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from isaac_rerun._util import Patch, WarnOnce
from isaac_rerun.config import RecordingCfg, SceneLogCfg, resolve_logged_envs
from isaac_rerun.envs import find_isaac_env
from isaac_rerun.recorder import Recorder
from isaac_rerun.session import RecordingSession

if TYPE_CHECKING:
    from rsl_rl.runners import OnPolicyRunner as _RunnerBase
else:
    _RunnerBase = object

__all__ = ["ITERATION_TIMELINE", "RerunCfg", "RerunRunnerMixin"]

ITERATION_TIMELINE = "iteration"
"""The global timeline holding rsl_rl's learning iteration (besides the core's ``env_step``)."""

_RSL_RL_ONLY = ("enabled", "record_rank", "iteration_interval")
_T = TypeVar("_T")


def _with_recording_fields(cls: type[_T]) -> type[_T]:
    """``cls`` as a mutable dataclass: its own fields, then each field of :class:`~isaac_rerun.config.RecordingCfg`
    it does not declare, with the same name and default (a fresh one per instance). Derived here, once: an option
    added to ``RecordingCfg`` is an option of ``RerunCfg`` with no edit."""
    annotations = inspect.get_annotations(cls)
    for f in dataclasses.fields(RecordingCfg):
        if f.name not in annotations:
            annotations[f.name] = f.type
            factory = f.default_factory
            setattr(cls, f.name, dataclasses.field(default_factory=factory) if callable(factory) else f.default)
    cls.__annotations__ = annotations
    return dataclass(cls)


@_with_recording_fields
class RerunCfg:
    """Every field of :class:`~isaac_rerun.config.RecordingCfg` (same names, defaults and meanings; derived from it)
    plus three of rsl_rl's own; mutable, so it can be a field of an Isaac Lab runner configclass. Pass it (or a dict)
    as ``rerun=`` or in ``train_cfg["rerun"]``; ``RerunCfg(iteration_interval=50, logged_envs=[0, 1])``.

    Attributes
    ----------
    enabled:
        False records nothing (the runner behaves exactly like the plain rsl_rl runner).
    iteration_interval:
        ``N``: ``iteration_trigger`` every ``N``-th learning iteration (rsl_rl's numbers, so a resumed run keeps it).
    record_rank:
        The global rank (``runner.gpu_global_rank``) that records in a multi-GPU run; the others build nothing.
    scene_log_cfg:
        As ``RecordingCfg``'s, default None (a plain dict survives ``configclass.to_dict()``).
    """

    enabled: bool = True
    iteration_interval: int | None = None
    record_rank: int = 0
    scene_log_cfg: SceneLogCfg | dict[str, Any] | None = None

    if TYPE_CHECKING:  # the fields derived from RecordingCfg, for type checkers
        __dataclass_fields__: ClassVar[dict[str, Any]]

        def __init__(self, **options: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    @classmethod
    def from_value(cls, value: object, argument: str) -> RerunCfg:
        """A validated copy of ``value``: a :class:`RerunCfg`, a mapping of its keys, or None (the defaults)."""
        valid = [f.name for f in dataclasses.fields(cls)]
        if value is None:
            cfg = cls()
        elif isinstance(value, cls):
            cfg = dataclasses.replace(value)
        elif isinstance(value, Mapping):
            unknown = sorted(str(k) for k in value if k not in valid)
            if unknown:
                raise ValueError(f"`{argument}` has unknown keys {unknown}; valid keys: {valid}")
            cfg = cls(**value)
        else:
            raise TypeError(
                f"`{argument}` must be None, a RerunCfg or a dict of its keys, got {type(value).__name__}: {value!r}"
            )
        if not isinstance(cfg.enabled, bool):
            raise TypeError(f"`enabled` must be True or False, got {cfg.enabled!r}")
        n, r = cfg.iteration_interval, cfg.record_rank
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"`iteration_interval` must be None or an int >= 1 (iterations), got {n!r}")
        if n is not None and cfg.iteration_trigger is not None:
            raise ValueError("give `iteration_interval` or `iteration_trigger`, not both")
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f"`record_rank` must be an int >= 0 (a global GPU rank), got {r!r}")
        resolved = cfg.recording_cfg()  # validates every other field (names the field in its errors)
        for name in ("episode_trigger", "step_trigger", "episode_filter", "scene_log_cfg", "builtin_signals"):
            setattr(cfg, name, getattr(resolved, name))  # "module:function" text → the function, and the like
        return cfg

    def recording_cfg(self) -> RecordingCfg:
        """The core's options (``iteration_interval`` becomes ``iteration_trigger``)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _RSL_RL_ONLY}
        if self.iteration_interval is not None:
            fields["iteration_trigger"] = self.iteration_interval
        return RecordingCfg(**fields)


class _LearnHooks:
    """The hooks of one ``learn()`` call: the env instance's ``step`` and the logger instance's ``log`` (rsl_rl 5;
    rsl_rl 3, which Isaac Lab 2.3 pins, has no ``Logger``: its runner's own ``log(locs)`` and ``writer`` instead)."""

    def __init__(self, runner: Any, recorder: Recorder, cfg: RecordingCfg):
        self.recorder = recorder
        self.steps_per_iteration = int(runner.cfg["num_steps_per_env"])
        self.next_step = int(runner.current_learning_iteration) * self.steps_per_iteration
        self.log_scalars = cfg.log_scalars
        # who logs each iteration: rsl_rl 5's Logger (``log(it=...)``) or rsl_rl 3's runner (``log(locs)``)
        self.logger = getattr(runner, "logger", None) or runner
        self.patches = [Patch(runner.env, "step", self.on_env_step)]
        if cfg.log_metrics:
            self.patches.append(Patch(self.logger, "log", self.on_logger_log))
        self._warn = WarnOnce()

    def remove(self) -> None:
        """Restore what the instances had before."""
        for patch in reversed(self.patches):
            patch.remove()

    def on_env_step(self, step: Callable[..., Any]) -> Callable[..., Any]:
        def env_step(actions: Any) -> Any:
            """rsl_rl's ``self.env.step(actions)``: step, then hand the step to the recorder."""
            step_id = self.next_step
            self.next_step += 1
            iteration, k = divmod(step_id, self.steps_per_iteration)
            if k == 0:
                self.recorder.iteration_start(iteration)
            obs, rewards, dones, extras = step(actions)
            scalars = self.log_scalars
            time_outs = extras.get("time_outs") if isinstance(extras, dict) else None
            self.recorder.after_step(
                dones,
                rewards if scalars else None,
                actions if scalars else None,
                truncated=time_outs,
                global_step=iteration,
                step_id=step_id,
                observations=obs,
                info=extras,
            )
            return obs, rewards, dones, extras

        return env_step

    def on_logger_log(self, log: Callable[..., Any]) -> Callable[..., Any]:
        def logger_log(*args: Any, **kwargs: Any) -> Any:
            """rsl_rl's ``Logger.log(it=...)`` after each update: copy the scalars it writes for iteration ``it``."""
            it = kwargs.get("it", args[0] if args else None)
            if isinstance(it, dict):  # rsl_rl 3.x: runner.log(locs)
                it = it.get("it")
            writer = getattr(self.logger, "writer", None)
            if writer is None or it is None:  # no log_dir (or not rank 0): rsl_rl writes nothing
                return log(*args, **kwargs)
            written: dict[str, float] = {}

            def tee(add_scalar: Callable[..., Any]) -> Callable[..., Any]:
                def add(tag: str, value: Any, global_step: Any = None, *a: Any, **kw: Any) -> Any:
                    result = add_scalar(tag, value, global_step, *a, **kw)
                    # "Train/mean_reward/time" and its kin are indexed by wall-clock seconds, not by the iteration
                    if global_step == it and not tag.endswith("/time"):
                        with contextlib.suppress(TypeError, ValueError):
                            written[tag] = float(value)
                    return result

                return add

            try:
                patch = Patch(writer, "add_scalar", tee)
            except AttributeError:
                self._warn("tee", f"isaac_rerun: cannot read the metrics of a {type(writer).__name__} writer")
                return log(*args, **kwargs)
            try:
                return log(*args, **kwargs)
            finally:
                patch.remove()
                self.recorder.log_metrics(written, global_step=int(it))

        return logger_log


class RerunRunnerMixin(_RunnerBase):
    """Record snippets of the Isaac Lab scene and rsl_rl's training curves to Rerun while an rsl_rl runner learns.

    Put it first among the bases of ``OnPolicyRunner`` or ``DistillationRunner`` (the env: Isaac Lab's
    ``RslRlVecEnvWrapper``). It takes one keyword more than the runner, ``rerun=`` (a :class:`RerunCfg`, a
    :class:`~isaac_rerun.config.RecordingCfg` or a dict); without it ``train_cfg["rerun"]``, else the defaults —
    validated before anything is written (``record_rank`` right after the runner is built). The default output's log
    folder is ``log_dir``. Each ``learn()`` is a run: when it returns or raises, its files are complete and the env is
    unhooked; a later ``learn()`` continues the counters, labelled ``train2`` …. In a multi-GPU run only rank
    ``record_rank`` records. ``rerun_recorder`` is the :class:`~isaac_rerun.recorder.Recorder` (None where nothing
    is recorded).

    Examples
    --------
    >>> class RecordingRunner(RerunRunnerMixin, OnPolicyRunner):
    ...     pass
    >>> runner = RecordingRunner(RslRlVecEnvWrapper(env), train_cfg, log_dir, device="cuda:0",
    ...                          rerun=dict(iteration_interval=50, logged_envs=[0, 1]))  # doctest: +SKIP
    >>> runner.learn(num_learning_iterations=1500)  # doctest: +SKIP
    """

    rerun_cfg: RerunCfg
    rerun_recorder: Recorder | None

    def __init__(
        self,
        env: Any,
        train_cfg: dict[str, Any],
        log_dir: str | None = None,
        device: str = "cpu",
        *args: Any,
        rerun: RerunCfg | RecordingCfg | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(rerun, RecordingCfg):
            rerun = {f: getattr(rerun, f) for f in RecordingCfg.__dataclass_fields__}
        if rerun is not None:
            cfg = RerunCfg.from_value(rerun, "rerun")
        elif isinstance(train_cfg, Mapping):
            cfg = RerunCfg.from_value(train_cfg.get("rerun"), 'train_cfg["rerun"]')
        else:
            cfg = RerunCfg.from_value(None, "rerun")
        base = None
        if cfg.enabled:
            base = find_isaac_env(env, "env")
            resolve_logged_envs(cfg.logged_envs, base.num_envs)
        super().__init__(env, train_cfg, log_dir, device, *args, **kwargs)
        self.rerun_cfg = cfg
        self.rerun_session: RecordingSession | None = None
        world_size = int(getattr(self, "gpu_world_size", 1))
        if cfg.enabled and cfg.record_rank >= world_size:
            raise ValueError(
                f"`record_rank` must be a global rank of this run, in [0, {world_size - 1}] "
                f"(gpu_world_size={world_size}), got {cfg.record_rank}"
            )
        if base is not None and int(getattr(self, "gpu_global_rank", 0)) == cfg.record_rank:
            self.rerun_session = RecordingSession(cfg.recording_cfg(), global_timeline=ITERATION_TIMELINE)
            self.rerun_session.attach(base, log_folder=os.fspath(log_dir) if log_dir is not None else None)
        self.rerun_recorder = self.rerun_session.recorder if self.rerun_session is not None else None

    def learn(self, *args: Any, **kwargs: Any) -> Any:
        """rsl_rl's ``learn()``, recorded: hooks on for its duration, the run's files complete when it ends."""
        session = self.rerun_session
        if session is None or session.closed or self.rerun_recorder is None:
            return super().learn(*args, **kwargs)
        recorder = self.rerun_recorder
        with session.run("train"):
            if recorder.episode_id < 0:  # the first learn(): the env was reset by rsl_rl's wrapper
                recorder.begin(global_step=int(self.current_learning_iteration))
            hooks = _LearnHooks(self, recorder, session.cfg)
            try:
                return super().learn(*args, **kwargs)
            finally:
                hooks.remove()

    def rerun_close(self) -> None:
        """Release the recording (its output and the env hooks); also done at interpreter exit."""
        if self.rerun_session is not None:
            self.rerun_session.close()
