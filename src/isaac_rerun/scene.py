"""The Isaac Lab scene logger: visuals from the USD stage once, body poses batched every step.

:class:`IsaacLabScene` reads ``scene.articulations``, ``scene.rigid_objects`` and ``scene.rigid_object_collections``
of an Isaac Lab ``InteractiveScene`` (3.x: ``ProxyArray`` data, quaternions xyzw; 2.x: ``torch.Tensor`` data,
quaternions wxyz — detected per asset from the data type). Each body of each logged env becomes one Rerun entity at
its USD prim path (``/World/envs/env_3/Robot/pole``); its visual gprims are logged once, static, below it.

:meth:`IsaacLabScene.gather` returns the poses of the logged envs only: the env rows are selected on the device
(``index_select``) before the single host copy, so the cost does not grow with ``num_envs``, and the returned array is
owned (never a view of simulator memory, which the next ``env.step()`` overwrites).

:class:`IsaacLabRerunLogger` is the seed's lower-level API (``log_scene()`` logs the current poses at the stream's
current time); the recorder uses the batched path.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun import _arrays, _compat, usd_visuals

__all__ = ["IsaacLabRerunLogger", "IsaacLabScene", "SceneLogCfg", "validate_logged_envs"]

# the env namespace in asset prim paths: "/World/envs/env_.*" (Isaac Lab 2.x) or "/World/envs/env_[^/]+" (3.x)
_ENV_PATTERN = re.compile(r"^(?P<head>.*/env_)(?:\.\*|\[\^/\]\+|\.\+|\\d\+)(?P<tail>(?:/.*)?)$")
_XYZW_FROM_WXYZ_LIST = [0, 1, 2, 4, 5, 6, 3]


def validate_logged_envs(logged_envs: object, num_envs: int) -> list[int]:
    """Return ``logged_envs`` as a list of env indices, or raise naming the argument and the valid values."""
    valid = f"an int or a non-empty list of distinct ints in [0, {num_envs - 1}] (num_envs={num_envs})"
    if isinstance(logged_envs, bool):
        raise TypeError(f"`logged_envs` must be {valid}, got bool {logged_envs!r}")
    if isinstance(logged_envs, (int, np.integer)):
        ids = [int(logged_envs)]
    elif isinstance(logged_envs, (list, tuple, range, np.ndarray)):
        ids = []
        for e in logged_envs:
            if isinstance(e, bool) or not isinstance(e, (int, np.integer)):
                raise TypeError(f"`logged_envs` must be {valid}, got an element {e!r} of type {type(e).__name__}")
            ids.append(int(e))
        if not ids:
            raise ValueError(f"`logged_envs` must be {valid}, got an empty sequence")
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"`logged_envs` must be {valid}, got duplicates {dup}")
    else:
        raise TypeError(f"`logged_envs` must be {valid}, got {type(logged_envs).__name__}: {logged_envs!r}")
    bad = [i for i in ids if not 0 <= i < num_envs]
    if bad:
        raise ValueError(f"`logged_envs` must be {valid}, got out-of-range {bad}")
    return ids


ENV_LAYOUTS = ("world", "origin")
TRAILS_ROOT = "/World/trails"
TRAIL_RADIUS = 0.01  # metres
# one colour per logged env (by its position in logged_envs): Rerun's own categorical palette order
_TRAIL_COLORS = [(255, 127, 14), (31, 119, 180), (44, 160, 44), (214, 39, 40), (148, 103, 189), (23, 190, 207)]


@dataclass(frozen=True)
class SceneLogCfg:
    """What the scene logger draws besides each body's visuals and pose.

    Every integration takes one as ``scene_log_cfg=`` (a :class:`SceneLogCfg` or a dict of its fields).

    Parameters
    ----------
    env_layout:
        ``"world"`` (default): the logged envs appear where they are in the world (at their env origins), so they
        line up with the terrain and global prims. ``"origin"``: each logged env is drawn at the world origin (its
        own ``scene.env_origins`` row subtracted, read every frame, so terrain-curriculum moves are followed) for
        side-by-side comparison; global prims and global assets are shifted by the tracked env's origin (the first
        of ``logged_envs``), so they line up with the tracked env only.
    global_prims:
        Log the visible prims outside ``/World/envs`` (ground plane, generated terrain, static props) once per
        recording, as static data.
    trails:
        Draw the path each body takes as a line that grows with time (a segment per frame, shown from the snippet's
        start up to the time cursor; broken where the env resets). ``True``: the root body of each logged
        articulation. A sequence of body names (regular expressions, matched in full like Isaac Lab's
        ``find_bodies``): those bodies of every asset, roots included only if named. ``False``: none.
    markers:
        Record what the env draws with ``isaaclab.markers.VisualizationMarkers`` for the logged envs (goal poses,
        command arrows, …) as the matching Rerun archetypes, per frame (see :mod:`isaac_rerun.markers`). Markers
        exist when the env or its sensors have debug visualization on.
    contact_forces:
        Draw the net force of each contact sensor's bodies as an arrow at the body (see :mod:`isaac_rerun.sensors`).
    contact_force_scale:
        Arrow length per newton of contact force [m/N].
    ray_hits:
        Draw each ray caster's hit points.
    cameras:
        Log camera sensors' images (``True``: every camera; or a list of sensor names). Off by default: reading a
        camera's data renders it (see :mod:`isaac_rerun.cameras`).
    """

    env_layout: str = "world"
    global_prims: bool = True
    trails: bool | tuple[str, ...] = False
    markers: bool = True
    contact_forces: bool = True
    contact_force_scale: float = 0.01
    ray_hits: bool = True
    cameras: bool | tuple[str, ...] = False

    def __post_init__(self) -> None:
        if self.env_layout not in ENV_LAYOUTS:
            raise ValueError(f"`env_layout` must be one of {ENV_LAYOUTS}, got {self.env_layout!r}")
        for flag in ("global_prims", "markers", "contact_forces", "ray_hits"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"`{flag}` must be a bool, got {getattr(self, flag)!r}")
        scale = self.contact_force_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"`contact_force_scale` must be a positive number of metres per newton, got {scale!r}")
        cameras = self.cameras
        if not isinstance(cameras, bool):
            if isinstance(cameras, str) or not isinstance(cameras, (list, tuple)) or not cameras:
                raise TypeError(f"`cameras` must be a bool or a non-empty list of camera sensor names, got {cameras!r}")
            if not all(isinstance(c, str) and c for c in cameras):
                raise TypeError(f"`cameras` must hold camera sensor names (non-empty strings), got {cameras!r}")
            object.__setattr__(self, "cameras", tuple(cameras))
        trails = self.trails
        if not isinstance(trails, bool):
            if isinstance(trails, str) or not isinstance(trails, (list, tuple)) or not trails:
                raise TypeError(
                    f"`trails` must be a bool or a non-empty list of body names (regular expressions), got {trails!r}"
                )
            for name in trails:
                if not isinstance(name, str) or not name:
                    raise TypeError(f"`trails` must hold non-empty strings (body name patterns), got {name!r}")
                try:
                    re.compile(name)
                except re.error as exc:
                    raise ValueError(f"`trails`: {name!r} is not a valid regular expression ({exc})") from None
            object.__setattr__(self, "trails", tuple(trails))

    @classmethod
    def coerce(cls, value: SceneLogCfg | Mapping[str, Any] | None, name: str = "scene_log_cfg") -> SceneLogCfg:
        """``value`` as a :class:`SceneLogCfg`: None → the defaults, a dict → its fields (unknown keys are an error)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"`{name}` has unknown keys {unknown}; valid keys are {sorted(known)}")
            return cls(**value)
        raise TypeError(f"`{name}` must be a SceneLogCfg, a dict of its fields or None, got {type(value).__name__}")


@dataclass
class _Asset:
    name: str
    asset: Any
    pose_attr: str  # attribute of asset.data holding (N, B, 7) link poses
    body_ids: list[int]  # which of the asset's bodies are logged (all, in order)
    per_env: bool  # True: replicated per env (prim path contains env_.*); False: a global asset
    wxyz: bool  # Isaac Lab 2.x quaternion order


@dataclass
class _Body:
    entity: str  # entity path (= USD prim path of this body in this env)
    source_prim: str  # prim to read the visuals from (the env's own prim, or env_0's under replicated physics)
    parent: int  # row index of the nearest logged ancestor body in the same env, -1 if none
    name: str = ""  # the asset's name for this body (Isaac Lab's body_names / object name)
    env: int = -1  # the env it belongs to; -1 for a global asset
    root: bool = False  # the root body of an articulation
    kind: str = ""  # "articulations", "rigid_objects" or "rigid_object_collections"


class IsaacLabScene:
    """Entity layout, static visuals and batched pose gathering for the logged envs of an Isaac Lab scene.

    Parameters
    ----------
    scene:
        An ``isaaclab.scene.InteractiveScene`` (2.x or 3.x).
    logged_envs:
        Env index or list of env indices to log.
    quaternion_order:
        ``"auto"`` (xyzw for Isaac Lab 3.x ``ProxyArray`` data, wxyz for 2.x ``torch.Tensor`` data), ``"xyzw"`` or
        ``"wxyz"``.
    cfg:
        What is drawn besides the bodies (:class:`SceneLogCfg`, a dict of its fields, or None for the defaults).
    """

    def __init__(
        self,
        scene: Any,
        logged_envs: int | Sequence[int] = 0,
        *,
        quaternion_order: str = "auto",
        cfg: SceneLogCfg | Mapping[str, Any] | None = None,
    ):
        self.cfg = SceneLogCfg.coerce(cfg, "cfg")
        if quaternion_order not in ("auto", "xyzw", "wxyz"):
            raise ValueError(f"`quaternion_order` must be 'auto', 'xyzw' or 'wxyz', got {quaternion_order!r}")
        for attr in ("articulations", "rigid_objects", "num_envs"):
            if not hasattr(scene, attr):
                raise ValueError(
                    f"`scene` must be an Isaac Lab InteractiveScene (with .articulations, .rigid_objects, "
                    f".rigid_object_collections, .num_envs), got {type(scene).__name__} without `.{attr}`"
                )
        self.scene = scene
        self.num_envs = int(scene.num_envs)
        self.logged_envs = validate_logged_envs(logged_envs, self.num_envs)
        self.stage = getattr(scene, "stage", None)
        self._assets: list[_Asset] = []
        self.bodies: list[_Body] = []
        self._env_index: dict[str, Any] = {}
        groups = [
            ("articulations", getattr(scene, "articulations", {}) or {}),
            ("rigid_objects", getattr(scene, "rigid_objects", {}) or {}),
            ("rigid_object_collections", getattr(scene, "rigid_object_collections", {}) or {}),
        ]
        for kind, assets in groups:
            for name, asset in assets.items():
                self._add_asset(kind, name, asset, quaternion_order)
        if not self.bodies:
            raise ValueError("`scene` has no articulations, rigid objects or rigid object collections to log")
        paths = [b.entity for b in self.bodies]
        if len(set(paths)) != len(paths):
            dup = sorted({p for p in paths if paths.count(p) > 1})
            raise RuntimeError(
                f"isaac_rerun: two bodies map to the same entity path {dup[:3]}; please report this scene"
            )
        self._resolve_parents()
        self.num_rows = len(self.bodies)
        self.entity_paths = [b.entity for b in self.bodies]
        self._has_parents = any(b.parent >= 0 for b in self.bodies)
        self._parent_rows = np.array([b.parent for b in self.bodies])
        self._visual_cache: dict[str, list[usd_visuals.PrimVisual]] = {}
        ids = self.logged_envs
        contiguous = ids == list(range(ids[0], ids[0] + len(ids)))
        self.env_rows = _arrays.RowSelector(ids)
        """The logged envs' rows of any per-env array (numpy, torch on any device, ``ProxyArray``), owned."""
        self._env_sel: slice | np.ndarray = slice(ids[0], ids[0] + len(ids)) if contiguous else np.asarray(ids)
        self._views: list[tuple[Any, np.ndarray] | None] = [None] * len(self._assets)
        # env layout "origin": the logged env (position in logged_envs) whose origin each row subtracts
        self._row_env = np.array(
            [self.logged_envs.index(b.env) if b.env >= 0 else 0 for b in self.bodies], dtype=np.int64
        )
        self.trail_rows, self.trail_entities = self._select_trails()
        self.trail_envs = self._row_env[self.trail_rows]
        self.wxyz_data = any(a.wxyz for a in self._assets)  # Isaac Lab 2.x data: markers take wxyz too
        # per-frame data beside the poses: sensors, markers (built last: they map onto the bodies above)
        from isaac_rerun import cameras, markers, sensors

        self.channels: list[sensors.Channel] = sensors.sensor_channels(self) + cameras.camera_channels(self)
        if self.cfg.markers:
            channel = markers.marker_channel(self)
            if channel is not None:
                self.channels.append(channel)
        # images are large: buffer fewer frames between sends when cameras are logged
        self.max_buffered_frames: int | None = (
            8 if any(isinstance(c, cameras.CameraChannel) for c in self.channels) else None
        )

    # ------------------------------------------------------------------ layout
    def _add_asset(self, kind: str, name: str, asset: Any, quaternion_order: str) -> None:
        data = asset.data
        pose_attr = next(
            (a for a in ("body_link_pose_w", "object_link_pose_w", "body_pose_w", "object_pose_w") if hasattr(data, a)),
            None,
        )
        if pose_attr is None:
            raise ValueError(
                f"asset {name!r} ({type(asset).__name__}) has no body_link_pose_w / object_link_pose_w data"
            )
        sample = getattr(data, pose_attr)
        proxy = hasattr(sample, "torch") and hasattr(sample, "warp")
        wxyz = {"auto": not proxy, "xyzw": False, "wxyz": True}[quaternion_order]
        names = _body_names(asset)
        shape = tuple((sample.torch if proxy else sample).shape)
        if len(shape) != 3 or shape[-1] != 7:
            raise ValueError(f"asset {name!r}: expected poses of shape (num_envs, num_bodies, 7), got {shape}")
        if len(names) != shape[1]:
            names = [f"body_{i}" for i in range(shape[1])]
        pattern = _asset_prim_patterns(kind, asset, names)
        per_env = all(self._env_path(p, 0) is not None for p in pattern) and shape[0] == self.num_envs
        self._assets.append(_Asset(name, asset, pose_attr, list(range(shape[1])), per_env, wxyz))
        if per_env:
            for e in self.logged_envs:
                for b, body_name in enumerate(names):
                    entity, source = self._body_paths(
                        pattern[b] if len(pattern) > 1 else pattern[0], e, body_name, kind
                    )
                    is_root = kind == "articulations" and b == 0
                    self.bodies.append(_Body(entity, source, -1, body_name, e, is_root, kind))
            return
        # a global asset (not cloned per env): every instance is logged, at the prims its pattern matches
        for i in range(shape[0]):
            for b, body_name in enumerate(names):
                pat = pattern[b] if len(pattern) > 1 else pattern[0]
                matches = self._matches(pat)
                root = matches[i] if i < len(matches) else f"{pat if not matches else matches[0]}_{i}"
                root = re.sub(r"[^A-Za-z0-9_/\-]", "_", root)
                rel = self._find_body_rel(root, body_name) if kind == "articulations" else ""
                path = _join(root, rel)
                self.bodies.append(_Body(path, path, -1, body_name, -1, kind == "articulations" and b == 0, kind))

    def resolve_env_pattern(self, pattern: str, env: int) -> str | None:
        """An Isaac Lab prim-path expression (``/World/envs/env_.*/Robot/.*``, ``{ENV_REGEX_NS}/Cube``) resolved in
        env ``env`` (``/World/envs/env_3/Robot/.*``); None if it is not per env."""
        ns = getattr(self.scene, "env_regex_ns", None)
        if isinstance(ns, str) and ns:
            pattern = pattern.replace("{ENV_REGEX_NS}", ns)
        return self._env_path(pattern, env)

    def _env_path(self, pattern: str, env: int) -> str | None:
        """``pattern`` (an asset's prim-path regex) resolved in env ``env``; None if it is not per env."""
        ns = getattr(self.scene, "env_regex_ns", None)
        if isinstance(ns, str) and ns and pattern.startswith(ns):
            paths = getattr(self.scene, "env_prim_paths", None)
            env_root = paths[env] if paths is not None and len(paths) > env else f"{ns.rsplit('/', 1)[0]}/env_{env}"
            return env_root + pattern[len(ns) :]
        m = _ENV_PATTERN.match(pattern)
        return f"{m['head']}{env}{m['tail']}" if m else None

    def _body_paths(self, pattern: str, env: int, body_name: str, kind: str) -> tuple[str, str]:
        """Entity path of a body in env ``env`` and the prim its visuals are read from."""
        root = self._env_path(pattern, env)
        assert root is not None
        source_root = root if self._has_children(root) else (self._env_path(pattern, 0) or root)
        if kind == "articulations":
            rel = self._find_body_rel(source_root, body_name)
            return _join(root, rel), _join(source_root, rel)
        return root, source_root

    def _has_children(self, path: str) -> bool:
        if self.stage is None:
            return False
        prim = self.stage.GetPrimAtPath(path)
        return bool(prim and prim.IsValid() and prim.GetChildren())

    def _matches(self, pattern: str) -> list[str]:
        if self.stage is None:
            return []
        regex = re.compile(pattern)
        return [str(p.GetPath()) for p in self.stage.Traverse() if regex.fullmatch(str(p.GetPath()))]

    def _find_body_rel(self, root: str, body_name: str) -> str:
        """Path (relative to the asset root) of the rigid-body prim named ``body_name``; the name itself if unknown."""
        if self.stage is None:
            return body_name
        from pxr import Usd, UsdPhysics

        root_prim = self.stage.GetPrimAtPath(root)
        if not root_prim or not root_prim.IsValid():
            return body_name
        fallback = None
        for prim in Usd.PrimRange(root_prim, Usd.TraverseInstanceProxies()):
            if prim.GetName() == body_name:
                rel = str(prim.GetPath())[len(root) :].lstrip("/")
                if prim.HasAPI(UsdPhysics.RigidBodyAPI):
                    return rel
                fallback = fallback or rel
        return fallback if fallback is not None else body_name

    def _resolve_parents(self) -> None:
        index = {b.entity: i for i, b in enumerate(self.bodies)}
        for b in self.bodies:
            path = b.entity
            while "/" in path.strip("/"):
                path = path.rsplit("/", 1)[0]
                if path in index:
                    b.parent = index[path]
                    break

    def _select_trails(self) -> tuple[np.ndarray, list[str]]:
        """Rows that get a trail (``cfg.trails``) and the entity path of each trail."""
        trails = self.cfg.trails
        if trails is False:
            rows: list[int] = []
        elif trails is True:
            rows = [i for i, b in enumerate(self.bodies) if b.root]
        else:
            patterns = [re.compile(p) for p in trails]
            rows = [i for i, b in enumerate(self.bodies) if any(p.fullmatch(b.name) for p in patterns)]
            unmatched = [p.pattern for p in patterns if not any(p.fullmatch(b.name) for b in self.bodies)]
            if unmatched:
                names = sorted({b.name for b in self.bodies})
                warnings.warn(
                    f"isaac_rerun: `trails` patterns {unmatched} match no body of the scene; its bodies are {names}",
                    RuntimeWarning,
                    stacklevel=3,
                )
        entities = []
        for i in rows:
            path = self.bodies[i].entity
            path = path[len("/World") :] if path.startswith("/World/") else path
            entities.append(f"{TRAILS_ROOT}{path}")
        return np.asarray(rows, dtype=np.int64), entities

    # ------------------------------------------------------------------ static visuals
    def log_static(self, stream: rr.RecordingStream) -> int:
        """Log every logged body's visuals (and the global prims outside the envs) as static; returns the count."""
        if self.stage is None:
            return 0
        from pxr import UsdPhysics

        count = 0
        body_sources = {b.source_prim for b in self.bodies}

        def stop_at(prim: Any) -> bool:
            return prim.HasAPI(UsdPhysics.RigidBodyAPI) or str(prim.GetPath()) in body_sources

        for body in self.bodies:
            visuals = self._visual_cache.get(body.source_prim)
            if visuals is None:
                prim = self.stage.GetPrimAtPath(body.source_prim)
                visuals = usd_visuals.collect_visuals(prim, stop_at=stop_at) if prim and prim.IsValid() else []
                self._visual_cache[body.source_prim] = visuals
            usd_visuals.log_visuals(stream, body.entity, visuals)
            count += len(visuals)
        for channel in self.channels:
            channel.log_static(stream)
        for t, entity in enumerate(self.trail_entities):  # the trails' style; their segments come per frame
            color = _TRAIL_COLORS[int(self.trail_envs[t]) % len(_TRAIL_COLORS)]
            stream.log(entity, rr.LineStrips3D.from_fields(radii=[TRAIL_RADIUS], colors=[color]), static=True)
        if not self.cfg.global_prims:
            return count
        global_visuals = self._visual_cache.get("<global>")
        if global_visuals is None:
            # a global asset's bodies are logged as bodies (they move): not again as frozen global prims
            global_visuals = usd_visuals.collect_global_visuals(
                self.stage, envs_root=self._envs_root(), stop_at=lambda prim: str(prim.GetPath()) in body_sources
            )
            self._visual_cache["<global>"] = global_visuals
        if self.cfg.env_layout == "origin":  # shift the world by the tracked env's origin
            shift = self.env_origins()[0].astype(np.float32)
            global_visuals = [
                replace(v, translation=v.translation - shift) if not v.parent_rel_path else v for v in global_visuals
            ]
        usd_visuals.log_visuals(stream, "", global_visuals)
        return count + len(global_visuals)

    # ------------------------------------------------------------------ env origins and framing
    def _envs_root(self) -> str:
        """The prim under which the cloned envs live (``/World/envs``)."""
        env_ns = getattr(self.scene, "env_ns", None)  # "/World/envs"
        if isinstance(env_ns, str) and env_ns.startswith("/"):
            return env_ns
        # "/World/envs/env_.*" (2.x) or "/World/envs/env_[^/]+" (3.x: not split at its last "/", which is the regex's)
        ns = getattr(self.scene, "env_regex_ns", None)
        m = _ENV_PATTERN.match(ns) if isinstance(ns, str) else None
        if m and "/" in m["head"].strip("/"):
            return m["head"].rsplit("/", 1)[0]
        return "/World/envs"

    def env_origins(self) -> np.ndarray:
        """``scene.env_origins`` of the logged envs: an owned ``(len(logged_envs), 3)`` float32 array."""
        origins = getattr(self.scene, "env_origins", None)
        if origins is None:
            return np.zeros((len(self.logged_envs), 3), dtype=np.float32)
        return self.env_rows(origins)

    def view_eye(self, poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A 3D-view eye position and look target that frame the logged envs' bodies in ``poses`` (from :meth:`gather`).

        The target is the centre of the per-env bodies (all bodies if there are none); the eye looks at it from
        above and to the side, like Isaac Lab's default viewer, far enough back to see them all.
        """
        rows = [i for i, b in enumerate(self.bodies) if b.env >= 0] or list(range(self.num_rows))
        pts = poses[rows, 0:3].astype(np.float64)
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) == 0:
            pts = np.zeros((1, 3))
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        target = (lo + hi) / 2
        radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.75)
        direction = np.array([1.0, 1.0, 1.0])  # Isaac Lab's default viewer: eye (7.5, 7.5, 7.5) on the origin
        eye = target + direction / np.linalg.norm(direction) * (2.2 * radius + 1.0)
        return eye.astype(np.float32), target.astype(np.float32)

    # ------------------------------------------------------------------ poses
    def gather(self) -> np.ndarray:
        """Poses of every logged body now: an owned ``(num_rows, 7)`` float32 array, xyzw, world frame (env origins
        subtracted with ``env_layout="origin"``).

        On the CPU the rows are picked straight from the simulator's memory into a new array (numpy indexing:
        cheaper per asset than torch ops); on a GPU they are selected on the device (``index_select``), joined and
        copied to the host once.
        """
        tensors = []
        for a in self._assets:
            pose = getattr(a.asset.data, a.pose_attr)
            tensors.append(_arrays.as_tensor(pose))
        if all(getattr(t, "is_cpu", True) for t in tensors):
            out = np.empty((self.num_rows, 7), dtype=np.float32)
            row = 0
            for i, (a, t) in enumerate(zip(self._assets, tensors, strict=True)):
                view = self._views[i]
                if view is None or view[0] is not t:  # the simulator's buffer as numpy, cached while it is the same
                    view = self._views[i] = (t, t.detach().numpy() if hasattr(t, "detach") else np.asarray(t))
                part = view[1][self._env_sel] if a.per_env else view[1]
                if a.wxyz:
                    part = part[..., _XYZW_FROM_WXYZ_LIST]
                n = part.shape[0] * part.shape[1]
                out[row : row + n] = part.reshape(n, 7)  # a copy: nothing aliases the simulator's buffers
                row += n
            return self._apply_layout(out)
        import torch

        parts = []
        for a, t in zip(self._assets, tensors, strict=True):
            if a.per_env:
                idx = self._env_index.get(str(t.device))
                if idx is None:
                    idx = torch.as_tensor(self.logged_envs, device=t.device, dtype=torch.long)
                    self._env_index[str(t.device)] = idx
                t = t.index_select(0, idx)
            if a.wxyz:
                t = t[..., _XYZW_FROM_WXYZ_LIST]
            parts.append(t.reshape(-1, 7))
        joined = parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)
        return self._apply_layout(np.array(joined.detach().to("cpu").numpy(), dtype=np.float32, copy=True))

    def gather_extras(self, poses: np.ndarray) -> list[Any] | None:
        """This frame's data of every channel (sensors, markers), given this frame's :meth:`gather` poses."""
        if not self.channels:
            return None
        return [channel.gather(poses) for channel in self.channels]

    def send_extras(self, stream: rr.RecordingStream, frames: Sequence[list[Any] | None], time_columns: Any) -> None:
        """Send the buffered :meth:`gather_extras` results of a flush (frames without extras are skipped)."""
        rows = [i for i, f in enumerate(frames) if f is not None]
        if not rows:
            return
        for c, channel in enumerate(self.channels):
            data = [frames[i][c] for i in rows]  # type: ignore[index]

            def columns(sub: Any, rows: list[int] = rows) -> list[rr.TimeColumn]:
                return time_columns([rows[i] for i in sub])

            channel.send(stream, data, columns)

    def close(self) -> None:
        """Remove what the channels installed (the markers hook)."""
        for channel in self.channels:
            channel.close()

    def _apply_layout(self, poses: np.ndarray) -> np.ndarray:
        if self.cfg.env_layout == "origin":
            poses[:, 0:3] -= self.env_origins()[self._row_env]
        return poses

    def to_entity_frame(self, poses: np.ndarray) -> np.ndarray:
        """World poses ``(..., num_rows, 7)`` → poses relative to each row's parent body entity (nested bodies)."""
        if not self._has_parents:
            return poses
        out = poses.copy()
        rows = np.nonzero(self._parent_rows >= 0)[0]
        parent = poses[..., self._parent_rows[rows], :]
        child = poses[..., rows, :]
        q_inv = parent[..., 3:7] * np.array([-1, -1, -1, 1], dtype=poses.dtype)
        out[..., rows, 0:3] = _quat_rotate(q_inv, child[..., 0:3] - parent[..., 0:3])
        out[..., rows, 3:7] = _quat_mul(q_inv, child[..., 3:7])
        return out


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def _quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    u, w = q[..., 0:3], q[..., 3:4]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def _join(root: str, rel: str) -> str:
    return root if not rel else f"{root.rstrip('/')}/{rel}"


def _body_names(asset: Any) -> list[str]:
    for owner in (asset, asset.data):
        for attr in ("body_names", "object_names"):
            names = getattr(owner, attr, None)
            if names:
                return list(names)
    return []


def _asset_prim_patterns(kind: str, asset: Any, names: list[str]) -> list[str]:
    cfg = asset.cfg
    if kind == "rigid_object_collections":
        objs = getattr(cfg, "rigid_objects", None) or {}
        return [objs[n].prim_path for n in names if n in objs] if all(n in objs for n in names) else [cfg.prim_path]
    return [cfg.prim_path]


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
        cfg = replace(cfg, trails=False, markers=False, contact_forces=False, ray_hits=False, cameras=False)
        self.layout = IsaacLabScene(scene, logged_envs, cfg=cfg)
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
            self.layout.log_static(rec)
            self._static_logged = True
        poses = self.layout.to_entity_frame(self.layout.gather())
        for entity, p in zip(self.layout.entity_paths, poses, strict=True):
            rec.log(entity, rr.Transform3D(translation=p[0:3], quaternion=_compat.quaternion(p[3:7])))
