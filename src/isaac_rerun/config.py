"""Every recording option, in one place: :class:`RecordingCfg` (what, when, where, how) and :class:`SceneLogCfg`
(what the scene shows besides the bodies).

Every integration takes the same options — as a :class:`RecordingCfg`, a dict of its fields, or as keyword
arguments — and validates them here, once, before anything is created or written. Each parameter's meaning is
documented below and nowhere else; the integrations' docs link here.

Default output (the same rule everywhere)
-----------------------------------------
When none of ``save_dir``, ``save_path``, ``recording_stream`` or ``viewer`` is given:

1. Rerun's global recording, if the program made one (``rr.init(...)``) — you asked for it;
2. else ``{log folder}/rerun``, where the framework writes its own logs for this run: SB3's logger folder (when it
   writes files), skrl's experiment directory, rsl_rl's ``log_dir``; the Gymnasium wrapper has none;
3. else a ``ValueError`` that names the options.

A file output sends buffered frames every ``flush_every`` frames and at least every 30 s; a viewer, a stream you own
and Rerun's global recording (someone may be watching) at least every 0.5 s — unless ``max_latency_s`` says
otherwise. Every send is a chunk per entity in the file: fewer, larger sends make smaller files.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

from isaac_rerun.signals import (
    BUILTIN_SIGNALS,
    DEFAULT_SIGNALS,
    Signal,
    check_builtin_signals,
    check_signals,
)
from isaac_rerun.triggers import Trigger, capped_cubic_video_schedule, validate_recording_length, validate_trigger

__all__ = [
    "BUILTIN_SIGNALS",
    "CAMERA_CODECS",
    "DEFAULT_SIGNALS",
    "ENTITY_LAYOUTS",
    "ENV_LAYOUTS",
    "INSTANCED_ABOVE",
    "PER_ENV_MAX",
    "LoggedEnvs",
    "RecordingCfg",
    "SceneLogCfg",
    "Signal",
    "resolve_logged_envs",
]

LoggedEnvs = int | Sequence[int] | slice | str
"""An env index, a list of env indices, a ``slice``, ``"all"``, or a slice written as text (``"0:16"``,
``"::4"``)."""

ENV_LAYOUTS = ("world", "origin")
ENTITY_LAYOUTS = ("auto", "per_env", "instanced")
CAMERA_CODECS = ("h264", "raw")
"""What :attr:`SceneLogCfg.camera_codec` takes."""
INSTANCED_ABOVE = 2
"""``layout="auto"`` logs per-env entities for up to this many logged envs, instanced entities above
(measured: ``benchmarks/bench_recorder.py``, ``docs/performance.md``)."""
PER_ENV_MAX = 64
"""The most logged envs ``layout="per_env"`` takes (an entity per body per env: the viewer's entity tree, and the
file's chunks, grow with it); more need the instanced layout."""

_SLICE_TEXT = re.compile(r"^\s*(-?\d*)\s*:\s*(-?\d*)\s*(?::\s*(-?\d*)\s*)?$")

_Cfg = TypeVar("_Cfg", bound="_Options")


def resolve_logged_envs(logged_envs: object, num_envs: int, argument: str = "logged_envs") -> list[int]:
    """``logged_envs`` (see :data:`LoggedEnvs`) as a list of env indices in ``[0, num_envs)``, or an error that names
    the argument and the valid values."""
    valid = (
        f"an env index, a non-empty list of distinct env indices in [0, {num_envs - 1}], 'all', or a slice "
        f"(slice(0, 16) or '0:16') (num_envs={num_envs})"
    )
    check_logged_envs_form(logged_envs, argument)
    if isinstance(logged_envs, str):
        if logged_envs == "all":
            return list(range(num_envs))
        m = _SLICE_TEXT.match(logged_envs)
        assert m is not None  # checked above
        logged_envs = slice(*(int(g) if g not in (None, "") else None for g in m.groups()))
    if isinstance(logged_envs, slice):
        ids = list(range(num_envs))[logged_envs]
        if not ids:
            raise ValueError(f"`{argument}` must be {valid}, got {logged_envs!r}, which selects no env")
        return ids
    if isinstance(logged_envs, (int, np.integer)):
        ids = [int(logged_envs)]
    else:
        ids = [int(e) for e in logged_envs]  # type: ignore[attr-defined]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"`{argument}` must be {valid}, got duplicates {dup}")
    bad = [i for i in ids if not 0 <= i < num_envs]
    if bad:
        raise ValueError(f"`{argument}` must be {valid}, got out-of-range {bad}")
    return ids


def check_logged_envs_form(logged_envs: object, argument: str = "logged_envs") -> None:
    """Check the form of ``logged_envs`` without knowing ``num_envs`` (type errors name the argument)."""
    valid = "an env index, a non-empty list of distinct env indices, 'all', or a slice (slice(0, 16) or '0:16')"
    if isinstance(logged_envs, bool):
        raise TypeError(f"`{argument}` must be {valid}, got bool {logged_envs!r}")
    if isinstance(logged_envs, (int, np.integer, slice)):
        if isinstance(logged_envs, slice) and logged_envs.step == 0:
            raise ValueError(f"`{argument}` must be {valid}, got a slice with step 0")
        return
    if isinstance(logged_envs, str):
        m = _SLICE_TEXT.match(logged_envs)
        if logged_envs != "all" and m is None:
            raise TypeError(f"`{argument}` must be {valid}, got the string {logged_envs!r}")
        if m is not None and m.group(3) not in (None, "") and int(m.group(3)) == 0:
            raise ValueError(f"`{argument}` must be {valid}, got a slice with step 0: {logged_envs!r}")
        return
    if isinstance(logged_envs, (list, tuple, range, np.ndarray)):
        if len(logged_envs) == 0:
            raise ValueError(f"`{argument}` must be {valid}, got an empty sequence")
        for e in logged_envs:
            if isinstance(e, bool) or not isinstance(e, (int, np.integer)):
                raise TypeError(f"`{argument}` must be {valid}, got an element {e!r} of type {type(e).__name__}")
        return
    raise TypeError(f"`{argument}` must be {valid}, got {type(logged_envs).__name__}: {logged_envs!r}")


def resolve_trigger(name: str, value: object) -> Trigger | None:
    """A trigger from a callable, or from the text Isaac Lab's ``configclass.to_dict()`` turns a callable into:
    ``"module:function"`` or ``"lambda i: ..."``."""
    if isinstance(value, str) and (value.strip().startswith("lambda") or ":" in value):
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


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be True or False, got {value!r}")


def _check_int(name: str, value: object, minimum: int, meaning: str, *, none: bool = False) -> None:
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        prefix = "None or " if none else ""
        raise ValueError(f"`{name}` must be {prefix}an int >= {minimum} ({meaning}), got {value!r}")


class _Options:
    """``coerce`` for the frozen option dataclasses below."""

    @classmethod
    def coerce(cls: type[_Cfg], value: object = None, name: str | None = None, **overrides: Any) -> _Cfg:
        """``value`` as this class: None → the defaults, an instance, or a dict of its fields (unknown keys are an
        error); ``overrides`` (fields given as keyword arguments) replace what ``value`` says."""
        arg = name or _ARGUMENT_NAMES.get(cls.__name__, "cfg")
        known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise TypeError(f"unknown options {unknown}; valid options: {known}")
        if value is None:
            base: dict[str, Any] = {}
        elif isinstance(value, cls):
            base = {f: getattr(value, f) for f in known}
        elif isinstance(value, Mapping):
            unknown = sorted(str(k) for k in value if k not in known)
            if unknown:
                raise ValueError(f"`{arg}` has unknown keys {unknown}; valid keys are {known}")
            base = dict(value)
        else:
            raise TypeError(
                f"`{arg}` must be a {cls.__name__}, a dict of its fields or None, got {type(value).__name__}"
            )
        return cls(**{**base, **overrides})

    def replace(self: _Cfg, **changes: Any) -> _Cfg:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


_ARGUMENT_NAMES = {"SceneLogCfg": "scene_log_cfg", "RecordingCfg": "cfg"}


@dataclass(frozen=True)
class SceneLogCfg(_Options):
    """What the scene logger draws besides each body's visuals and pose.

    Every integration takes one as ``scene_log_cfg=`` (a :class:`SceneLogCfg` or a dict of its fields).

    Parameters
    ----------
    layout:
        How the logged envs become entities. ``"per_env"``: one entity per body per env, at its USD prim path
        (``/World/envs/env_3/Robot/pole``), each selectable in the viewer's tree. ``"instanced"``: each visual of
        the scene is logged **once** (under ``/World/envs/instances/…``) and every frame carries one row of
        ``InstancePoses3D`` per visual whose instance ``i`` is ``logged_envs[i]`` — the cost of a frame barely grows
        with the number of logged envs; the envs are labelled in the 3D view. Trails, contact arrows, ray hits and
        per-env plots are one entity per signal too. ``"auto"`` (default): per-env entities for up to
        :data:`INSTANCED_ABOVE` logged envs, instanced above.
    env_layout:
        ``"world"`` (default): the logged envs appear where they are in the world (at their env origins), so they
        line up with the terrain and global prims. ``"origin"``: each logged env is drawn at the world origin (its
        own ``scene.env_origins`` row subtracted, read every frame, so terrain-curriculum moves are followed) for
        side-by-side comparison; global prims and global assets are shifted by the tracked env's origin (the first
        of ``logged_envs``), so they line up with the tracked env only.
    global_prims:
        Log the visible prims outside ``/World/envs`` (ground plane, generated terrain, static props) once per
        recording, as static data.
    trails:
        Draw the path each body takes as a line that grows with time (a segment per frame, shown from the snippet's
        start up to the time cursor; broken where the env resets). ``True``: the root body of each logged
        articulation. A sequence of body names (regular expressions, matched in full like Isaac Lab's
        ``find_bodies``): those bodies of every asset, roots included only if named. ``False``: none.
    markers:
        Record what the env draws with ``isaaclab.markers.VisualizationMarkers`` for the logged envs (goal poses,
        command arrows, …) as the matching Rerun archetypes, per frame (see :mod:`isaac_rerun.channels.markers`).
        Markers exist when the env or its sensors have debug visualization on.
    contact_forces:
        Draw the net force of each contact sensor's bodies as an arrow at the body
        (see :mod:`isaac_rerun.channels.sensors`).
    contact_force_scale:
        Arrow length per newton of contact force [m/N].
    ray_hits:
        Draw each ray caster's hit points.
    cameras:
        Log camera sensors' images (``True``: every camera; or a list of sensor names). Off by default: reading a
        camera's data renders it (see :mod:`isaac_rerun.channels.cameras`).
    camera_codec:
        How cameras' RGB frames are recorded. ``"h264"`` (default): as an H.264 ``VideoStream`` per camera and
        logged env, encoded on the CPU with PyAV (``isaac-rerun[video]``), a few hundred bytes per frame; where
        rerun-sdk has no ``VideoStream`` (0.23, Isaac Lab 2.x) or PyAV is missing, raw images, with a warning that
        says why. ``"raw"``: raw ``Image`` frames (lossless, hundreds of times larger). Depth is always a depth
        image (see :mod:`isaac_rerun.channels.cameras`).
    """

    layout: str = "auto"
    env_layout: str = "world"
    global_prims: bool = True
    trails: bool | tuple[str, ...] = False
    markers: bool = True
    contact_forces: bool = True
    contact_force_scale: float = 0.01
    ray_hits: bool = True
    cameras: bool | tuple[str, ...] = False
    camera_codec: str = "h264"

    def __post_init__(self) -> None:
        if self.camera_codec not in CAMERA_CODECS:
            raise ValueError(f"`camera_codec` must be one of {CAMERA_CODECS}, got {self.camera_codec!r}")
        if self.layout not in ENTITY_LAYOUTS:
            raise ValueError(f"`layout` must be one of {ENTITY_LAYOUTS}, got {self.layout!r}")
        if self.env_layout not in ENV_LAYOUTS:
            raise ValueError(f"`env_layout` must be one of {ENV_LAYOUTS}, got {self.env_layout!r}")
        for flag in ("global_prims", "markers", "contact_forces", "ray_hits"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"`{flag}` must be a bool, got {getattr(self, flag)!r}")
        scale = self.contact_force_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"`contact_force_scale` must be a positive number of metres per newton, got {scale!r}")
        cameras = self.cameras
        if not isinstance(cameras, bool):
            if isinstance(cameras, str) or not isinstance(cameras, (list, tuple)) or not cameras:
                raise TypeError(f"`cameras` must be a bool or a non-empty list of camera sensor names, got {cameras!r}")
            if not all(isinstance(c, str) and c for c in cameras):
                raise TypeError(f"`cameras` must hold camera sensor names (non-empty strings), got {cameras!r}")
            object.__setattr__(self, "cameras", tuple(cameras))
        trails = self.trails
        if not isinstance(trails, bool):
            if isinstance(trails, str) or not isinstance(trails, (list, tuple)) or not trails:
                raise TypeError(
                    f"`trails` must be a bool or a non-empty list of body names (regular expressions), got {trails!r}"
                )
            for name in trails:
                if not isinstance(name, str) or not name:
                    raise TypeError(f"`trails` must hold non-empty strings (body name patterns), got {name!r}")
                try:
                    re.compile(name)
                except re.error as exc:
                    raise ValueError(f"`trails`: {name!r} is not a valid regular expression ({exc})") from None
            object.__setattr__(self, "trails", tuple(trails))

    def entity_layout(self, num_logged: int) -> str:
        """``"per_env"`` or ``"instanced"`` for ``num_logged`` logged envs (resolves ``"auto"``); a ``ValueError``
        when ``"per_env"`` cannot hold that many."""
        if self.layout == "per_env" and num_logged > PER_ENV_MAX:
            raise ValueError(
                f"`logged_envs` selects {num_logged} envs, more than `layout='per_env'` holds (at most {PER_ENV_MAX}: "
                "one entity per body per env); use `layout='instanced'` or `'auto'`, or log fewer envs"
            )
        if self.layout != "auto":
            return self.layout
        return "instanced" if num_logged > INSTANCED_ABOVE else "per_env"


@dataclass(frozen=True)
class RecordingCfg(_Options):
    """Every recording option, validated once (see the module docstring for the default output).

    Every integration accepts one as ``cfg=`` (or ``rerun=`` for rsl_rl), a dict of its fields, or the same fields
    as keyword arguments; keyword arguments override what ``cfg`` says.

    Parameters
    ----------
    logged_envs:
        Which envs to record: an env index (default ``0``), a list of env indices, ``"all"``, or a slice
        (``slice(0, 64, 4)``, or the text ``"0:64:4"``). The first one is the **tracked env** whose episodes
        ``episode_trigger`` counts and whose episode end finishes a ``recording_length=0`` snippet. Checked against
        the env's ``num_envs`` when the env is known.
    scene_log_cfg:
        What the scene shows besides the bodies, and how the envs become entities (:class:`SceneLogCfg`, or a dict
        of its fields).
    episode_trigger:
        ``episode_trigger(episode_id) -> bool``: start ``{name_prefix}-episode-{id}`` with the first frame of that
        episode of the tracked env (exact semantics: :mod:`isaac_rerun.triggers`).
    step_trigger:
        ``step_trigger(step_id) -> bool``: start ``{name_prefix}-step-{id}`` at that vector step.
    iteration_trigger:
        ``iteration_trigger(iteration) -> bool``, for frameworks with training iterations (rsl_rl's learning
        iterations, the rollouts of skrl's and SB3's on-policy agents): when a chosen iteration begins, record
        ``{name_prefix}-iteration-{it}`` — with ``recording_length=0`` the first whole episode of the tracked env
        that starts after that (from its reset frame to its terminal frame), with ``recording_length=N`` the ``N``
        frames from the iteration's first step. If the next chosen iteration begins first, the earlier one is
        dropped. An int ``N`` means every ``N``-th iteration. Not together with ``step_trigger``.

        With no trigger at all, episodes follow :func:`~isaac_rerun.triggers.capped_cubic_video_schedule`.
        Triggers may also be given as ``"module:function"`` or ``"lambda i: ..."`` text (what Isaac Lab's
        ``configclass.to_dict()`` writes).
    recording_length:
        0 (default): record until the tracked env's episode ends (the terminal frame is the snippet's last);
        ``N > 0``: record exactly ``N`` frames.
    episode_filter:
        ``episode_filter(ep) -> bool``, called when an episode of a candidate env (``history_envs``) ends, with an
        :class:`~isaac_rerun.history.Episode` (``ep.env``, ``ep.episode_id``, ``ep.episode_return``, ``ep.length``,
        ``ep.terminated``, ``ep.truncated``, ``ep.info``): True keeps it, written from the rolling history as
        ``{name_prefix}-env-{env}-{reason}-episode-{id}`` from its reset frame to its terminal frame. Built-in
        filters: :mod:`isaac_rerun.filters`. Turns the history on.
    nan_guard:
        On the first non-finite body pose, observation or reward of a candidate env, write its last ``history``
        frames as ``{name_prefix}-env-{env}-nan-step-{step}`` and warn once with the path. Turns the history on.
    history:
        Frames of the rolling history kept on the simulation device (per candidate env: body poses, rewards,
        actions); default 500 (plus the window of a window filter). An episode longer than the history is written
        from its oldest frame kept. With a window filter it must be longer than the window.
    history_envs:
        The candidate envs of the history (same forms as ``logged_envs``; default ``"all"``).
    max_history_bytes:
        Refuse a history larger than this (default 2 GiB); the error says how big it would be and what to lower.
    max_saved_per_window, save_window:
        Rate limit of the history: at most ``max_saved_per_window`` kept episodes / NaN dumps per ``save_window``
        env steps (default 10 per 1000), so a diverging run cannot fill the disk; more are dropped with a warning.
    save_dir:
        Folder for one ``.rrd`` per snippet (``{name_prefix}-episode-{id}.rrd`` …) plus the training curves
        (``{name_prefix}-metrics.rrd``).
    save_path:
        One ``.rrd`` file holding every snippet as its own pair of timelines.
    recording_stream:
        Your ``rerun.RecordingStream``; snippets become timelines in it.
    viewer:
        ``"spawn"`` (start a local viewer) or a gRPC URL (``"rerun+http://host:9876/proxy"``).
    keep_last:
        With a folder output: keep only the newest ``N`` snippet files.
    name_prefix:
        Start of every snippet and metrics file name. Runs after the first on the same object add their label:
        ``{name_prefix}-train2-…``, ``{name_prefix}-eval-…``.
    application_id:
        Rerun application id of the recordings (the viewer groups recordings by it); default: the env's Gymnasium
        id, else ``"isaac_rerun"``.
    log_scalars:
        Log each recorded frame's reward and action of every logged env, and episode return / length at episode
        ends (episode lengths are logged either way).
    builtin_signals:
        What Isaac Lab adds to every frame of every logged env (:data:`BUILTIN_SIGNALS`, default
        :data:`DEFAULT_SIGNALS`; a list or comma-separated text): ``"rewards"`` each reward term's contribution to
        the step's reward (weighted term × ``step_dt``: the terms add up to ``reward``) and each whole episode's
        per-term return; ``"terminations"`` the term(s) that ended each episode (a text entry at the terminal
        frame, ``episode_reasons`` in the snippet's properties, :attr:`Episode.reasons
        <isaac_rerun.history.Episode.reasons>` for filters); ``"commands"`` each command term's value (velocity
        commands beside the measured base velocity); ``"actions"`` names the action series by term and joint;
        ``"joints"`` the robot's joint positions, velocities and efforts per named joint; ``"observations"`` each
        observation term by group. Manager signals exist for manager-based envs only; a direct env records its
        total reward (and joints) without an error. Details: ``docs/signals.md``.
    signals:
        Signals of your own: ``{name: Signal(...)}`` or ``{name: function(env) -> (num_envs, k) tensor}``
        (:class:`Signal`), logged like the built-in ones under ``/scalars/…/{name}``. A signal that raises during
        training is dropped with one warning.
    log_metrics:
        Log the framework's training metrics (SB3's logger, skrl's tracking data, rsl_rl's writer) to ``/train/…``
        on the global timelines.
    flush_every:
        Frames buffered before they are sent to Rerun.
    max_latency_s:
        Also send buffered frames when this many seconds passed since the last send: bounds how far a live viewer
        lags. Default: 0.5 s for viewers and streams, 30 s for files (a killed process loses at most the frames
        since the last send; ``SIGTERM`` and Ctrl-C lose none).
    verbose:
        0 silent; 1 one line per saved snippet; 2 also where the recording goes when a run starts.
    """

    logged_envs: LoggedEnvs = 0
    scene_log_cfg: SceneLogCfg = field(default_factory=SceneLogCfg)
    episode_trigger: Trigger | str | None = None
    step_trigger: Trigger | str | None = None
    iteration_trigger: Trigger | str | int | None = None
    recording_length: int = 0
    episode_filter: Callable[[Any], bool] | None = None
    nan_guard: bool = False
    history: int | None = None
    history_envs: LoggedEnvs = "all"
    max_history_bytes: int = 2 << 30
    max_saved_per_window: int = 10
    save_window: int = 1000
    save_dir: str | os.PathLike[str] | None = None
    save_path: str | os.PathLike[str] | None = None
    recording_stream: Any = None
    viewer: str | None = None
    keep_last: int | None = None
    name_prefix: str = "rl-rerun"
    application_id: str | None = None
    log_scalars: bool = True
    builtin_signals: tuple[str, ...] | str = DEFAULT_SIGNALS
    signals: Mapping[str, Signal | Callable[[Any], Any]] = field(default_factory=dict)
    log_metrics: bool = True
    flush_every: int = 128
    max_latency_s: float | None = None
    verbose: int = 0

    def __post_init__(self) -> None:
        from isaac_rerun.outputs import check_name_prefix, validate_output_args
        from isaac_rerun.triggers import every_n

        check_logged_envs_form(self.logged_envs)
        check_logged_envs_form(self.history_envs, "history_envs")
        object.__setattr__(self, "scene_log_cfg", SceneLogCfg.coerce(self.scene_log_cfg, "scene_log_cfg"))
        object.__setattr__(self, "episode_trigger", resolve_trigger("episode_trigger", self.episode_trigger))
        object.__setattr__(self, "step_trigger", resolve_trigger("step_trigger", self.step_trigger))
        it = self.iteration_trigger
        if isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            _check_int("iteration_trigger", it, 1, "every N-th iteration")
            it = every_n(int(it))
        object.__setattr__(self, "iteration_trigger", resolve_trigger("iteration_trigger", it))
        if self.iteration_trigger is not None and self.step_trigger is not None:
            raise ValueError(
                "give `step_trigger` or `iteration_trigger`, not both: both start snippets at chosen steps "
                "(`episode_trigger` goes with either)"
            )
        validate_recording_length(self.recording_length)
        f = self.episode_filter
        if isinstance(f, str) and ":" in f:  # "module:function", as Isaac Lab's configclass.to_dict() writes it
            f = resolve_trigger("episode_filter", f)
            object.__setattr__(self, "episode_filter", f)
        if f is not None and not (callable(f) or callable(getattr(f, "select", None))):
            raise TypeError(
                "`episode_filter` must be None, a callable taking an Episode and returning bool, or a window filter "
                "(isaac_rerun.filters: terminated(), worst_return(window=...), best_return(...)), "
                f"got {type(f).__name__}: {f!r}"
            )
        _check_bool("nan_guard", self.nan_guard)
        _check_int("history", self.history, 1, "frames kept per candidate env", none=True)
        window = self._filter_window()
        if window is not None and self.history is not None and self.history <= window:
            raise ValueError(
                f"`history` ({self.history} frames) must be longer than the `episode_filter`'s window ({window} env "
                "steps): an episode chosen when the window closes must still be in the history — raise `history` "
                "(a window plus the longest episode) or shorten the window"
            )
        _check_int("max_history_bytes", self.max_history_bytes, 1, "bytes")
        _check_int("max_saved_per_window", self.max_saved_per_window, 1, "snippets")
        _check_int("save_window", self.save_window, 1, "env steps")
        validate_output_args(
            save_dir=self.save_dir,
            save_path=self.save_path,
            recording_stream=self.recording_stream,
            viewer=self.viewer,
            keep_last=self.keep_last,
            application_id=self.application_id if self.application_id is not None else "isaac_rerun",
            default_may_be_folder=True,
        )
        check_name_prefix(self.name_prefix)
        for flag in ("log_scalars", "log_metrics"):
            _check_bool(flag, getattr(self, flag))
        object.__setattr__(self, "builtin_signals", check_builtin_signals(self.builtin_signals))
        object.__setattr__(self, "signals", check_signals(self.signals))
        if isinstance(self.flush_every, bool) or not isinstance(self.flush_every, int) or self.flush_every < 1:
            raise ValueError(f"`flush_every` must be an int >= 1, got {self.flush_every!r}")
        lat = self.max_latency_s
        if lat is not None and (isinstance(lat, bool) or not isinstance(lat, (int, float)) or not lat > 0):
            raise ValueError(f"`max_latency_s` must be None or a positive number of seconds, got {lat!r}")
        if self.verbose not in (0, 1, 2) or isinstance(self.verbose, bool):
            raise ValueError(f"`verbose` must be 0, 1 or 2, got {self.verbose!r}")

    @property
    def history_on(self) -> bool:
        """True when the rolling history is needed (an episode filter or the NaN guard)."""
        return self.episode_filter is not None or self.nan_guard

    def _filter_window(self) -> int | None:
        """The env-step window of a window filter (``worst_return(window=…)``), else None."""
        f = self.episode_filter
        window = getattr(f, "window", None) if callable(getattr(f, "select", None)) else None
        return int(window) if isinstance(window, int) and not isinstance(window, bool) else None

    @property
    def effective_episode_trigger(self) -> Trigger | None:
        """``episode_trigger``; with no trigger and no history, the default
        :func:`~isaac_rerun.triggers.capped_cubic_video_schedule` (with only an episode filter nothing is recorded
        before it keeps an episode)."""
        triggers = (self.episode_trigger, self.step_trigger, self.iteration_trigger)
        if all(t is None for t in triggers) and not self.history_on:
            return capped_cubic_video_schedule
        return self.episode_trigger  # type: ignore[return-value]

    @property
    def history_length(self) -> int:
        """Frames of history per candidate env: ``history``; by default 500, plus a window filter's window."""
        return self.history if self.history is not None else 500 + (self._filter_window() or 0)

    @property
    def output_given(self) -> bool:
        """True when one of the outputs is set explicitly."""
        return any(v is not None for v in (self.save_dir, self.save_path, self.recording_stream, self.viewer))
