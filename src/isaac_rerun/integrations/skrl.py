"""skrl integration: record an Isaac Lab scene while a skrl (PyTorch) trainer runs ``train()`` or ``eval()``.

skrl 2.1 has no callback API, so this module maps skrl's loop onto the core :class:`~isaac_rerun.recorder.Recorder`
by wrapping a few methods **on the instances**, and only while a ``train()`` / ``eval()`` call runs:

* ``trainer.train`` / ``trainer.eval``: one *run*. A recorder is made when the call starts; its open snippet is
  finished when the call returns or raises.
* the Isaac Lab env's ``reset``: a real reset starts episode 0 (:meth:`~isaac_rerun.recorder.Recorder.begin`).
* ``agent.record_transition``: every skrl loop calls it once per ``env.step()``, in ``train()`` and in ``eval()``
  (which calls the *base class* ``post_interaction``, so a hook there would miss it) →
  :meth:`~isaac_rerun.recorder.Recorder.after_step`.
* ``agent.write_tracking_data``: where skrl writes TensorBoard → :meth:`~isaac_rerun.recorder.Recorder.log_metrics`.

Counters
--------
``step_id`` (``step_trigger``, the ``env_step`` timeline)
    skrl's ``timestep`` of the run (0 for the first ``env.step()`` of ``train()`` or ``eval()``).
``episode_id`` (``episode_trigger``)
    Episodes of the tracked env (the first of ``logged_envs``) from its ``terminated | truncated`` flags. skrl's
    Isaac Lab wrapper resets the simulation once per process: the first ``train()`` starts with episode 0 at that
    reset; an ``eval()`` (or a second ``train()``) continues the running episodes, and its episode 0 is the first
    one that starts during that call (the unfinished one is not counted, so episode returns are never partial).
iteration (``iteration_trigger``, :attr:`RerunRecording.iteration`)
    ``timestep // agent.cfg.rollouts`` for on-policy agents (PPO, A2C, …): one iteration is one rollout + update.
``timestep`` timeline (global)
    Env steps completed in the run: ``timestep + 1`` on the frame of step ``timestep``, the x-axis skrl uses for
    TensorBoard, so frames and the ``Loss / …`` curves line up.

Runs are labelled in snippet and metric names so that they never overwrite each other's files: the first
``train()`` run has no label (``{name_prefix}-episode-0``, ``/train/Loss/…``), the first ``eval()`` run is ``eval``
(``{name_prefix}-eval-episode-0``, ``/train/eval/Loss/…``), later ones ``train2``, ``eval2``, … .

Several agents
--------------
Simultaneous agents (a list of agents with ``scopes``), skrl's multi-agent algorithms (IPPO / MAPPO on a
``DirectMARLEnv``) and ``ParallelTrainer`` (each agent in its own process, where no hook of this process can see
``record_transition``) are refused with a ``ValueError``; so is ``StepTrainer`` (one ``train()`` call per step, so
no call marks a run). Record a multi-agent task with :class:`~isaac_rerun.LogRerun` on the env instead.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rerun as rr
from skrl.agents.torch import Agent
from skrl.envs.wrappers.torch import MultiAgentEnvWrapper
from skrl.trainers.torch import ParallelTrainer, SequentialTrainer, SequentialTrainerCfg, StepTrainer, Trainer

from isaac_rerun import _compat
from isaac_rerun.integrations.gymnasium import find_isaac_env, step_dt_of
from isaac_rerun.outputs import Output, Sink, resolve_output
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene, SceneLogCfg
from isaac_rerun.triggers import Trigger, validate_trigger

__all__ = ["RECORDING_OPTIONS", "RerunRecording", "RerunSequentialTrainer", "attach_rerun", "iteration_step_trigger"]

MODES = ("train", "eval")

RECORDING_OPTIONS = frozenset(
    {
        "logged_envs",
        "scene_log_cfg",
        "save_dir",
        "save_path",
        "recording_stream",
        "viewer",
        "episode_trigger",
        "step_trigger",
        "iteration_trigger",
        "recording_length",
        "name_prefix",
        "keep_last",
        "log_scalars",
        "log_metrics",
        "flush_every",
        "max_latency_s",
        "verbose",
    }
)
"""The keyword arguments of :class:`RerunRecording` (and of :func:`attach_rerun` / :class:`RerunSequentialTrainer`)."""


def iteration_step_trigger(iteration_trigger: Callable[[int], bool], rollouts: int) -> Trigger:
    """A ``step_trigger`` that fires on the first step of every iteration ``i`` for which ``iteration_trigger(i)``.

    An iteration of an on-policy skrl agent is ``rollouts`` env steps followed by one update, so iteration ``i``
    starts at ``timestep == i * rollouts``. ``RerunRecording(iteration_trigger=...)`` uses this with the agent's
    ``cfg.rollouts``; the snippet of iteration ``i`` is named after its first step (``…-step-{i * rollouts}``).

    Examples
    --------
    >>> t = iteration_step_trigger(lambda i: i % 10 == 0, rollouts=16)
    >>> [s for s in range(400) if t(s)]
    [0, 160, 320]
    """
    if isinstance(rollouts, bool) or not isinstance(rollouts, int) or rollouts < 1:
        raise ValueError(f"`rollouts` must be an int >= 1, got {rollouts!r}")

    def trigger(step_id: int) -> bool:
        return step_id % rollouts == 0 and bool(iteration_trigger(step_id // rollouts))

    return trigger


# ---------------------------------------------------------------------------------------------------------- checks
def _single_agent(agents: Any, argument: str) -> Agent:
    """The one skrl agent of ``agents`` (an agent, or a list holding one), else a ``ValueError`` naming ``argument``."""
    if isinstance(agents, (list, tuple)):
        if len(agents) != 1:
            raise ValueError(
                f"`{argument}` holds {len(agents)} agents: isaac_rerun records the loop of one skrl agent; "
                "simultaneous agents (a list with `scopes`) are not supported — record the env with "
                "isaac_rerun.LogRerun instead"
            )
        agents = agents[0]
    if not isinstance(agents, Agent):
        raise ValueError(
            f"`{argument}` must be one skrl PyTorch agent (skrl.agents.torch.Agent, e.g. PPO), got "
            f"{type(agents).__name__}; skrl's multi-agent algorithms (IPPO, MAPPO) are not supported — "
            "record the env with isaac_rerun.LogRerun instead"
        )
    return agents


def _isaac_env(env: Any, argument: str) -> Any:
    """The Isaac Lab env behind a single-agent skrl env wrapper, else a ``ValueError`` naming ``argument``."""
    if isinstance(env, MultiAgentEnvWrapper):
        raise ValueError(
            f"`{argument}` is a multi-agent skrl env ({type(env).__name__}); isaac_rerun's skrl integration records "
            "single-agent envs — wrap the Isaac Lab env with isaac_rerun.LogRerun before SkrlVecEnvWrapper instead"
        )
    return find_isaac_env(env, argument)


def _rollouts_of(agent: Agent) -> int | None:
    """``agent.cfg.rollouts`` of an on-policy agent, or None."""
    rollouts = getattr(getattr(agent, "cfg", None), "rollouts", None)
    if isinstance(rollouts, bool) or not isinstance(rollouts, int) or rollouts < 1:
        return None
    return rollouts


def _check_trainer(trainer: Any) -> None:
    if not isinstance(trainer, Trainer):
        raise TypeError(
            "`trainer` must be a skrl PyTorch trainer (skrl.trainers.torch.Trainer, e.g. SequentialTrainer or "
            f"`runner.trainer` of skrl's Runner), got {type(trainer).__name__}"
        )
    if isinstance(trainer, ParallelTrainer):
        raise ValueError(
            "`trainer` is a ParallelTrainer: it runs each agent in its own process, out of reach of this process; "
            "use SequentialTrainer (or RerunSequentialTrainer) to record"
        )
    if isinstance(trainer, StepTrainer):
        raise ValueError(
            "`trainer` is a StepTrainer: each train()/eval() call is one step, so no call marks a run to record; "
            "use SequentialTrainer (or RerunSequentialTrainer), or LogRerun on the env"
        )
    if getattr(trainer, "num_simultaneous_agents", 1) != 1:
        raise ValueError(
            f"`trainer` has {trainer.num_simultaneous_agents} simultaneous agents; isaac_rerun records the loop of one "
            "skrl agent — record the env with isaac_rerun.LogRerun instead"
        )
    if isinstance(trainer, RerunSequentialTrainer) or any(isinstance(trainer.__dict__.get(m), _RunCall) for m in MODES):
        raise ValueError("`trainer` already records to Rerun; close() its RerunRecording before attaching another")


# ---------------------------------------------------------------------------------------------------------- helpers
class _Patch:
    """A method shadowed on one instance by ``make(original)``; ``remove()`` restores what was there before."""

    def __init__(self, obj: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]):
        self.obj, self.name = obj, name
        self.previous = obj.__dict__.get(name)  # someone else's instance-level patch, kept on removal
        self.hook = make(getattr(obj, name))
        setattr(obj, name, self.hook)

    def remove(self) -> None:
        if self.obj.__dict__.get(self.name) is self.hook:
            if self.previous is None:
                delattr(self.obj, self.name)  # the class's own method shows through again
            else:
                setattr(self.obj, self.name, self.previous)


class _RunCall:
    """``trainer.train`` / ``trainer.eval`` of an attached trainer: the original call inside ``recording.run(mode)``."""

    def __init__(self, recording: RerunRecording, mode: str, original: Callable[..., Any]):
        self.recording, self.mode, self.original = recording, mode, original
        self.__doc__ = getattr(original, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.recording.run(self.mode):
            return self.original(*args, **kwargs)


class _RunOutput(Output):
    """The recording's output as one run's recorder sees it: ``close()`` is left to the recording (runs share it)."""

    def __init__(self, output: Output, metrics_prefix: str):
        self.inner = output
        self.metrics_prefix = metrics_prefix
        self.application_id = output.application_id

    def open(self, name: str) -> Sink:
        return self.inner.open(name)

    def finish(self, sink: Sink) -> None:
        self.inner.finish(sink)

    def metrics_stream(self, prefix: str) -> rr.RecordingStream:
        return self.inner.metrics_stream(self.metrics_prefix)  # one metrics file for train and eval runs

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:  # e.g. ``stream`` of a StreamOutput
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _metric_name(tag: str) -> str:
    """skrl's ``"Loss / Policy loss"`` as a Rerun entity path ``Loss/Policy\\ loss`` (parts escaped, no warnings)."""
    parts = [p.strip() for p in str(tag).split("/")]
    return "/".join(rr.escape_entity_path_part(p) for p in parts if p)


def _tracking_scalars(tracking_data: Mapping[str, Any], prefix: str) -> dict[str, float]:
    """What skrl's ``write_tracking_data`` writes: min for ``(min)`` tags, max for ``(max)``, else the mean."""
    out: dict[str, float] = {}
    for tag, values in tracking_data.items():
        try:
            if not len(values):
                continue
            if tag.endswith("(min)"):
                value = float(np.min(values))
            elif tag.endswith("(max)"):
                value = float(np.max(values))
            else:
                value = float(np.mean(values))
        except (TypeError, ValueError):
            continue  # not numbers: skrl's TensorBoard writer would choke on it too
        out[prefix + _metric_name(tag)] = value
    return out


@dataclass
class _Run:
    mode: str
    label: str  # "" for the first train() run, else "eval", "train2", "eval2", …: in snippet and metric names
    recorder: Recorder
    patches: list[_Patch] = field(default_factory=list)
    active: bool = True
    metrics_logged: bool = False


# ---------------------------------------------------------------------------------------------------------- public
class RerunRecording:
    """Record the ``train()`` / ``eval()`` runs of one skrl agent on an Isaac Lab env into Rerun.

    Usually made by :func:`attach_rerun` (an existing trainer) or :class:`RerunSequentialTrainer`; make one directly
    for a loop of your own and wrap each loop in :meth:`run`. Counters, timelines and what a run is: see the module
    docstring. Arguments are validated here, before anything is written.

    Parameters
    ----------
    env:
        The skrl-wrapped env (``SkrlVecEnvWrapper(env)``); ``env.unwrapped`` must be an Isaac Lab env.
    agent:
        The skrl agent (or a list holding one).
    logged_envs:
        Env index, or list of env indices, to log. Defaults to ``0``; the first is the tracked env.
    save_dir, save_path, recording_stream, viewer:
        The output, at most one (see :func:`~isaac_rerun.outputs.resolve_output`): a folder of one ``.rrd`` per
        snippet plus ``{name_prefix}-metrics.rrd``, one ``.rrd`` file, your stream, or a live viewer (``"spawn"`` /
        gRPC URL). None of them: Rerun's global recording (``rr.init``).
    episode_trigger, step_trigger, recording_length:
        As in :class:`~isaac_rerun.LogRerun` (:mod:`isaac_rerun.triggers`); neither trigger → the capped cubic
        episode schedule.
    iteration_trigger:
        ``iteration_trigger(iteration) -> bool``: start a snippet at the first step of an iteration
        (``timestep // agent.cfg.rollouts``); on-policy agents only, instead of ``step_trigger``.
    name_prefix:
        Snippet names: ``{name_prefix}-episode-{id}`` / ``{name_prefix}-step-{id}``; ``eval()`` runs add ``-eval``
        (``{name_prefix}-eval-episode-{id}``), repeated runs ``-train2``, ``-eval2``, ….
    keep_last:
        With ``save_dir``: keep only the newest N snippet files.
    log_scalars:
        Log reward and action of each logged env on every frame (episode return / length are always logged).
    log_metrics:
        Forward the agent's tracking data (``Reward / …``, ``Loss / …``, ``Info / …``) whenever skrl writes it to
        TensorBoard (``agent.cfg.experiment.write_interval > 0``), to ``/train/…`` on the global timelines.
    flush_every, max_latency_s, verbose:
        See :class:`~isaac_rerun.recorder.Recorder`.
    scene_log_cfg:
        What is drawn besides the bodies: env layout, global prims, trails, markers, contact forces, ray hits,
        camera images (:class:`~isaac_rerun.scene.SceneLogCfg`, or a dict of its fields; None: the defaults).

    Attributes
    ----------
    recorder:
        The :class:`~isaac_rerun.recorder.Recorder` of the running (or last) run, None before the first.
    mode:
        ``"train"`` or ``"eval"`` while a run is in progress, else None.
    finished:
        Every finished snippet (:class:`~isaac_rerun.outputs.Sink`), over all runs.
    rollouts:
        ``agent.cfg.rollouts`` (env steps per iteration) of an on-policy agent, else None.

    Raises
    ------
    ValueError
        No Isaac Lab env behind ``env``, several agents, or an invalid argument (named in the message).
    TypeError
        An argument of the wrong type (named in the message).

    Examples
    --------
    A loop of your own (skrl's trainers are covered by :func:`attach_rerun`):

    >>> rec = RerunRecording(env, agent, save_dir="runs/rerun", episode_trigger=every_n(10))  # doctest: +SKIP
    >>> with rec.run("train"):  # doctest: +SKIP
    ...     my_training_loop(env, agent)  # calls agent.record_transition(...) after each env.step()
    >>> rec.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        env: Any,
        agent: Any,
        *,
        logged_envs: int | Sequence[int] = 0,
        save_dir: str | os.PathLike[str] | None = None,
        save_path: str | os.PathLike[str] | None = None,
        recording_stream: rr.RecordingStream | None = None,
        viewer: str | None = None,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        iteration_trigger: Callable[[int], bool] | None = None,
        recording_length: int = 0,
        name_prefix: str = "rl-rerun",
        keep_last: int | None = None,
        log_scalars: bool = True,
        log_metrics: bool = True,
        flush_every: int = 64,
        max_latency_s: float = 1.0,
        verbose: int = 0,
        scene_log_cfg: SceneLogCfg | Mapping[str, Any] | None = None,
    ):
        scene_log_cfg = SceneLogCfg.coerce(scene_log_cfg)
        self.agent = _single_agent(agent, "agent")
        self.base_env = _isaac_env(env, "env")
        self.rollouts = _rollouts_of(self.agent)
        iteration_trigger = validate_trigger("iteration_trigger", iteration_trigger)
        step_trigger = validate_trigger("step_trigger", step_trigger)
        if iteration_trigger is not None:
            if step_trigger is not None:
                raise ValueError("give `step_trigger` or `iteration_trigger`, not both")
            if self.rollouts is None:
                raise ValueError(
                    f"`iteration_trigger` needs an on-policy agent with `cfg.rollouts` (PPO, A2C, …); "
                    f"{type(self.agent).__name__} has none — use `step_trigger` instead"
                )
            step_trigger = iteration_step_trigger(iteration_trigger, self.rollouts)
        self.layout = IsaacLabScene(self.base_env.scene, logged_envs, cfg=scene_log_cfg)
        self.name_prefix = name_prefix
        self.log_scalars = bool(log_scalars)
        self.log_metrics = bool(log_metrics)
        self._recorder_kwargs: dict[str, Any] = dict(
            episode_trigger=episode_trigger,
            step_trigger=step_trigger,
            recording_length=recording_length,
            step_dt=step_dt_of(self.base_env),
            global_timeline="timestep",
            flush_every=flush_every,
            max_latency_s=max_latency_s,
            verbose=verbose,
        )
        spec = getattr(self.base_env, "spec", None)
        application_id = getattr(spec, "id", None) or "isaac_rerun"
        self.output: Output | None = None

        def make_output() -> Output:
            self.output = resolve_output(
                save_dir=save_dir,
                save_path=save_path,
                recording_stream=recording_stream,
                viewer=viewer,
                application_id=application_id,
                keep_last=keep_last,
            )
            return self.output

        # the core validates every recorder argument, then calls make_output: nothing is created for bad input
        Recorder(self.layout, make_output, name_prefix=name_prefix, **self._recorder_kwargs)
        self.recorder: Recorder | None = None
        self.finished: list[Sink] = []
        self._run: _Run | None = None
        self._trainer_patches: list[_Patch] = []
        self._timestep = -1
        self._runs_started: dict[str, int] = {}
        self._closed = False
        self._warned: set[str] = set()
        atexit.register(self.close)  # the metrics file gets its footer even if close() is forgotten

    # ------------------------------------------------------------------ public API
    @property
    def mode(self) -> str | None:
        """``"train"`` or ``"eval"`` while a run is in progress, else None."""
        return self._run.mode if self._run is not None else None

    @property
    def timestep(self) -> int:
        """skrl's ``timestep`` of the last recorded step of the current (or last) run; -1 before its first."""
        return self._timestep

    @property
    def iteration(self) -> int | None:
        """``timestep // agent.cfg.rollouts`` (on-policy agents), None for agents without rollouts."""
        if self.rollouts is None:
            return None
        return max(self._timestep, 0) // self.rollouts

    @property
    def paths(self) -> list[Path]:
        """The snippet files written so far (folder or single-file outputs), oldest first."""
        return [s.path for s in self.finished if s.path is not None]

    @property
    def metrics_path(self) -> Path | None:
        """The file holding the tracking data (``{name_prefix}-metrics.rrd`` of a folder output), if written."""
        return getattr(self.output, "metrics_path", None)

    @contextlib.contextmanager
    def run(self, mode: str) -> Iterator[Recorder | None]:
        """Record one ``train()`` / ``eval()`` loop: its snippet is finished when the block ends or raises.

        Yields the run's :class:`~isaac_rerun.recorder.Recorder` (None when the recording is closed, or inside a run
        already in progress, which goes on recording).
        """
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}, got {mode!r}")
        if self._closed or self._run is not None:
            yield self._run.recorder if self._run is not None else None
            return
        run = self._start_run(mode)
        try:
            yield run.recorder
        finally:
            self._end_run(run)

    def close(self) -> None:
        """Finish a run in progress, restore the trainer's methods and close the output. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        try:
            for patch in reversed(self._trainer_patches):
                patch.remove()
            self._trainer_patches.clear()
            if self._run is not None:
                self._end_run(self._run)
        finally:
            if self.output is not None:
                self.output.close()

    def __enter__(self) -> RerunRecording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs
    def _attach(self, trainer: Trainer) -> None:
        """Record every ``trainer.train()`` / ``trainer.eval()`` call (wrapped on the instance)."""
        for mode in MODES:

            def make(original: Callable[..., Any], mode: str = mode) -> Callable[..., Any]:
                return _RunCall(self, mode, original)

            self._trainer_patches.append(_Patch(trainer, mode, make))

    def _start_run(self, mode: str) -> _Run:
        self._runs_started[mode] = n = self._runs_started.get(mode, 0) + 1
        label = ("" if mode == "train" else mode) if n == 1 else f"{mode}{n}"
        prefix = f"{self.name_prefix}-{label}" if label else self.name_prefix
        assert self.output is not None
        recorder = Recorder(
            self.layout,
            _RunOutput(self.output, self.name_prefix),
            name_prefix=prefix,
            reset_hook_target=self.base_env,
            **self._recorder_kwargs,
        )
        recorder.on_snippet_finished.append(self.finished.append)
        run = _Run(mode, label, recorder)
        self._run, self.recorder, self._timestep = run, recorder, -1
        try:
            run.patches.append(_Patch(self.base_env, "reset", lambda original: self._on_env_reset(run, original)))
            run.patches.append(
                _Patch(self.agent, "record_transition", lambda original: self._on_record_transition(run, original))
            )
            if self.log_metrics:
                run.patches.append(
                    _Patch(self.agent, "write_tracking_data", lambda original: self._on_write_tracking(run, original))
                )
        except BaseException:
            self._end_run(run)
            raise
        return run

    def _end_run(self, run: _Run) -> None:
        if not run.active:
            return
        run.active = False
        try:
            for patch in reversed(run.patches):
                patch.remove()
            run.recorder.close()  # finishes the open snippet; the shared output stays open
            if run.metrics_logged and self.output is not None:
                try:
                    _compat.flush(self.output.metrics_stream(self.name_prefix))
                except Exception as exc:
                    self._warn("flush", f"isaac_rerun: could not flush the training metrics ({exc!r})")
        finally:
            if self._run is run:
                self._run = None

    # ------------------------------------------------------------------ hooks (active while their run is)
    def _on_env_reset(self, run: _Run, original: Callable[..., Any]) -> Callable[..., Any]:
        def reset(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            if run.active:
                run.recorder.begin(global_step=self._timestep + 1)  # a real reset: episode 0 starts
            return out

        return reset

    def _on_record_transition(self, run: _Run, original: Callable[..., Any]) -> Callable[..., Any]:
        def record_transition(*args: Any, **kwargs: Any) -> Any:
            if run.active and "timestep" in kwargs:  # skrl calls it with keywords only
                timestep = self._timestep = int(kwargs["timestep"])
                # before skrl's own: PPO adds the bootstrapped value to `rewards` in place (time_limit_bootstrap)
                if self.log_scalars:
                    run.recorder.after_step(
                        kwargs["terminated"],
                        kwargs["rewards"],
                        kwargs["actions"],
                        truncated=kwargs["truncated"],
                        global_step=timestep + 1,
                    )
                else:
                    run.recorder.after_step(
                        kwargs["terminated"], truncated=kwargs["truncated"], global_step=timestep + 1
                    )
            return original(*args, **kwargs)

        return record_transition

    def _on_write_tracking(self, run: _Run, original: Callable[..., Any]) -> Callable[..., Any]:
        def write_tracking_data(*args: Any, **kwargs: Any) -> Any:
            if run.active:
                timestep = kwargs.get("timestep", args[0] if args else None)
                metrics = _tracking_scalars(self.agent.tracking_data, f"{run.label}/" if run.label else "")
                if metrics:
                    run.recorder.log_metrics(metrics, global_step=None if timestep is None else int(timestep))
                    run.metrics_logged = True
            return original(*args, **kwargs)  # skrl's own writes TensorBoard and clears tracking_data

        return write_tracking_data

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def attach_rerun(trainer: Trainer, **options: Any) -> RerunRecording:
    """Record the ``train()`` / ``eval()`` calls of a skrl trainer that already exists, e.g. ``runner.trainer``.

    Nothing is rebuilt (``agent.init()`` is not called again): ``trainer.train`` / ``trainer.eval`` are wrapped on
    this instance until :meth:`RerunRecording.close`, which also finishes a run in progress and closes the output.

    Parameters
    ----------
    trainer:
        A skrl PyTorch trainer of one agent on an Isaac Lab env (``SequentialTrainer``, or any
        ``skrl.trainers.torch.Trainer`` subclass driving skrl's loop). ``ParallelTrainer``, ``StepTrainer`` and
        simultaneous agents are refused (``ValueError``).
    **options:
        The keyword arguments of :class:`RerunRecording` (``save_dir``, ``logged_envs``, triggers, …).

    Returns
    -------
    RerunRecording
        The handle: ``close()`` it when done (or use it as a context manager).

    Examples
    --------
    Isaac Lab's skrl route (the ``Runner`` builds agent and trainer from the task's YAML):

    >>> from skrl.utils.runner.torch import Runner  # doctest: +SKIP
    >>> runner = Runner(SkrlVecEnvWrapper(env), agent_cfg)  # doctest: +SKIP
    >>> with attach_rerun(runner.trainer, save_dir="runs/rerun", episode_trigger=every_n(20)) as rec:  # doctest: +SKIP
    ...     runner.run("train")
    >>> rec.paths  # doctest: +SKIP
    [PosixPath('runs/rerun/rl-rerun-episode-0.rrd'), ...]
    """
    _check_trainer(trainer)
    _single_agent(trainer.agents, "trainer.agents")
    _isaac_env(trainer.env, "trainer.env")
    recording = RerunRecording(trainer.env, trainer.agents, **options)
    recording._attach(trainer)
    return recording


class RerunSequentialTrainer(SequentialTrainer):
    """skrl's ``SequentialTrainer`` that records its ``train()`` and ``eval()`` runs to Rerun.

    Takes skrl's arguments (``env``, ``agents``, ``scopes``, ``cfg``) unchanged plus the recording options of
    :class:`RerunRecording` as keyword arguments (skrl's trainer cfg is a dataclass that rejects unknown keys, so
    they cannot go in ``cfg``). The recording options are validated before skrl's ``agent.init()`` creates the
    experiment directory. The handle is :attr:`rerun`; ``trainer.rerun.close()`` finishes the output (also done at
    interpreter exit).

    Examples
    --------
    >>> trainer = RerunSequentialTrainer(  # doctest: +SKIP
    ...     env=SkrlVecEnvWrapper(env), agents=agent, cfg={"timesteps": 20000, "headless": True},
    ...     save_dir="runs/rerun", episode_trigger=every_n(50), logged_envs=[0, 1])
    >>> trainer.train()  # doctest: +SKIP
    >>> trainer.eval()  # snippets named rl-rerun-eval-…  # doctest: +SKIP
    >>> trainer.rerun.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        env: Any,
        agents: Any,
        scopes: list[int] | None = None,
        cfg: SequentialTrainerCfg | Mapping[str, Any] | None = None,
        **rerun_options: Any,
    ) -> None:
        if cfg is None:
            cfg = SequentialTrainerCfg()
        elif isinstance(cfg, Mapping):
            misplaced = sorted(RECORDING_OPTIONS.intersection(cfg))
            if misplaced:
                raise TypeError(
                    f"`cfg` holds recording options {misplaced}: pass them as keyword arguments of "
                    "RerunSequentialTrainer (skrl's trainer cfg rejects unknown keys)"
                )
            cfg = SequentialTrainerCfg(**cfg)  # skrl's own check of the trainer cfg, before anything is created
        unknown = sorted(set(rerun_options) - RECORDING_OPTIONS)
        if unknown:
            raise TypeError(f"unknown recording options {unknown}; valid: {sorted(RECORDING_OPTIONS)}")
        _single_agent(agents, "agents")
        _isaac_env(env, "env")
        self.rerun = RerunRecording(env, agents, **rerun_options)
        try:
            super().__init__(env=env, agents=agents, scopes=scopes, cfg=cfg)
        except BaseException:
            self.rerun.close()
            raise

    def train(self) -> None:
        """skrl's ``train()``, recorded (see :class:`RerunRecording`)."""
        with self.rerun.run("train"):
            super().train()

    def eval(self) -> None:
        """skrl's ``eval()``, recorded; snippets are named ``{name_prefix}-eval-…``."""
        with self.rerun.run("eval"):
            super().eval()
