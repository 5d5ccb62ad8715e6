"""The seed's lower-level logger: the logged envs' visuals once, then their poses at the stream's current time.

:class:`IsaacLabRerunLogger` is what the wrapper this project grew from offered besides the wrapper itself. It is a
channel user like the recorder: the bodies' and the global prims' visuals come from the body channels
(:mod:`isaac_rerun.channels.bodies`), and each :meth:`~IsaacLabRerunLogger.log_scene` call logs one ``Transform3D``
per body at whatever time the stream is set to (``stream.set_time(...)``) — no snippets, triggers or timelines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import rerun as rr

from isaac_rerun import _compat
from isaac_rerun.channels.bodies import GlobalPrims, PerEnvBodies
from isaac_rerun.config import SceneLogCfg
from isaac_rerun.scene import IsaacLabScene

__all__ = ["IsaacLabRerunLogger"]


class IsaacLabRerunLogger:
    """Log an Isaac Lab scene to Rerun (the seed's lower-level API).

    Parameters
    ----------
    scene:
        The ``InteractiveScene`` (``env.unwrapped.scene``).
    logged_envs:
        Env index or list of env indices to log. Defaults to env 0.
    recording_stream:
        Stream to log into. Ignored if ``save_path`` is given. Defaults to Rerun's global recording.
    save_path:
        If given, a new stream that saves to this ``.rrd`` file.
    application_id:
        Application id of a stream created for ``save_path``.
    scene_log_cfg:
        What is drawn besides the bodies (:class:`SceneLogCfg`); only ``env_layout`` and ``global_prims`` apply here
        (trails need the recorder's frames).

    Examples
    --------
    >>> logger = IsaacLabRerunLogger(env.unwrapped.scene, logged_envs=[0, 1], save_path="scene.rrd")  # doctest: +SKIP
    >>> logger.recording_stream.set_time("step", sequence=0)  # doctest: +SKIP
    >>> logger.log_scene()  # doctest: +SKIP
    """

    def __init__(
        self,
        scene: Any,
        logged_envs: int | Sequence[int] = 0,
        recording_stream: rr.RecordingStream | None = None,
        save_path: str | os.PathLike[str] | None = None,
        application_id: str | None = None,
        scene_log_cfg: SceneLogCfg | Mapping[str, Any] | None = None,
    ):
        self.scene = scene
        cfg = SceneLogCfg.coerce(scene_log_cfg)  # poses and visuals only: no per-frame channels here
        cfg = replace(cfg, layout="per_env", trails=False, markers=False, contact_forces=False, ray_hits=False)
        self.layout = IsaacLabScene(scene, logged_envs, cfg=replace(cfg, cameras=False))
        self.logged_envs = self.layout.logged_envs
        if save_path is not None:
            path = Path(save_path).expanduser().resolve()
            if not path.parent.exists() or not os.access(path.parent, os.W_OK):
                raise PermissionError(f"`save_path` {path}: folder {path.parent} does not exist or is not writable")
            self.recording_stream = rr.RecordingStream(application_id or "isaac_rerun")
            self.recording_stream.save(str(path))
        else:
            stream = recording_stream or rr.get_data_recording()
            if stream is None:
                raise ValueError("pass `recording_stream=` or `save_path=`, or call `rr.init(...)` first")
            self.recording_stream = stream
        self._static_logged = False

    def log_scene(self) -> None:
        """Log the visuals (first call only) and the current pose of every logged body at the stream's current time."""
        rec = self.recording_stream
        if not self._static_logged:
            ctx = self.layout.context()
            channels = [PerEnvBodies(ctx, range(len(ctx.bodies)))]
            if self.layout.cfg.global_prims:
                channels.append(GlobalPrims(ctx))  # type: ignore[arg-type]
            for channel in channels:
                channel.start(rec, static=True)
            self._static_logged = True
        poses = self.layout.to_entity_frame(self.layout.gather())
        for entity, p in zip(self.layout.entity_paths, poses, strict=True):
            rec.log(entity, rr.Transform3D(translation=p[0:3], quaternion=_compat.quaternion(p[3:7])))
