"""The Isaac Lab scene: which bodies the logged envs have, where their poses are, and their USD visuals.

:class:`IsaacLabScene` reads ``scene.articulations``, ``scene.rigid_objects`` and ``scene.rigid_object_collections``
of an Isaac Lab ``InteractiveScene`` (3.x: ``ProxyArray`` data, quaternions xyzw; 2.x: ``torch.Tensor`` data,
quaternions wxyz — detected per asset from the data type). Each body of each logged env is one row of the pose array
that :meth:`IsaacLabScene.sample` returns every recorded frame: the env rows are selected on the device
(``index_select``) before a single host copy, so the cost does not grow with ``num_envs``, and the returned array is
owned (never a view of simulator memory, which the next ``env.step()`` overwrites).

Where each body's prim is on the USD stage is :mod:`isaac_rerun.prims`. It hands the channels
(:mod:`isaac_rerun.channels`) a narrow :class:`~isaac_rerun.channels.ChannelContext` —
the logged envs and their bodies, the sensors, the visuals read from the USD stage once — and knows nothing of what
they draw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from isaac_rerun import _arrays, _quat, usd_visuals
from isaac_rerun.channels import Body, ChannelContext, Sample
from isaac_rerun.config import SceneLogCfg, resolve_logged_envs
from isaac_rerun.envview import EnvView
from isaac_rerun.prims import PrimPaths, asset_prim_patterns, join

__all__ = ["IsaacLabScene", "SceneLogCfg", "validate_logged_envs"]


def validate_logged_envs(logged_envs: object, num_envs: int) -> list[int]:
    """``logged_envs`` as a list of env indices (see :func:`isaac_rerun.config.resolve_logged_envs`)."""
    return resolve_logged_envs(logged_envs, num_envs)


@dataclass
class _Asset:
    name: str
    asset: Any
    pose_attr: str  # attribute of asset.data holding (N, B, 7) link poses
    body_ids: list[int]  # which of the asset's bodies are logged (all, in order)
    per_env: bool  # True: replicated per env (prim path contains env_.*); False: a global asset
    wxyz: bool  # Isaac Lab 2.x quaternion order


class IsaacLabScene:
    """The logged envs of an Isaac Lab scene: their bodies, poses and visuals (see the module docstring).

    Parameters
    ----------
    scene:
        An ``isaaclab.scene.InteractiveScene`` (2.x or 3.x).
    logged_envs:
        Which envs: an env index, a list of env indices, ``"all"`` or a slice
        (:attr:`RecordingCfg.logged_envs <isaac_rerun.config.RecordingCfg.logged_envs>`).
    quaternion_order:
        ``"auto"`` (xyzw for Isaac Lab 3.x ``ProxyArray`` data, wxyz for 2.x ``torch.Tensor`` data), ``"xyzw"`` or
        ``"wxyz"``.
    cfg:
        What is drawn besides the bodies (:class:`~isaac_rerun.config.SceneLogCfg`, a dict of its fields, or None
        for the defaults).
    env:
        The Isaac Lab env the scene belongs to (``env.unwrapped``), for its managers
        (:class:`~isaac_rerun.envview.EnvView`); None: no manager signals.
    """

    def __init__(
        self,
        scene: Any,
        logged_envs: Any = 0,
        *,
        quaternion_order: str = "auto",
        cfg: SceneLogCfg | Mapping[str, Any] | None = None,
        env: Any = None,
    ):
        self.cfg = SceneLogCfg.coerce(cfg, "scene_log_cfg")
        if quaternion_order not in ("auto", "xyzw", "wxyz"):
            raise ValueError(f"`quaternion_order` must be 'auto', 'xyzw' or 'wxyz', got {quaternion_order!r}")
        for attr in ("articulations", "rigid_objects", "num_envs"):
            if not hasattr(scene, attr):
                raise ValueError(
                    f"`scene` must be an Isaac Lab InteractiveScene (with .articulations, .rigid_objects, "
                    f".rigid_object_collections, .num_envs), got {type(scene).__name__} without `.{attr}`"
                )
        self.scene = scene
        self.env = env
        self.env_view: EnvView | None = EnvView(env) if env is not None else None
        """The env's managers, read-only (None without an env)."""
        self.num_envs = int(scene.num_envs)
        self.logged_envs = resolve_logged_envs(logged_envs, self.num_envs)
        self.quaternion_order = quaternion_order
        self.stage = getattr(scene, "stage", None)
        self.prims = PrimPaths(scene, self.stage)
        """Where the bodies' prims are on the USD stage (:class:`~isaac_rerun.prims.PrimPaths`)."""
        self._assets: list[_Asset] = []
        self._bodies: list[Body] = []  # built up here, frozen into self.bodies
        groups = [
            ("articulations", getattr(scene, "articulations", {}) or {}),
            ("rigid_objects", getattr(scene, "rigid_objects", {}) or {}),
            ("rigid_object_collections", getattr(scene, "rigid_object_collections", {}) or {}),
        ]
        for kind, assets in groups:
            for name, asset in assets.items():
                self._add_asset(kind, name, asset, quaternion_order)
        if not self._bodies:
            raise ValueError("`scene` has no articulations, rigid objects or rigid object collections to log")
        paths = [b.entity for b in self._bodies]
        if len(set(paths)) != len(paths):
            dup = sorted({p for p in paths if paths.count(p) > 1})
            raise RuntimeError(
                f"isaac_rerun: two bodies map to the same entity path {dup[:3]}; please report this scene"
            )
        self._resolve_parents()
        self.num_rows = len(self._bodies)
        self.bodies = tuple(self._bodies)
        """The logged bodies, one per row of the pose array (:class:`~isaac_rerun.channels.Body`)."""
        self.entity_paths = [b.entity for b in self._bodies]
        self._visual_cache: dict[str, list[usd_visuals.PrimVisual]] = _shared_visual_cache(scene)
        ids = self.logged_envs
        self.env_rows = _arrays.RowSelector(ids)
        """The logged envs' rows of any per-env array (numpy, torch on any device, ``ProxyArray``), owned."""
        # env layout "origin": the logged env (position in logged_envs) whose origin each row subtracts
        position = {e: j for j, e in enumerate(self.logged_envs)}
        self._row_env = np.array([position[b.env] if b.env >= 0 else 0 for b in self._bodies], dtype=np.int64)
        self.wxyz_data = any(a.wxyz for a in self._assets)  # Isaac Lab 2.x data: markers take wxyz too
        self.layout = self.cfg.entity_layout(len(self.logged_envs))
        """``"per_env"`` or ``"instanced"``: how the logged envs become entities (``cfg.layout`` resolved)."""
        self._for_envs: dict[tuple[Any, ...], IsaacLabScene] = {}

    # ------------------------------------------------------------------ what the channels get
    def context(self) -> ChannelContext:
        """The narrow view of this scene that channels get (see :class:`~isaac_rerun.channels.ChannelContext`)."""
        return ChannelContext(
            logged_envs=tuple(self.logged_envs),
            num_envs=self.num_envs,
            layout=self.layout,
            cfg=self.cfg,
            bodies=self.bodies,
            rows=self.env_rows,
            sensors=dict(getattr(self.scene, "sensors", None) or {}),
            wxyz_data=self.wxyz_data,
            visuals=self.visuals,
            global_visuals=self.global_visuals,
            global_shift=self._global_shift,
            resolve_env_pattern=self.prims.resolve_env_pattern,
            env=self.env_view,
        )

    @property
    def row_envs(self) -> np.ndarray:
        """Per row of the pose array: its env's position in ``logged_envs`` (0 for global bodies)."""
        return self._row_env

    def for_envs(self, envs: Sequence[int], **cfg_changes: Any) -> IsaacLabScene:
        """The same scene for other logged envs (cached), e.g. one env whose episode the history writes."""
        key = (tuple(envs), tuple(sorted(cfg_changes.items())))
        scene = self._for_envs.get(key)
        if scene is None:
            cfg = replace(self.cfg, **cfg_changes) if cfg_changes else self.cfg
            scene = IsaacLabScene(self.scene, list(envs), quaternion_order=self.quaternion_order, cfg=cfg)
            scene.env, scene.env_view = self.env, self.env_view
            self._for_envs[key] = scene
        return scene

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
        pattern = asset_prim_patterns(kind, asset, names)
        per_env = all(self.prims.env_path(p, 0) is not None for p in pattern) and shape[0] == self.num_envs
        self._assets.append(_Asset(name, asset, pose_attr, list(range(shape[1])), per_env, wxyz))
        if per_env:
            first = len(self._bodies)
            for e in self.logged_envs:
                for b, body_name in enumerate(names):
                    entity, source = self.prims.body_paths(
                        pattern[b] if len(pattern) > 1 else pattern[0], e, body_name, kind
                    )
                    is_root = kind == "articulations" and b == 0
                    self._bodies.append(Body(entity, body_name, e, -1, first + b, is_root, kind, source))
            return
        # a global asset (not cloned per env): every instance is logged, at the prims its pattern matches
        for i in range(shape[0]):
            for b, body_name in enumerate(names):
                pat = pattern[b] if len(pattern) > 1 else pattern[0]
                matches = self.prims.matches(pat)
                root = matches[i] if i < len(matches) else f"{pat if not matches else matches[0]}_{i}"
                root = re.sub(r"[^A-Za-z0-9_/\-]", "_", root)
                rel = self.prims.find_body_rel(root, body_name) if kind == "articulations" else ""
                path = join(root, rel)
                row = len(self._bodies)
                self._bodies.append(Body(path, body_name, -1, -1, row, kind == "articulations" and b == 0, kind, path))

    def _resolve_parents(self) -> None:
        """Each body's ``parent``: the row of the nearest logged body whose prim path is above its own."""
        index = {b.entity: i for i, b in enumerate(self._bodies)}
        for row, b in enumerate(self._bodies):
            path = b.entity
            while "/" in path.strip("/"):
                path = path.rsplit("/", 1)[0]
                if path in index:
                    self._bodies[row] = replace(b, parent=index[path])
                    break

    # ------------------------------------------------------------------ static visuals
    def visuals(self, row: int) -> list[usd_visuals.PrimVisual]:
        """The USD visuals below body ``row`` (relative to its rigid frame; read once per source prim)."""
        if self.stage is None:
            return []
        body = self._bodies[row]
        visuals = self._visual_cache.get(body.prim)
        if visuals is None:
            from pxr import UsdPhysics

            body_sources = self._body_sources()

            def stop_at(prim: Any) -> bool:
                return prim.HasAPI(UsdPhysics.RigidBodyAPI) or str(prim.GetPath()) in body_sources

            prim = self.stage.GetPrimAtPath(body.prim)
            visuals = usd_visuals.collect_visuals(prim, stop_at=stop_at) if prim and prim.IsValid() else []
            self._visual_cache[body.prim] = visuals
        return visuals

    def global_visuals(self) -> list[usd_visuals.PrimVisual]:
        """The visible prims outside the envs (ground, terrain, props), relative to the world; read once."""
        if self.stage is None:
            return []
        visuals = self._visual_cache.get("<global>")
        if visuals is None:
            body_sources = self._body_sources()
            # a global asset's bodies are logged as bodies (they move): not again as frozen global prims
            visuals = usd_visuals.collect_global_visuals(
                self.stage, envs_root=self.prims.envs_root(), stop_at=lambda prim: str(prim.GetPath()) in body_sources
            )
            self._visual_cache["<global>"] = visuals
        return visuals

    def _body_sources(self) -> set[str]:
        return {b.prim for b in self._bodies}

    def _global_shift(self) -> np.ndarray | None:
        """Env layout "origin": the tracked env's origin, subtracted from the global prims."""
        if self.cfg.env_layout != "origin":
            return None
        return self.env_origins()[0].astype(np.float32)

    # ------------------------------------------------------------------ env origins and framing
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
        rows = [i for i, b in enumerate(self._bodies) if b.env >= 0] or list(range(self.num_rows))
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
    def sample(self) -> Sample:
        """This frame: every logged body's pose and the env-origin shift (:class:`~isaac_rerun.channels.Sample`)."""
        poses = self._world_poses()
        if self.cfg.env_layout != "origin":
            return Sample(poses, None)
        shift = self.env_origins()
        poses[:, 0:3] -= shift[self._row_env]
        return Sample(poses, shift)

    def gather(self) -> np.ndarray:
        """Poses of every logged body now: an owned ``(num_rows, 7)`` float32 array, xyzw, world frame (env origins
        subtracted with ``env_layout="origin"``)."""
        return self.sample().poses

    def _world_poses(self) -> np.ndarray:
        """On the CPU the rows are picked straight from the simulator's memory into a new array (numpy indexing:
        cheaper per asset than torch ops); on a GPU they are selected on the device (``index_select``), joined and
        copied to the host once."""
        tensors = [_arrays.as_tensor(getattr(a.asset.data, a.pose_attr)) for a in self._assets]
        rows = self.env_rows
        if all(getattr(t, "is_cpu", True) for t in tensors):
            out = np.empty((self.num_rows, 7), dtype=np.float32)
            row = 0
            for a, t in zip(self._assets, tensors, strict=True):
                view = rows.numpy_view(t)  # the simulator's buffer, cached while it is the same
                part = view[rows.sel] if a.per_env else view
                if a.wxyz:
                    part = part[..., _quat.XYZW_FROM_WXYZ]
                n = part.shape[0] * part.shape[1]
                out[row : row + n] = part.reshape(n, 7)  # a copy: nothing aliases the simulator's buffers
                row += n
            return out
        import torch

        parts = []
        for a, t in zip(self._assets, tensors, strict=True):
            if a.per_env:
                t = t.index_select(0, rows.device_index(t.device))
            if a.wxyz:
                t = t[..., _quat.XYZW_FROM_WXYZ]
            parts.append(t.reshape(-1, 7))
        joined = parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)
        return np.array(joined.detach().to("cpu").numpy(), dtype=np.float32, copy=True)

    # ------------------------------------------------------------------ the history's view of the poses
    def pose_tensors(self) -> list[tuple[Any, bool, bool]]:
        """The simulator's pose buffers, one per asset: (tensor ``(N or 1, B, 7)``, per env, quaternions wxyz)."""
        return [(_arrays.as_tensor(getattr(a.asset.data, a.pose_attr)), a.per_env, a.wxyz) for a in self._assets]

    def rows_from_assets(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """Poses in this scene's row order from per-asset arrays ``(..., N_a, B_a, 7)`` holding, for per-env assets,
        exactly the logged envs (in order) and, for global assets, all instances; quaternions converted to xyzw."""
        out = []
        for a, part in zip(self._assets, parts, strict=True):
            if a.wxyz:
                part = part[..., _quat.XYZW_FROM_WXYZ]
            out.append(part.reshape(*part.shape[:-3], -1, 7))
        return np.concatenate(out, axis=-2)

    def to_entity_frame(self, poses: np.ndarray) -> np.ndarray:
        """World poses ``(..., num_rows, 7)`` → poses relative to each row's parent body entity (nested bodies)."""
        parents = np.array([b.parent for b in self._bodies])
        rows = np.nonzero(parents >= 0)[0]
        if not len(rows):
            return poses
        out = poses.copy()
        out[..., rows, :] = _quat.relative_poses(poses[..., parents[rows], :], poses[..., rows, :])
        return out


def _shared_visual_cache(scene: Any) -> dict[str, list[usd_visuals.PrimVisual]]:
    """One visual cache per Isaac Lab scene, shared by the layouts made for it (USD is read once)."""
    cache = _VISUAL_CACHES.get(id(scene))
    if cache is None or cache[0]() is not scene:
        import weakref

        try:
            ref = weakref.ref(scene)
        except TypeError:
            return {}
        cache = _VISUAL_CACHES[id(scene)] = (ref, {})
    return cache[1]


_VISUAL_CACHES: dict[int, tuple[Any, dict[str, list[usd_visuals.PrimVisual]]]] = {}


def _body_names(asset: Any) -> list[str]:
    for owner in (asset, asset.data):
        for attr in ("body_names", "object_names"):
            names = getattr(owner, attr, None)
            if names:
                return list(names)
    return []
