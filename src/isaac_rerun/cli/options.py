"""The recording flags of ``isaac-rerun train`` and ``isaac-rerun play`` (the ``rerun`` group of their ``--help``).

The same group is added to Isaac Lab's own parser (so its ``--help`` lists it and Hydra never sees the flags) and to
the parser of isaac-rerun's own loop; :func:`rerun_options` reads it back from either namespace, checks what can be
checked without the env (everything but the env indices' range, :func:`check_envs`) and :func:`recording_cfg` turns
it into a :class:`~isaac_rerun.config.RecordingCfg`. Every error names the flag and nothing has been written when it
is raised. Nothing here imports Isaac Lab, torch or an RL framework.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isaac_rerun.config import LoggedEnvs, RecordingCfg, SceneLogCfg, check_logged_envs_form, resolve_logged_envs
from isaac_rerun.triggers import capped_cubic_video_schedule, every_n

__all__ = [
    "ACTIONS",
    "DEFAULT_INTERVAL",
    "DEFAULT_PLAY_KEEP_WINDOW",
    "LIBRARIES",
    "TRIGGERS",
    "CliError",
    "RerunOptions",
    "add_rerun_args",
    "check_envs",
    "fresh_name_prefix",
    "non_negative_int",
    "positive_int",
    "recording_cfg",
    "rerun_options",
]

LIBRARIES = ("rsl_rl", "skrl", "sb3")
"""The RL libraries ``isaac-rerun train|play --rl_library`` records."""

ACTIONS = ("train", "play")

TRIGGERS = ("iteration", "step", "episode", "none")
"""What ``--rerun_interval`` counts (``--rerun_trigger``)."""

DEFAULT_INTERVAL: dict[tuple[str, str], int | None] = {
    ("train", "iteration"): 50,
    ("train", "step"): 2000,  # Isaac Lab's VideoRecorderCfg.video_interval
    ("train", "episode"): None,  # Gymnasium's capped cubic schedule: episodes 0, 1, 8, 27, …, 1000, 2000, …
    ("play", "step"): 2000,
    ("play", "episode"): 1,  # every episode
}
"""``--rerun_interval`` when it is not given, per command and ``--rerun_trigger``."""

DEFAULT_PLAY_KEEP_WINDOW = 1000
"""``--rerun_keep worst|best`` in ``play`` (no training iterations): the window, in env steps."""

_FIELD_FLAGS = {
    "logged_envs": "--rerun_envs",
    "history_envs": "--rerun_envs",
    "recording_length": "--rerun_length",
    "iteration_trigger": "--rerun_interval",
    "step_trigger": "--rerun_interval",
    "episode_trigger": "--rerun_interval",
    "save_dir": "--rerun_dir",
    "viewer": "--rerun_viewer",
    "episode_filter": "--rerun_keep",
    "nan_guard": "--rerun_nan_guard",
    "history": "--rerun_history",
    "name_prefix": "--rerun_name_prefix",
    "layout": "--rerun_layout",
    "env_layout": "--rerun_env_layout",
    "trails": "--rerun_trails",
}


class CliError(Exception):
    """A command-line usage error (exit status 2); the message names the flag."""


# ---------------------------------------------------------------------------------------------------------- types
def _envs(text: str) -> LoggedEnvs:
    """``--rerun_envs``: ``0``, ``0,1,5``, ``all``, ``0:16``, ``::4`` (checked against num_envs later)."""
    value: LoggedEnvs
    text = text.strip()
    if text == "all" or ":" in text:
        value = text
    else:
        try:
            value = [int(part) for part in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an env index list ('0,1'), 'all' or a slice ('0:16', '::4')"
            ) from None
    try:
        check_logged_envs_form(value)
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError(f"duplicate env indices in {text!r}")
        if isinstance(value, list) and min(value) < 0:
            raise ValueError(f"env indices must be >= 0, got {text!r}")
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("`logged_envs` must be", "must be")) from None
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _trails(text: str) -> bool | tuple[str, ...]:
    """``--rerun_trails``: ``root``, or comma-separated body names (regular expressions); empty: none."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        return False
    if names == ("root",):
        return True
    try:
        SceneLogCfg(trails=names)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("`trails`", "body name")) from None
    return names


def _viewer(text: str) -> str:
    if text != "spawn" and not text.startswith(("rerun+http://", "rerun+https://")):
        raise argparse.ArgumentTypeError(
            f"must be 'spawn' or a gRPC URL like 'rerun+http://127.0.0.1:9876/proxy', got {text!r}"
        )
    return text


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _name_prefix(text: str) -> str:
    if not _SAFE_NAME.match(text):
        raise argparse.ArgumentTypeError(f"must be letters, digits, '_', '-', '.', got {text!r}")
    return text


# ---------------------------------------------------------------------------------------------------------- flags
def add_rerun_args(parser: argparse.ArgumentParser, action: str) -> argparse._ArgumentGroup:
    """Add the ``rerun`` flag group of ``isaac-rerun train`` (``action="train"``) or ``play`` to ``parser``."""
    if action not in ACTIONS:
        raise ValueError(f"`action` must be one of {ACTIONS}, got {action!r}")
    train = action == "train"
    g = parser.add_argument_group(
        "rerun",
        "Record snippets of the scene to Rerun .rrd files (isaac-rerun). `isaac-rerun ls DIR` lists them, "
        "`isaac-rerun view DIR` opens them.",
    )
    g.add_argument(
        "--rerun_dir",
        default=None,
        metavar="DIR",
        help="folder of the .rrd snippets (default: "
        + ("<the run's log dir>/rerun" if train else "<the checkpoint's run dir>/rerun/play")
        + ")",
    )
    g.add_argument(
        "--rerun_envs",
        type=_envs,
        default=None,
        metavar="ENVS",
        help="envs to record: '0', '0,1,5', 'all', or a slice '0:16', '::4'; the first is the tracked env, whose "
        "episodes --rerun_trigger episode counts. Given, it also names the candidates of --rerun_keep / "
        "--rerun_nan_guard (default: env 0; candidates: all envs)",
    )
    triggers = ", ".join(t for t in TRIGGERS if train or t != "iteration")
    g.add_argument(
        "--rerun_trigger",
        choices=[t for t in TRIGGERS if train or t != "iteration"],
        default=None,
        help=f"what --rerun_interval counts ({triggers}): 'iteration' = training iterations, the unit of "
        "--max_iterations (rsl_rl: learning iterations; skrl: agent.rollouts timesteps; sb3: rollouts of n_steps); "
        "'step' = vector env steps, the unit of --video_interval; 'episode' = episodes of the tracked env; 'none' = "
        "no snippet before the fact (only --rerun_keep / --rerun_nan_guard) (default: "
        + ("'iteration'" if train else "'episode'")
        + ", or 'none' with --rerun_keep)",
    )
    defaults = ", ".join(
        f"{t}: {'capped cubic (0, 1, 8, 27, ..., 1000, 2000, ...)' if v is None else v}"
        for (a, t), v in DEFAULT_INTERVAL.items()
        if a == action
    )
    g.add_argument(
        "--rerun_interval",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"start a snippet every N-th iteration / step / episode (see --rerun_trigger; default: {defaults})",
    )
    g.add_argument(
        "--rerun_length",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="frames per snippet; 0: until the tracked env's episode ends, from its reset frame to its terminal "
        "frame (default: 0)",
    )
    g.add_argument(
        "--rerun_trails",
        type=_trails,
        default=False,
        metavar="BODIES",
        help="draw the paths of these bodies as trails: comma-separated body names (regular expressions), or "
        "'root' for each articulation's root body (default: none)",
    )
    g.add_argument(
        "--rerun_layout",
        choices=("auto", "per_env", "instanced"),
        default="auto",
        help="'per_env': one entity per body per env; 'instanced': each visual once, one instance per env (cheap "
        "with many envs); 'auto': per_env up to 2 envs (default: auto)",
    )
    g.add_argument(
        "--rerun_env_layout",
        choices=("world", "origin"),
        default="world",
        help="'world': envs where they are; 'origin': each recorded env drawn at the origin (default: world)",
    )
    g.add_argument(
        "--rerun_viewer",
        type=_viewer,
        default=None,
        metavar="VIEWER",
        help="stream to a viewer instead of files: 'spawn' (a local viewer) or a gRPC URL "
        "'rerun+http://HOST:9876/proxy' (default: files in --rerun_dir)",
    )
    g.add_argument(
        "--rerun_name_prefix",
        type=_name_prefix,
        default=None,
        metavar="PREFIX",
        help="start of every snippet file name (default: "
        + ("'rl-rerun'" if train else "the checkpoint's file name, e.g. 'model_100'")
        + "; '-runN' is added when the folder already holds snippets of that prefix)",
    )
    g.add_argument(
        "--rerun_keep",
        choices=("terminated", "worst", "best"),
        default=None,
        help="after the fact: keep, from a rolling history of the candidate envs, the episodes that terminated "
        "(not timed out), or the one with the worst / best return "
        + ("of each training iteration" if train else f"of each {DEFAULT_PLAY_KEEP_WINDOW} env steps")
        + " (default: off)",
    )
    g.add_argument(
        "--rerun_keep_window",
        type=positive_int,
        default=None,
        metavar="STEPS",
        help="--rerun_keep worst|best: choose among the episodes that ended in each window of this many env steps "
        "(default: " + ("each training iteration" if train else str(DEFAULT_PLAY_KEEP_WINDOW)) + ")",
    )
    g.add_argument(
        "--rerun_nan_guard",
        action="store_true",
        default=False,
        help="on the first non-finite pose, observation or reward of a candidate env, write its last "
        "--rerun_history frames (default: off)",
    )
    g.add_argument(
        "--rerun_history",
        type=positive_int,
        default=None,
        metavar="K",
        help="frames of the rolling history of --rerun_keep / --rerun_nan_guard, per candidate env (default: 500)",
    )
    if not train:
        g.add_argument(
            "--rerun_episodes",
            type=positive_int,
            default=None,
            metavar="N",
            help="stop after the tracked env finished N episodes (default: play until Ctrl+C, as Isaac Lab does)",
        )
        g.add_argument(
            "--rerun_max_steps",
            type=positive_int,
            default=None,
            metavar="N",
            help="stop after N env steps (default: no limit)",
        )
    g.add_argument(
        "--rerun_backend",
        choices=("auto", "isaaclab", "loop"),
        default="auto",
        help="'isaaclab': Isaac Lab's own train/play entrypoint (isaaclab_rl.entrypoints, Isaac Lab 3.x) with the "
        "recording injected; 'loop': isaac-rerun's own loop (gym.make + the library + the integration, for Isaac Lab "
        "2.x); 'auto': isaaclab where it exists (default: auto)",
    )
    return g


# ---------------------------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class RerunOptions:
    """The ``rerun`` flags of one command, checked (see :func:`rerun_options`)."""

    action: str
    dir: Path | None
    envs: LoggedEnvs
    envs_given: bool
    trigger: str
    interval: int | None
    length: int
    trails: bool | tuple[str, ...]
    layout: str
    env_layout: str
    viewer: str | None
    name_prefix: str | None
    keep: str | None
    keep_window: int | None
    nan_guard: bool
    history: int | None
    episodes: int | None
    max_steps: int | None
    backend: str


def rerun_options(ns: argparse.Namespace, action: str) -> RerunOptions:
    """The ``rerun`` flags in ``ns`` (parsed with :func:`add_rerun_args`), checked together: flags that exclude or
    need each other, and the after-the-fact filters' availability. Raises :class:`CliError` naming the flag."""
    keep = ns.rerun_keep
    trigger = ns.rerun_trigger or ("none" if keep is not None else "iteration" if action == "train" else "episode")
    if action == "play" and trigger == "iteration":
        raise CliError("--rerun_trigger: 'iteration' has no meaning in play (no training iterations)")
    if ns.rerun_dir is not None and ns.rerun_viewer is not None:
        raise CliError("--rerun_dir and --rerun_viewer: give one (files in a folder, or a viewer)")
    if trigger == "none" and ns.rerun_interval is not None:
        raise CliError("--rerun_interval: --rerun_trigger none records nothing before the fact; drop one of them")
    if trigger == "none" and keep is None and not ns.rerun_nan_guard:
        raise CliError("--rerun_trigger none: nothing would be recorded; add --rerun_keep or --rerun_nan_guard")
    if ns.rerun_keep_window is not None and keep not in ("worst", "best"):
        raise CliError("--rerun_keep_window: only with --rerun_keep worst or --rerun_keep best")
    if ns.rerun_history is not None and keep is None and not ns.rerun_nan_guard:
        raise CliError("--rerun_history: the history is only kept for --rerun_keep or --rerun_nan_guard")
    if keep is not None or ns.rerun_nan_guard:
        flag = "--rerun_keep" if keep is not None else "--rerun_nan_guard"
        for module in ("isaac_rerun.filters", "isaac_rerun.history"):
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise CliError(
                    f"{flag}: this installation of isaac-rerun has no after-the-fact recording ({module}: {exc})"
                ) from None
    dir_ = Path(ns.rerun_dir).expanduser().absolute() if ns.rerun_dir is not None else None
    if dir_ is not None and dir_.exists() and not dir_.is_dir():
        raise CliError(f"--rerun_dir: {dir_} exists and is not a folder")
    opts = RerunOptions(
        action=action,
        dir=dir_,
        envs=ns.rerun_envs if ns.rerun_envs is not None else 0,
        envs_given=ns.rerun_envs is not None,
        trigger=trigger,
        interval=ns.rerun_interval,
        length=ns.rerun_length,
        trails=ns.rerun_trails,
        layout=ns.rerun_layout,
        env_layout=ns.rerun_env_layout,
        viewer=ns.rerun_viewer,
        name_prefix=ns.rerun_name_prefix,
        keep=keep,
        keep_window=ns.rerun_keep_window,
        nan_guard=ns.rerun_nan_guard,
        history=ns.rerun_history,
        episodes=getattr(ns, "rerun_episodes", None),
        max_steps=getattr(ns, "rerun_max_steps", None),
        backend=ns.rerun_backend,
    )
    recording_cfg(opts, save_dir=opts.dir, name_prefix=opts.name_prefix or "rl-rerun")  # every other check
    return opts


def check_envs(opts: RerunOptions, num_envs: int) -> list[int]:
    """``--rerun_envs`` against the env's ``num_envs``: the env indices, or a :class:`CliError` naming the flag."""
    try:
        return resolve_logged_envs(opts.envs, num_envs)
    except (TypeError, ValueError) as exc:
        raise CliError(_message("--rerun_envs", str(exc))) from None


def recording_cfg(
    opts: RerunOptions,
    *,
    save_dir: str | os.PathLike[str] | None,
    name_prefix: str,
    iterations: bool = True,
    extra: dict[str, Any] | None = None,
) -> RecordingCfg:
    """The :class:`~isaac_rerun.config.RecordingCfg` the flags ask for, writing to ``save_dir`` (ignored with
    ``--rerun_viewer``). ``iterations``: the framework has training iterations (``--rerun_keep worst|best`` then
    chooses per iteration). Raises :class:`CliError` naming the flag."""
    kw: dict[str, Any] = dict(
        logged_envs=opts.envs,
        recording_length=opts.length,
        scene_log_cfg=dict(layout=opts.layout, env_layout=opts.env_layout, trails=opts.trails),
        save_dir=None if opts.viewer is not None else save_dir,
        viewer=opts.viewer,
        name_prefix=name_prefix,
        nan_guard=opts.nan_guard,
        history=opts.history,
        verbose=1,
    )
    interval = opts.interval if opts.interval is not None else DEFAULT_INTERVAL.get((opts.action, opts.trigger))
    if opts.trigger == "iteration":
        kw["iteration_trigger"] = interval
    elif opts.trigger == "step":
        kw["step_trigger"] = every_n(interval or 1)
    elif opts.trigger == "episode":
        trigger: Callable[[int], bool] = capped_cubic_video_schedule if interval is None else every_n(interval)
        if opts.episodes is not None:  # play: the episodes after the last one played would be a lone reset frame
            trigger = _first(opts.episodes, trigger)
        kw["episode_trigger"] = trigger
    if opts.keep is not None:
        from isaac_rerun import filters

        if opts.keep == "terminated":
            kw["episode_filter"] = filters.terminated()
        else:
            choose = filters.worst_return if opts.keep == "worst" else filters.best_return
            if opts.keep_window is not None:
                kw["episode_filter"] = choose(window=opts.keep_window)
            elif opts.action == "train" and iterations:
                kw["episode_filter"] = choose(per_iteration=True)
            else:
                kw["episode_filter"] = choose(window=DEFAULT_PLAY_KEEP_WINDOW)
    if opts.keep is not None or opts.nan_guard:
        kw["history_envs"] = opts.envs if opts.envs_given else "all"
    kw.update(extra or {})
    try:
        return RecordingCfg(**kw)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        fields = re.findall(r"`(\w+)`", message)
        flag = next((_FIELD_FLAGS[f] for f in fields if f in _FIELD_FLAGS), "--rerun_*")
        raise CliError(_message(flag, message)) from None


class _first:
    """``trigger`` for the first ``n`` episodes only (a named class: its repr says what it does)."""

    def __init__(self, n: int, trigger: Callable[[int], bool]):
        self.n, self.trigger = n, trigger

    def __call__(self, episode_id: int) -> bool:
        return episode_id < self.n and bool(self.trigger(episode_id))

    def __repr__(self) -> str:
        return f"first {self.n} episodes of {self.trigger!r}"


def _message(flag: str, message: str) -> str:
    """``flag: message`` from a core error message: its leading option name dropped, the other option names
    replaced by the flags that set them."""
    message = re.sub(r"^`\w+` ", "", message)
    return f"{flag}: " + re.sub(r"`(\w+)`", lambda m: _FIELD_FLAGS.get(m.group(1), m.group(0)), message)


def fresh_name_prefix(folder: Path | None, prefix: str) -> str:
    """``prefix``, or ``prefix-run2``, ``-run3`` … when ``folder`` already holds snippets named with it (so a second
    play of the same checkpoint into the same folder overwrites nothing)."""
    if folder is None or not folder.is_dir():
        return prefix
    names = [p.name for p in folder.glob("*.rrd")]
    candidate, n = prefix, 1
    while any(_snippet_of(name, candidate) for name in names):
        n += 1
        candidate = f"{prefix}-run{n}"
    return candidate


def _snippet_of(file_name: str, prefix: str) -> bool:
    pattern = rf"^{re.escape(prefix)}-(?:(?:train|eval)\d*-)?(?:episode|step|iteration|env|metrics)\b"
    return re.match(pattern, file_name) is not None
