"""Writing what the rolling history kept (an episode of one env, a NaN dump) as a snippet through the recorder's writer.

The history hands over :class:`~isaac_rerun.history.KeptFrames`: the env's poses per asset, each frame's rows of every
channel's :meth:`~isaac_rerun.channels.Channel.read_all` data, and what the framework handed over per frame. The
snippet gets the channels a frame of the history can feed, built for that env alone (per-env layout), its own
layout, its visuals (always: the env may be new to a shared stream) and its properties.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from isaac_rerun.blueprint import BlueprintCache
from isaac_rerun.channels import Channel, Sample, build_channels
from isaac_rerun.config import RecordingCfg
from isaac_rerun.snippets import SnippetWriter

if TYPE_CHECKING:
    from isaac_rerun.history import KeptFrames
    from isaac_rerun.scene import IsaacLabScene

__all__ = ["write_kept"]


def write_kept(
    kept: KeptFrames,
    scene: IsaacLabScene,
    cfg: RecordingCfg,
    channels: list[Channel],
    writer: SnippetWriter,
    name: str,
    facts: dict[str, Any],
) -> Path | str | None:
    """Write ``kept`` as snippet ``name`` with properties ``facts``; its path (its name in a stream), None if it
    could not be opened. ``channels``: the recorder's (their signals are reused, already read and checked)."""
    scene = scene.for_envs([kept.env], layout="per_env")
    poses = scene.rows_from_assets(kept.parts).astype(np.float32)  # (F, rows, 7)
    shift = None
    if scene.cfg.env_layout == "origin":
        shift = scene.env_origins()
        poses[..., 0:3] -= shift[scene.row_envs][None]
    # a channel that reads the simulator beyond the poses is written only if the history kept its data
    built = build_channels(scene.context(), cfg, history=True, like=channels)
    mine = [c for c in built if c.key in kept.rows or not c.reads_simulator]
    snippet = writer.open(
        name,
        mine,
        facts,
        layout=BlueprintCache(mine),
        eye=lambda: scene.view_eye(poses[-1]),
        static=True,
    )
    if snippet is None:
        return None
    for i, step in enumerate(kept.steps):
        sample = Sample(poses[i], shift)
        gathered = []
        for channel in mine:
            if channel.key in kept.rows:  # kept by the history
                gathered.append(channel.from_rows(kept.rows[channel.key][i]))
            else:
                gathered.append(channel.gather(sample))
        writer.capture(snippet, gathered, step, env_step=kept.env_steps[i], global_step=kept.global_steps[i])
    path = writer.finish(snippet)
    return path if path is not None else name
