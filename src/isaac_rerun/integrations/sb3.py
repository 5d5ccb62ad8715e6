"""``RerunCallback``: the Stable-Baselines3 integration (maps SB3's callback hooks and logger onto the core).

Pass it to ``model.learn(callback=...)`` of any SB3 algorithm (PPO, A2C, SAC, TD3, …) trained on an Isaac Lab env
wrapped in :class:`isaaclab_rl.sb3.Sb3VecEnvWrapper` (optionally under ``VecNormalize`` or other VecEnv wrappers)::

    from isaac_rerun.integrations.sb3 import RerunCallback

    model = PPO("MlpPolicy", Sb3VecEnvWrapper(gym.make(task, cfg=env_cfg)))
    model.learn(100_000, callback=RerunCallback(save_dir="runs/rerun", step_trigger=lambda s: s % 2000 == 0,
                                                recording_length=200))

Counters
--------
======================== ===========================================================================================
``step_trigger(i)``      ``i`` = vector steps this callback has seen, from 0: ``n_calls - 1`` (as Isaac Lab's
                         ``--video_interval`` and SB3's ``VecVideoRecorder``). One vector step is ``n_envs`` timesteps.
``episode_trigger(i)``   ``i`` = episodes of the tracked env (the first of ``logged_envs``), from 0, counted from its
                         ``dones``.
``iteration_trigger(i)`` on-policy algorithms: ``i`` = rollouts collected so far, ``num_timesteps // (n_steps *
                         n_envs)`` when a rollout starts (SB3's ``time/iterations`` minus one).
``env_step`` timeline    the same vector-step id as ``step_trigger``.
``timesteps`` timeline   SB3's ``num_timesteps`` (``n_envs`` per vector step): the x axis of SB3's own logs.
======================== ===========================================================================================

All of them continue over several ``learn()`` calls with the same callback; SB3's ``num_timesteps`` starts again
from 0 when ``reset_num_timesteps=True`` (and so does the ``timesteps`` timeline).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HumanOutputFormat, KVWriter, Logger
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize

from isaac_rerun.config import RecordingCfg
from isaac_rerun.envs import find_isaac_env
from isaac_rerun.recorder import Recorder
from isaac_rerun.session import RecordingHandle, RecordingSession

__all__ = ["RerunCallback"]


class RerunCallback(BaseCallback, RecordingHandle):
    """Record snippets of the Isaac Lab scene to Rerun while an SB3 model trains, beside reward, action and metrics.

    Each vector step seen by the callback is one frame of the logged envs; the frame at which an episode ends shows
    the terminal poses, before Isaac Lab's auto-reset. Snippets start on the triggers (counters in the module
    docstring). Each logged env's reward is the env's own (before ``VecNormalize``), its action what was sent to the
    env (``clipped_actions`` on-policy, ``actions`` off-policy). Whatever SB3's logger dumps (``rollout/ep_rew_mean``,
    ``train/*``, ``time/fps``) goes to ``/train/*`` on the ``env_step`` and ``timesteps`` timelines (a key recorded
    with ``exclude="rerun"`` is skipped).

    Every option and the default output: :class:`~isaac_rerun.config.RecordingCfg` (the log folder is the SB3
    logger's, when it writes files: ``tensorboard_log=…`` or ``model.set_logger(configure(folder, …))``). Every
    ``learn()`` call is a run (:mod:`isaac_rerun.session`): it ends with complete files, even after an early stop by
    another callback; later calls are labelled ``train2``, ``train3`` …. If ``learn()`` raises, the open snippet is
    finished by :meth:`close`, the next ``learn()``, garbage collection or interpreter exit, whichever comes first.

    Parameters
    ----------
    cfg:
        A :class:`~isaac_rerun.config.RecordingCfg` or a dict of its fields.
    **options:
        Fields of :class:`~isaac_rerun.config.RecordingCfg` (they override ``cfg``). ``logged_envs`` is checked
        against ``num_envs`` when ``learn()`` starts.

    Raises
    ------
    TypeError, ValueError
        At construction, for invalid options (named in the message); when ``learn()`` starts, if the model's env
        does not lead to an Isaac Lab env, ``logged_envs`` does not fit ``num_envs``, or no output can be chosen.
        Nothing is written before these checks pass.

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

    def __init__(self, cfg: RecordingCfg | Mapping[str, Any] | None = None, **options: Any):
        rec_cfg = RecordingCfg.coerce(cfg, **options)
        super().__init__(verbose=rec_cfg.verbose)
        self.session = RecordingSession(rec_cfg, global_timeline="timesteps")
        # finishes the open snippet and completes the files when the callback is collected or at interpreter exit
        self._finalizer = weakref.finalize(self, self.session.close)
        self._writer: _MetricsWriter | None = None
        self._rewards_from: VecNormalize | None = None
        self._obs_at_end: Any = None  # the model's last observation when the previous learn() ended

    # ------------------------------------------------------------------ SB3 hooks
    def _init_callback(self) -> None:
        """``learn()`` is starting (the env was already reset if SB3 resets it): check the env, pick the output."""
        if self.session.closed:
            raise RuntimeError("this RerunCallback was closed; create a new one for another learn()")
        env = self.training_env
        # an EventCallback parent calls us on some steps only: a terminal pose kept at another step's auto-reset
        # would be logged at the wrong frame, so the reset hook is only used when we see each step
        self.session.attach(
            _find_isaac_env(env), log_folder=_logger_folder(self.model.logger), reset_hook=self.parent is None
        )
        self._rewards_from = _innermost_vec_normalize(env)

    def _on_training_start(self) -> None:
        """A run starts: counting continues, or ``begin()`` when SB3 reset the env for this ``learn()``."""
        self._detach_writer()
        self.session.begin_run("train")  # finishes the previous run if its end was not forwarded to us
        rec = self.recorder
        assert rec is not None
        if self.session.cfg.log_metrics:
            self._writer = _MetricsWriter(rec)
            self.model.logger.output_formats.append(self._writer)
        if rec.episode_id < 0 or self.locals.get("reset_num_timesteps", True):
            reset = True  # the first learn() of this callback, or SB3 reset the env in _setup_learn
        else:  # SB3 also resets when it has no last observation (e.g. after set_env): a new observation object
            reset = self._obs_at_end is not None and self.model._last_obs is not self._obs_at_end
        self._obs_at_end = None
        if reset:
            rec.begin(global_step=self.num_timesteps, next_step_id=self.n_calls)
        if self.verbose >= 2:
            print(
                f"RerunCallback: recording env(s) {rec.logged_envs} of {type(self.session.env).__name__} to "
                f"{rec.output.describe()} (next step id {self.n_calls}, episode id {rec.episode_id}, "
                f"timesteps {self.num_timesteps})"
            )

    def _on_rollout_start(self) -> None:
        """On-policy: a rollout (an iteration) begins."""
        rec = self.recorder
        if rec is not None and isinstance(self.model, OnPolicyAlgorithm):
            rec.iteration_start(self.num_timesteps // (self.model.n_steps * self.model.n_envs))

    def _on_step(self) -> bool:
        """One vector step happened: hand its done flags (and reward, action) to the recorder. Never stops training."""
        rec = self.recorder
        assert rec is not None
        loc = self.locals
        rewards = actions = None
        if self.session.cfg.log_scalars:
            actions = loc.get("clipped_actions")  # on-policy: what was sent to the env
            if actions is None:
                actions = loc.get("actions")  # off-policy: already scaled to the env's action space
            vn = self._rewards_from
            rewards = loc.get("rewards") if vn is None else vn.old_reward
        infos = loc.get("infos")
        truncated = None if rec.history is None or infos is None else _time_outs(infos)
        rec.after_step(
            loc["dones"],
            rewards,
            actions,
            truncated=truncated,
            global_step=self.num_timesteps,
            observations=loc.get("new_obs"),
            info=infos,
        )
        return True

    def _on_training_end(self) -> None:
        """``learn()`` is returning (normally or after an early stop): finish the snippet, complete the files."""
        self._obs_at_end = getattr(self.model, "_last_obs", None)
        self._detach_writer()
        self.session.end_run()

    # ------------------------------------------------------------------ public API
    def close(self) -> None:
        """Finish the open snippet and release the output (files complete when this returns). Safe to call twice."""
        self._detach_writer()
        self._finalizer()

    def __enter__(self) -> RerunCallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _detach_writer(self) -> None:
        writer, self._writer = self._writer, None
        formats = self.model.logger.output_formats if self.model is not None else []
        if writer is not None and writer in formats:
            formats.remove(writer)


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


def _time_outs(infos: list[dict[str, Any]]) -> np.ndarray:
    """SB3's time-outs (``TimeLimit.truncated`` in each env's info), to tell them from terminations."""
    return np.fromiter((bool(info.get("TimeLimit.truncated", False)) for info in infos), dtype=bool, count=len(infos))


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
