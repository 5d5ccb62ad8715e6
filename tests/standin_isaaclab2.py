"""Stand-in for Isaac Lab 2.x, which cannot run here (it needs Isaac Sim 4.5/5.x and a GPU).

It mirrors only the data API that isaac_rerun reads, as in isaaclab 2.3.x (Isaac Sim 5.1, Python 3.11):

- ``InteractiveScene``: ``num_envs``, ``env_regex_ns`` (``/World/envs/env_.*``), ``env_prim_paths``,
  ``stage`` (a ``pxr.Usd.Stage``; with replicated physics only ``env_0`` holds
  prims), ``env_origins`` (N, 3), and the dicts ``articulations``, ``rigid_objects``, ``rigid_object_collections``.
- ``Articulation`` / ``RigidObject``: ``cfg.prim_path`` (``/World/envs/env_.*/Robot``), ``body_names``,
  ``num_instances``, ``data.body_link_pose_w`` — a ``torch.Tensor`` (num_envs, num_bodies, 7): position, then the
  quaternion **(w, x, y, z)**.
- ``RigidObjectCollection``: ``cfg.rigid_objects`` ({name: cfg with ``prim_path``}), ``object_names``,
  ``data.object_link_pose_w`` (num_envs, num_objects, 7), wxyz.
- ``DirectRLEnv``: ``scene``, ``num_envs``, ``step_dt``, ``physics_dt``; ``step(action)`` returns
  ``(obs, reward, terminated, truncated, extras)`` torch tensors and resets finished envs **inside** ``step()``
  through ``_reset_idx(env_ids)`` (so after ``step()`` returns they already show their new initial pose).

The "physics" is a deterministic motion, so tests know every pose the simulator had, including the terminal pose
that ``_reset_idx`` overwrites. ``history`` keeps, per step, the poses before and after the reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import torch


@dataclass
class _Cfg:
    prim_path: str
    rigid_objects: dict[str, Any] = field(default_factory=dict)


class _Asset:
    def __init__(self, prim_path: str, names: list[str], num_envs: int, collection: bool = False):
        self.cfg = _Cfg(prim_path)
        self.num_instances = num_envs
        pose = torch.zeros(num_envs, len(names), 7)
        pose[..., 3] = 1.0  # identity quaternion, w first
        if collection:
            self.object_names = names
            self.num_objects = len(names)
            self.data = SimpleNamespace(object_link_pose_w=pose)
        else:
            self.body_names = names
            self.num_bodies = len(names)
            self.data = SimpleNamespace(body_link_pose_w=pose)

    @property
    def pose(self) -> torch.Tensor:
        d = self.data
        return d.object_link_pose_w if hasattr(d, "object_link_pose_w") else d.body_link_pose_w


def _build_stage() -> Any:
    """env_0's prims only (replicated physics): a 3-body robot (one body nested in another), a ball, two boxes."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(stage, "/World")
    UsdGeom.Xform.Define(stage, "/World/envs")
    for i in range(8):
        UsdGeom.Xform.Define(stage, f"/World/envs/env_{i}")

    def body(path: str) -> Any:
        x = UsdGeom.Xform.Define(stage, path)
        UsdPhysics.RigidBodyAPI.Apply(x.GetPrim())
        return x

    UsdGeom.Xform.Define(stage, "/World/envs/env_0/Robot")
    body("/World/envs/env_0/Robot/base")
    cube = UsdGeom.Cube.Define(stage, "/World/envs/env_0/Robot/base/visual")
    cube.CreateSizeAttr(0.5)
    cube.CreateDisplayColorAttr([Gf.Vec3f(0.8, 0.2, 0.2)])
    body("/World/envs/env_0/Robot/base/arm")  # nested body: its entity transform is relative to base
    cap = UsdGeom.Capsule.Define(stage, "/World/envs/env_0/Robot/base/arm/visual")
    cap.CreateRadiusAttr(0.05)
    cap.CreateHeightAttr(0.4)
    body("/World/envs/env_0/Robot/hand")
    UsdGeom.Sphere.Define(stage, "/World/envs/env_0/Robot/hand/visual").CreateRadiusAttr(0.07)
    body("/World/envs/env_0/Ball")
    UsdGeom.Sphere.Define(stage, "/World/envs/env_0/Ball/geometry/mesh").CreateRadiusAttr(0.1)
    for name in ("BoxA", "BoxB"):
        body(f"/World/envs/env_0/{name}")
        UsdGeom.Cube.Define(stage, f"/World/envs/env_0/{name}/geometry/mesh").CreateSizeAttr(0.2)
    plane = UsdGeom.Plane.Define(stage, "/World/ground/plane")
    plane.CreateWidthAttr(10.0)
    plane.CreateLengthAttr(10.0)
    return stage


class StandinScene:
    def __init__(self, num_envs: int, with_stage: bool = True):
        self.num_envs = num_envs
        self.stage = _build_stage() if with_stage else None
        self.env_ns = "/World/envs"
        self.env_regex_ns = "/World/envs/env_.*"
        self.env_prim_paths = [f"/World/envs/env_{i}" for i in range(num_envs)]
        self.env_origins = torch.stack([torch.tensor([2.0 * i, 0.0, 0.0]) for i in range(num_envs)])
        self.articulations = {"robot": _Asset("/World/envs/env_.*/Robot", ["base", "arm", "hand"], num_envs)}
        self.rigid_objects = {"ball": _Asset("/World/envs/env_.*/Ball", ["Ball"], num_envs)}
        boxes = _Asset("/World/envs/env_.*/Boxes", ["box_a", "box_b"], num_envs, collection=True)
        boxes.cfg.rigid_objects = {
            "box_a": _Cfg("/World/envs/env_.*/BoxA"),
            "box_b": _Cfg("/World/envs/env_.*/BoxB"),
        }
        self.rigid_object_collections = {"boxes": boxes}

    def assets(self) -> list[_Asset]:
        return [*self.articulations.values(), *self.rigid_objects.values(), *self.rigid_object_collections.values()]


class StandinDirectRLEnv:
    """A vectorized env with Isaac Lab 2.x's step/reset structure and data conventions.

    Env ``i``'s episodes last ``lengths[i][k % len(lengths[i])]`` steps (episode ``k``); the even episodes end by
    termination, the odd ones by time-out.
    """

    def __init__(self, num_envs: int = 4, lengths: list[list[int]] | None = None, with_stage: bool = True):
        self.num_envs = num_envs
        self.scene = StandinScene(num_envs, with_stage)
        self.physics_dt = 1 / 120
        self.decimation = 2
        self.step_dt = self.physics_dt * self.decimation
        self.cfg = SimpleNamespace(decimation=self.decimation)
        self.lengths = lengths or [[5 + i, 8 + i] for i in range(num_envs)]
        self.episode = torch.zeros(num_envs, dtype=torch.long)
        self.t = torch.zeros(num_envs, dtype=torch.long)  # step within the episode
        self.history: list[dict[str, np.ndarray]] = []  # per step: poses before and after the reset (all rows)
        self.unwrapped = self

    # poses are a function of (env, episode, t); each body has its own offset and spin
    def _write_poses(self, env_ids: torch.Tensor) -> None:
        for k, asset in enumerate(self.scene.assets()):
            pose = asset.pose
            for e in env_ids.tolist():
                for b in range(pose.shape[1]):
                    t = float(self.t[e]) + 0.37 * float(self.episode[e])
                    angle = 0.1 * t + 0.5 * b + 0.2 * k
                    pos = [2.0 * e + 0.01 * t + 0.1 * b, 0.3 * k + 0.02 * math.sin(t), 0.5 + 0.05 * b]
                    axis = np.array([0.3 * b, 0.2, 1.0])
                    axis /= np.linalg.norm(axis)
                    s = math.sin(angle / 2)
                    quat_wxyz = [math.cos(angle / 2), *(axis * s)]
                    pose[e, b] = torch.tensor(pos + quat_wxyz, dtype=pose.dtype)

    def all_poses_xyzw(self) -> dict[str, np.ndarray]:
        """(num_envs, num_bodies, 7) xyzw per asset: what the simulator shows now."""
        out = {}
        for name, asset in (
            *self.scene.articulations.items(),
            *self.scene.rigid_objects.items(),
            *self.scene.rigid_object_collections.items(),
        ):
            p = asset.pose.numpy().copy()
            out[name] = p[..., [0, 1, 2, 4, 5, 6, 3]]
        return out

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[torch.Tensor, dict[str, Any]]:
        self._reset_idx(torch.arange(self.num_envs))
        self.episode.zero_()
        self._write_poses(torch.arange(self.num_envs))
        return torch.zeros(self.num_envs, 1), {}

    def step(self, action: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
        self.t += 1
        self._write_poses(torch.arange(self.num_envs))
        length = torch.tensor(
            [self.lengths[e][int(self.episode[e]) % len(self.lengths[e])] for e in range(self.num_envs)]
        )
        done = self.t >= length
        terminated = done & (self.episode % 2 == 0)
        truncated = done & (self.episode % 2 == 1)
        reward = 1.0 + 0.1 * torch.arange(self.num_envs, dtype=torch.float32) + 0.01 * self.t.float()
        before = self.all_poses_xyzw()
        ids = done.nonzero().squeeze(-1)
        if len(ids) > 0:
            self._reset_idx(ids)
        self.history.append({"before": before, "after": self.all_poses_xyzw(), "done": done.numpy().copy()})
        return torch.zeros(self.num_envs, 1), reward, terminated, truncated, {}

    def _reset_idx(self, env_ids: torch.Tensor) -> None:
        self.episode[env_ids] += 1
        self.t[env_ids] = 0
        self._write_poses(env_ids)

    def close(self) -> None:
        pass


class StandinGymEnv(gym.Env):
    """The ``gym.Env`` front that ``gym.make`` puts around an Isaac Lab task (``unwrapped`` is the task)."""

    def __init__(self, base: StandinDirectRLEnv):
        self._base = base
        self.observation_space = gym.spaces.Box(-1, 1, (1,))
        self.action_space = gym.spaces.Box(-1, 1, (1,))

    @property
    def unwrapped(self) -> Any:  # type: ignore[override]
        return self._base

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        return self._base.reset(seed, options)

    def step(self, action: Any) -> Any:
        return self._base.step(action)

    def close(self) -> None:
        self._base.close()
