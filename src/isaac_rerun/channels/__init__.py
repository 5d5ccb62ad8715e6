"""Channels: every kind of recorded data, each behind the same small interface.

A recorder frame flows one way through them::

    recorder (counters, triggers)  ──sample()──▶  scene: the logged envs' body poses (+ env-origin shift)
          │                                             │
          └──▶ for each channel:  gather(sample)  ─▶  append(row, data, step)  ─▶ … ─▶  send(stream, times)
                                  read the simulator      buffer one frame            one batch per flush

* :meth:`Channel.gather` reads what the channel needs from the simulator *now* (owned copies: the next
  ``env.step()`` overwrites Isaac Lab's buffers). The recorder may call it early — just before an auto-reset, for
  the terminal frame — and hand the result to :meth:`Channel.append` later.
* :meth:`Channel.append` buffers one frame, with what the framework handed over for it (:class:`StepRows`).
* :meth:`Channel.send` sends the buffered frames with their time columns (one ``send_columns`` per entity) and
  empties the buffer; :meth:`Channel.start` logs the static part when a snippet starts in a stream.

Channels see the scene only through a :class:`ChannelContext` (the logged envs, the bodies, the sensors, the USD
visuals); they never import the scene or the recorder. :func:`build_channels` makes the channels a scene calls for.

Modules: :mod:`~isaac_rerun.channels.bodies` (body poses and visuals, per-env or instanced; global prims),
:mod:`~isaac_rerun.channels.trails`, :mod:`~isaac_rerun.channels.scalars` (reward, action, episode return and
length), :mod:`~isaac_rerun.channels.sensors` (contact forces, ray hits), :mod:`~isaac_rerun.channels.markers`,
:mod:`~isaac_rerun.channels.cameras`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from isaac_rerun.channels import bodies, cameras, markers, scalars, sensors, signals, trails
from isaac_rerun.channels.base import (
    INSTANCES,
    Body,
    Channel,
    ChannelContext,
    Sample,
    StepRows,
    TimeColumns,
    Views,
    instanced_path,
)
from isaac_rerun.channels.signals import SignalChannel

if TYPE_CHECKING:
    from isaac_rerun.config import RecordingCfg

__all__ = [
    "INSTANCES",
    "Body",
    "Channel",
    "ChannelContext",
    "Sample",
    "SignalChannel",
    "StepRows",
    "TimeColumns",
    "Views",
    "build_channels",
    "instanced_path",
]


def build_channels(
    ctx: ChannelContext, cfg: RecordingCfg | None = None, *, history: bool = False, like: list[Channel] | None = None
) -> list[Channel]:
    """Every channel a recording of ``ctx`` has, in drawing order: the one place the channel list is assembled from
    the configuration (``cfg``: :class:`~isaac_rerun.config.RecordingCfg`, default options when None; its
    :class:`~isaac_rerun.config.SceneLogCfg` is ``ctx.cfg``).

    ``history``: only the channels a frame of the rolling history can feed (poses, trails, scalars, signals);
    ``like``: the recorder's channels, whose signals (already read and checked) are reused for ``ctx``'s envs.
    """
    from isaac_rerun.signals import DEFAULT_SIGNALS

    builtin = cfg.builtin_signals if cfg is not None else DEFAULT_SIGNALS
    log_scalars = cfg.log_scalars if cfg is not None else True
    user = dict(cfg.signals) if cfg is not None else {}
    view = ctx.env
    action_names = None
    if view is not None and "actions" in builtin:
        action_names = view.action_names()
    terminations = view is not None and "terminations" in builtin and bool(view.termination_terms())
    channels: list[Channel] = [
        *bodies.channels(ctx),
        *trails.channels(ctx),
        scalars.ScalarChannel(ctx, log_scalars, action_names=action_names, terminations=terminations),
    ]
    template = next((c for c in like or [] if isinstance(c, SignalChannel)), None)
    if template is not None:
        sig = template.for_context(ctx)
    else:
        sig = SignalChannel(ctx, signals.sources_for(ctx, builtin, user))  # type: ignore[arg-type]
    if sig:
        channels.append(sig)
    if not history:
        channels += [*sensors.channels(ctx), *markers.channels(ctx)]
    channels += cameras.channels(ctx)  # the rolling history keeps their frames too (CameraChannel.read_all)
    return channels
