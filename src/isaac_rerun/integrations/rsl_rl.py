"""rsl_rl: :class:`RerunRunnerMixin` records an Isaac Lab scene to Rerun while an rsl_rl runner trains.

Mix it in front of ``OnPolicyRunner`` or ``DistillationRunner``; ``learn()`` is not copied, only wrapped:

- for the duration of each ``learn()`` call, the runner's env instance gets a ``step`` that calls rsl_rl's
  ``RslRlVecEnvWrapper.step`` and then :meth:`Recorder.after_step <isaac_rerun.recorder.Recorder.after_step>`, and
  the runner's ``Logger`` gets a ``log`` that copies what rsl_rl writes to its writer (TensorBoard, W&B, Neptune or any
  ``LogWriter``) for that iteration into :meth:`Recorder.log_metrics <isaac_rerun.recorder.Recorder.log_metrics>`;
- when ``learn()`` returns or raises, both are removed and the recorder is closed: the open snippet is finished and
  every file is complete.

Counters
--------
``step_id`` (timeline ``env_step``)
    ``iteration * num_steps_per_env + k`` for the ``k``-th ``env.step()`` (0 ≤ k < ``num_steps_per_env``) of rsl_rl's
    learning iteration ``iteration``. A run restored with ``load()`` continues from ``current_learning_iteration``.
``iteration`` (timeline ``iteration``)
    rsl_rl's iteration number: the one it prints ("Learning iteration 42/1500"), uses as the TensorBoard step and in
    ``model_42.pt``. rsl_rl keeps the *last finished* iteration in ``current_learning_iteration`` and starts the next
    ``learn()`` there, so the first iteration of a continued or resumed run repeats the checkpoint's number (rsl_rl's
    own logs do the same); the step ids of that iteration repeat with it.
``episode_id``
    Episodes of the tracked env (the first of ``logged_envs``) since this ``learn()`` started, counted from its done
    flags (rsl_rl's ``dones`` = ``terminated | truncated``): 0 is the episode in progress when ``learn()`` starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import rerun as rr

from isaac_rerun.integrations.gymnasium import find_isaac_env, step_dt_of
from isaac_rerun.outputs import check_name_prefix, resolve_output, warn_once
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene, SceneLogCfg, validate_logged_envs
from isaac_rerun.triggers import Trigger, validate_recording_length, validate_trigger

if TYPE_CHECKING:
    from rsl_rl.runners import OnPolicyRunner as _RunnerBase
else:
    _RunnerBase = object

__all__ = ["ITERATION_TIMELINE", "RerunCfg", "RerunRunnerMixin"]

ITERATION_TIMELINE = "iteration"
"""The global timeline holding rsl_rl's learning iteration (besides the core's ``env_step``)."""


@dataclass
class RerunCfg:
    """What :class:`RerunRunnerMixin` records, and where. Pass it (or a dict of the same keys) as ``rerun=``, or put
    it under ``train_cfg["rerun"]``.

    Attributes
    ----------
    enabled:
        False records nothing (the runner behaves exactly like the plain rsl_rl runner).
    logged_envs:
        Env index, or list of env indices, to record. The first one is the tracked env whose episodes are counted.
    iteration_interval:
        ``N``: record one episode every ``N`` learning iterations. Exactly: when iteration ``it`` with
        ``it % N == 0`` begins (its first ``env.step()``), the schedule is armed; the first episode of the tracked env
        that starts after that — at an auto-reset inside that step or any later one — is recorded as the snippet
        ``{name_prefix}-iteration-{it}``, from its first frame (the pose after the reset) to its terminal frame, or for
        ``recording_length`` frames. The episode in progress when ``learn()`` starts is never picked (it started
        earlier, or with ``init_at_random_ep_len`` it is cut short). If no episode starts before the next multiple of
        ``N`` begins, the schedule moves on to that iteration (the earlier one gets no snippet). An episode that
        ``episode_trigger`` picks too is one snippet, named after the iteration. Iteration numbers are rsl_rl's, so a
        resumed run keeps the schedule. None: no iteration schedule.
    episode_trigger:
        ``episode_trigger(episode_id) -> bool``, as in :mod:`isaac_rerun.triggers`: start ``{prefix}-episode-{id}``.
        Also accepted: a ``"module:function"`` string, or a ``"lambda ..."`` string as Isaac Lab's ``to_dict()``
        writes callables of a configclass.
    step_trigger:
        ``step_trigger(step_id) -> bool`` on the step ids above: start ``{prefix}-step-{id}`` (strings as above).
        With none of the three triggers, episodes follow
        :func:`~isaac_rerun.triggers.capped_cubic_video_schedule`.
    recording_length:
        0 records until the tracked env's episode ends (the terminal frame is the last); N > 0 records N frames.
    save_dir, save_path, recording_stream, viewer:
        At most one output (see :func:`~isaac_rerun.outputs.resolve_output`). None of them: Rerun's global recording
        if ``rr.init(...)`` made one, else ``{log_dir}/rerun`` (a folder of ``.rrd`` snippets beside the TensorBoard
        files, plus ``{name_prefix}-metrics.rrd``).
    name_prefix:
        Start of the snippet names (and of the metrics file name).
    keep_last:
        With a folder output: keep only the newest N snippet files.
    log_scalars:
        Log each recorded frame's reward and action, and episode return / length at episode ends, per logged env.
    log_metrics:
        Log what rsl_rl writes each iteration (``Loss/*``, ``Policy/*``, ``Perf/*``, ``Train/*``, ``Episode/*``…) on
        the ``iteration`` and ``env_step`` timelines. rsl_rl writes them only when the runner has a ``log_dir``.
    record_rank:
        The global rank (``runner.gpu_global_rank``) that records in a multi-GPU run; the other ranks build nothing
        and pay nothing. Must be smaller than the world size.
    flush_every, max_latency_s:
        Batching of the frames sent to Rerun (see :class:`~isaac_rerun.recorder.Recorder`); None: its defaults.
    verbose:
        1 prints one line per finished snippet.
    scene_log_cfg:
        What is drawn besides the bodies: env layout, global prims, trails, markers, contact forces, ray hits,
        camera images (:class:`~isaac_rerun.scene.SceneLogCfg`, or a dict of its fields; None: the defaults).
    """

    enabled: bool = True
    logged_envs: int | list[int] = 0
    iteration_interval: int | None = None
    episode_trigger: Trigger | str | None = None
    step_trigger: Trigger | str | None = None
    recording_length: int = 0
    save_dir: str | None = None
    save_path: str | None = None
    recording_stream: rr.RecordingStream | None = None
    viewer: str | None = None
    name_prefix: str = "rl-rerun"
    keep_last: int | None = None
    log_scalars: bool = True
    log_metrics: bool = True
    record_rank: int = 0
    flush_every: int | None = None
    max_latency_s: float | None = None
    verbose: int = 0
    scene_log_cfg: SceneLogCfg | dict[str, Any] | None = None

    @classmethod
    def from_value(cls, value: object, argument: str) -> RerunCfg:
        """A validated copy of ``value``: a :class:`RerunCfg`, a mapping of its keys, or None (the defaults)."""
        if value is None:
            cfg = cls()
        elif isinstance(value, cls):
            cfg = dataclasses.replace(value)
        elif isinstance(value, Mapping):
            valid = [f.name for f in dataclasses.fields(cls)]
            unknown = sorted(str(k) for k in value if k not in valid)
            if unknown:
                raise ValueError(f"`{argument}` has unknown keys {unknown}; valid keys: {valid}")
            cfg = cls(**value)
        else:
            raise TypeError(
                f"`{argument}` must be None, a RerunCfg or a dict of its keys, got {type(value).__name__}: {value!r}"
            )
        cfg._validate()
        return cfg

    def _validate(self) -> None:
        for name in ("enabled", "log_scalars", "log_metrics"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be True or False, got {getattr(self, name)!r}")
        n = self.iteration_interval
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"`iteration_interval` must be None or an int >= 1 (iterations), got {n!r}")
        r = self.record_rank
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f"`record_rank` must be an int >= 0 (a global GPU rank), got {r!r}")
        validate_recording_length(self.recording_length)
        check_name_prefix(self.name_prefix)
        self.scene_log_cfg = SceneLogCfg.coerce(self.scene_log_cfg)
        self.episode_trigger = _resolve_trigger("episode_trigger", self.episode_trigger)
        self.step_trigger = _resolve_trigger("step_trigger", self.step_trigger)


def _resolve_trigger(name: str, value: object) -> Trigger | None:
    """A trigger, from a callable or from the string a configclass's ``to_dict()`` turns a callable into."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.startswith("lambda"):
                from isaaclab.utils.string import string_to_callable  # checks the expression before evaluating it

                value = string_to_callable(text)
            else:
                module, _, attr = text.partition(":")
                value = importlib.import_module(module)
                for part in attr.split("."):
                    value = getattr(value, part)
        except Exception as exc:
            raise ValueError(
                f"`{name}` {text!r} does not resolve to a function ('module:function' or 'lambda i: ...'): {exc}"
            ) from exc
    return validate_trigger(name, value)


class _IterationRecorder(Recorder):
    """The core :class:`~isaac_rerun.recorder.Recorder` plus rsl_rl's iteration schedule (``iteration_interval``).

    The schedule is an episode trigger that the runner arms when a scheduled iteration begins; the snippet it starts
    is named after that iteration instead of the episode.
    """

    def __init__(self, *args: Any, iteration_interval: int | None, episode_trigger: Trigger | None, **kwargs: Any):
        self.iteration_interval = iteration_interval
        self._user_episode_trigger = episode_trigger
        self._armed: int | None = None  # the scheduled iteration waiting for an episode start
        self._next_name: str | None = None
        use_schedule = iteration_interval is not None
        super().__init__(*args, episode_trigger=self._episode_trigger if use_schedule else episode_trigger, **kwargs)

    def on_iteration_start(self, iteration: int) -> None:
        """Called before the first ``env.step()`` of an iteration: arm the schedule on every N-th one."""
        if self.iteration_interval is not None and iteration % self.iteration_interval == 0:
            self._armed = iteration

    def _episode_trigger(self, episode_id: int) -> bool:
        user = self._user_episode_trigger is not None and bool(self._user_episode_trigger(episode_id))
        if self._armed is None:
            return user
        self._next_name = f"{self.name_prefix}-iteration-{self._armed}"
        self._armed = None
        return True

    def start(self, name: str) -> None:
        """Start a snippet; one opened by the iteration schedule is named ``{prefix}-iteration-{it}``."""
        if self._next_name is not None:
            name, self._next_name = self._next_name, None
        super().start(name)


class _LearnHooks:
    """The hooks of one ``learn()`` call: the env instance's ``step`` and the logger instance's ``log`` (rsl_rl 5;
    rsl_rl 3, which Isaac Lab 2.3 pins, has no ``Logger``: its runner's own ``log(locs)`` and ``writer`` instead)."""

    def __init__(self, runner: Any, recorder: _IterationRecorder, cfg: RerunCfg):
        self.env = runner.env
        self.runner = runner
        # who logs each iteration: rsl_rl 5's Logger (``log(it=...)``) or rsl_rl 3's runner (``log(locs)``)
        self.logger = getattr(runner, "logger", None) or runner
        self.recorder = recorder
        self.steps_per_iteration = int(runner.cfg["num_steps_per_env"])
        self.log_scalars = cfg.log_scalars
        self.log_metrics = cfg.log_metrics
        self._env_step: Callable[..., Any] = self.env.step
        self._logger_log: Callable[..., Any] = self.logger.log
        self._saved: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        """Put the hooks on the two instances (their classes are untouched)."""
        self._patch(self.env, "step", self.on_env_step)
        if self.log_metrics:
            self._patch(self.logger, "log", self.on_logger_log)

    def remove(self) -> None:
        """Restore what the instances had before :meth:`install`."""
        while self._saved:
            obj, name, previous = self._saved.pop()
            if previous is None:
                obj.__dict__.pop(name, None)
            else:
                setattr(obj, name, previous)

    def _patch(self, obj: Any, name: str, hook: Callable[..., Any]) -> None:
        self._saved.append((obj, name, obj.__dict__.get(name)))
        setattr(obj, name, hook)

    def on_env_step(self, actions: Any) -> Any:
        """rsl_rl's ``self.env.step(actions)``: step, then account for the step (and record it if a snippet is open)."""
        iteration, k = divmod(self.recorder.step_id + 1, self.steps_per_iteration)
        if k == 0:
            self.recorder.on_iteration_start(iteration)
        obs, rewards, dones, extras = self._env_step(actions)
        if self.log_scalars:
            self.recorder.after_step(dones, rewards, actions, global_step=iteration)
        else:
            self.recorder.after_step(dones, global_step=iteration)
        return obs, rewards, dones, extras

    def on_logger_log(self, *args: Any, **kwargs: Any) -> Any:
        """rsl_rl's ``Logger.log(it=...)`` after each update: copy the scalars it writes for iteration ``it``."""
        it = kwargs.get("it", args[0] if args else None)
        if isinstance(it, dict):  # rsl_rl 3.x: runner.log(locs)
            it = it.get("it")
        writer = getattr(self.logger, "writer", None)
        if writer is None or it is None:  # no log_dir (or not rank 0): rsl_rl writes nothing
            return self._logger_log(*args, **kwargs)
        written: dict[str, float] = {}
        add_scalar = writer.add_scalar
        previous = getattr(writer, "__dict__", {}).get("add_scalar")

        def tee(tag: str, value: Any, global_step: Any = None, *a: Any, **kw: Any) -> Any:
            result = add_scalar(tag, value, global_step, *a, **kw)
            # "Train/mean_reward/time" and its kin are indexed by wall-clock seconds, not by the iteration
            if global_step == it and not tag.endswith("/time"):
                with contextlib.suppress(TypeError, ValueError):
                    written[tag] = float(value)
            return result

        try:
            writer.add_scalar = tee
        except AttributeError:
            warn_once(self, "tee", f"isaac_rerun: cannot read the metrics of a {type(writer).__name__} writer")
            return self._logger_log(*args, **kwargs)
        try:
            return self._logger_log(*args, **kwargs)
        finally:
            if writer.__dict__.get("add_scalar") is tee:
                if previous is None:
                    del writer.add_scalar
                else:
                    writer.add_scalar = previous
            self.recorder.log_metrics(written, global_step=int(it))


class RerunRunnerMixin(_RunnerBase):
    """Record snippets of the Isaac Lab scene and rsl_rl's training curves to Rerun while an rsl_rl runner learns.

    Put it first among the bases of ``OnPolicyRunner`` or ``DistillationRunner``. It takes one keyword more than
    the runner, ``rerun=`` (a :class:`RerunCfg` or a dict of its keys); without it, ``train_cfg["rerun"]`` is used
    (so it can live in an Isaac Lab runner configclass), else the defaults. Settings are validated here, before
    anything is written: most before the rsl_rl runner is built, the output and ``record_rank`` (which needs the
    world size) right after.

    The env must be an Isaac Lab env behind rsl_rl's ``VecEnv`` wrapper (``isaaclab_rl.rsl_rl.RslRlVecEnvWrapper``).
    Counters, timelines and snippet schedule: see :mod:`isaac_rerun.integrations.rsl_rl` and :class:`RerunCfg`.
    Each ``learn()`` call is one recording session: its recorder (``rerun_recorder``) is closed when ``learn()``
    returns or raises — the open snippet is finished, files are complete, the env is left unhooked. A later
    ``learn()`` starts a new session with the same settings; give it another output (a new ``log_dir``, as Isaac Lab
    makes per run) or its metrics file and same-named snippets replace the earlier ones.

    Multi-GPU (``torchrun``): only global rank ``record_rank`` (default 0) records; the other ranks build no
    recorder and their ``learn()`` is rsl_rl's, untouched.

    Parameters
    ----------
    env, train_cfg, log_dir, device, *args, **kwargs:
        Passed on to the rsl_rl runner.
    rerun:
        A :class:`RerunCfg`, a dict of its keys, or None (use ``train_cfg["rerun"]`` if present, else defaults).

    Attributes
    ----------
    rerun_cfg:
        The validated settings.
    rerun_recorder:
        The :class:`~isaac_rerun.recorder.Recorder` of the current or last ``learn()`` (None on ranks that do not
        record); ``rerun_recorder.finished`` lists the snippets written (``.path``, ``.name``).

    Raises
    ------
    ValueError, TypeError
        For invalid settings (the message names the setting and its valid values), or if ``env`` does not lead to
        an Isaac Lab env.

    Examples
    --------
    Record one episode every 50 iterations into ``{log_dir}/rerun``:

    >>> from rsl_rl.runners import OnPolicyRunner
    >>> from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
    >>> class RecordingRunner(RerunRunnerMixin, OnPolicyRunner):
    ...     pass
    >>> runner = RecordingRunner(RslRlVecEnvWrapper(env), train_cfg, log_dir, device="cuda:0",
    ...                          rerun=dict(iteration_interval=50, logged_envs=[0, 1]))  # doctest: +SKIP
    >>> runner.learn(num_learning_iterations=1500)  # doctest: +SKIP

    The same settings from the runner config (e.g. an Isaac Lab ``RslRlOnPolicyRunnerCfg`` subclass with a
    ``rerun`` field, turned into a dict by ``to_dict()``):

    >>> train_cfg["rerun"] = {"iteration_interval": 50, "recording_length": 300}  # doctest: +SKIP
    >>> runner = RecordingRunner(RslRlVecEnvWrapper(env), train_cfg, log_dir, device="cuda:0")  # doctest: +SKIP
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
        rerun: RerunCfg | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if rerun is not None:
            cfg = RerunCfg.from_value(rerun, "rerun")
        elif isinstance(train_cfg, Mapping):
            cfg = RerunCfg.from_value(train_cfg.get("rerun"), 'train_cfg["rerun"]')
        else:
            cfg = RerunCfg.from_value(None, "rerun")
        base = None
        if cfg.enabled:
            base = find_isaac_env(env, "env")
            validate_logged_envs(cfg.logged_envs, base.num_envs)
        super().__init__(env, train_cfg, log_dir, device, *args, **kwargs)
        self.rerun_cfg = cfg
        self.rerun_recorder = None
        self._rerun_log_dir = log_dir
        self._rerun_closed = False
        world_size = int(getattr(self, "gpu_world_size", 1))
        if cfg.enabled and cfg.record_rank >= world_size:
            raise ValueError(
                f"`record_rank` must be a global rank of this run, in [0, {world_size - 1}] "
                f"(gpu_world_size={world_size}), got {cfg.record_rank}"
            )
        if base is not None and int(getattr(self, "gpu_global_rank", 0)) == cfg.record_rank:
            self.rerun_recorder = self._rerun_new_recorder(base)

    def learn(self, *args: Any, **kwargs: Any) -> Any:
        """rsl_rl's ``learn()``, recorded: hooks on for its duration, the recorder closed when it returns or raises."""
        if self.rerun_recorder is None:
            return super().learn(*args, **kwargs)
        if self._rerun_closed:  # a later learn(): a new session
            self.rerun_recorder = self._rerun_new_recorder(find_isaac_env(self.env, "env"))
            self._rerun_closed = False
        recorder = self.rerun_recorder
        assert isinstance(recorder, _IterationRecorder)
        hooks = _LearnHooks(self, recorder, self.rerun_cfg)
        try:
            start = int(self.current_learning_iteration)
            recorder.begin(global_step=start, next_step_id=start * hooks.steps_per_iteration)
            hooks.install()
            return super().learn(*args, **kwargs)
        finally:
            try:
                hooks.remove()
            finally:
                self._rerun_closed = True
                recorder.close()

    def _rerun_new_recorder(self, base: Any) -> _IterationRecorder:
        cfg = self.rerun_cfg
        save_dir = cfg.save_dir
        outputs = (cfg.save_dir, cfg.save_path, cfg.recording_stream, cfg.viewer)
        if all(o is None for o in outputs) and rr.get_data_recording() is None and self._rerun_log_dir is not None:
            save_dir = os.path.join(self._rerun_log_dir, "rerun")
        spec = getattr(base, "spec", None)
        application_id = getattr(spec, "id", None) or "isaac_rerun"
        tuning = {} if cfg.flush_every is None else {"flush_every": cfg.flush_every}
        return _IterationRecorder(
            IsaacLabScene(base.scene, cfg.logged_envs, cfg=cfg.scene_log_cfg),
            lambda: resolve_output(
                save_dir=save_dir,
                save_path=cfg.save_path,
                recording_stream=cfg.recording_stream,
                viewer=cfg.viewer,
                application_id=application_id,
                keep_last=cfg.keep_last,
            ),
            iteration_interval=cfg.iteration_interval,
            episode_trigger=_resolve_trigger("episode_trigger", cfg.episode_trigger),
            step_trigger=_resolve_trigger("step_trigger", cfg.step_trigger),
            recording_length=cfg.recording_length,
            step_dt=step_dt_of(base),
            name_prefix=cfg.name_prefix,
            global_timeline=ITERATION_TIMELINE,
            reset_hook_target=base,
            max_latency_s=cfg.max_latency_s,
            verbose=cfg.verbose,
            **tuning,
        )
