"""``isaac-rerun train|play`` without Isaac Lab's unified entrypoint: isaac-rerun's own loop.

Isaac Lab 2.x has no ``isaaclab_rl.entrypoints`` (its train/play scripts live in the source checkout, not in a
package), so there the command runs this loop, with the same ``rerun`` flags: the task's env config from the registry
(``parse_env_cfg``), ``gym.make``, the library's Isaac Lab wrapper and the agent config of the task's registry entry
(``rsl_rl_cfg_entry_point`` / ``skrl_cfg_entry_point`` / ``sb3_cfg_entry_point``), and the integration
(:class:`~isaac_rerun.integrations.rsl_rl.RerunRunnerMixin`, :func:`~isaac_rerun.integrations.skrl.attach_rerun`,
:class:`~isaac_rerun.integrations.sb3.RerunCallback`; :class:`~isaac_rerun.LogRerun` in ``play``). It follows Isaac
Lab's conventions: logs under ``logs/<library>/<experiment>/<date>`` (relative to the working directory), rsl_rl's
``model_<it>.pt``, skrl's ``checkpoints/agent_<t>.pt``, SB3's ``model.zip`` (+ ``model_vecnormalize.pkl``), and
``--max_iterations`` counts the same iterations as Isaac Lab's scripts. It takes a subset of Isaac Lab's flags (see
``--help``) and Hydra-style ``env.a.b=value`` / ``agent.a.b=value`` overrides. ``--rerun_backend loop`` selects it on
Isaac Lab 3.x too.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from isaac_rerun.cli.common import (
    check_checkpoint,
    check_task,
    default_library,
    describe,
    load_tasks,
    play_steps,
    print_summary,
)
from isaac_rerun.cli.options import (
    LIBRARIES,
    CliError,
    RerunOptions,
    add_rerun_args,
    check_envs,
    fresh_name_prefix,
    recording_cfg,
    rerun_options,
)

__all__ = ["loop_parser", "make_env", "run"]


def loop_parser(action: str) -> argparse.ArgumentParser:
    """The flags of ``isaac-rerun {action} --rerun_backend loop`` (a subset of Isaac Lab's, and the ``rerun`` group)."""
    p = argparse.ArgumentParser(
        prog=f"isaac-rerun {action}",
        description=f"{'Train' if action == 'train' else 'Play'} with isaac-rerun's own loop (Isaac Lab 2.x, or "
        "--rerun_backend loop) and record it to Rerun. Hydra-style overrides env.a.b=VALUE / agent.a.b=VALUE are "
        "applied to the task's env / agent config.",
    )
    p.add_argument("--rl_library", choices=LIBRARIES, default=None, help="the RL library (default: the task's)")
    p.add_argument("--task", default=None, help="a registered Isaac Lab task")
    p.add_argument("--num_envs", type=int, default=None, help="number of envs (default: the task's)")
    p.add_argument("--device", default="cuda:0", help="simulation (and agent) device (default: cuda:0)")
    p.add_argument("--seed", type=int, default=None, help="seed (default: the agent config's)")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint file: to resume training from, or to play (required by play)",
    )
    if action == "train":
        p.add_argument(
            "--max_iterations",
            type=int,
            default=None,
            help="training iterations (rsl_rl: learning iterations; skrl: agent.rollouts timesteps each; sb3: "
            "rollouts of n_steps) (default: the agent config's)",
        )
        p.add_argument("--run_name", default=None, help="suffix of the run's log folder name")
        p.add_argument(
            "--distributed",
            action="store_true",
            default=False,
            help="one rank of a multi-GPU run under torchrun (isaac-rerun train --num_gpus N starts them): the "
            "simulation and the agent on cuda:<LOCAL_RANK>, the seed plus the rank, ranks above 0 in <run>/rank_<R>",
        )
        p.add_argument(
            "--run_timestamp",
            default=None,
            help="timestamp naming the run folder (isaac-rerun train --num_gpus passes one to every rank)",
        )
    p.add_argument("--ml_framework", choices=("torch",), default="torch", help="skrl: torch only (default: torch)")
    add_rerun_args(p, action)
    return p


def _overrides(rest: list[str]) -> list[tuple[str, list[str], Any]]:
    """``env.a.b=value`` / ``agent.a.b=value`` → (target, path, value); anything else is a CliError."""
    import yaml

    out = []
    for token in rest:
        key, sep, text = token.partition("=")
        target, _, path = key.partition(".")
        if token.startswith("-") or not sep or target not in ("env", "agent") or not path:
            raise CliError(
                f"{token}: not a flag of isaac-rerun's own loop (--rerun_backend loop; see --help), nor an "
                "env.a.b=VALUE / agent.a.b=VALUE override"
            )
        out.append((target, path.split("."), yaml.safe_load(text)))
    return out


def _apply(cfg: Any, path: list[str], value: Any, token: str) -> None:
    target = cfg
    for name in path[:-1]:
        target = target[name] if isinstance(target, dict) else getattr(target, name, None)
        if target is None:
            raise CliError(f"{token}: the config has no {'.'.join(path)}")
    leaf = path[-1]
    if isinstance(target, dict):
        if leaf not in target:
            raise CliError(f"{token}: the config has no {'.'.join(path)}")
        target[leaf] = value
    else:
        if not hasattr(target, leaf):
            raise CliError(f"{token}: the config has no {'.'.join(path)}")
        setattr(target, leaf, value)


class _Simulation:
    """The simulation app: Isaac Lab 3.x's ``launch_simulation`` (needs the env cfg), 2.x's ``AppLauncher`` (before
    any task module is imported)."""

    def __init__(self, device: str, *, distributed: bool = False):
        import isaaclab.app as app

        self.stack = contextlib.ExitStack()
        self.device = device
        self.args: dict[str, Any] = {"device": device, **({"distributed": True} if distributed else {})}
        self.launch = getattr(app, "launch_simulation", None)
        if self.launch is None:  # Isaac Lab 2.x: Isaac Sim's app first
            launcher = app.AppLauncher(headless=True, **self.args)
            self.stack.callback(launcher.app.close)

    def start(self, env_cfg: Any) -> None:
        if self.launch is not None:
            self.stack.enter_context(self.launch(env_cfg, self.args))


def make_env(task: str, *, num_envs: int | None, device: str, seed: int | None) -> Any:
    """``gym.make(task, cfg=env_cfg)`` as Isaac Lab's scripts build it, with the simulation launched;
    ``env.close()`` also closes the simulation (used by the examples)."""
    sim = _Simulation(device)
    load_tasks()
    env_cfg = _env_cfg(check_task(task), num_envs, device, seed)
    return _make(task, env_cfg, sim)


def _env_cfg(task: str, num_envs: int | None, device: str, seed: int | None) -> Any:
    from isaaclab_tasks.utils import parse_env_cfg

    env_cfg = parse_env_cfg(task, device=device, num_envs=num_envs)
    if seed is not None:
        env_cfg.seed = seed
    return env_cfg


def _make(task: str, env_cfg: Any, sim: _Simulation) -> Any:
    import gymnasium as gym

    sim.start(env_cfg)
    try:
        env = gym.make(task, cfg=env_cfg)
    except BaseException:
        sim.stack.close()
        raise
    close = env.close

    def close_env_then_simulation() -> None:
        try:
            close()
        finally:
            sim.stack.close()

    env.close = close_env_then_simulation  # type: ignore[method-assign]
    return env


def run(
    action: str,
    library: str | None,
    argv: list[str],
    opts: RerunOptions,
    task: str | None,
    *,
    record: bool = True,
) -> int:
    """``isaac-rerun {action} --rerun_backend loop …``; returns the exit status. ``record=False``: a rank of a
    multi-GPU run that does not record (:mod:`isaac_rerun.cli.worker`): it trains without any integration."""
    parser = loop_parser(action)
    ns, rest = parser.parse_known_args(argv)
    overrides = _overrides(rest)
    opts = rerun_options(ns, action)
    check_checkpoint(ns.checkpoint, required=action == "play")
    distributed = bool(getattr(ns, "distributed", False))
    rank = int(os.environ.get("RANK", "0")) if distributed else 0
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if distributed else ns.device
    sim = _Simulation(device, distributed=distributed)
    try:
        load_tasks()
        task = check_task(ns.task)
        library = ns.rl_library or default_library(task, LIBRARIES)
        if distributed and library == "sb3":
            raise CliError("--distributed: Stable-Baselines3 has no multi-GPU training (use rsl_rl or skrl)")
        seed = ns.seed + rank if distributed and ns.seed is not None else ns.seed
        env_cfg = _env_cfg(task, ns.num_envs, device, seed)
        agent_cfg = _agent_cfg(task, library)
        for target, path, value in overrides:
            _apply(env_cfg if target == "env" else agent_cfg, path, value, f"{target}.{'.'.join(path)}={value}")
        logged = check_envs(opts, int(env_cfg.scene.num_envs))  # before anything is written
        loop = _Loop(action, library, task, ns, opts, env_cfg, agent_cfg, logged, overrides, record=record, rank=rank)
        return loop.run(sim)
    finally:
        sim.stack.close()


def _agent_cfg(task: str, library: str) -> Any:
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    try:
        return load_cfg_from_registry(task, f"{library}_cfg_entry_point")
    except ValueError as exc:
        raise CliError(f"--rl_library: {exc}") from None


class _Loop:
    """One train / play run of the own loop."""

    def __init__(
        self,
        action: str,
        library: str,
        task: str,
        ns: argparse.Namespace,
        opts: RerunOptions,
        env_cfg: Any,
        agent_cfg: Any,
        logged: list[int],
        overrides: list[tuple[str, list[str], Any]],
        *,
        record: bool = True,
        rank: int = 0,
    ):
        self.action, self.library, self.task, self.ns, self.opts = action, library, task, ns, opts
        self.record, self.rank = record, rank  # multi-GPU (--distributed): this process's global rank
        self.distributed = bool(getattr(ns, "distributed", False))
        self.env_cfg, self.agent_cfg, self.logged = env_cfg, agent_cfg, logged
        self.agent_device_given = any(t == "agent" and p == ["device"] for t, p, _ in overrides)
        self.sessions: list[Any] = []
        self.save_dir: Path | None = None
        self.stamp = getattr(ns, "run_timestamp", None) or datetime.now().strftime("%Y-%m-%d_%H-%M-%S")

    def cfg(self, log_dir: Path, prefix: str) -> Any:
        default = log_dir / "rerun" if self.action == "train" else log_dir / "rerun" / "play"
        self.save_dir = self.opts.dir or default
        prefix = fresh_name_prefix(self.save_dir, self.opts.name_prefix or prefix)
        print(describe(self.opts, self.logged, self.opts.viewer or str(self.save_dir)), flush=True)
        return recording_cfg(self.opts, save_dir=self.save_dir, name_prefix=prefix)

    def run(self, sim: _Simulation) -> int:
        num_envs = int(self.env_cfg.scene.num_envs)
        step: Callable[[], None]
        if self.action == "train":
            log_dir = self._log_dir(num_envs)
            # Isaac Lab's convention: rank 0 where a single-GPU run writes, the other ranks in rank_<rank>/
            rank_dir = log_dir if self.rank == 0 else log_dir / f"rank_{self.rank}"
            if hasattr(self.env_cfg, "log_dir"):
                self.env_cfg.log_dir = str(rank_dir)
            rec_cfg = self.cfg(rank_dir, "rl-rerun") if self.record else None
            env = _make(self.task, self.env_cfg, sim)
            try:
                getattr(self, f"_train_{self.library}")(env, log_dir, rec_cfg)
            finally:
                for session in self.sessions:
                    session.close()
                env.close()
            print(f"isaac-rerun: {self.library} logs and checkpoints in {log_dir}")
            if not self.record:
                return 0
        else:
            checkpoint = Path(self.ns.checkpoint).expanduser().absolute()
            log_dir = checkpoint.parent.parent if self.library == "skrl" else checkpoint.parent
            if hasattr(self.env_cfg, "log_dir"):
                self.env_cfg.log_dir = str(log_dir)
            rec_cfg = self.cfg(log_dir, checkpoint.stem)
            from isaac_rerun.integrations.gymnasium import LogRerun

            env = _make(self.task, self.env_cfg, sim)
            recording = None
            try:
                recording = LogRerun(env, cfg=rec_cfg)
                self.sessions.append(recording.session)
                step = getattr(self, f"_policy_{self.library}")(recording, checkpoint)
                play_steps(step, recording, self.opts)
            finally:
                if recording is not None:
                    recording.close()
                else:
                    env.close()
        print_summary(self.sessions, self.save_dir, self.opts.viewer)
        return 0

    def _log_dir(self, num_envs: int) -> Path:
        cfg, ns = self.agent_cfg, self.ns
        if self.library == "rsl_rl":
            name = self.stamp + (f"_{ns.run_name}" if ns.run_name else "")
            return Path("logs", "rsl_rl", cfg.experiment_name, name).absolute()
        if self.library == "skrl":
            exp = cfg["agent"]["experiment"]
            algorithm = str(cfg["agent"]["class"]).lower()
            name = f"{self.stamp}_{algorithm}_torch" + (
                f"_{exp['experiment_name']}" if exp.get("experiment_name") else ""
            )
            if ns.run_name:
                name += f"_{ns.run_name}"
            root = Path("logs", "skrl", exp["directory"]).absolute()
            exp["directory"], exp["experiment_name"] = str(root), name
            return root / name
        return Path("logs", "sb3", self.task, self.stamp + (f"_{ns.run_name}" if ns.run_name else "")).absolute()

    # ------------------------------------------------------------------ train
    def _train_rsl_rl(self, env: Any, log_dir: Path, rec_cfg: Any) -> None:
        from isaaclab.utils import to_dict
        from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
        from rsl_rl.runners import DistillationRunner, OnPolicyRunner

        from isaac_rerun.integrations.rsl_rl import RerunRunnerMixin

        cfg = _rsl_rl_cfg(self.agent_cfg)
        if self.ns.max_iterations is not None:
            cfg.max_iterations = self.ns.max_iterations
        if self.ns.seed is not None:
            cfg.seed = self.ns.seed
        if self.distributed:  # as Isaac Lab: the agent where the rank's simulation runs, the seed plus the rank
            cfg.device = str(env.unwrapped.device)
            cfg.seed += self.rank
        elif not self.agent_device_given:
            cfg.device = self.ns.device
        base = DistillationRunner if cfg.class_name == "DistillationRunner" else OnPolicyRunner
        vec_env = RslRlVecEnvWrapper(env, clip_actions=cfg.clip_actions)
        if rec_cfg is None:
            runner = base(vec_env, to_dict(cfg), log_dir=str(log_dir), device=cfg.device)
        else:
            rerun: Any = rec_cfg
            if self.rank != 0:  # RerunRunnerMixin records on its record_rank only
                rerun = {
                    **{f: getattr(rec_cfg, f) for f in type(rec_cfg).__dataclass_fields__},
                    "record_rank": self.rank,
                }
            runner_class = type(f"Recording{base.__name__}", (RerunRunnerMixin, base), {})
            runner = runner_class(vec_env, to_dict(cfg), log_dir=str(log_dir), device=cfg.device, rerun=rerun)
            if runner.rerun_session is not None:
                self.sessions.append(runner.rerun_session)
        if self.ns.checkpoint:
            runner.load(str(Path(self.ns.checkpoint).expanduser()))
        runner.learn(num_learning_iterations=cfg.max_iterations, init_at_random_ep_len=True)

    def _train_skrl(self, env: Any, log_dir: Path, rec_cfg: Any) -> None:
        from isaaclab_rl.skrl import SkrlVecEnvWrapper
        from skrl.utils.runner.torch import Runner

        from isaac_rerun.integrations.skrl import attach_rerun

        cfg = self.agent_cfg
        if self.ns.max_iterations:
            cfg["trainer"]["timesteps"] = self.ns.max_iterations * cfg["agent"]["rollouts"]
        cfg["trainer"]["close_environment_at_exit"] = False
        if self.ns.seed is not None:
            cfg["seed"] = self.ns.seed
        if self.distributed:
            cfg["seed"] = cfg.get("seed", 42) + self.rank
        runner = Runner(SkrlVecEnvWrapper(env, ml_framework="torch"), cfg)
        if self.ns.checkpoint:
            runner.agent.load(str(Path(self.ns.checkpoint).expanduser()))
        if rec_cfg is not None:
            recording = attach_rerun(runner.trainer, rec_cfg)
            self.sessions.append(recording.session)
        runner.run("train")
        if self.rank == 0:  # one checkpoint per run (every rank holds the same synchronized agent)
            timesteps = cfg["trainer"]["timesteps"]
            (log_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            runner.agent.write_checkpoint(timestep=timesteps, timesteps=timesteps)

    def _train_sb3(self, env: Any, log_dir: Path, rec_cfg: Any) -> None:
        import numpy as np
        from isaaclab_rl.sb3 import Sb3VecEnvWrapper, process_sb3_cfg
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import VecNormalize

        from isaac_rerun.integrations.sb3 import RerunCallback

        cfg = dict(self.agent_cfg)
        num_envs = int(env.unwrapped.num_envs)
        if self.ns.seed is not None:
            cfg["seed"] = self.ns.seed
        if self.ns.max_iterations is not None:
            cfg["n_timesteps"] = self.ns.max_iterations * cfg["n_steps"] * num_envs
        cfg = _process_sb3_cfg(process_sb3_cfg, cfg, num_envs)
        policy, n_timesteps = cfg.pop("policy"), cfg.pop("n_timesteps")
        norm = {k: cfg.pop(k) for k in ("normalize_input", "normalize_value", "clip_obs") if k in cfg}
        venv: Any = Sb3VecEnvWrapper(env)
        if norm.get("normalize_input"):
            venv = VecNormalize(
                venv,
                training=True,
                norm_obs=norm["normalize_input"],
                norm_reward=norm.get("normalize_value", False),
                clip_obs=norm.get("clip_obs", 100.0),
                gamma=cfg["gamma"],
                clip_reward=np.inf,
            )
        if not self.agent_device_given and "device" in cfg:
            cfg["device"] = self.ns.device
        model = PPO(policy, venv, verbose=1, tensorboard_log=str(log_dir), **cfg)
        if self.ns.checkpoint:
            model = PPO.load(str(Path(self.ns.checkpoint).expanduser()), venv)
        callback = RerunCallback(rec_cfg)
        self.sessions.append(callback.session)
        model.learn(total_timesteps=n_timesteps, callback=callback, log_interval=1)
        model.save(str(log_dir / "model"))
        if isinstance(venv, VecNormalize):
            venv.save(str(log_dir / "model_vecnormalize.pkl"))

    # ------------------------------------------------------------------ play
    def _policy_rsl_rl(self, env: Any, checkpoint: Path) -> Callable[[], None]:
        from isaaclab.utils import to_dict
        from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
        from rsl_rl.runners import DistillationRunner, OnPolicyRunner

        cfg = _rsl_rl_cfg(self.agent_cfg)
        if not self.agent_device_given:
            cfg.device = self.ns.device
        vec_env = RslRlVecEnvWrapper(env, clip_actions=cfg.clip_actions)
        base = DistillationRunner if cfg.class_name == "DistillationRunner" else OnPolicyRunner
        runner = base(vec_env, to_dict(cfg), log_dir=None, device=cfg.device)
        runner.load(str(checkpoint))
        policy = runner.get_inference_policy(device=env.unwrapped.device)
        obs = vec_env.get_observations()

        def step() -> None:
            nonlocal obs
            obs, _, dones, _ = vec_env.step(policy(obs))
            if hasattr(policy, "reset"):
                policy.reset(dones)

        return step

    def _policy_skrl(self, env: Any, checkpoint: Path) -> Callable[[], None]:
        from isaaclab_rl.skrl import SkrlVecEnvWrapper
        from skrl.utils.runner.torch import Runner

        cfg = self.agent_cfg
        cfg["trainer"]["close_environment_at_exit"] = False
        cfg["agent"]["experiment"]["write_interval"] = 0
        cfg["agent"]["experiment"]["checkpoint_interval"] = 0
        wrapped = SkrlVecEnvWrapper(env, ml_framework="torch")
        runner = Runner(wrapped, cfg)
        runner.agent.load(str(checkpoint))
        runner.agent.enable_training_mode(False, apply_to_models=True)
        obs, _ = wrapped.reset()
        states = wrapped.state()

        def step() -> None:
            nonlocal obs, states
            outputs = runner.agent.act(obs, states, timestep=0, timesteps=0)
            actions = outputs[-1].get("mean_actions", outputs[0])
            obs, _, _, _, _ = wrapped.step(actions)
            states = wrapped.state()

        return step

    def _policy_sb3(self, env: Any, checkpoint: Path) -> Callable[[], None]:
        from isaaclab_rl.sb3 import Sb3VecEnvWrapper
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import VecNormalize

        venv: Any = Sb3VecEnvWrapper(env)
        norm = checkpoint.with_name(checkpoint.name.replace("model", "model_vecnormalize", 1)).with_suffix(".pkl")
        if norm.exists():
            venv = VecNormalize.load(str(norm), venv)
            venv.training, venv.norm_reward = False, False
        model = PPO.load(str(checkpoint), venv, device=self.ns.device)
        obs = venv.reset()

        def step() -> None:
            nonlocal obs
            actions, _ = model.predict(obs, deterministic=True)
            obs, _, _, _ = venv.step(actions)

        return step


def _rsl_rl_cfg(agent_cfg: Any) -> Any:
    """The task's rsl_rl configclass, updated for the installed rsl_rl as Isaac Lab's scripts do."""
    from isaaclab_rl.rsl_rl import utils

    handle = getattr(utils, "handle_deprecated_rsl_rl_cfg", None)
    version = getattr(utils, "check_rsl_rl_version", None)
    if handle is not None and version is not None:
        return handle(agent_cfg, version())
    return agent_cfg


def _process_sb3_cfg(process: Callable[..., Any], cfg: dict[str, Any], num_envs: int) -> dict[str, Any]:
    try:
        return dict(process(cfg, num_envs))
    except TypeError:  # Isaac Lab 2.x: process_sb3_cfg(cfg)
        if "n_minibatches" in cfg:
            cfg["batch_size"] = math.ceil(cfg.get("n_steps", 2048) * num_envs / cfg.pop("n_minibatches"))
        return dict(process(cfg))
