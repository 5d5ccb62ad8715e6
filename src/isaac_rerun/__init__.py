"""Record Isaac Lab robot-learning scenes to Rerun while a policy trains.

The core is framework-neutral:

- :mod:`isaac_rerun.config` — every recording option (:class:`RecordingCfg`, :class:`SceneLogCfg`), in one place;
- :mod:`isaac_rerun.triggers` — when snippets start and how long they last (Gymnasium ``RecordVideo`` semantics);
- :mod:`isaac_rerun.session` — a recording across the runs (``learn()`` calls) of one integration object;
- :mod:`isaac_rerun.recorder` — counters, triggers, snippets, timelines, the flush policy;
- :mod:`isaac_rerun.channels` — every kind of recorded data (body poses, trails, scalars, sensors, markers, cameras);
- :mod:`isaac_rerun.scene` — the Isaac Lab scene: the logged envs' bodies, poses and USD visuals;
- :mod:`isaac_rerun.outputs` — a folder of ``.rrd`` snippets, a given stream, or a live viewer.
- :func:`isaac_rerun.compare` — snippets side by side in one recording, on one timeline (loaded when first used).

Integrations live in :mod:`isaac_rerun.integrations`: ``LogRerun`` (Gymnasium), ``sb3``, ``skrl``, ``rsl_rl``.
``import isaac_rerun`` needs neither Gymnasium nor an RL framework; ``isaac_rerun.LogRerun`` loads the Gymnasium
wrapper when first used.
"""

from typing import TYPE_CHECKING, Any

from isaac_rerun.config import RecordingCfg, SceneLogCfg
from isaac_rerun.legacy import IsaacLabRerunLogger
from isaac_rerun.outputs import FolderOutput, Output, StreamOutput, ViewerOutput
from isaac_rerun.recorder import Recorder
from isaac_rerun.scene import IsaacLabScene
from isaac_rerun.session import RecordingSession
from isaac_rerun.signals import Signal
from isaac_rerun.triggers import capped_cubic_video_schedule, every_n

if TYPE_CHECKING:
    from isaac_rerun.compare import compare
    from isaac_rerun.integrations.gymnasium import LogRerun

__version__ = "0.2.0"

__all__ = [
    "FolderOutput",
    "IsaacLabRerunLogger",
    "IsaacLabScene",
    "LogRerun",
    "Output",
    "Recorder",
    "RecordingCfg",
    "RecordingSession",
    "SceneLogCfg",
    "Signal",
    "StreamOutput",
    "ViewerOutput",
    "__version__",
    "capped_cubic_video_schedule",
    "compare",
    "every_n",
]


def __getattr__(name: str) -> Any:
    if name == "LogRerun":  # the Gymnasium wrapper: imports gymnasium, so only when asked for
        import importlib

        return importlib.import_module("isaac_rerun.integrations.gymnasium").LogRerun
    if name == "compare":  # snippets side by side: reads files with rerun.chunk, so only when asked for
        import importlib

        fn = importlib.import_module("isaac_rerun.compare").compare
        globals()["compare"] = fn  # the function, not the module of the same name that the import bound here
        return fn
    raise AttributeError(f"module 'isaac_rerun' has no attribute {name!r}")
