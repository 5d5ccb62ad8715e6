"""Record Isaac Lab robot-learning scenes to Rerun while a policy trains.

The core is framework-neutral:

- :mod:`isaac_rerun.triggers` — when snippets start and how long they last (Gymnasium ``RecordVideo`` semantics);
- :mod:`isaac_rerun.recorder` — counters for vectorized auto-resetting envs, timelines, batched logging;
- :mod:`isaac_rerun.outputs` — a folder of ``.rrd`` snippets, a given stream, or a live viewer;
- :mod:`isaac_rerun.scene` — the Isaac Lab scene logger (visuals from USD once, body poses batched).

Integrations live in :mod:`isaac_rerun.integrations`: ``LogRerun`` (Gymnasium), ``sb3``, ``skrl``, ``rsl_rl``.
"""

from isaac_rerun.integrations.gymnasium import LogRerun
from isaac_rerun.outputs import FolderOutput, Output, StreamOutput, ViewerOutput
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabRerunLogger, IsaacLabScene, SceneLogCfg
from isaac_rerun.triggers import capped_cubic_video_schedule, every_n

__version__ = "0.1.0"

__all__ = [
    "FolderOutput",
    "IsaacLabRerunLogger",
    "IsaacLabScene",
    "LogRerun",
    "Output",
    "Recorder",
    "SceneLogCfg",
    "StreamOutput",
    "ViewerOutput",
    "__version__",
    "capped_cubic_video_schedule",
    "every_n",
]
