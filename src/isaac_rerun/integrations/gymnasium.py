"""``LogRerun``: the Gymnasium wrapper (maps ``reset()`` / ``step()`` of an Isaac Lab env onto the recorder)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, SupportsFloat

import gymnasium as gym
import rerun as rr
from gymnasium.core import ActType, ObsType

from isaac_rerun.outputs import resolve_output
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene, SceneLogCfg

__all__ = ["LogRerun", "find_isaac_env", "step_dt_of"]


def find_isaac_env(env: Any, argument: str = "env") -> Any:
    """The Isaac Lab env (``…unwrapped``, with a ``scene``) behind any chain of wrappers, or a ``ValueError``."""
    base = getattr(env, "unwrapped", env)
    if not hasattr(base, "scene"):
        raise ValueError(
            f"`{argument}` does not lead to an Isaac Lab environment: {type(base).__name__} has no `scene` attribute "
            "(expected an isaaclab DirectRLEnv / ManagerBasedRLEnv, possibly wrapped)"
        )
    return base


def step_dt_of(env: Any) -> float:
    """Simulated seconds per env step (physics dt × decimation)."""
    dt = getattr(env, "step_dt", None)
    if dt is None:
        physics_dt = getattr(env, "physics_dt", None)
        decimation = getattr(getattr(env, "cfg", None), "decimation", 1)
        if physics_dt is None:
            raise ValueError(f"cannot tell the env step duration of {type(env).__name__}: no `step_dt` / `physics_dt`")
        dt = physics_dt * decimation
    return float(dt)


class LogRerun(
    gym.Wrapper[ObsType, ActType, ObsType, ActType],
    Generic[ObsType, ActType],
    gym.utils.RecordConstructorArgs,
):
    """Record episodes of an Isaac Lab env to Rerun, like :class:`gymnasium.wrappers.RecordVideo` records videos.

    Wrap the Isaac Lab env (``gym.make(task, cfg=env_cfg)``) before any RL-library wrapper. Every vector step is one
    frame of the logged envs; snippets start on ``episode_trigger`` / ``step_trigger`` (exact semantics in
    :mod:`isaac_rerun.triggers`): ``step_id`` counts vector steps, ``episode_id`` counts the episodes of the tracked env
    (the first logged env), taken from its ``terminated | truncated`` flags since Isaac Lab resets finished envs
    inside ``step()``. The frame at which an episode ends shows the terminal poses, before the reset.

    Output, in this order of precedence (as the seed): ``save_path`` (one ``.rrd``, snippets as timelines),
    ``recording_stream``, or Rerun's global recording (``rr.init``). New keyword-only options: ``save_dir`` (a folder
    with one ``{name_prefix}-episode-{id}.rrd`` per snippet) and ``viewer`` (``"spawn"`` or a gRPC URL).

    Parameters
    ----------
    env:
        The environment to wrap. Must be Isaac Lab based and expose ``env.unwrapped.scene``.
    logged_envs:
        Env index, or list of env indices, to log. Defaults to ``0``.
    recording_stream:
        The Rerun recording stream to use. Ignored if ``save_path`` is given.
    save_path:
        A ``.rrd`` file for a new stream that holds every snippet as its own pair of timelines.
    episode_trigger:
        ``episode_trigger(episode_id) -> bool``: start a snippet on this episode. If both triggers are None, defaults
        to :func:`~isaac_rerun.triggers.capped_cubic_video_schedule`.
    step_trigger:
        ``step_trigger(step_id) -> bool``: start a snippet on this vector step.
    recording_length:
        0 records until the tracked env's episode ends; N > 0 records N frames.
    save_dir:
        Folder for one ``.rrd`` per snippet (keyword-only; exclusive with ``save_path`` / ``viewer``).
    viewer:
        ``"spawn"`` or ``"rerun+http://host:9876/proxy"`` to stream to a live viewer.
    name_prefix:
        Snippet names: ``{name_prefix}-episode-{id}`` / ``{name_prefix}-step-{id}``.
    keep_last:
        With ``save_dir``: keep only the newest N snippet files.
    log_scalars:
        Log reward and action of each logged env beside the scene (default True).
    flush_every, max_latency_s:
        Batching of the frames sent to Rerun (see :class:`~isaac_rerun.recorder.Recorder`).
    scene_log_cfg:
        What is drawn besides the bodies: env layout, global prims, trails, markers, contact forces, ray hits,
        camera images (:class:`~isaac_rerun.scene.SceneLogCfg`, or a dict of its fields; None: the defaults).

    Raises
    ------
    ValueError
        If ``env.unwrapped`` has no ``scene`` (not an Isaac Lab env), or for invalid arguments (named in the message).

    Examples
    --------
    Record every 10th episode of env 0 into a folder of ``.rrd`` files:

    >>> env = LogRerun(gym.make(task, cfg=env_cfg), save_dir="runs/rerun",
    ...                episode_trigger=lambda ep: ep % 10 == 0)  # doctest: +SKIP

    Start a recording every 200th step and record 100 frames each time, into the global recording:

    >>> rr.init("isaac_example", spawn=True)  # doctest: +SKIP
    >>> env = LogRerun(env, step_trigger=lambda t: t % 200 == 0, recording_length=100)  # doctest: +SKIP
    """

    def __init__(
        self,
        env: gym.Env[ObsType, ActType],
        logged_envs: int | Sequence[int] = 0,
        recording_stream: rr.RecordingStream | None = None,
        save_path: str | os.PathLike[str] | None = None,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        recording_length: int = 0,
        *,
        save_dir: str | os.PathLike[str] | None = None,
        viewer: str | None = None,
        name_prefix: str = "rl-rerun",
        keep_last: int | None = None,
        log_scalars: bool = True,
        flush_every: int = 128,
        max_latency_s: float | None = None,
        verbose: int = 0,
        scene_log_cfg: SceneLogCfg | Mapping[str, Any] | None = None,
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self, episode_trigger=episode_trigger, step_trigger=step_trigger, recording_length=recording_length
        )
        gym.Wrapper.__init__(self, env)
        base = find_isaac_env(env)
        spec = getattr(env, "spec", None)
        application_id = spec.id if spec is not None else "isaac_rerun"
        if save_path is not None:
            recording_stream = None  # the seed's precedence: save_path wins over recording_stream
        self.scene = base.scene
        layout = IsaacLabScene(base.scene, logged_envs, cfg=SceneLogCfg.coerce(scene_log_cfg))
        self.recorder = Recorder(
            layout,
            lambda: resolve_output(
                save_dir=save_dir,
                save_path=save_path,
                recording_stream=recording_stream,
                viewer=viewer,
                application_id=application_id,
                keep_last=keep_last,
            ),
            episode_trigger=episode_trigger,
            step_trigger=step_trigger,
            recording_length=recording_length,
            step_dt=step_dt_of(base),
            name_prefix=name_prefix,
            flush_every=flush_every,
            max_latency_s=max_latency_s,
            reset_hook_target=base,
            verbose=verbose,
        )
        self.log_scalars = bool(log_scalars)

    # -------------------------------------------------------------- gym.Wrapper
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """Reset the env; episode ``episode_id + 1`` of the tracked env starts (and maybe a snippet)."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.recorder.begin()
        return obs, info

    def step(self, action: ActType) -> tuple[ObsType, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and record the frame if a snippet is open."""
        obs, rew, terminated, truncated, info = self.env.step(action)
        if self.recorder.episode_id < 0:
            self.recorder.begin()  # stepped without reset(): count from here
        if self.log_scalars:
            self.recorder.after_step(terminated, rew, action, truncated=truncated)
        else:
            self.recorder.after_step(terminated, truncated=truncated)
        return obs, rew, terminated, truncated, info

    def close(self) -> None:
        """Finish the open snippet (its file is complete when this returns), then close the env."""
        try:
            self.recorder.close()
        finally:
            super().close()

    # -------------------------------------------------------------- seed API
    @property
    def episode_id(self) -> int:
        """Episodes of the tracked env so far (0 during the first)."""
        return self.recorder.episode_id

    @property
    def step_id(self) -> int:
        """Vector steps so far (0 after the first)."""
        return self.recorder.step_id

    @property
    def recording(self) -> bool:
        """True while a snippet is open."""
        return self.recorder.recording

    @property
    def sequence_timeline_name(self) -> str | None:
        """The open snippet's frame-sequence timeline, if any."""
        s = self.recorder.snippet
        return s.sink.frame_timeline if s is not None else None

    @property
    def timestamp_timeline_name(self) -> str | None:
        """The open snippet's sim-time timeline, if any."""
        s = self.recorder.snippet
        return s.sink.time_timeline if s is not None else None

    def start_recording(self, name: str) -> None:
        """Start a snippet now (finishing the open one); it gets the next frames."""
        self.recorder.start(name)

    def stop_recording(self) -> None:
        """Finish the open snippet."""
        self.recorder.stop()
