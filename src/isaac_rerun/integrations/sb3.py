"""``RerunCallback``: the Stable-Baselines3 integration (maps SB3's callback hooks and logger onto the recorder).

Pass it to ``model.learn(callback=...)`` of any SB3 algorithm (PPO, A2C, SAC, TD3, …) trained on an Isaac Lab env
wrapped in :class:`isaaclab_rl.sb3.Sb3VecEnvWrapper` (optionally under ``VecNormalize`` or other VecEnv wrappers)::

    from isaac_rerun.integrations.sb3 import RerunCallback

    model = PPO("MlpPolicy", Sb3VecEnvWrapper(gym.make(task, cfg=env_cfg)))
    model.learn(100_000, callback=RerunCallback(save_dir="runs/rerun", step_trigger=lambda s: s % 2000 == 0,
                                                recording_length=200))

Counters
--------
=====================  ==============================================================================================
``step_trigger(i)``    ``i`` = vector steps this callback has seen, from 0: ``n_calls - 1`` (as Isaac Lab's
                       ``--video_interval`` and SB3's ``VecVideoRecorder``). One vector step is ``n_envs`` timesteps.
``episode_trigger(i)`` ``i`` = episodes of the tracked env (the first of ``logged_envs``), from 0, counted from its
                       ``dones``.
``env_step`` timeline  the same vector-step id as ``step_trigger``.
``timesteps`` timeline SB3's ``num_timesteps`` (``n_envs`` per vector step): the x axis of SB3's own logs.
``frame``/``sim_time`` per snippet: frame index, and simulated seconds since the snippet started.
=====================  ==============================================================================================

Step and episode ids continue over several ``learn()`` calls with the same callback; SB3's ``num_timesteps`` starts
again from 0 when ``reset_num_timesteps=True`` (and so does the ``timesteps`` timeline).
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rerun as rr
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HumanOutputFormat, KVWriter, Logger
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize

from isaac_rerun import _compat
from isaac_rerun.integrations.gymnasium import find_isaac_env, step_dt_of
from isaac_rerun.outputs import FolderOutput, Output, Sink, check_name_prefix, resolve_output, validate_output_args
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene, SceneLogCfg
from isaac_rerun.triggers import Trigger, validate_recording_length, validate_trigger

__all__ = ["RerunCallback"]


class RerunCallback(BaseCallback):
    """Record snippets of the Isaac Lab scene to Rerun while an SB3 model trains, beside reward, action and metrics.

    Each vector step seen by the callback is one frame of the logged envs; the frame at which an episode ends shows
    the terminal poses, before Isaac Lab's auto-reset. Snippets start on ``step_trigger`` / ``episode_trigger``
    (counters in the module docstring, exact semantics in :mod:`isaac_rerun.triggers`). Beside the scene, each
    logged env gets ``/scalars/env_{i}/reward`` (the env's reward, before ``VecNormalize``), ``…/action`` (what
    was sent to the env: ``clipped_actions`` on-policy, ``actions`` off-policy) and ``…/episode_return`` /
    ``…/episode_length`` at the end of each episode that started inside a snippet. Whatever SB3's logger dumps
    (``rollout/ep_rew_mean``, ``train/*``, ``time/fps``) goes to ``/train/*`` on the ``env_step`` and ``timesteps``
    timelines, in ``{name_prefix}-metrics.rrd`` for a folder output.

    Output (at most one): ``save_dir``, ``save_path``, ``recording_stream`` or ``viewer``, as for
    :class:`~isaac_rerun.integrations.gymnasium.LogRerun`. With none of them: ``{logger dir}/rerun`` when the
    model's SB3 logger writes files (``tensorboard_log=…``, or ``model.set_logger(configure(folder, …))``), else
    Rerun's global recording (``rr.init``), else a ``ValueError`` when ``learn()`` starts.

    Every ``learn()`` call ends with complete files: the open snippet is finished in ``_on_training_end`` (also
    after an early stop by another callback), and a folder output's metrics file is closed — a later ``learn()``
    with this callback writes ``{name_prefix}-learn{k}-metrics.rrd``. If ``learn()`` raises, the open snippet is
    finished by :meth:`close`, by the next ``learn()`` with this callback, when the callback is garbage-collected,
    or at interpreter exit, whichever comes first. ``with RerunCallback(...) as cb:`` closes it deterministically.

    Parameters
    ----------
    save_dir:
        Folder for one ``.rrd`` per snippet (``{name_prefix}-step-{id}.rrd`` / ``{name_prefix}-episode-{id}.rrd``).
    logged_envs:
        Env index, or list of env indices, to log. Defaults to ``0``. Checked against ``num_envs`` when ``learn()``
        starts.
    episode_trigger:
        ``episode_trigger(episode_id) -> bool``: start a snippet on this episode of the tracked env. If both
        triggers are None: :func:`~isaac_rerun.triggers.capped_cubic_video_schedule` on episodes.
    step_trigger:
        ``step_trigger(step_id) -> bool``: start a snippet on this vector step (``n_calls - 1``).
    recording_length:
        0 records until the tracked env's episode ends; N > 0 records N frames.
    save_path:
        One ``.rrd`` holding every snippet as its own pair of timelines (complete once :meth:`close` ran).
    recording_stream:
        Your own Rerun recording stream (snippets as timelines in it).
    viewer:
        ``"spawn"`` or ``"rerun+http://host:9876/proxy"``: stream to a live viewer.
    keep_last:
        With ``save_dir``: keep only the newest N snippet files.
    name_prefix:
        Snippet names: ``{name_prefix}-episode-{id}`` / ``{name_prefix}-step-{id}``.
    log_scalars:
        Log reward, action and episode return/length of each logged env beside the scene (default True).
    log_metrics:
        Forward what SB3's logger dumps to Rerun (default True). A key recorded with ``exclude="rerun"`` is skipped.
    verbose:
        0: silent, 1: one line per saved recording, 2: also where the recordings go when ``learn()`` starts.
    scene_log_cfg:
        What is drawn besides the bodies: env layout, global prims, trails, markers, contact forces, ray hits,
        camera images (:class:`~isaac_rerun.scene.SceneLogCfg`, or a dict of its fields; None: the defaults).

    Raises
    ------
    TypeError, ValueError
        At construction, for invalid arguments (named in the message); when ``learn()`` starts, if the model's
        env does not lead to an Isaac Lab env, ``logged_envs`` does not fit ``num_envs``, or no output can be
        chosen. Nothing is written before these checks pass.

    Notes
    -----
    Inside :class:`~stable_baselines3.common.callbacks.EveryNTimesteps` (or another ``EventCallback``) the callback
    only sees the steps it is called on: each call is one frame, ``step_trigger`` / ``env_step`` / ``frame`` count
    calls, episodes are counted only from the ``dones`` of those steps, terminal poses are not captured (only the
    ``timesteps`` timeline keeps SB3's true time), and ``_on_training_end`` is not forwarded, so the last snippet is
    finished by :meth:`close` (or the next ``learn()``, garbage collection, exit). Prefer ``step_trigger``.

    Examples
    --------
    Record 200 frames of env 0 every 2000 vector steps, next to TensorBoard's logs:

    >>> model = PPO("MlpPolicy", env, tensorboard_log="runs/tb")  # doctest: +SKIP
    >>> model.learn(1_000_000, callback=RerunCallback(step_trigger=lambda s: s % 2000 == 0,
    ...                                               recording_length=200))  # doctest: +SKIP

    Record every 10th episode of envs 0 and 1 into a folder, beside a checkpoint callback:

    >>> callback = CallbackList([CheckpointCallback(10_000, "runs/ckpt"),
    ...                          RerunCallback(save_dir="runs/rerun", logged_envs=[0, 1],
    ...                                        episode_trigger=lambda ep: ep % 10 == 0)])  # doctest: +SKIP
    >>> model.learn(1_000_000, callback=callback)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        save_dir: str | os.PathLike[str] | None = None,
        logged_envs: int | Sequence[int] = 0,
        episode_trigger: Trigger | None = None,
        step_trigger: Trigger | None = None,
        recording_length: int = 0,
        save_path: str | os.PathLike[str] | None = None,
        recording_stream: rr.RecordingStream | None = None,
        viewer: str | None = None,
        keep_last: int | None = None,
        name_prefix: str = "rl-rerun",
        log_scalars: bool = True,
        log_metrics: bool = True,
        verbose: int = 0,
        scene_log_cfg: SceneLogCfg | Mapping[str, Any] | None = None,
    ):
        if verbose not in (0, 1, 2):
            raise ValueError(f"`verbose` must be 0, 1 or 2, got {verbose!r}")
        super().__init__(verbose=verbose)
        self._episode_trigger = validate_trigger("episode_trigger", episode_trigger)
        self._step_trigger = validate_trigger("step_trigger", step_trigger)
        self._recording_length = validate_recording_length(recording_length)
        self._name_prefix = check_name_prefix(name_prefix)
        validate_output_args(
            save_dir=save_dir,
            save_path=save_path,
            recording_stream=recording_stream,
            viewer=viewer,
            keep_last=keep_last,
            default_may_be_folder=True,
        )
        self._output_args = dict(
            save_dir=save_dir, save_path=save_path, recording_stream=recording_stream, viewer=viewer
        )
        if isinstance(logged_envs, bool) or not isinstance(
            logged_envs, (int, np.integer, list, tuple, range, np.ndarray)
        ):
            raise TypeError(
                f"`logged_envs` must be an env index or a list of env indices, got {type(logged_envs).__name__}: "
                f"{logged_envs!r}"
            )
        self._logged_envs = logged_envs
        self._scene_log_cfg = SceneLogCfg.coerce(scene_log_cfg)
        for name, flag in (("log_scalars", log_scalars), ("log_metrics", log_metrics)):
            if not isinstance(flag, bool):
                raise TypeError(f"`{name}` must be True or False, got {flag!r}")
        self._log_scalars = log_scalars
        self._log_metrics = log_metrics
        self._run = _Run()
        # finishes the open snippet and completes the files when the callback is collected or at interpreter exit
        self._finalizer = weakref.finalize(self, self._run.close)
        self._obs_at_end: Any = None  # the model's last observation when the previous learn() ended

    # ------------------------------------------------------------------ SB3 hooks
    def _init_callback(self) -> None:
        """``learn()`` is starting (the env was already reset if SB3 resets it): check the env, pick the output."""
        run = self._run
        if run.closed:
            raise RuntimeError("this RerunCallback was closed; create a new one for another learn()")
        env = self.training_env
        base = _find_isaac_env(env)
        if run.base is None:
            # validates logged_envs against num_envs
            layout = IsaacLabScene(base.scene, self._logged_envs, cfg=self._scene_log_cfg)
            output = _LearnOutput(self._resolve_output(base))
            run.base, run.layout, run.output = base, layout, output
        elif base is not run.base:
            raise ValueError(
                "`training_env` changed: this RerunCallback records the Isaac Lab env of its first learn(); "
                "use a new RerunCallback for another env"
            )
        run.rewards_from = _innermost_vec_normalize(env)

    def _on_training_start(self) -> None:
        """Start (or continue) counting: ``begin()`` when the env was reset for this ``learn()``."""
        run = self._run
        if run.training:  # the previous learn() raised (or its end was not forwarded to us): finish its snippet
            run.end_training()
        assert run.base is not None and run.layout is not None and run.output is not None
        if run.recorder is None:
            run.recorder = Recorder(
                run.layout,
                run.output,
                episode_trigger=self._episode_trigger,
                step_trigger=self._step_trigger,
                recording_length=self._recording_length,
                step_dt=step_dt_of(run.base),
                name_prefix=self._name_prefix,
                global_timeline="timesteps",
                # an EventCallback parent calls us on some steps only: a terminal pose kept at another step's
                # auto-reset would be logged at the wrong frame, so the reset hook is only used when we see each step
                reset_hook_target=run.base if self.parent is None else None,
                verbose=self.verbose,
            )
        rec = run.recorder
        if self._log_metrics:
            run.attach_writer(self.model.logger)
        if rec.episode_id < 0 or self.locals.get("reset_num_timesteps", True):
            reset = True  # the first learn() of this callback, or SB3 reset the env in _setup_learn
        else:  # SB3 also resets when it has no last observation (e.g. after set_env): a new observation object
            reset = self._obs_at_end is not None and self.model._last_obs is not self._obs_at_end
        self._obs_at_end = None
        if reset:
            rec.begin(global_step=self.num_timesteps, next_step_id=self.n_calls)
        run.training = True
        if self.verbose >= 2:
            where = run.output.describe()
            print(
                f"RerunCallback: recording env(s) {rec.logged_envs} of {type(run.base).__name__} to {where} "
                f"(next step id {self.n_calls}, episode id {rec.episode_id}, timesteps {self.num_timesteps})"
            )

    def _on_step(self) -> bool:
        """One vector step happened: hand its done flags (and reward, action) to the recorder. Never stops training."""
        rec = self._run.recorder
        assert rec is not None
        loc = self.locals
        if self._log_scalars:
            actions = loc.get("clipped_actions")  # on-policy: what was sent to the env
            if actions is None:
                actions = loc.get("actions")  # off-policy: already scaled to the env's action space
            vn = self._run.rewards_from
            rewards = loc.get("rewards") if vn is None else vn.old_reward
            rec.after_step(loc["dones"], rewards, actions, global_step=self.num_timesteps)
        else:
            rec.after_step(loc["dones"], global_step=self.num_timesteps)
        return True

    def _on_training_end(self) -> None:
        """``learn()`` is returning (normally or after an early stop): finish the snippet, complete the files."""
        self._obs_at_end = getattr(self.model, "_last_obs", None)
        self._run.end_training()

    # ------------------------------------------------------------------ public API
    def close(self) -> None:
        """Finish the open snippet and release the output (files complete when this returns). Safe to call twice."""
        self._finalizer()

    def __enter__(self) -> RerunCallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def recorder(self) -> Recorder | None:
        """The :class:`~isaac_rerun.recorder.Recorder` (None before the first ``learn()``)."""
        return self._run.recorder

    @property
    def paths(self) -> list[Path]:
        """Files of the snippets finished so far (a folder output keeps the newest ``keep_last`` of them)."""
        rec = self._run.recorder
        return [] if rec is None else [s.path for s in rec.finished if s.path is not None and s.path.exists()]

    @property
    def metrics_paths(self) -> list[Path]:
        """Files of the training metrics written so far (one per ``learn()`` call; folder output only)."""
        return [] if self._run.output is None else list(self._run.output.metrics_paths)

    # ------------------------------------------------------------------ helpers
    def _resolve_output(self, base: Any) -> Output:
        spec = getattr(base, "spec", None)
        application_id = getattr(spec, "id", None) or "isaac_rerun"
        args: dict[str, Any] = dict(self._output_args)
        if all(v is None for v in args.values()):
            folder = _logger_folder(self.model.logger)
            if folder is not None:
                args["save_dir"] = folder / "rerun"
            elif rr.get_data_recording() is None:
                raise ValueError(
                    "RerunCallback has no output: pass `save_dir=` (a folder of .rrd snippets), `save_path=`, "
                    "`recording_stream=` or `viewer=`; or give the model a logger folder (`tensorboard_log=...`, or "
                    "`model.set_logger(configure(folder, ['csv']))`) to record into {folder}/rerun; or call "
                    "`rr.init(...)` to use Rerun's global recording"
                )
        return resolve_output(application_id=application_id, **args)


# ---------------------------------------------------------------------- internals
class _Run:
    """What one callback owns across its ``learn()`` calls; :meth:`close` runs once (explicitly or as finalizer)."""

    def __init__(self) -> None:
        self.base: Any = None  # the Isaac Lab env
        self.layout: IsaacLabScene | None = None
        self.output: _LearnOutput | None = None
        self.recorder: Recorder | None = None
        self.rewards_from: VecNormalize | None = None
        self.writer: _MetricsWriter | None = None
        self.writer_logger: Logger | None = None
        self.training = False
        self.closed = False

    def attach_writer(self, logger: Logger) -> None:
        self.detach_writer()
        assert self.recorder is not None
        self.writer = _MetricsWriter(self.recorder)
        logger.output_formats.append(self.writer)
        self.writer_logger = logger

    def detach_writer(self) -> None:
        writer, logger = self.writer, self.writer_logger
        self.writer = self.writer_logger = None
        if writer is not None and logger is not None and writer in logger.output_formats:
            logger.output_formats.remove(writer)

    def end_training(self) -> None:
        self.training = False
        self.detach_writer()
        if self.recorder is not None:
            self.recorder.stop()
        if self.output is not None:
            self.output.end_learn()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.training = False
        self.detach_writer()
        if self.recorder is not None:
            self.recorder.close()  # finishes the snippet, removes the reset hook, closes the output
        elif self.output is not None:
            self.output.close()


class _MetricsWriter(KVWriter):
    """An SB3 logger output format that forwards each ``dump()`` to :meth:`Recorder.log_metrics`."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        metrics: dict[str, float] = {}
        for key, value in key_values.items():
            excluded = key_excluded.get(key)
            if excluded is not None and "rerun" in excluded:
                continue
            if not isinstance(value, (int, float, np.number)) and hasattr(value, "item"):
                try:
                    value = value.item()  # a one-element tensor / array
                except (TypeError, ValueError, RuntimeError):
                    continue
            metrics[key] = value
        self.recorder.log_metrics(metrics, global_step=step)

    def close(self) -> None:
        """Nothing to release: the callback owns the output."""


class _LearnOutput(Output):
    """The user's output, kept open across ``learn()`` calls; each call ends with complete files.

    A folder output's metrics file is closed at the end of each ``learn()`` (so it is complete), and the next
    ``learn()`` writes a new one, ``{prefix}-learn{k}-metrics.rrd``. Streams (``save_path``, ``recording_stream``,
    ``viewer``) are flushed at the end of each ``learn()`` and closed by :meth:`close`.
    """

    def __init__(self, inner: Output):
        self.inner = inner
        self.application_id = inner.application_id
        self.live = inner.live
        self.metrics_paths: list[Path] = []
        self._part = 0
        self._metrics_open = False

    @property
    def stream(self) -> rr.RecordingStream | None:
        """The shared stream of a stream output (the recorder compares the metrics stream with it)."""
        return getattr(self.inner, "stream", None)

    def open(self, name: str) -> Sink:
        return self.inner.open(name)

    def finish(self, sink: Sink) -> None:
        self.inner.finish(sink)

    def metrics_stream(self, prefix: str) -> rr.RecordingStream:
        if not self._metrics_open:
            self._metrics_open = True
            self._part += 1
        stream = self.inner.metrics_stream(prefix if self._part == 1 else f"{prefix}-learn{self._part}")
        path = getattr(self.inner, "metrics_path", None)
        if path is not None and path not in self.metrics_paths:
            self.metrics_paths.append(path)
        return stream

    def end_learn(self) -> None:
        if isinstance(self.inner, FolderOutput):
            if self._metrics_open:
                self._metrics_open = False
                self.inner.close()  # completes the metrics file; the folder stays usable for snippets
        elif (stream := self.stream) is not None:
            try:
                _compat.flush(stream)
            except Exception as exc:  # a full disk or a vanished viewer: training has ended anyway
                warnings.warn(f"isaac_rerun: could not flush the recording ({exc!r})", RuntimeWarning, stacklevel=2)

    def close(self) -> None:
        self.inner.close()

    def describe(self) -> str:
        if isinstance(self.inner, FolderOutput):
            return str(self.inner.folder)
        path = getattr(self.inner, "path", None)
        return str(path) if path is not None else f"the recording stream ({type(self.inner).__name__})"


def _find_isaac_env(env: VecEnv) -> Any:
    """The Isaac Lab env below the model's VecEnv: down ``.venv`` (VecNormalize, …), then ``.unwrapped``."""
    inner: Any = env
    chain = [type(env).__name__]
    while isinstance(inner, VecEnvWrapper):
        inner = inner.venv
        chain.append(type(inner).__name__)
    try:
        return find_isaac_env(inner, "training_env")
    except ValueError as exc:
        raise ValueError(
            f"{exc}. RerunCallback needs the model's env to be Isaac Lab's isaaclab_rl.sb3.Sb3VecEnvWrapper, "
            f"possibly under VecEnv wrappers; the model's env is {' -> '.join(chain)}"
        ) from None


def _innermost_vec_normalize(env: VecEnv) -> VecNormalize | None:
    """The VecNormalize closest to the env (its ``old_reward`` is the env's own reward), if any."""
    found = None
    inner: Any = env
    while isinstance(inner, VecEnvWrapper):
        if isinstance(inner, VecNormalize):
            found = inner
        inner = inner.venv
    return found


def _logger_folder(logger: Logger) -> Path | None:
    """The SB3 logger's folder when it writes files there (TensorBoard, CSV, JSON, log), else None.

    SB3 always gives its logger a folder (a temporary one by default); it only counts when something is written.
    """
    folder = logger.get_dir()
    if folder is None:
        return None
    for fmt in logger.output_formats:
        if isinstance(fmt, _MetricsWriter) or (isinstance(fmt, HumanOutputFormat) and not fmt.own_file):
            continue
        return Path(folder)
    return None
