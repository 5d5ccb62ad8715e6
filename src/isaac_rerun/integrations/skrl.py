"""skrl: record an Isaac Lab scene while a skrl (PyTorch) trainer runs ``train()`` or ``eval()``.

skrl 2.1 has no callback API, so a few methods are wrapped **on the instances**, and only while a call runs:
``trainer.train`` / ``trainer.eval`` (one run of the session, :mod:`isaac_rerun.session`), the Isaac Lab env's
``reset`` (an episode starts), ``agent.record_transition`` (called once per ``env.step()`` by every skrl loop, in
``eval()`` too) and ``agent.write_tracking_data`` (where skrl writes TensorBoard: the metrics).

Counters: ``step_id`` (``step_trigger``, ``env_step``) is skrl's ``timestep`` of the run, which skrl restarts at 0
every call; ``episode_id`` (the tracked env's episodes) continues from run to run; the iteration
(``iteration_trigger``) is ``timestep // agent.cfg.rollouts`` for on-policy agents; the global ``timestep`` timeline
is ``timestep + 1``, skrl's TensorBoard x-axis.

Simultaneous agents, skrl's multi-agent algorithms, ``ParallelTrainer`` (agents in other processes) and
``StepTrainer`` (no call marks a run) are refused: record those with :class:`~isaac_rerun.LogRerun` on the env.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rerun as rr
from skrl.agents.torch import Agent
from skrl.envs.wrappers.torch import MultiAgentEnvWrapper
from skrl.trainers.torch import ParallelTrainer, SequentialTrainer, SequentialTrainerCfg, StepTrainer, Trainer

from isaac_rerun._util import Patch
from isaac_rerun.config import RecordingCfg
from isaac_rerun.envs import find_isaac_env
from isaac_rerun.recorder import Recorder
from isaac_rerun.session import RecordingHandle, RecordingSession

__all__ = ["RerunRecording", "RerunSequentialTrainer", "attach_rerun"]

MODES = ("train", "eval")
_INSTEAD = "record the env with isaac_rerun.LogRerun instead"


def _single_agent(agents: Any, argument: str) -> Agent:
    """The one skrl agent of ``agents`` (an agent, or a list holding one), else a ``ValueError`` naming ``argument``."""
    if isinstance(agents, (list, tuple)):
        if len(agents) != 1:
            raise ValueError(
                f"`{argument}` holds {len(agents)} agents: simultaneous agents are not supported; {_INSTEAD}"
            )
        agents = agents[0]
    if not isinstance(agents, Agent):
        raise ValueError(
            f"`{argument}` must be one skrl PyTorch agent (skrl.agents.torch.Agent, e.g. PPO), got "
            f"{type(agents).__name__}; skrl's multi-agent algorithms (IPPO, MAPPO) are not supported: {_INSTEAD}"
        )
    return agents


def _isaac_env(env: Any, argument: str) -> Any:
    """The Isaac Lab env behind a single-agent skrl env wrapper, else a ``ValueError`` naming ``argument``."""
    if isinstance(env, MultiAgentEnvWrapper):
        raise ValueError(f"`{argument}` is a multi-agent skrl env ({type(env).__name__}); {_INSTEAD}")
    return find_isaac_env(env, argument)


def _check_trainer(trainer: Any) -> None:
    if not isinstance(trainer, Trainer):
        raise TypeError(
            f"`trainer` must be a skrl PyTorch trainer (e.g. SequentialTrainer), got {type(trainer).__name__}"
        )
    refused = {
        ParallelTrainer: "a ParallelTrainer: it runs each agent in its own process, out of reach of this process",
        StepTrainer: "a StepTrainer: each train()/eval() call is one step, so no call marks a run",
    }
    for cls, why in refused.items():
        if isinstance(trainer, cls):
            raise ValueError(f"`trainer` is {why}; use SequentialTrainer (or RerunSequentialTrainer)")
    if getattr(trainer, "num_simultaneous_agents", 1) != 1:
        raise ValueError(f"`trainer` has {trainer.num_simultaneous_agents} simultaneous agents; {_INSTEAD}")
    if isinstance(trainer, RerunSequentialTrainer) or any(hasattr(trainer.__dict__.get(m), "recording") for m in MODES):
        raise ValueError("`trainer` already records to Rerun; close() its RerunRecording before attaching another")


def _log_folder(agent: Agent) -> str | None:
    """skrl's experiment directory, when the agent writes there (TensorBoard or checkpoints)."""
    exp = agent.cfg.experiment
    return agent.experiment_dir if getattr(exp, "write_interval", 0) or getattr(exp, "checkpoint_interval", 0) else None


def _metric_name(tag: str) -> str:
    """skrl's ``"Loss / Policy loss"`` as a Rerun entity path ``Loss/Policy\\ loss`` (parts escaped, no warnings)."""
    parts = [p.strip() for p in str(tag).split("/")]
    return "/".join(rr.escape_entity_path_part(p) for p in parts if p)


def _tracking_scalars(tracking_data: Mapping[str, Any]) -> dict[str, float]:
    """What skrl's ``write_tracking_data`` writes: min for ``(min)`` tags, max for ``(max)``, else the mean."""
    out: dict[str, float] = {}
    for tag, values in tracking_data.items():
        reduce: Any = np.min if tag.endswith("(min)") else np.max if tag.endswith("(max)") else np.mean
        with contextlib.suppress(TypeError, ValueError):  # not numbers: skrl's TensorBoard writer would choke too
            if len(values):
                out[_metric_name(tag)] = float(reduce(values))
    return out


# ---------------------------------------------------------------------------------------------------------- public
class RerunRecording(RecordingHandle):
    """Record the ``train()`` / ``eval()`` runs of one skrl agent (``agent``, or a list holding one) on the Isaac Lab
    env behind the skrl-wrapped ``env``: made by :func:`attach_rerun` or :class:`RerunSequentialTrainer`, or directly
    for a loop of your own wrapped in :meth:`run`. Options: ``cfg`` and/or keywords
    (:class:`~isaac_rerun.config.RecordingCfg`); the default output's log folder is skrl's experiment directory."""

    def __init__(self, env: Any, agent: Any, cfg: RecordingCfg | Mapping[str, Any] | None = None, **options: Any):
        rec_cfg = RecordingCfg.coerce(cfg, **options)
        self.agent = _single_agent(agent, "agent")
        self.base_env = _isaac_env(env, "env")
        rollouts = getattr(getattr(self.agent, "cfg", None), "rollouts", None)
        self.rollouts: int | None = rollouts if isinstance(rollouts, int) and not isinstance(rollouts, bool) else None
        if rec_cfg.iteration_trigger is not None and (self.rollouts is None or self.rollouts < 1):
            raise ValueError(
                f"`iteration_trigger` needs an on-policy agent with `cfg.rollouts` (PPO, A2C, …); "
                f"{type(self.agent).__name__} has none — use `step_trigger` instead"
            )
        self.session = RecordingSession(rec_cfg, global_timeline="timestep")
        self._rec = self.session.attach(self.base_env, log_folder=_log_folder(self.agent))
        self._trainer_patches: list[Patch] = []
        self._run_patches: list[Patch] = []
        self._timestep, self._mode = -1, "train"
        atexit.register(self.close)  # the metrics file gets its footer even if close() is forgotten

    @property
    def mode(self) -> str | None:
        """``"train"`` or ``"eval"`` while a run is in progress, else None."""
        return self._mode if self.session.label is not None else None

    @property
    def iteration(self) -> int | None:
        """``timestep // agent.cfg.rollouts`` of the last step (on-policy agents), else None."""
        return None if self.rollouts is None else max(self._timestep, 0) // self.rollouts

    @property
    def metrics_path(self) -> Path | None:
        """The first run's metrics file (``{name_prefix}-metrics.rrd`` of a folder output), if written."""
        return next(iter(self.metrics_paths), None)

    @contextlib.contextmanager
    def run(self, mode: str) -> Iterator[Recorder | None]:
        """Record one ``train()`` / ``eval()`` loop (a run): its files are complete when the block ends or raises."""
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}, got {mode!r}")
        if self.session.closed or self.session.label is not None:  # closed, or inside a run that goes on
            yield self.recorder
            return
        self._mode, self._timestep = mode, -1
        self.session.begin_run(mode)
        try:
            self._run_patches = self._patches()
            yield self.recorder
        finally:
            self._end_run()

    def close(self) -> None:
        """Finish a run in progress, restore the trainer's methods and close the output. Safe to call twice."""
        atexit.unregister(self.close)
        for patch in reversed(self._trainer_patches):
            patch.remove()
        self._trainer_patches.clear()
        self._end_run()
        self.session.close()

    def __enter__(self) -> RerunRecording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs
    def _attach(self, trainer: Trainer) -> None:
        """Record every ``trainer.train()`` / ``trainer.eval()`` call (wrapped on the instance)."""
        for mode in MODES:

            def make(original: Callable[..., Any], mode: str = mode) -> Callable[..., Any]:
                def call(*args: Any, **kwargs: Any) -> Any:
                    with self.run(mode):
                        return original(*args, **kwargs)

                call.recording = self  # type: ignore[attr-defined]  # marks the trainer as recorded
                return call

            self._trainer_patches.append(Patch(trainer, mode, make))

    def _end_run(self) -> None:
        for patch in reversed(self._run_patches):
            patch.remove()
        self._run_patches = []
        if self.session.label is not None:
            self.session.end_run()

    def _patches(self) -> list[Patch]:
        """The hooks of one run: the env's ``reset``, the agent's ``record_transition`` and ``write_tracking_data``."""
        rec, scalars, rollouts = self._rec, self.session.cfg.log_scalars, self.rollouts

        def on_reset(original: Callable[..., Any]) -> Callable[..., Any]:
            def reset(*args: Any, **kwargs: Any) -> Any:
                out = original(*args, **kwargs)
                rec.begin(global_step=self._timestep + 1)  # a real reset: an episode starts
                return out

            return reset

        def on_transition(original: Callable[..., Any]) -> Callable[..., Any]:
            def record_transition(*args: Any, **kw: Any) -> Any:
                if "timestep" in kw:  # skrl calls it with keywords only
                    t = self._timestep = int(kw["timestep"])
                    if rollouts and t % rollouts == 0:
                        rec.iteration_start(t // rollouts)
                    # before skrl's own: PPO adds the bootstrapped value to `rewards` in place (time_limit_bootstrap)
                    rewards, actions = (kw["rewards"], kw["actions"]) if scalars else (None, None)
                    step = (kw["terminated"], rewards, actions, kw["truncated"], t + 1, t)  # …, global_step, step_id
                    rec.after_step(*step, kw.get("next_observations"), kw.get("infos"))  # …, observations, info
                return original(*args, **kw)

            return record_transition

        def on_tracking(original: Callable[..., Any]) -> Callable[..., Any]:
            def write_tracking_data(*args: Any, **kwargs: Any) -> Any:
                timestep = kwargs.get("timestep", args[0] if args else None)
                metrics = _tracking_scalars(self.agent.tracking_data)
                if metrics:
                    rec.log_metrics(metrics, global_step=None if timestep is None else int(timestep))
                return original(*args, **kwargs)  # skrl's own writes TensorBoard and clears tracking_data

            return write_tracking_data

        patches = [Patch(self.base_env, "reset", on_reset), Patch(self.agent, "record_transition", on_transition)]
        if self.session.cfg.log_metrics:
            patches.append(Patch(self.agent, "write_tracking_data", on_tracking))
        return patches


def attach_rerun(
    trainer: Trainer, cfg: RecordingCfg | Mapping[str, Any] | None = None, **options: Any
) -> RerunRecording:
    """Record the ``train()`` / ``eval()`` calls of an existing skrl trainer (e.g. ``runner.trainer`` of skrl's
    ``Runner``), wrapped on the instance until :meth:`RerunRecording.close`. Nothing is rebuilt (``agent.init()`` is
    not called again). ``cfg`` / ``options``: the recording options (:class:`~isaac_rerun.config.RecordingCfg`).

    Examples
    --------
    >>> runner = Runner(SkrlVecEnvWrapper(env), agent_cfg)  # doctest: +SKIP
    >>> with attach_rerun(runner.trainer, save_dir="runs/rerun", episode_trigger=every_n(20)) as rec:  # doctest: +SKIP
    ...     runner.run("train")
    """
    _check_trainer(trainer)
    _single_agent(trainer.agents, "trainer.agents")
    _isaac_env(trainer.env, "trainer.env")
    recording = RerunRecording(trainer.env, trainer.agents, cfg, **options)
    recording._attach(trainer)
    return recording


class RerunSequentialTrainer(SequentialTrainer):
    """skrl's ``SequentialTrainer`` that records its ``train()`` and ``eval()`` runs (handle: :attr:`rerun`).

    skrl's arguments unchanged, plus the recording options as ``rerun_cfg=`` and/or keyword arguments (skrl's trainer
    cfg rejects unknown keys), validated before skrl's ``agent.init()`` creates the experiment directory.

    Examples
    --------
    >>> trainer = RerunSequentialTrainer(env=SkrlVecEnvWrapper(env), agents=agent, cfg={"timesteps": 20000},
    ...                                  save_dir="runs/rerun", episode_trigger=every_n(50))  # doctest: +SKIP
    >>> trainer.train(); trainer.eval()  # snippets rl-rerun-episode-…, rl-rerun-eval-episode-…  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        env: Any,
        agents: Any,
        scopes: list[int] | None = None,
        cfg: SequentialTrainerCfg | Mapping[str, Any] | None = None,
        rerun_cfg: RecordingCfg | Mapping[str, Any] | None = None,
        **rerun_options: Any,
    ) -> None:
        if not isinstance(cfg, SequentialTrainerCfg):  # skrl's own check of its cfg, before anything is created
            cfg = SequentialTrainerCfg(**(cfg or {}))
        _single_agent(agents, "agents")
        _isaac_env(env, "env")
        self.rerun = RerunRecording(env, agents, rerun_cfg, **rerun_options)
        try:
            super().__init__(env=env, agents=agents, scopes=scopes, cfg=cfg)
        except BaseException:
            self.rerun.close()
            raise

    def train(self) -> None:
        """skrl's ``train()``, recorded."""
        with self.rerun.run("train"):
            super().train()

    def eval(self) -> None:
        """skrl's ``eval()``, recorded."""
        with self.rerun.run("eval"):
            super().eval()
