"""The recording flags of ``isaac-rerun train`` and ``isaac-rerun play`` (the ``rerun`` group of their ``--help``).

Each ``--rerun_*`` flag is defined once, in :data:`FLAGS`: its name, parser, default, help and the
:class:`~isaac_rerun.config.RecordingCfg` / :class:`~isaac_rerun.config.SceneLogCfg` field(s) it sets. The argparse
group (:func:`add_rerun_args`), the checked options (:func:`rerun_options`), the recording options
(:func:`recording_cfg`) and the error messages all come from that table: a new flag is one row.

The same group is added to Isaac Lab's own parser (so its ``--help`` lists it and Hydra never sees the flags) and to
the parser of isaac-rerun's own loop; :func:`rerun_options` reads it back from either namespace and checks what can be
checked without the env (everything but the env indices' range, :func:`check_envs`). Every error names the flag and
nothing has been written when it is raised. Nothing here imports Isaac Lab, torch or an RL framework.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isaac_rerun.config import (
    CAMERA_CODECS,
    DEFAULT_SIGNALS,
    ENTITY_LAYOUTS,
    ENV_LAYOUTS,
    LoggedEnvs,
    RecordingCfg,
    SceneLogCfg,
    check_builtin_signals,
    check_logged_envs_form,
    resolve_logged_envs,
)
from isaac_rerun.triggers import capped_cubic_video_schedule, every_n

__all__ = [
    "ACTIONS",
    "DEFAULT_INTERVAL",
    "DEFAULT_PLAY_KEEP_WINDOW",
    "FLAGS",
    "KEEP",
    "LAUNCH_FLAGS",
    "LIBRARIES",
    "TRIGGERS",
    "CliError",
    "Flag",
    "RerunOptions",
    "add_launch_args",
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

KEEP = ("terminated", "worst", "best")
"""What ``--rerun_keep`` keeps (``terminated`` also as ``terminated:TERM[,TERM...]``)."""

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

PREFIX = "--rerun_"


class CliError(Exception):
    """A command-line usage error (exit status 2); the message names the flag."""


# ---------------------------------------------------------------------------------------------------------- parsers
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
_TERM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _name_prefix(text: str) -> str:
    if not _SAFE_NAME.match(text):
        raise argparse.ArgumentTypeError(f"must be letters, digits, '_', '-', '.', got {text!r}")
    return text


def _keep(text: str) -> str:
    """``--rerun_keep``: ``terminated``, ``terminated:TERM[,TERM...]``, ``worst`` or ``best`` (normalised)."""
    kind, colon, rest = (part.strip() for part in text.partition(":"))
    terms = [t.strip() for t in rest.split(",")] if colon else []
    if kind not in KEEP or (colon and kind != "terminated") or not all(_TERM.match(t) for t in terms):
        raise argparse.ArgumentTypeError(
            "must be 'terminated' (episodes that did not time out), 'terminated:TERM[,TERM...]' (episodes ended by "
            f"one of these termination terms, e.g. 'terminated:base_contact'), 'worst' or 'best', got {text!r}"
        )
    return f"terminated:{','.join(terms)}" if terms else kind


def _signals(text: str) -> tuple[str, ...]:
    """``--rerun_signals``: comma-separated :data:`~isaac_rerun.config.BUILTIN_SIGNALS`, ``all`` or ``none``."""
    try:
        return check_builtin_signals(text, "--rerun_signals")
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("`--rerun_signals` ", "", 1)) from None


# ---------------------------------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class _Target:
    """What a flag's value becomes part of: the options of one command and where the recording goes."""

    opts: RerunOptions
    save_dir: str | os.PathLike[str] | None
    name_prefix: str
    iterations: bool


PerAction = Callable[[str], Any]
"""A table entry that depends on the command: ``f(action)``."""


@dataclass(frozen=True)
class Flag:
    """One ``--rerun_*`` flag: how argparse reads it and which recording option(s) it sets.

    Attributes
    ----------
    name:
        ``--rerun_<key>``; ``RerunOptions.<key>`` holds its value.
    help:
        Its ``--help`` text (naming its default), or ``help(action)``.
    fields:
        The :class:`~isaac_rerun.config.RecordingCfg` fields it sets (``scene_log_cfg.<field>`` for a
        :class:`~isaac_rerun.config.SceneLogCfg` field); an error about one of them names this flag. Empty: the
        flag says how the command runs, or only shapes another flag's field (``--rerun_trigger``).
    type, default, choices, metavar, store_true:
        argparse's (``choices`` may be ``choices(action)``).
    actions:
        The commands that take it.
    to_cfg:
        ``to_cfg(value, target) -> {field: value}`` where the value does not map one to one onto ``fields[0]``.
    """

    name: str
    help: str | PerAction
    fields: tuple[str, ...] = ()
    type: Callable[[str], Any] | None = None
    default: Any = None
    choices: Sequence[str] | PerAction | None = None
    metavar: str | None = None
    store_true: bool = False
    actions: tuple[str, ...] = ACTIONS
    to_cfg: Callable[[Any, _Target], dict[str, Any]] | None = None

    @property
    def key(self) -> str:
        return self.name[len(PREFIX) :]

    @property
    def dest(self) -> str:
        return self.name[2:]

    def cfg(self, value: Any, target: _Target) -> dict[str, Any]:
        """The recording options this flag sets (``scene_log_cfg.<field>`` keys for the scene's)."""
        if self.to_cfg is not None:
            return self.to_cfg(value, target)
        return {self.fields[0]: value} if self.fields else {}

    def add_to(self, group: argparse._ArgumentGroup, action: str) -> None:
        kw: dict[str, Any] = dict(default=self.default, help=self.help(action) if callable(self.help) else self.help)
        if self.store_true:
            kw["action"] = "store_true"
        else:
            choices = self.choices(action) if callable(self.choices) else self.choices
            kw.update(type=self.type, choices=choices, metavar=self.metavar)
        group.add_argument(self.name, **{k: v for k, v in kw.items() if v is not None or k == "default"})


def _per_action(train: str, play: str) -> PerAction:
    return lambda action: train if action == "train" else play


def _triggers(action: str) -> list[str]:
    return [t for t in TRIGGERS if action == "train" or t != "iteration"]


def _trigger_help(action: str) -> str:
    return (
        f"what --rerun_interval counts ({', '.join(_triggers(action))}): 'iteration' = training iterations, the unit "
        "of --max_iterations (rsl_rl: learning iterations; skrl: agent.rollouts timesteps; sb3: rollouts of n_steps); "
        "'step' = vector env steps, the unit of --video_interval; 'episode' = episodes of the tracked env; 'none' = "
        "no snippet before the fact (only --rerun_keep / --rerun_nan_guard) (default: "
        + ("'iteration'" if action == "train" else "'episode'")
        + ", or 'none' with --rerun_keep)"
    )


def _interval_help(action: str) -> str:
    defaults = ", ".join(
        f"{t}: {'capped cubic (0, 1, 8, 27, ..., 1000, 2000, ...)' if v is None else v}"
        for (a, t), v in DEFAULT_INTERVAL.items()
        if a == action
    )
    return f"start a snippet every N-th iteration / step / episode (see --rerun_trigger; default: {defaults})"


def _trigger_cfg(interval: int | None, t: _Target) -> dict[str, Any]:
    """``--rerun_interval`` (with ``--rerun_trigger``, and ``--rerun_episodes`` in play) as the trigger it sets."""
    opts = t.opts
    if interval is None:
        interval = DEFAULT_INTERVAL.get((opts.action, opts.trigger))
    if opts.trigger == "iteration":
        return {"iteration_trigger": interval}
    if opts.trigger == "step":
        return {"step_trigger": every_n(interval or 1)}
    if opts.trigger == "episode":
        trigger: Callable[[int], bool] = capped_cubic_video_schedule if interval is None else every_n(interval)
        if opts.episodes is not None:  # play: the episodes after the last one played would be a lone reset frame
            trigger = _first(opts.episodes, trigger)
        return {"episode_trigger": trigger}
    return {}


def _keep_cfg(keep: str | None, t: _Target) -> dict[str, Any]:
    """``--rerun_keep`` (with ``--rerun_keep_window``) as the episode filter it sets."""
    if keep is None:
        return {}
    from isaac_rerun import filters

    kind, _, terms = keep.partition(":")
    if kind == "terminated":
        return {"episode_filter": filters.terminated(*terms.split(",")) if terms else filters.terminated()}
    choose = filters.worst_return if kind == "worst" else filters.best_return
    if t.opts.keep_window is not None:
        return {"episode_filter": choose(window=t.opts.keep_window)}
    if t.opts.action == "train" and t.iterations:
        return {"episode_filter": choose(per_iteration=True)}
    return {"episode_filter": choose(window=DEFAULT_PLAY_KEEP_WINDOW)}


FLAGS: tuple[Flag, ...] = (
    Flag(
        "--rerun_dir",
        lambda action: (
            "folder of the .rrd snippets (default: "
            + ("<the run's log dir>/rerun" if action == "train" else "<the checkpoint's run dir>/rerun/play")
            + ")"
        ),
        fields=("save_dir",),
        metavar="DIR",
        to_cfg=lambda _, t: {"save_dir": t.save_dir},
    ),
    Flag(
        "--rerun_envs",
        "envs to record: '0', '0,1,5', 'all', or a slice '0:16', '::4'; the first is the tracked env, whose "
        "episodes --rerun_trigger episode counts. Given, it also names the candidates of --rerun_keep / "
        "--rerun_nan_guard (default: env 0; candidates: all envs)",
        fields=("logged_envs", "history_envs"),
        type=_envs,
        metavar="ENVS",
        to_cfg=lambda _, t: {
            "logged_envs": t.opts.envs,
            "history_envs": t.opts.envs if t.opts.envs_given else "all",
        },
    ),
    Flag("--rerun_trigger", _trigger_help, choices=_triggers),  # which trigger --rerun_interval sets
    Flag(
        "--rerun_interval",
        _interval_help,
        fields=("iteration_trigger", "step_trigger", "episode_trigger"),
        type=positive_int,
        metavar="N",
        to_cfg=_trigger_cfg,
    ),
    Flag(
        "--rerun_length",
        "frames per snippet; 0: until the tracked env's episode ends, from its reset frame to its terminal "
        "frame (default: 0)",
        fields=("recording_length",),
        type=non_negative_int,
        default=0,
        metavar="N",
    ),
    Flag(
        "--rerun_trails",
        "draw the paths of these bodies as trails: comma-separated body names (regular expressions), or "
        "'root' for each articulation's root body (default: none)",
        fields=("scene_log_cfg.trails",),
        type=_trails,
        default=False,
        metavar="BODIES",
    ),
    Flag(
        "--rerun_layout",
        "'per_env': one entity per body per env; 'instanced': each visual once, one instance per env (cheap "
        "with many envs); 'auto': per_env up to 2 envs (default: auto)",
        fields=("scene_log_cfg.layout",),
        default="auto",
        choices=ENTITY_LAYOUTS,
    ),
    Flag(
        "--rerun_env_layout",
        "'world': envs where they are; 'origin': each recorded env drawn at the origin (default: world)",
        fields=("scene_log_cfg.env_layout",),
        default="world",
        choices=ENV_LAYOUTS,
    ),
    Flag(
        "--rerun_signals",
        "what Isaac Lab adds to every recorded frame, comma-separated: rewards (each reward term), terminations "
        "(why each episode ended), commands, actions (named by joint), joints (positions, velocities, efforts), "
        "observations; 'all' or 'none' (default: " + ",".join(DEFAULT_SIGNALS) + ")",
        fields=("builtin_signals",),
        type=_signals,
        default=DEFAULT_SIGNALS,
        metavar="SIGNALS",
    ),
    Flag(
        "--rerun_camera_codec",
        "how camera sensors' RGB frames are recorded: 'h264' as video (PyAV, isaac-rerun[video]; raw images "
        "where it is missing), 'raw' as images (default: h264)",
        fields=("scene_log_cfg.camera_codec",),
        default="h264",
        choices=CAMERA_CODECS,
    ),
    Flag(
        "--rerun_viewer",
        "stream to a viewer instead of files: 'spawn' (a local viewer) or a gRPC URL "
        "'rerun+http://HOST:9876/proxy' (default: files in --rerun_dir)",
        fields=("viewer", "save_dir"),
        to_cfg=lambda viewer, _: {"viewer": viewer, "save_dir": None} if viewer is not None else {},
        type=_viewer,
        metavar="VIEWER",
    ),
    Flag(
        "--rerun_name_prefix",
        lambda action: (
            "start of every snippet file name (default: "
            + ("'rl-rerun'" if action == "train" else "the checkpoint's file name, e.g. 'model_100'")
            + "; '-runN' is added when the folder already holds snippets of that prefix)"
        ),
        fields=("name_prefix",),
        type=_name_prefix,
        metavar="PREFIX",
        to_cfg=lambda _, t: {"name_prefix": t.name_prefix},
    ),
    Flag(
        "--rerun_keep",
        lambda action: (
            "after the fact: keep, from a rolling history of the candidate envs, the episodes that "
            "terminated (not timed out), those ended by a termination term ('terminated:base_contact'; several: "
            "'terminated:a,b'), or the one with the worst / best return "
            + ("of each training iteration" if action == "train" else f"of each {DEFAULT_PLAY_KEEP_WINDOW} env steps")
            + " (default: off)"
        ),
        fields=("episode_filter",),
        type=_keep,
        metavar="{terminated[:TERM,...],worst,best}",
        to_cfg=_keep_cfg,
    ),
    Flag(  # the window of --rerun_keep's filter
        "--rerun_keep_window",
        _per_action(
            "--rerun_keep worst|best: choose among the episodes that ended in each window of this many env steps "
            "(default: each training iteration)",
            "--rerun_keep worst|best: choose among the episodes that ended in each window of this many env steps "
            f"(default: {DEFAULT_PLAY_KEEP_WINDOW})",
        ),
        type=positive_int,
        metavar="STEPS",
    ),
    Flag(
        "--rerun_nan_guard",
        "on the first non-finite pose, observation or reward of a candidate env, write its last "
        "--rerun_history frames (default: off)",
        fields=("nan_guard",),
        default=False,
        store_true=True,
    ),
    Flag(
        "--rerun_history",
        "frames of the rolling history of --rerun_keep / --rerun_nan_guard, per candidate env (default: 500)",
        fields=("history",),
        type=positive_int,
        metavar="K",
    ),
    Flag(
        "--rerun_episodes",
        "stop after the tracked env finished N episodes (default: play until Ctrl+C, as Isaac Lab does)",
        type=positive_int,
        metavar="N",
        actions=("play",),
    ),
    Flag(
        "--rerun_max_steps",
        "stop after N env steps (default: no limit)",
        type=positive_int,
        metavar="N",
        actions=("play",),
    ),
    Flag(
        "--rerun_backend",
        "'isaaclab': Isaac Lab's own train/play entrypoint (isaaclab_rl.entrypoints, Isaac Lab 3.x) with the "
        "recording injected; 'loop': isaac-rerun's own loop (gym.make + the library + the integration, for Isaac Lab "
        "2.x); 'auto': isaaclab where it exists (default: auto)",
        default="auto",
        choices=("auto", "isaaclab", "loop"),
    ),
)
"""Every ``--rerun_*`` flag, in ``--help`` order."""

_FIELD_FLAGS = {f.split(".")[-1]: flag.name for flag in reversed(FLAGS) for f in flag.fields}
"""Each recording option's flag (the first that sets it), to name the flag in the core's error messages."""


def flags(action: str) -> tuple[Flag, ...]:
    """The flags of ``isaac-rerun {action}``."""
    if action not in ACTIONS:
        raise ValueError(f"`action` must be one of {ACTIONS}, got {action!r}")
    return tuple(f for f in FLAGS if action in f.actions)


def add_rerun_args(parser: argparse.ArgumentParser, action: str) -> argparse._ArgumentGroup:
    """Add the ``rerun`` flag group of ``isaac-rerun train`` (``action="train"``) or ``play`` to ``parser``."""
    table = flags(action)
    g = parser.add_argument_group(
        "rerun",
        "Record snippets of the scene to Rerun .rrd files (isaac-rerun). `isaac-rerun ls DIR` lists them, "
        "`isaac-rerun view DIR` opens them.",
    )
    for flag in table:
        flag.add_to(g, action)
    return g


LAUNCH_FLAGS = ("--num_gpus", "--nnodes", "--node_rank", "--rdzv_endpoint", "--rerun_rank")
"""The multi-GPU flags of ``isaac-rerun train`` (:func:`add_launch_args`, :mod:`isaac_rerun.cli.launch`)."""


def add_launch_args(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the multi-GPU group of ``isaac-rerun train`` (:mod:`isaac_rerun.cli.launch`) to ``parser``."""
    g = parser.add_argument_group(
        "multi-GPU",
        "Train on several GPUs / nodes with Isaac Lab's launcher (torchrun), recording on one rank. Isaac Lab's "
        "other launcher flags (--master_addr, --master_port, --rdzv_backend, --log_all_ranks, --dry_run, ...) work "
        "too.",
    )
    g.add_argument(
        "--num_gpus",
        type=positive_int,
        default=None,
        metavar="N",
        help="start N training processes (ranks) per node, one per GPU (default: one process, no launcher)",
    )
    g.add_argument("--nnodes", default=None, metavar="M", help="number of nodes (torchrun's --nnodes; default: 1)")
    g.add_argument("--node_rank", default=None, metavar="K", help="rank of this node (torchrun's --node_rank)")
    g.add_argument(
        "--rdzv_endpoint", default=None, metavar="HOST:PORT", help="rendezvous endpoint (torchrun's --rdzv_endpoint)"
    )
    g.add_argument(
        "--rerun_rank",
        type=non_negative_int,
        default=None,
        metavar="R",
        help="the global rank that records; the other ranks record nothing (default: 0)",
    )
    return g


# ---------------------------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class RerunOptions:
    """The ``rerun`` flags of one command, checked (see :func:`rerun_options`): ``opts.<key>`` is the value of
    ``--rerun_<key>`` (its default where not given; None for a flag the command does not take)."""

    action: str
    values: Mapping[str, Any]
    """Each flag's value by key (``"envs"``, ``"interval"`` …), as parsed."""
    trigger: str
    """``--rerun_trigger``, its default resolved."""
    dir: Path | None
    """``--rerun_dir`` as an absolute path."""

    @property
    def envs(self) -> LoggedEnvs:
        """``--rerun_envs`` (env 0 where not given)."""
        envs = self.values.get("envs")
        return envs if envs is not None else 0

    @property
    def envs_given(self) -> bool:
        return self.values.get("envs") is not None

    def __getattr__(self, key: str) -> Any:
        values = self.__dict__.get("values")
        if values is not None and key in values:
            return values[key]
        if values is not None and any(f.key == key for f in FLAGS):
            return None  # a flag of the other command
        raise AttributeError(f"{type(self).__name__} has no {key!r} (no flag {PREFIX}{key})")


def rerun_options(ns: argparse.Namespace, action: str) -> RerunOptions:
    """The ``rerun`` flags in ``ns`` (parsed with :func:`add_rerun_args`), checked together: flags that exclude or
    need each other, and the after-the-fact filters' availability. Raises :class:`CliError` naming the flag."""
    values = {f.key: getattr(ns, f.dest, f.default) for f in flags(action)}
    keep, nan_guard = values["keep"], values["nan_guard"]
    trigger = values["trigger"] or ("none" if keep is not None else "iteration" if action == "train" else "episode")
    if action == "play" and trigger == "iteration":
        raise CliError("--rerun_trigger: 'iteration' has no meaning in play (no training iterations)")
    if values["dir"] is not None and values["viewer"] is not None:
        raise CliError("--rerun_dir and --rerun_viewer: give one (files in a folder, or a viewer)")
    if trigger == "none" and values["interval"] is not None:
        raise CliError("--rerun_interval: --rerun_trigger none records nothing before the fact; drop one of them")
    if trigger == "none" and keep is None and not nan_guard:
        raise CliError("--rerun_trigger none: nothing would be recorded; add --rerun_keep or --rerun_nan_guard")
    if values["keep_window"] is not None and keep not in ("worst", "best"):
        raise CliError("--rerun_keep_window: only with --rerun_keep worst or --rerun_keep best")
    if keep is not None and keep.startswith("terminated:") and "terminations" not in values["signals"]:
        raise CliError(
            f"--rerun_keep {keep}: which term ended an episode is only known with 'terminations' in --rerun_signals"
        )
    if values["history"] is not None and keep is None and not nan_guard:
        raise CliError("--rerun_history: the history is only kept for --rerun_keep or --rerun_nan_guard")
    if keep is not None or nan_guard:
        flag = "--rerun_keep" if keep is not None else "--rerun_nan_guard"
        for module in ("isaac_rerun.filters", "isaac_rerun.history"):
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise CliError(
                    f"{flag}: this installation of isaac-rerun has no after-the-fact recording ({module}: {exc})"
                ) from None
    dir_ = Path(values["dir"]).expanduser().absolute() if values["dir"] is not None else None
    if dir_ is not None and dir_.exists() and not dir_.is_dir():
        raise CliError(f"--rerun_dir: {dir_} exists and is not a folder")
    opts = RerunOptions(action=action, values=values, trigger=trigger, dir=dir_)
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
    chooses per iteration). Raises :class:`CliError` naming the flag (the first in :data:`FLAGS` whose option is
    refused, with the options before it)."""
    target = _Target(opts, save_dir, name_prefix, iterations)
    base: dict[str, Any] = {"verbose": 1, **(extra or {})}
    parts: list[tuple[Flag, dict[str, Any]]] = []
    for flag in flags(opts.action):
        try:
            parts.append((flag, flag.cfg(opts.values.get(flag.key), target)))
        except (TypeError, ValueError) as exc:
            raise CliError(_message(flag.name, str(exc))) from None
    try:
        return _cfg(base, [kw for _, kw in parts])
    except (TypeError, ValueError) as error:
        for n, (flag, _) in enumerate(parts):  # which flag's option is refused: add them one at a time
            try:
                _cfg(base, [kw for _, kw in parts[: n + 1]])
            except (TypeError, ValueError) as exc:
                raise CliError(_message(flag.name, str(exc))) from None
        raise CliError(_message(f"{PREFIX}*", str(error))) from None


def _cfg(base: dict[str, Any], parts: list[dict[str, Any]]) -> RecordingCfg:
    kw, scene = dict(base), {}
    for part in parts:  # scene_log_cfg.<field> keys: SceneLogCfg's fields
        for key, value in part.items():
            if key.startswith("scene_log_cfg."):
                scene[key.partition(".")[2]] = value
            else:
                kw[key] = value
    kw["scene_log_cfg"] = scene  # RecordingCfg takes a dict of SceneLogCfg's fields
    return RecordingCfg(**kw)


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
    replaced by the flags that set them (:data:`FLAGS`)."""
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
