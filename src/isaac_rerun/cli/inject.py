"""``isaac-rerun train|play`` on Isaac Lab 3.x: Isaac Lab's own entrypoint, with the recording injected.

``isaaclab train|play --rl_library X`` is ``isaaclab_rl.entrypoints.dispatch.run_cli(action, argv)``, which runs the
backend module ``isaaclab_rl.entrypoints.backends.{action}_{X}``. Isaac Lab has no recording hook, so isaac-rerun
replaces, **for the duration of that one call** (an :class:`~contextlib.ExitStack`), the module globals the backend
looks up when it runs (its ``from ..common import create_isaaclab_env`` binds the name in the backend's namespace):

========================================= ==========================================================================
``common.add_video_args``                 adds the ``rerun`` flag group to every backend's parser (and ``--help``)
``<backend>.pre_launch_video_config``     checks ``--rerun_envs`` against the env cfg's ``num_envs`` before the
                                          simulation starts and before Isaac Lab writes anything
``<backend>.create_isaaclab_env``         the env, the parsed ``args_cli`` and ``env_cfg.log_dir`` (the run's log
                                          folder); in ``play`` the env is returned wrapped in
                                          :class:`~isaac_rerun.LogRerun` (below the library's wrapper)
``train_rsl_rl.create_rsl_rl_runner``     during the call, ``isaaclab_rl.rsl_rl.utils.OnPolicyRunner`` /
                                          ``DistillationRunner`` are subclasses with
                                          :class:`~isaac_rerun.integrations.rsl_rl.RerunRunnerMixin`
``train_skrl.import_skrl_runner``         returns a subclass of skrl's ``Runner`` that calls
                                          :func:`~isaac_rerun.integrations.skrl.attach_rerun` on its trainer
``train_sb3.PPO``                         a subclass whose ``learn`` appends
                                          :class:`~isaac_rerun.integrations.sb3.RerunCallback` to Isaac Lab's
                                          callbacks (``PPO.load`` is a classmethod: a resumed model is one too)
``play_<X>.run_playback``                 stops after ``--rerun_episodes`` / ``--rerun_max_steps``
========================================= ==========================================================================

An Isaac Lab upgrade that moves one of these fails loudly, never silently: :func:`preflight` checks each (module,
name) before the run — it exists, takes the parameters the hook relies on, is the class it must be, and is looked
up by name when the backend runs — and raises :class:`InjectionError` naming the module, the name and the Isaac Lab
version; after the run, each hook must have fired (else :class:`InjectionError`: the run was not recorded).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import os
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isaac_rerun.cli.common import (
    check_task,
    default_library,
    describe,
    isaaclab_version,
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

__all__ = ["TESTED_ISAACLAB", "InjectionError", "Seam", "available", "preflight", "run", "seams"]

TESTED_ISAACLAB = "3.0"
"""The Isaac Lab release line whose entrypoints isaac-rerun was built and tested against."""

DISPATCH = "isaaclab_rl.entrypoints.dispatch"
COMMON = "isaaclab_rl.entrypoints.common"
RSL_RL_UTILS = "isaaclab_rl.rsl_rl.utils"


class InjectionError(RuntimeError):
    """Isaac Lab's entrypoint is not what isaac-rerun injects its recording into (moved by an upgrade), or a hook
    did not fire: the run would not be (or was not) recorded."""


@dataclass(frozen=True)
class Seam:
    """A module global isaac-rerun replaces while Isaac Lab's entrypoint runs.

    Attributes
    ----------
    module, name:
        Where it is (``module.name``).
    params:
        Parameter names the replacement relies on (functions).
    base:
        ``"module:Class"`` the value must be (a subclass of), for classes.
    caller:
        The module whose functions must look ``name`` up when they run (default: ``module``).
    """

    module: str
    name: str
    params: tuple[str, ...] = ()
    base: str | None = None
    caller: str | None = None

    @property
    def where(self) -> str:
        return f"{self.module}.{self.name}"


def backend_module(action: str, library: str) -> str:
    """Isaac Lab's backend module of ``isaaclab {action} --rl_library {library}``."""
    return f"isaaclab_rl.entrypoints.backends.{action}_{library}"


def seams(action: str, library: str) -> list[Seam]:
    """Every module global replaced for ``isaac-rerun {action} --rl_library {library}`` (see the module docstring)."""
    backend = backend_module(action, library)
    out = [
        Seam(DISPATCH, "run_cli", ("action", "argv")),
        Seam(COMMON, "add_video_args", ("parser", "action")),
        Seam(backend, "pre_launch_video_config", ("env_cfg", "args_cli")),
        Seam(backend, "create_isaaclab_env", ("task", "env_cfg", "args_cli")),
    ]
    if action == "play":
        out.append(Seam(backend, "run_playback", ("step", "dt", "args_cli", "env_cfg")))
    elif library == "rsl_rl":
        out += [
            Seam(backend, "create_rsl_rl_runner", ("env", "agent_cfg", "log_dir")),
            Seam(RSL_RL_UTILS, "OnPolicyRunner", base="rsl_rl.runners:OnPolicyRunner"),
            Seam(RSL_RL_UTILS, "DistillationRunner", base="rsl_rl.runners:DistillationRunner"),
        ]
    elif library == "skrl":
        out.append(Seam(backend, "import_skrl_runner", ("ml_framework",)))
    elif library == "sb3":
        out.append(Seam(backend, "PPO", base="stable_baselines3:PPO"))
    return out


def available() -> bool:
    """True when Isaac Lab's unified train/play entrypoint (``isaaclab_rl.entrypoints``, Isaac Lab 3.x) exists."""
    try:
        return importlib.util.find_spec("isaaclab_rl.entrypoints.dispatch") is not None
    except ImportError:  # no isaaclab_rl at all
        return False


def _fail(seam: Seam, problem: str) -> InjectionError:
    return InjectionError(
        f"isaac-rerun cannot record through Isaac Lab {isaaclab_version()}'s entrypoint: {seam.where} {problem}. "
        f"isaac-rerun injects its recording there (built and tested with Isaac Lab {TESTED_ISAACLAB}.x); an Isaac "
        "Lab upgrade moved it. Run with --rerun_backend loop (isaac-rerun's own training loop) or use the Python "
        "API (docs/cli.md)."
    )


def _looked_up(module: types.ModuleType, name: str) -> bool:
    """True when a function of ``module`` reads the global ``name`` when it runs (so replacing it takes effect)."""

    def codes(code: types.CodeType) -> Iterator[types.CodeType]:
        yield code
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                yield from codes(const)

    for value in vars(module).values():
        if (
            inspect.isfunction(value)
            and value.__module__ == module.__name__
            and any(name in code.co_names for code in codes(value.__code__))
        ):
            return True
    return False


def preflight(action: str, library: str) -> dict[str, types.ModuleType]:
    """Check every seam of :func:`seams` (nothing is run, nothing replaced); returns the modules by name.

    Raises
    ------
    InjectionError
        Naming the module, the name, what changed and the Isaac Lab version.
    """
    modules: dict[str, types.ModuleType] = {}
    for seam in seams(action, library):
        for name in {seam.module, seam.caller or seam.module}:
            if name not in modules:
                try:
                    modules[name] = importlib.import_module(name)
                except ImportError as exc:
                    raise _fail(seam, f"cannot be imported ({exc})") from exc
        module = modules[seam.module]
        if not hasattr(module, seam.name):
            raise _fail(seam, "does not exist")
        value = getattr(module, seam.name)
        if seam.params:
            try:
                params = list(inspect.signature(value).parameters)
            except (TypeError, ValueError) as exc:
                raise _fail(seam, f"is not a function ({type(value).__name__})") from exc
            missing = [p for p in seam.params if p not in params]
            if missing:
                raise _fail(seam, f"no longer takes {missing} (its parameters are {params})")
        if seam.base is not None:
            base_module, _, base_name = seam.base.partition(":")
            try:
                base = getattr(importlib.import_module(base_module), base_name)
            except (ImportError, AttributeError) as exc:
                raise _fail(seam, f"cannot be checked: {seam.base} is missing ({exc})") from exc
            if not (isinstance(value, type) and issubclass(value, base)):
                raise _fail(seam, f"is {value!r}, not {seam.base.replace(':', '.')}")
        caller = modules[seam.caller or seam.module]
        if seam.module != DISPATCH and not _looked_up(caller, seam.name):
            raise _fail(seam, f"is no longer looked up by name in {caller.__name__} when it runs")
    add_video_args_seam = Seam(COMMON, "add_video_args")
    if not _looked_up(modules[COMMON], "add_video_args"):
        raise _fail(add_video_args_seam, "is no longer called by the common train/play argument parsers")
    rsl_utils = importlib.import_module(RSL_RL_UTILS) if action == "train" and library == "rsl_rl" else None
    if rsl_utils is not None:
        factory = modules[backend_module(action, library)].create_rsl_rl_runner
        if getattr(factory, "__module__", None) != RSL_RL_UTILS:
            raise _fail(
                Seam(backend_module(action, library), "create_rsl_rl_runner"),
                f"is no longer {RSL_RL_UTILS}.create_rsl_rl_runner (it is {factory!r})",
            )
    return modules


@contextlib.contextmanager
def _swap(module: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


@contextlib.contextmanager
def _program_name(name: str) -> Iterator[None]:
    """``sys.argv[0]`` is ``name`` while the block runs (argparse takes its ``prog`` from it)."""
    old = sys.argv[0] if sys.argv else ""
    if not sys.argv:
        sys.argv.append(name)
    sys.argv[0] = name
    try:
        yield
    finally:
        if sys.argv:
            sys.argv[0] = old


def _bind(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a call of ``function`` by parameter name (defaults filled in)."""
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


class Injection:
    """The hooks of one ``isaac-rerun train|play`` run and what they saw."""

    def __init__(
        self,
        action: str,
        library: str,
        opts: RerunOptions,
        modules: dict[str, types.ModuleType],
        record_rank: int = 0,
    ):
        self.action, self.library, self.opts, self.modules = action, library, opts, modules
        self.record_rank = record_rank  # multi-GPU: the global rank of this process (rsl_rl records only there)
        self.fired: dict[str, int] = {}
        self.args_cli: argparse.Namespace | None = None
        self.env: Any = None
        self.log_dir: Path | None = None
        self.save_dir: Path | None = None
        self.name_prefix = ""
        self.logged_envs: list[int] = []
        self.sessions: list[Any] = []  # the RecordingSession of each integration object made
        self.recording: Any = None  # play: the LogRerun on the env
        self._announced = False

    # ------------------------------------------------------------------ bookkeeping
    def hit(self, name: str) -> None:
        self.fired[name] = self.fired.get(name, 0) + 1

    def need(self, name: str, what: str) -> None:
        """``what`` runs now: the hook ``name`` must have run before it (else Isaac Lab changed its order)."""
        if not self.fired.get(name):
            raise InjectionError(
                f"isaac-rerun: {what} ran before Isaac Lab {isaaclab_version()} called {name}(): the entrypoint no "
                f"longer creates the env the way isaac-rerun injects its recording (tested with Isaac Lab "
                f"{TESTED_ISAACLAB}.x); run with --rerun_backend loop"
            )

    def expected(self) -> list[str]:
        """The hooks a complete run fires."""
        names = ["add_video_args", "pre_launch_video_config", "create_isaaclab_env"]
        if self.action == "play":
            return [*names, "run_playback"]
        return (
            names
            + {
                "rsl_rl": ["create_rsl_rl_runner", "runner", "learn"],
                "skrl": ["import_skrl_runner", "runner", "run"],
                "sb3": ["PPO", "learn"],
            }[self.library]
        )

    def check_fired(self) -> None:
        """After a successful run: every hook fired (else the run was not recorded: :class:`InjectionError`)."""
        missing = [name for name in self.expected() if not self.fired.get(name)]
        if missing:
            raise InjectionError(
                f"isaac-rerun: Isaac Lab {isaaclab_version()}'s {self.action} entrypoint finished without calling "
                f"{', '.join(missing)} through isaac-rerun's hooks, so this run was not (completely) recorded: an "
                f"Isaac Lab upgrade bypassed them (tested with {TESTED_ISAACLAB}.x). Run with --rerun_backend loop."
            )
        for session in self.sessions:
            recorder = session.recorder
            if recorder is not None and recorder.step_id < 0:
                warnings.warn(
                    "isaac-rerun: the recording saw no env step (the run was interrupted before it stepped?)",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def announce(self) -> None:
        """One line when the env starts stepping (Isaac Lab's start-up screen is closed by then)."""
        if not self._announced:
            self._announced = True
            where = self.opts.viewer or str(self.save_dir)
            print(describe(self.opts, self.logged_envs, where), flush=True)

    def recording_cfg(self) -> Any:
        return recording_cfg(self.opts, save_dir=self.save_dir, name_prefix=self.name_prefix)

    def runner_rerun(self) -> Any:
        """rsl_rl's ``rerun=``: the recording options, with ``record_rank`` this process's rank in a multi-GPU run
        (``RerunRunnerMixin`` records only on that global rank)."""
        cfg = self.recording_cfg()
        if self.record_rank == 0:
            return cfg
        from isaac_rerun.config import RecordingCfg

        return {**{f: getattr(cfg, f) for f in RecordingCfg.__dataclass_fields__}, "record_rank": self.record_rank}

    # ------------------------------------------------------------------ install
    def install(self, stack: contextlib.ExitStack) -> None:
        """Replace every seam's module global for as long as ``stack`` is open."""
        backend = self.modules[backend_module(self.action, self.library)]
        common = self.modules[COMMON]
        stack.enter_context(_swap(common, "add_video_args", self._add_video_args(common.add_video_args)))
        stack.enter_context(
            _swap(backend, "pre_launch_video_config", self._pre_launch(backend.pre_launch_video_config))
        )
        stack.enter_context(_swap(backend, "create_isaaclab_env", self._create_env(backend.create_isaaclab_env)))
        if self.action == "play":
            stack.enter_context(_swap(backend, "run_playback", self._run_playback(backend.run_playback)))
        elif self.library == "rsl_rl":
            stack.enter_context(
                _swap(backend, "create_rsl_rl_runner", self._create_rsl_rl_runner(backend.create_rsl_rl_runner))
            )
        elif self.library == "skrl":
            stack.enter_context(
                _swap(backend, "import_skrl_runner", self._import_skrl_runner(backend.import_skrl_runner))
            )
        elif self.library == "sb3":
            stack.enter_context(_swap(backend, "PPO", self._ppo(backend.PPO)))

    # ------------------------------------------------------------------ common hooks
    def _add_video_args(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def add_video_args(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            parser = _bind(original, args, kwargs)["parser"]
            add_rerun_args(parser, self.action)
            self.hit("add_video_args")
            return result

        return add_video_args

    def _pre_launch(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def pre_launch_video_config(*args: Any, **kwargs: Any) -> Any:
            call = _bind(original, args, kwargs)
            self.need("add_video_args", "pre_launch_video_config()")
            args_cli, env_cfg = call["args_cli"], call["env_cfg"]
            self.opts = rerun_options(args_cli, self.action)  # what Isaac Lab's parser read (the source of truth)
            num_envs = getattr(args_cli, "num_envs", None) or getattr(getattr(env_cfg, "scene", None), "num_envs", None)
            if num_envs is not None:
                self.logged_envs = check_envs(self.opts, int(num_envs))
            self.hit("pre_launch_video_config")
            return original(*args, **kwargs)

        return pre_launch_video_config

    def _create_env(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def create_isaaclab_env(*args: Any, **kwargs: Any) -> Any:
            call = _bind(original, args, kwargs)
            self.need("pre_launch_video_config", "create_isaaclab_env()")
            self.args_cli, env_cfg = call["args_cli"], call["env_cfg"]
            log_dir = getattr(env_cfg, "log_dir", None)
            if log_dir is None and self.opts.dir is None and self.opts.viewer is None:
                raise InjectionError(
                    "isaac-rerun: Isaac Lab set no env_cfg.log_dir before creating the env, so the run's log folder "
                    "is unknown; give --rerun_dir"
                )
            self.log_dir = Path(log_dir) if log_dir is not None else None
            if self.opts.dir is not None:
                self.save_dir = self.opts.dir
            elif self.log_dir is not None:
                self.save_dir = self.log_dir / "rerun" if self.action == "train" else self.log_dir / "rerun" / "play"
            self.name_prefix = fresh_name_prefix(self.save_dir, self.opts.name_prefix or self._default_prefix())
            env = original(*args, **kwargs)
            self.env = env
            self.logged_envs = check_envs(self.opts, int(env.unwrapped.num_envs))
            self.hit("create_isaaclab_env")
            if self.action == "play":
                from isaac_rerun.integrations.gymnasium import LogRerun

                self.recording = LogRerun(env, cfg=self.recording_cfg())
                self.sessions.append(self.recording.session)
                return self.recording
            return env

        return create_isaaclab_env

    def _default_prefix(self) -> str:
        if self.action == "train":
            return "rl-rerun"
        checkpoint = getattr(self.args_cli, "checkpoint", None)
        if checkpoint and os.path.isfile(checkpoint):
            stem = Path(checkpoint).stem
            safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in stem)
            return safe or "play"
        return "play"

    def _run_playback(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def run_playback(*args: Any, **kwargs: Any) -> Any:
            call = _bind(original, args, kwargs)
            self.need("create_isaaclab_env", "run_playback()")
            self.hit("run_playback")
            self.announce()
            if self.opts.episodes is None and self.opts.max_steps is None:
                return original(*args, **kwargs)  # Isaac Lab's loop: until Ctrl+C (or its --video length)
            args_cli = call["args_cli"]
            play_steps(call["step"], self.recording, self.opts, dt=call["dt"], real_time=bool(args_cli.real_time))
            return None

        return run_playback

    # ------------------------------------------------------------------ the libraries
    def _create_rsl_rl_runner(self, original: Callable[..., Any]) -> Callable[..., Any]:
        from isaac_rerun.integrations.rsl_rl import RerunRunnerMixin

        rsl_utils = importlib.import_module(RSL_RL_UTILS)

        def create_rsl_rl_runner(*args: Any, **kwargs: Any) -> Any:
            self.need("create_isaaclab_env", "create_rsl_rl_runner()")
            self.hit("create_rsl_rl_runner")
            with contextlib.ExitStack() as stack:
                for name in ("OnPolicyRunner", "DistillationRunner"):
                    base = getattr(rsl_utils, name)
                    recording = _subclass(base, (RecordingRslRlRunner, RerunRunnerMixin), self)
                    stack.enter_context(_swap(rsl_utils, name, recording))
                runner = original(*args, **kwargs)
            if not isinstance(runner, RerunRunnerMixin):
                raise InjectionError(
                    f"isaac-rerun: Isaac Lab {isaaclab_version()}'s create_rsl_rl_runner() built a "
                    f"{type(runner).__name__} without isaac-rerun's runner class ({RSL_RL_UTILS}.OnPolicyRunner / "
                    f"DistillationRunner are no longer what it instantiates); run with --rerun_backend loop"
                )
            return runner

        return create_rsl_rl_runner

    def _import_skrl_runner(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def import_skrl_runner(*args: Any, **kwargs: Any) -> Any:
            ml_framework = _bind(original, args, kwargs)["ml_framework"]
            if ml_framework != "torch":
                raise CliError(f"--ml_framework: isaac-rerun records skrl's torch runner only, got {ml_framework!r}")
            runner_class = original(*args, **kwargs)
            self.hit("import_skrl_runner")
            return _subclass(runner_class, (RecordingSkrlRunner,), self)

        return import_skrl_runner

    def _ppo(self, ppo: Any) -> type:
        return _subclass(ppo, (RecordingPPO,), self)

    # ------------------------------------------------------------------ the end
    def close(self) -> None:
        """Finish every recording (files complete); safe after a failure."""
        for session in self.sessions:
            with contextlib.suppress(Exception):
                session.close()


# ---------------------------------------------------------------------------------------------------------- classes
# What each library's class becomes: the library's class (known only when Isaac Lab's entrypoint imports it) with one
# of these before it (:func:`_subclass`); the injection they report to is a class attribute of the made subclass.
class _Injected:
    _injection: Injection


class RecordingRslRlRunner(_Injected):
    """rsl_rl's ``OnPolicyRunner`` / ``DistillationRunner`` with ``RerunRunnerMixin``: the recording options as its
    ``rerun=`` (unless given)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        injection = self._injection
        kwargs.setdefault("rerun", injection.runner_rerun())
        super().__init__(*args, **kwargs)
        session = getattr(self, "rerun_session", None)
        if session is not None:
            injection.sessions.append(session)
        injection.hit("runner")

    def learn(self, *args: Any, **kwargs: Any) -> Any:
        self._injection.hit("learn")
        self._injection.announce()
        return super().learn(*args, **kwargs)  # type: ignore[misc]


class RecordingSkrlRunner(_Injected):
    """skrl's ``Runner`` (torch) with its trainer recorded (``attach_rerun``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        injection = self._injection
        injection.need("create_isaaclab_env", "skrl's Runner")
        super().__init__(*args, **kwargs)
        from isaac_rerun.integrations.skrl import attach_rerun

        recording = attach_rerun(self.trainer, injection.recording_cfg())  # type: ignore[attr-defined]
        injection.sessions.append(recording.session)
        injection.hit("runner")

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self._injection.hit("run")
        self._injection.announce()
        return super().run(*args, **kwargs)  # type: ignore[misc]


class RecordingPPO(_Injected):
    """SB3's ``PPO`` whose ``learn()`` adds a ``RerunCallback`` to its callbacks (closed when it returns)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._injection.need("create_isaaclab_env", "PPO()")
        super().__init__(*args, **kwargs)
        self._injection.hit("PPO")

    def learn(self, *args: Any, **kwargs: Any) -> Any:
        from isaac_rerun.integrations.sb3 import RerunCallback

        injection = self._injection
        learn = super().learn  # type: ignore[misc]
        bound = inspect.signature(learn).bind(*args, **kwargs)
        callback = bound.arguments.get("callback")
        callbacks = [] if callback is None else list(callback) if isinstance(callback, list) else [callback]
        recording = RerunCallback(injection.recording_cfg())
        injection.sessions.append(recording.session)
        bound.arguments["callback"] = [*callbacks, recording]
        injection.hit("learn")
        injection.announce()
        try:
            return learn(*bound.args, **bound.kwargs)
        finally:
            recording.close()


def _subclass(base: type, recording: tuple[type, ...], injection: Injection) -> type:
    """``Recording<Base>``: ``base`` with the ``recording`` classes before it, reporting to ``injection``."""
    name = f"Recording{base.__name__}"
    return type(name, (*recording, base), {"_injection": injection, "__qualname__": name, "__module__": __name__})


def run(
    action: str,
    library: str | None,
    argv: list[str],
    opts: RerunOptions,
    task: str | None,
    *,
    record_rank: int = 0,
) -> int:
    """``isaac-rerun {action} …`` through Isaac Lab's own entrypoint; returns the exit status.

    ``argv``: the command line after ``train`` / ``play`` (Isaac Lab's flags, the ``rerun`` flags, Hydra overrides).
    ``record_rank``: in a multi-GPU run (:mod:`isaac_rerun.cli.worker`), the global rank of this process, the one
    that records.
    """
    help_asked = "-h" in argv or "--help" in argv
    load_tasks()
    if not help_asked:
        task = check_task(task)
    if library is None:
        if task is None:
            raise CliError("--rl_library: required (one of rsl_rl, skrl, sb3), or a --task that names a default")
        library = default_library(task, LIBRARIES)
        argv = ["--rl_library", library, *argv]
    if library == "rsl_rl" and not help_asked:
        argv = _agent_device(argv)
    modules = preflight(action, library)
    version = isaaclab_version()
    if not version.startswith(f"{TESTED_ISAACLAB}."):
        warnings.warn(
            f"isaac-rerun was tested with Isaac Lab {TESTED_ISAACLAB}.x, this is {version}: the injection points "
            "passed their checks, but report problems (or use --rerun_backend loop)",
            RuntimeWarning,
            stacklevel=2,
        )
    injection = Injection(action, library, opts, modules, record_rank=record_rank)
    with contextlib.ExitStack() as stack:
        injection.install(stack)
        stack.enter_context(_program_name(f"isaac-rerun {action}"))  # Isaac Lab's parsers name it in usage lines
        try:
            status = modules[DISPATCH].run_cli(action, argv)
        except SystemExit as exc:  # argparse (--help, a bad Isaac Lab flag)
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code)
        finally:
            injection.close()
    status = 0 if status is None else int(status)
    if help_asked or status != 0:
        return status
    injection.check_fired()
    print_summary(injection.sessions, injection.save_dir, injection.opts.viewer)
    return 0


def _agent_device(argv: list[str]) -> list[str]:
    """rsl_rl's agent cfg defaults to ``device="cuda:0"`` and Isaac Lab's ``--device`` moves only the simulation:
    on a machine without CUDA, ``--device cpu`` adds the Hydra override ``agent.device=cpu`` (unless one is given)."""
    if any(a.startswith("agent.device=") for a in argv):
        return argv
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--device")
    device = parser.parse_known_args(argv)[0].device
    if device != "cpu":
        return argv
    import torch

    if torch.cuda.is_available():
        return argv
    print("isaac-rerun: no CUDA device: added the Hydra override agent.device=cpu (rsl_rl's agent defaults to cuda:0)")
    return [*argv, "agent.device=cpu"]
