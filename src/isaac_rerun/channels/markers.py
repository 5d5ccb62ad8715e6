"""What the env draws with ``isaaclab.markers.VisualizationMarkers``, recorded as Rerun archetypes per frame.

Where the data is: Isaac Lab 3.x run kit-less keeps marker data only in a visualizer backend, and without one
(headless training) ``VisualizationMarkers.visualize()`` returns at once and the data is observable nowhere; the
env's and sensors' debug-visualization callbacks do not even run during ``env.step()`` (only a marker-capable
visualizer dispatches them). So, while a recorder with ``SceneLogCfg(markers=True)`` exists:

* ``VisualizationMarkers.visualize`` and ``set_visibility`` are wrapped **at class level** (so markers built before
  the recorder are seen too); each call copies the rows of the logged envs at once (arguments are often views of
  simulator buffers) and keeps them as the marker group's latest state, merging fields given as None as Isaac Lab
  does. The wrapped method then runs as before. The wrapper is removed when the last marker channel closes.
* At each recorded frame, when no active visualizer supports markers, the debug-visualization callbacks registered
  with the simulation (``sim.vis_marker_registry``) are dispatched once, so that ``debug_vis`` markers (command
  arrows, goal poses, sensor debug markers) are up to date; Isaac Lab 2.x with Kit runs them itself.

Which env an instance belongs to: ``environment_ids`` when given (instances split evenly among them, env-major);
else, when the instance count is a multiple of ``num_envs``, env-major blocks (as Isaac Lab's commands and sensors
draw them); else the instances are global and all are recorded.

Prototypes (``cfg.markers``, an ordered dict; an instance's ``marker_indices`` entry picks one): ``SphereCfg`` →
``Ellipsoids3D``, ``CuboidCfg`` → ``Boxes3D``, ``CylinderCfg`` → ``Cylinders3D``, ``CapsuleCfg`` → ``Capsules3D``,
``UsdFileCfg`` of Isaac Lab's ``arrow_x.usd`` → ``Arrows3D`` (unit length along the instance's x axis, times its x
scale), ``frame_prim.usd`` → three axis ``Arrows3D``; any other prototype → ``Points3D`` at the instance positions.
Colours come from the prototype's ``visual_material.diffuse_color``. Orientations are xyzw (Isaac Lab 3.x; 2.x
markers take wxyz and are converted when the scene's data is 2.x).

Entities: ``/World/markers/<marker prim path without /Visuals>/<prototype name>``, holding the instances of every
logged env (in both entity layouts).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _arrays, _quat
from isaac_rerun._util import ClassPatch, WarnOnce
from isaac_rerun.channels.base import Channel, ChannelContext, Sample, StepRows, TimeColumns

__all__ = ["MARKERS_ROOT", "MarkerChannel", "channels"]

MARKERS_ROOT = "/World/markers"
_ARGS = ("translations", "orientations", "scales", "marker_indices", "environment_ids")
_warn = WarnOnce()


@dataclass
class _State:
    """Latest marker data of one ``VisualizationMarkers`` for the logged envs (+ global instances)."""

    name: str
    prototypes: list[tuple[str, Any]]
    count: int = 0  # instances in the last call (all envs)
    translations: np.ndarray | None = None  # (m, 3) of the kept instances
    orientations: np.ndarray | None = None  # (m, 4) xyzw
    scales: np.ndarray | None = None  # (m, 3)
    indices: np.ndarray | None = None  # (m,)
    env_pos: np.ndarray | None = None  # (m,) position in logged_envs of each kept instance; 0 for global ones
    visible: bool = True


def _make_visualize(original: Callable[..., Any]) -> Callable[..., Any]:
    def visualize(self: Any, *args: Any, **kwargs: Any) -> Any:
        for channel in list(_HOOK.listeners):
            channel.on_visualize(self, args, kwargs)
        return original(self, *args, **kwargs)

    return visualize


def _make_set_visibility(original: Callable[..., Any]) -> Callable[..., Any]:
    def set_visibility(self: Any, visible: bool) -> Any:
        for channel in list(_HOOK.listeners):
            channel.on_visibility(self, bool(visible))
        return original(self, visible)

    return set_visibility


_HOOK = ClassPatch({"visualize": _make_visualize, "set_visibility": _make_set_visibility})
"""The class-level wrapper of ``VisualizationMarkers`` shared by every live :class:`MarkerChannel`."""


def channels(ctx: ChannelContext) -> list[Channel]:
    """A :class:`MarkerChannel` when markers are on and Isaac Lab's ``VisualizationMarkers`` can be imported."""
    if not ctx.cfg.markers:
        return []
    try:
        from isaaclab.markers import VisualizationMarkers
    except Exception:
        return []
    return [MarkerChannel(ctx, VisualizationMarkers)]


class MarkerChannel(Channel):
    """Marker instances of the logged envs, per frame (see the module docstring)."""

    reads_simulator = True

    def __init__(self, ctx: ChannelContext, markers_cls: Any):
        self.envs = list(ctx.logged_envs)
        self.num_envs = ctx.num_envs
        self.wxyz = ctx.wxyz_data
        self._position = np.full(ctx.num_envs, -1, dtype=np.int64)
        self._position[self.envs] = np.arange(len(self.envs))
        self.states: dict[int, _State] = {}
        self.frames: list[tuple[int, dict[int, Any]]] = []
        self._styled: set[str] = set()  # entities styled in the current snippet
        self._hooked = True
        _HOOK.add(markers_cls, self)

    # ------------------------------------------------------------------ capture (called from the wrapper)
    def on_visualize(self, marker: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            values = dict(zip(_ARGS, args, strict=False))
            values.update(kwargs)
            self._update(marker, values)
        except Exception as exc:  # never break the env's own call
            where = getattr(marker, "prim_path", marker)
            _warn("capture", f"isaac_rerun: could not record the markers {where!r} ({exc!r})")

    def on_visibility(self, marker: Any, visible: bool) -> None:
        state = self._state(marker)
        if state is not None:
            state.visible = visible

    def _state(self, marker: Any) -> _State | None:
        state = self.states.get(id(marker))
        if state is None:
            cfg = getattr(marker, "cfg", None)
            protos = list((getattr(cfg, "markers", None) or {}).items())
            if not protos:
                return None
            path = str(getattr(cfg, "prim_path", "") or getattr(marker, "prim_path", "") or f"marker_{id(marker)}")
            name = path.removeprefix("/Visuals/").strip("/") or "marker"
            taken = {s.name for s in self.states.values()}
            base, k = name, 1
            while name in taken:  # several groups share a prim path (e.g. one per contact sensor)
                k += 1
                name = f"{base}_{k}"
            state = self.states[id(marker)] = _State(name, protos)
            weakref.finalize(marker, self.states.pop, id(marker), None)
        return state

    def _update(self, marker: Any, values: dict[str, Any]) -> None:
        state = self._state(marker)
        if state is None:
            return
        t, q, s, idx = (values.get(k) for k in ("translations", "orientations", "scales", "marker_indices"))
        count = next((len(a) for a in (t, q, s, idx) if a is not None), state.count)
        env_ids = values.get("environment_ids")
        rows, env_pos = self._rows(count, None if env_ids is None else _arrays.to_numpy(env_ids).reshape(-1))
        keep = _arrays.RowSelector(rows)  # only the kept instances are copied to the host (selected on the device)
        changed = count != state.count
        state.count = count
        if t is not None:
            state.translations = keep(t).reshape(-1, 3)
        elif changed or state.translations is None:
            state.translations = np.zeros((len(rows), 3), np.float32)
        if q is not None:
            q = keep(q).reshape(-1, 4)
            state.orientations = q[:, [1, 2, 3, 0]] if self.wxyz else q
        elif changed or state.orientations is None:
            state.orientations = np.tile(np.array([0, 0, 0, 1], np.float32), (len(rows), 1))
        if s is not None:
            state.scales = keep(s).reshape(-1, 3)
        elif changed or state.scales is None:
            state.scales = np.ones((len(rows), 3), np.float32)
        if idx is not None:
            state.indices = keep(idx, dtype=np.int64).reshape(-1)
        elif changed or state.indices is None:
            state.indices = np.zeros(len(rows), np.int64)
        state.env_pos = env_pos

    def _rows(self, count: int, env_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The instance rows of the logged envs and, for each, its env's position in ``logged_envs``."""
        if env_ids is not None and len(env_ids) and count % len(env_ids) == 0:
            per = count // len(env_ids)
            owner = np.repeat(env_ids.reshape(-1).astype(np.int64), per)
        elif count and count % self.num_envs == 0:
            owner = np.repeat(np.arange(self.num_envs), count // self.num_envs)
        else:  # global instances: all of them, shifted like global prims
            return np.arange(count), np.zeros(count, np.int64)
        valid = (owner >= 0) & (owner < self.num_envs)
        pos = np.where(valid, self._position[np.clip(owner, 0, self.num_envs - 1)], -1)  # -1: not a logged env
        rows = np.nonzero(pos >= 0)[0]
        return rows, pos[rows]

    # ------------------------------------------------------------------ per frame
    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        if static:  # a new stream: its styles are logged again (a stream already styled keeps them)
            self._styled = set()

    def gather(self, sample: Sample) -> Any:
        _dispatch_debug_vis()
        shift = sample.shift
        frame: dict[int, Any] = {}
        for key, st in self.states.items():
            if st.translations is None or st.env_pos is None:
                continue
            if not st.visible:
                frame[key] = None
                continue
            t = st.translations if shift is None else st.translations - shift[st.env_pos]
            frame[key] = (t, st.orientations, st.scales, st.indices)
        return frame

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.frames.append((row, data))

    def clear(self) -> None:
        self.frames = []

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        frames, self.frames = self.frames, []
        keys = sorted({k for _, f in frames for k in f}, key=lambda k: self.states[k].name if k in self.states else "")
        for key in keys:
            state = self.states.get(key)
            if state is None:
                continue
            rows = [i for i, (_, f) in enumerate(frames) if key in f]
            if not rows:
                continue
            for p, (proto_name, proto) in enumerate(state.prototypes):
                entity = f"{MARKERS_ROOT}/{state.name}/{proto_name}"
                per_frame: list[Any] = []
                for i in rows:
                    data = frames[i][1].get(key)
                    if data is None:  # hidden: no instances at this frame
                        per_frame.append(None)
                        continue
                    t, q, s, idx = data
                    keep = idx == p
                    per_frame.append((t[keep], q[keep], s[keep]))
                self._style(stream, entity, proto)
                columns = _prototype_columns(proto, per_frame)
                stream.send_columns(entity, indexes=times([frames[i][0] for i in rows]), columns=columns)

    def _style(self, stream: rr.RecordingStream, entity: str, proto: Any) -> None:
        if entity in self._styled:
            return
        self._styled.add(entity)
        color = _color(proto)
        kind = _kind(proto)
        archetype: Any = {
            "sphere": rr.Ellipsoids3D,
            "cuboid": rr.Boxes3D,
            "cylinder": rr.Cylinders3D,
            "capsule": rr.Capsules3D,
            "arrow": rr.Arrows3D,
            "frame": rr.Arrows3D,
            "points": rr.Points3D,
        }[kind]
        fields: dict[str, Any] = {}
        if kind != "frame":
            fields["colors"] = [color]
        if kind in ("sphere", "cuboid", "cylinder", "capsule"):
            fields["fill_mode"] = "solid"
        if kind == "points":
            fields["radii"] = [0.03]
        stream.log(entity, archetype.from_fields(**fields), static=True)

    def close(self) -> None:
        if self._hooked:
            self._hooked = False
            _HOOK.discard(self)


def _kind(proto: Any) -> str:
    name = type(proto).__name__
    if name == "SphereCfg":
        return "sphere"
    if name in ("CuboidCfg", "MeshCuboidCfg"):
        return "cuboid"
    if name in ("CylinderCfg", "MeshCylinderCfg") and hasattr(rr, "Cylinders3D"):  # rerun-sdk >= 0.24
        return "cylinder"
    if name in ("CapsuleCfg", "MeshCapsuleCfg"):
        return "capsule"
    path = str(getattr(proto, "usd_path", "")).lower()
    if path.endswith("arrow_x.usd"):
        return "arrow"
    if path.endswith("frame_prim.usd"):
        return "frame"
    return "points"


def _color(proto: Any) -> tuple[int, int, int]:
    material = getattr(proto, "visual_material", None)
    rgb = getattr(material, "diffuse_color", None)
    if rgb is None:
        return (255, 190, 60)
    r, g, b = (round(min(max(float(c), 0.0), 1.0) * 255) for c in rgb[:3])
    return (r, g, b)


def _prototype_columns(proto: Any, frames: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]) -> Any:
    """Column batches of one prototype's instances over the frames (``None``: no instance that frame)."""
    kind = _kind(proto)
    base_scale = np.asarray(getattr(proto, "scale", None) or (1.0, 1.0, 1.0), dtype=np.float32)
    empty3, empty4 = np.zeros((0, 3), np.float32), np.zeros((0, 4), np.float32)
    t = [f[0] if f is not None else empty3 for f in frames]
    q = [f[1] if f is not None else empty4 for f in frames]
    s = [(f[2] * base_scale) if f is not None else empty3 for f in frames]
    lengths = [len(x) for x in t]
    T, Q, S = np.concatenate(t), np.concatenate(q), np.concatenate(s)
    if kind == "sphere":
        half = S * float(proto.radius)
        return rr.Ellipsoids3D.columns(centers=T, half_sizes=half, quaternions=Q).partition(lengths)
    if kind == "cuboid":
        half = S * np.asarray(proto.size, dtype=np.float32) / 2
        return rr.Boxes3D.columns(centers=T, half_sizes=half, quaternions=Q).partition(lengths)
    if kind == "cylinder":
        radii, heights = S[:, 0] * float(proto.radius), S[:, 2] * float(proto.height)
        return rr.Cylinders3D.columns(centers=T, quaternions=Q, lengths=heights, radii=radii).partition(lengths)
    if kind == "capsule":
        radii, heights = S[:, 0] * float(proto.radius), S[:, 2] * float(proto.height)
        return rr.Capsules3D.columns(translations=T, quaternions=Q, lengths=heights, radii=radii).partition(lengths)
    if kind == "arrow":
        vectors = _quat.rotate(Q, S * np.array([1.0, 0.0, 0.0], np.float32))
        return rr.Arrows3D.columns(origins=T, vectors=vectors).partition(lengths)
    if kind == "frame":
        axes = [_quat.rotate(Q, S * np.eye(3, dtype=np.float32)[a]) for a in range(3)]
        origins = np.repeat(T, 3, axis=0)
        vectors = np.stack(axes, axis=1).reshape(-1, 3)
        colors = np.tile(np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8), (len(T), 1))
        return rr.Arrows3D.columns(origins=origins, vectors=vectors, colors=colors).partition([3 * n for n in lengths])
    return rr.Points3D.columns(positions=T).partition(lengths)


def _dispatch_debug_vis() -> None:
    """Run the simulation's debug-visualization callbacks when no active visualizer does (see the docstring)."""
    try:
        import isaaclab.sim as sim_utils

        sim = sim_utils.SimulationContext.instance()
        registry = getattr(sim, "vis_marker_registry", None) if sim is not None else None
        if registry is None:
            return
        if any(getattr(v, "supports_markers", lambda: False)() for v in getattr(sim, "visualizers", None) or []):
            return
        registry.dispatch_callbacks()
    except Exception as exc:  # a debug-vis callback of the env failed: its markers are not updated
        _warn("debug_vis", f"isaac_rerun: the debug-visualization callbacks failed ({exc!r}); markers may be stale")
