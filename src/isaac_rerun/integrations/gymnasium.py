"""``LogRerun``: the Gymnasium wrapper (maps ``reset()`` / ``step()`` of an Isaac Lab env onto the core)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Generic, SupportsFloat

import gymnasium as gym
import rerun as rr
from gymnasium.core import ActType, ObsType

from isaac_rerun.config import LoggedEnvs, RecordingCfg
from isaac_rerun.envs import find_isaac_env, step_dt_of
from isaac_rerun.recorder import Recorder
from isaac_rerun.session import RecordingHandle, RecordingSession

__all__ = ["LogRerun", "find_isaac_env", "step_dt_of"]


class LogRerun(
    gym.Wrapper[ObsType, ActType, ObsType, ActType],
    Generic[ObsType, ActType],
    gym.utils.RecordConstructorArgs,
    RecordingHandle,
):
    """Record episodes of an Isaac Lab env to Rerun, like :class:`gymnasium.wrappers.RecordVideo` records videos.

    Wrap the Isaac Lab env (``gym.make(task, cfg=env_cfg)``) before any RL-library wrapper. Every vector step is one
    frame of the logged envs; the frame at which an episode ends shows the terminal poses, before Isaac Lab's
    auto-reset. ``step_id`` counts vector steps since the wrapper was made, ``episode_id`` the tracked env's episodes
    (:mod:`isaac_rerun.triggers`). :meth:`close` finishes the open snippet and completes the files.

    The seed's positional arguments are kept (``save_path`` wins over ``recording_stream``); every other option of
    :class:`~isaac_rerun.config.RecordingCfg` (where each is documented) is a keyword argument or comes in ``cfg``.

    Raises
    ------
    ValueError
        If ``env.unwrapped`` has no ``scene`` (not an Isaac Lab env), or for invalid arguments (named in the message).

    Examples
    --------
    >>> env = LogRerun(gym.make(task, cfg=env_cfg), save_dir="runs/rerun",
    ...                episode_trigger=lambda ep: ep % 10 == 0)  # doctest: +SKIP
    >>> rr.init("isaac_example", spawn=True)  # doctest: +SKIP
    >>> env = LogRerun(env, step_trigger=lambda t: t % 200 == 0, recording_length=100)  # doctest: +SKIP
    """

    def __init__(
        self,
        env: gym.Env[ObsType, ActType],
        logged_envs: LoggedEnvs = 0,
        recording_stream: rr.RecordingStream | None = None,
        save_path: str | os.PathLike[str] | None = None,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        recording_length: int = 0,
        *,
        cfg: RecordingCfg | Mapping[str, Any] | None = None,
        **options: Any,
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self, episode_trigger=episode_trigger, step_trigger=step_trigger, recording_length=recording_length
        )
        gym.Wrapper.__init__(self, env)
        base = find_isaac_env(env)
        seed_args = dict(
            logged_envs=logged_envs,
            recording_stream=None if save_path is not None else recording_stream,  # the seed's precedence
            save_path=save_path,
            episode_trigger=episode_trigger,
            step_trigger=step_trigger,
            recording_length=recording_length,
        )
        given = {k: v for k, v in seed_args.items() if v != RecordingCfg.__dataclass_fields__[k].default}
        self.session = RecordingSession(RecordingCfg.coerce(cfg, **{**given, **options}))
        self._rec: Recorder = self.session.attach(base)
        self.session.begin_run()
        self.scene = base.scene
        self.log_scalars = self.session.cfg.log_scalars
        self._after_step = self._rec.after_step
        self._started = False

    # -------------------------------------------------------------- gym.Wrapper
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """Reset the env; episode ``episode_id + 1`` of the tracked env starts (and maybe a snippet)."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._rec.begin()
        self._started = True
        return obs, info

    def step(self, action: ActType) -> tuple[ObsType, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and record the frame if a snippet is open."""
        obs, rew, terminated, truncated, info = self.env.step(action)
        if not self._started:  # stepped without reset(): count from here
            self._rec.begin()
            self._started = True
        if self.log_scalars:  # positional: the recorder's call is on every step's path
            self._after_step(terminated, rew, action, truncated, None, None, obs, info)
        else:
            self._after_step(terminated, None, None, truncated, None, None, obs, info)
        return obs, rew, terminated, truncated, info

    def close(self) -> None:
        """Finish the open snippet (its file is complete when this returns), then close the env."""
        try:
            self.session.close()
        finally:
            super().close()

    # -------------------------------------------------------------- seed API
    @property
    def episode_id(self) -> int:
        """Episodes of the tracked env so far (0 during the first)."""
        return self._rec.episode_id

    @property
    def step_id(self) -> int:
        """Vector steps so far (0 after the first)."""
        return self._rec.step_id

    @property
    def recording(self) -> bool:
        """True while a snippet is open."""
        return self._rec.recording

    @property
    def sequence_timeline_name(self) -> str | None:
        """The open snippet's frame-sequence timeline, if any."""
        return self._rec.snippet.sink.frame_timeline if self._rec.snippet is not None else None

    @property
    def timestamp_timeline_name(self) -> str | None:
        """The open snippet's sim-time timeline, if any."""
        return self._rec.snippet.sink.time_timeline if self._rec.snippet is not None else None

    def start_recording(self, name: str) -> None:
        """Start a snippet now (finishing the open one); it gets the next frames."""
        self._rec.start(name)

    def stop_recording(self) -> None:
        """Finish the open snippet."""
        self._rec.stop()
