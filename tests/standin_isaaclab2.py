"""Stand-in for Isaac Lab 2.x, which cannot run here (it needs Isaac Sim 4.5/5.x and a GPU).

It mirrors the data API that isaac_rerun reads, as in **isaaclab 2.3.2.post1** (Isaac Sim 5.1, Python 3.11), read
from the wheel's sources (``isaaclab/source/isaaclab/isaaclab/...``):

- ``scene/interactive_scene.py`` → :class:`InteractiveScene`: ``cfg`` (``num_envs``, ``env_spacing``,
  ``replicate_physics``), ``num_envs``, ``env_ns`` (``/World/envs``), ``env_regex_ns`` (``/World/envs/env_.*``),
  ``env_prim_paths`` (``/World/envs/env_{i}``), ``env_origins`` (num_envs, 3), ``stage`` (a ``pxr.Usd.Stage``; with
  replicated physics only ``env_0`` holds prims), ``device``, ``physics_dt``, the dicts ``articulations``,
  ``rigid_objects``, ``rigid_object_collections``, ``__getitem__`` / ``keys()``, and ``reset(env_ids)`` /
  ``write_data_to_sim()`` / ``update(dt)``. Asset prim paths are the cfg's ``{ENV_REGEX_NS}/...`` with the namespace
  substituted, as ``_add_entities_from_cfg`` does (for a collection: each of ``cfg.rigid_objects``).
- ``assets/articulation/articulation.py`` + ``articulation_data.py`` → :class:`Articulation`: ``cfg.prim_path``,
  ``num_instances``, ``num_bodies``, ``body_names`` (the PhysX view's ``link_names``; also on ``data.body_names``),
  ``data.body_link_pose_w`` (alias ``data.body_pose_w``).
- ``assets/rigid_object/rigid_object.py`` + ``rigid_object_data.py`` → :class:`RigidObject`: ``cfg.prim_path``,
  ``num_bodies`` (1), ``body_names`` (the last component of the body's prim path), ``data.root_link_pose_w``
  (num_instances, 7) and ``data.body_link_pose_w`` = ``root_link_pose_w.view(-1, 1, 7)``.
- ``assets/rigid_object_collection/*.py`` → :class:`RigidObjectCollection`: its cfg has **no** ``prim_path``, only
  ``rigid_objects`` ({name: RigidObjectCfg}); ``object_names`` (the dict's keys, in order; also on
  ``data.object_names``), ``num_objects``, ``num_instances``, ``data.object_link_pose_w`` (alias
  ``data.object_pose_w``) of shape (num_instances, num_objects, 7): the PhysX view's object-major rows rearranged by
  ``torch.einsum("ijk -> jik", ...)``, i.e. a **non-contiguous** tensor.
- Every pose is a ``torch.float32`` tensor on ``scene.device``: position, then the quaternion **(w, x, y, z)**
  (PhysX gives xyzw; the data class converts with ``convert_quat(..., to="wxyz")``). The data properties are lazy
  ``TimestampedBuffer``s: a **new** tensor is built (``clone()`` of the view's transforms) when the simulation time
  advanced (``update(dt)``) or a ``write_*_to_sim`` invalidated the buffer, and the same tensor object is returned
  until then. Nothing updates a returned pose tensor in place.
- ``envs/direct_rl_env.py`` → :class:`StandinDirectRLEnv` (a ``gymnasium.Env``, ``is_vector_env = True``):
  ``cfg.sim.dt``, ``cfg.decimation``, ``cfg.episode_length_s``, ``cfg.is_finite_horizon``, ``physics_dt``
  (= ``cfg.sim.dt``), ``step_dt`` (= ``cfg.sim.dt * cfg.decimation``), ``max_episode_length``, ``num_envs``,
  ``device``, ``seed()``, ``single_observation_space`` (``{"policy": Box}``) / ``single_action_space`` and their
  batched ``observation_space`` / ``action_space``, ``episode_length_buf``, ``reset_terminated`` / ``reset_time_outs``
  (bool tensors updated **in place**, ``[:] =``), ``reset_buf``, ``reward_buf``, ``obs_buf``. ``reset(seed, options)``
  calls ``_reset_idx(all ids)`` and returns ``(obs_dict, extras)``. ``step(action)`` starts with
  ``action.to(self.device)`` (a torch tensor is required), steps the physics ``decimation`` times
  (``scene.write_data_to_sim()``, sim step, ``scene.update(dt=physics_dt)``), then ``episode_length_buf += 1``,
  ``_get_dones()``, ``_get_rewards()``, resets the finished envs **inside** ``step()`` through
  ``_reset_idx(env_ids)`` (a long tensor; so after ``step()`` returns they already show their new initial pose),
  computes observations and returns ``(obs_buf, reward_buf, reset_terminated, reset_time_outs, extras)``.
- ``gym.make`` on an Isaac Lab task (registered with ``disable_env_checker=True``) returns the task in gymnasium's
  ``OrderEnforcing``: :func:`StandinGymEnv`.

Not mirrored (isaac_rerun does not read them): velocities, joints, actuators, sensors, managers, events, noise models;
the "physics" writes every link's transform into the views (a real task writes root states and PhysX moves the links).

The "physics" is a deterministic motion, so tests know every pose the simulator had, including the terminal pose
that ``_reset_idx`` overwrites: :attr:`StandinDirectRLEnv.history` keeps, per step, the poses before and after the
reset, and :attr:`StandinDirectRLEnv.reset_poses` those after each ``reset()`` (test helpers, not Isaac Lab API).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

ISAACLAB_VERSION = "2.3.2.post1"
"""The isaaclab release whose sources this stand-in follows."""


# ---------------------------------------------------------------------------------------------------------- configs
@dataclass
class RigidObjectCfg:
    prim_path: str


@dataclass
class ArticulationCfg:
    prim_path: str


@dataclass
class RigidObjectCollectionCfg:
    """As in 2.3: only ``rigid_objects``; the collection itself has no ``prim_path``."""

    rigid_objects: dict[str, RigidObjectCfg] = field(default_factory=dict)


@dataclass
class InteractiveSceneCfg:
    num_envs: int
    env_spacing: float = 2.0
    replicate_physics: bool = True


@dataclass
class SimCfg:
    dt: float = 1 / 120
    device: str = "cpu"


@dataclass
class DirectRLEnvCfg:
    sim: SimCfg = field(default_factory=SimCfg)
    decimation: int = 2
    episode_length_s: float = 10.0
    is_finite_horizon: bool = False


# ---------------------------------------------------------------------------------------------------------- physics
def _wxyz_from_xyzw(q: torch.Tensor) -> torch.Tensor:
    """``isaaclab.utils.math.convert_quat(q, to="wxyz")``."""
    return q.roll(1, dims=-1)


class _TimestampedBuffer:
    def __init__(self) -> None:
        self.data: torch.Tensor | None = None
        self.timestamp = -1.0


class _PhysxView:
    """What the PhysX tensor views hand out: ``count`` rows of link transforms, position + quaternion **xyzw**."""

    def __init__(self, count: int, links: int, device: str, prim_paths: list[str] | None = None):
        self.count = count
        self.prim_paths = prim_paths or []
        self.transforms = torch.zeros(count, links, 7, dtype=torch.float32, device=device)
        self.transforms[..., 6] = 1.0  # identity, w last (PhysX order)


# ---------------------------------------------------------------------------------------------------------- assets
class ArticulationData:
    body_names: list[str] = None  # type: ignore[assignment]  # set by the asset, as in 2.3

    def __init__(self, view: _PhysxView):
        self._view = view
        self._sim_timestamp = 0.0
        self._body_link_pose_w = _TimestampedBuffer()

    def update(self, dt: float) -> None:
        self._sim_timestamp += dt

    @property
    def body_link_pose_w(self) -> torch.Tensor:
        """(num_instances, num_bodies, 7), quaternion (w, x, y, z)."""
        if self._body_link_pose_w.timestamp < self._sim_timestamp:
            poses = self._view.transforms.clone()  # get_link_transforms().clone()
            poses[..., 3:7] = _wxyz_from_xyzw(poses[..., 3:7])
            self._body_link_pose_w.data = poses
            self._body_link_pose_w.timestamp = self._sim_timestamp
        assert self._body_link_pose_w.data is not None
        return self._body_link_pose_w.data

    @property
    def body_pose_w(self) -> torch.Tensor:
        return self.body_link_pose_w


class RigidObjectData:
    body_names: list[str] = None  # type: ignore[assignment]

    def __init__(self, view: _PhysxView):
        self._view = view
        self._sim_timestamp = 0.0
        self._root_link_pose_w = _TimestampedBuffer()

    def update(self, dt: float) -> None:
        self._sim_timestamp += dt

    @property
    def root_link_pose_w(self) -> torch.Tensor:
        """(num_instances, 7), quaternion (w, x, y, z)."""
        if self._root_link_pose_w.timestamp < self._sim_timestamp:
            pose = self._view.transforms[:, 0].clone()  # get_transforms().clone()
            pose[:, 3:7] = _wxyz_from_xyzw(pose[:, 3:7])
            self._root_link_pose_w.data = pose
            self._root_link_pose_w.timestamp = self._sim_timestamp
        assert self._root_link_pose_w.data is not None
        return self._root_link_pose_w.data

    @property
    def body_link_pose_w(self) -> torch.Tensor:
        """(num_instances, 1, 7)."""
        return self.root_link_pose_w.view(-1, 1, 7)

    @property
    def body_pose_w(self) -> torch.Tensor:
        return self.body_link_pose_w


class RigidObjectCollectionData:
    object_names: list[str] = None  # type: ignore[assignment]

    def __init__(self, view: _PhysxView, num_instances: int, num_objects: int):
        self._view = view  # object-major: row o * num_instances + i
        self.num_instances = num_instances
        self.num_objects = num_objects
        self._sim_timestamp = 0.0
        self._object_link_pose_w = _TimestampedBuffer()

    def update(self, dt: float) -> None:
        self._sim_timestamp += dt

    def _reshape_view_to_data(self, data: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ijk -> jik", data.reshape(self.num_objects, self.num_instances, -1))

    @property
    def object_link_pose_w(self) -> torch.Tensor:
        """(num_instances, num_objects, 7), quaternion (w, x, y, z); not contiguous."""
        if self._object_link_pose_w.timestamp < self._sim_timestamp:
            pose = self._reshape_view_to_data(self._view.transforms[:, 0].clone())
            pose[..., 3:7] = _wxyz_from_xyzw(pose[..., 3:7])
            self._object_link_pose_w.data = pose
            self._object_link_pose_w.timestamp = self._sim_timestamp
        assert self._object_link_pose_w.data is not None
        return self._object_link_pose_w.data

    @property
    def object_pose_w(self) -> torch.Tensor:
        return self.object_link_pose_w


class Articulation:
    def __init__(self, cfg: ArticulationCfg, link_names: list[str], num_envs: int, device: str):
        self.cfg = cfg
        self.root_physx_view = _PhysxView(num_envs, len(link_names), device)
        self._link_names = list(link_names)
        self._data = ArticulationData(self.root_physx_view)
        self._data.body_names = self.body_names

    @property
    def data(self) -> ArticulationData:
        return self._data

    @property
    def num_instances(self) -> int:
        return self.root_physx_view.count

    @property
    def num_bodies(self) -> int:
        return len(self._link_names)

    @property
    def body_names(self) -> list[str]:
        return self._link_names  # root_physx_view.shared_metatype.link_names

    def _write_link_transforms_xyzw(self, env_ids: torch.Tensor, poses_xyzw: torch.Tensor) -> None:
        """The stand-in's physics placing every link; invalidates the buffer like ``write_root_pose_to_sim``."""
        self.root_physx_view.transforms[env_ids] = poses_xyzw
        self._data._body_link_pose_w.timestamp = -1.0

    def reset(self, env_ids: Any = None) -> None:
        pass

    def write_data_to_sim(self) -> None:
        pass

    def update(self, dt: float) -> None:
        self._data.update(dt)


class RigidObject:
    def __init__(self, cfg: RigidObjectCfg, num_envs: int, device: str):
        self.cfg = cfg
        paths = [cfg.prim_path.replace(".*", str(i)) for i in range(num_envs)]
        self.root_physx_view = _PhysxView(num_envs, 1, device, prim_paths=paths)
        self._data = RigidObjectData(self.root_physx_view)
        self._data.body_names = self.body_names

    @property
    def data(self) -> RigidObjectData:
        return self._data

    @property
    def num_instances(self) -> int:
        return self.root_physx_view.count

    @property
    def num_bodies(self) -> int:
        return 1

    @property
    def body_names(self) -> list[str]:
        prim_paths = self.root_physx_view.prim_paths[: self.num_bodies]
        return [path.split("/")[-1] for path in prim_paths]

    def _write_link_transforms_xyzw(self, env_ids: torch.Tensor, poses_xyzw: torch.Tensor) -> None:
        self.root_physx_view.transforms[env_ids] = poses_xyzw
        self._data._root_link_pose_w.timestamp = -1.0

    def reset(self, env_ids: Any = None) -> None:
        pass

    def write_data_to_sim(self) -> None:
        pass

    def update(self, dt: float) -> None:
        self._data.update(dt)


class RigidObjectCollection:
    def __init__(self, cfg: RigidObjectCollectionCfg, num_envs: int, device: str):
        self.cfg = cfg
        self._object_names_list = list(cfg.rigid_objects)
        self._num_envs = num_envs
        self.root_physx_view = _PhysxView(len(self._object_names_list) * num_envs, 1, device)
        self._data = RigidObjectCollectionData(self.root_physx_view, num_envs, self.num_objects)
        self._data.object_names = self.object_names

    @property
    def data(self) -> RigidObjectCollectionData:
        return self._data

    @property
    def num_instances(self) -> int:
        return self.root_physx_view.count // self.num_objects

    @property
    def num_objects(self) -> int:
        return len(self.object_names)

    @property
    def object_names(self) -> list[str]:
        return self._object_names_list

    def _write_link_transforms_xyzw(self, env_ids: torch.Tensor, poses_xyzw: torch.Tensor) -> None:
        """``poses_xyzw``: (len(env_ids), num_objects, 7); written to the object-major view rows."""
        for o in range(self.num_objects):
            self.root_physx_view.transforms[o * self._num_envs + env_ids, 0] = poses_xyzw[:, o]
        self._data._object_link_pose_w.timestamp = -1.0

    def reset(self, env_ids: Any = None) -> None:
        pass

    def write_data_to_sim(self) -> None:
        pass

    def update(self, dt: float) -> None:
        self._data.update(dt)


# ---------------------------------------------------------------------------------------------------------- scene
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


class InteractiveScene:
    """The scene of the stand-in task: ``robot`` (3 links), ``ball`` (a rigid object), ``boxes`` (a collection)."""

    def __init__(self, cfg: InteractiveSceneCfg, device: str = "cpu", physics_dt: float = 1 / 120, with_stage=True):
        self.cfg = cfg
        self._device = device
        self._physics_dt = physics_dt
        self.stage = _build_stage() if with_stage else None
        self.env_prim_paths = [f"{self.env_ns}/env_{i}" for i in range(cfg.num_envs)]  # GridCloner.generate_paths
        self._default_env_origins = torch.tensor(
            [[cfg.env_spacing * i, 0.0, 0.0] for i in range(cfg.num_envs)], device=device
        )
        n = cfg.num_envs
        ns = self.env_regex_ns
        # {ENV_REGEX_NS} substituted as in InteractiveScene._add_entities_from_cfg
        robot = ArticulationCfg(prim_path="{ENV_REGEX_NS}/Robot")
        robot.prim_path = robot.prim_path.format(ENV_REGEX_NS=ns)
        ball = RigidObjectCfg(prim_path="{ENV_REGEX_NS}/Ball")
        ball.prim_path = ball.prim_path.format(ENV_REGEX_NS=ns)
        boxes = RigidObjectCollectionCfg(
            rigid_objects={
                "box_a": RigidObjectCfg(prim_path="{ENV_REGEX_NS}/BoxA"),
                "box_b": RigidObjectCfg(prim_path="{ENV_REGEX_NS}/BoxB"),
            }
        )
        for obj in boxes.rigid_objects.values():
            obj.prim_path = obj.prim_path.format(ENV_REGEX_NS=ns)
        self._articulations = {"robot": Articulation(robot, ["base", "arm", "hand"], n, device)}
        self._rigid_objects = {"ball": RigidObject(ball, n, device)}
        self._rigid_object_collections = {"boxes": RigidObjectCollection(boxes, n, device)}

    @property
    def physics_dt(self) -> float:
        return self._physics_dt

    @property
    def device(self) -> str:
        return self._device

    @property
    def env_ns(self) -> str:
        return "/World/envs"

    @property
    def env_regex_ns(self) -> str:
        return f"{self.env_ns}/env_.*"

    @property
    def num_envs(self) -> int:
        return self.cfg.num_envs

    @property
    def env_origins(self) -> torch.Tensor:
        return self._default_env_origins

    @property
    def articulations(self) -> dict[str, Articulation]:
        return self._articulations

    @property
    def rigid_objects(self) -> dict[str, RigidObject]:
        return self._rigid_objects

    @property
    def rigid_object_collections(self) -> dict[str, RigidObjectCollection]:
        return self._rigid_object_collections

    def _all(self) -> dict[str, Any]:
        return {**self._articulations, **self._rigid_objects, **self._rigid_object_collections}

    def keys(self) -> list[str]:
        return list(self._all())

    def __getitem__(self, key: str) -> Any:
        return self._all()[key]

    def reset(self, env_ids: Any = None) -> None:
        for asset in self._all().values():
            asset.reset(env_ids)

    def write_data_to_sim(self) -> None:
        for asset in self._all().values():
            asset.write_data_to_sim()

    def update(self, dt: float) -> None:
        for asset in self._all().values():
            asset.update(dt)


# ---------------------------------------------------------------------------------------------------------- env
class StandinDirectRLEnv(gym.Env):
    """A ``DirectRLEnv`` with Isaac Lab 2.3's step/reset structure and data conventions.

    Env ``i``'s episodes last ``lengths[i][k % len(lengths[i])]`` steps (episode ``k``); the even episodes end by
    termination, the odd ones by time-out.
    """

    is_vector_env = True
    metadata: ClassVar[dict[str, Any]] = {"render_modes": [None, "human", "rgb_array"]}

    def __init__(
        self, num_envs: int = 4, lengths: list[list[int]] | None = None, with_stage: bool = True, device: str = "cpu"
    ):
        self.cfg = DirectRLEnvCfg(sim=SimCfg(dt=1 / 120, device=device), decimation=2)
        self.render_mode = None
        self.scene = InteractiveScene(
            InteractiveSceneCfg(num_envs=num_envs), device=device, physics_dt=self.physics_dt, with_stage=with_stage
        )
        self.lengths = lengths or [[5 + i, 8 + i] for i in range(num_envs)]
        self.episode_length_buf = torch.zeros(num_envs, device=device, dtype=torch.long)
        self.reset_terminated = torch.zeros(num_envs, device=device, dtype=torch.bool)
        self.reset_time_outs = torch.zeros_like(self.reset_terminated)
        self.reset_buf = torch.zeros(num_envs, dtype=torch.bool, device=device)
        self.reward_buf = torch.zeros(num_envs, device=device)
        self.extras: dict[str, Any] = {}
        self.common_step_counter = 0
        self._sim_step_counter = 0
        self.single_observation_space = gym.spaces.Dict({"policy": gym.spaces.Box(-np.inf, np.inf, (1,))})
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (1,))
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        # stand-in bookkeeping (not Isaac Lab API)
        self.episode = torch.zeros(num_envs, dtype=torch.long)  # per-env episode counter
        self._phys_t = torch.zeros(num_envs, dtype=torch.float64)  # env steps of physics since the episode began
        self.history: list[dict[str, Any]] = []  # per step: poses before and after the reset (all rows, xyzw)
        self.reset_poses: list[dict[str, np.ndarray]] = []  # per reset() call: the poses it left (xyzw)

    # ------------------------------------------------------------------ DirectRLEnv properties
    @property
    def num_envs(self) -> int:
        return self.scene.num_envs

    @property
    def physics_dt(self) -> float:
        return self.cfg.sim.dt

    @property
    def step_dt(self) -> float:
        return self.cfg.sim.dt * self.cfg.decimation

    @property
    def device(self) -> str:
        return self.cfg.sim.device

    @property
    def max_episode_length(self) -> int:
        return math.ceil(self.cfg.episode_length_s / (self.cfg.sim.dt * self.cfg.decimation))

    # ------------------------------------------------------------------ DirectRLEnv operations
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        indices = torch.arange(self.num_envs, dtype=torch.int64, device=self.device)
        self._reset_idx(indices)
        self.episode.zero_()
        self._place(indices)
        self.scene.write_data_to_sim()
        self.reset_poses.append(self.all_poses_xyzw())
        return self._get_observations(), self.extras

    @staticmethod
    def seed(seed: int = -1) -> int:
        return seed

    def step(self, action: torch.Tensor) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        action = action.to(self.device)  # as in 2.3: a torch tensor is required
        self._pre_physics_step(action)
        for _ in range(self.cfg.decimation):
            self._sim_step_counter += 1
            self.scene.write_data_to_sim()
            self._sim_step()
            self.scene.update(dt=self.physics_dt)
        self.episode_length_buf += 1
        self.common_step_counter += 1
        self.reset_terminated[:], self.reset_time_outs[:] = self._get_dones()
        self.reset_buf = self.reset_terminated | self.reset_time_outs
        self.reward_buf = self._get_rewards()
        before = self.all_poses_xyzw()
        reset_env_ids = self.reset_buf.nonzero(as_tuple=False).squeeze(-1)
        if len(reset_env_ids) > 0:
            self._reset_idx(reset_env_ids)
        self.obs_buf = self._get_observations()
        self.history.append({"before": before, "after": self.all_poses_xyzw(), "done": self.reset_buf.cpu().numpy()})
        return self.obs_buf, self.reward_buf, self.reset_terminated, self.reset_time_outs, self.extras

    def _reset_idx(self, env_ids: torch.Tensor) -> None:
        """``DirectRLEnv._reset_idx`` (scene reset, episode length 0) + the task's own: new initial poses."""
        self.scene.reset(env_ids)
        self.episode_length_buf[env_ids] = 0
        self.episode[env_ids.cpu()] += 1
        self._phys_t[env_ids.cpu()] = 0
        self._place(env_ids)

    def close(self) -> None:
        pass

    # ------------------------------------------------------------------ the task
    def _pre_physics_step(self, action: torch.Tensor) -> None:
        self.actions = action.clone()

    def _get_observations(self) -> dict[str, torch.Tensor]:
        return {"policy": self.episode_length_buf.float().unsqueeze(-1) / 10.0}

    def _get_dones(self) -> tuple[torch.Tensor, torch.Tensor]:
        ep = self.episode.tolist()
        length = torch.tensor(
            [self.lengths[e][ep[e] % len(self.lengths[e])] for e in range(self.num_envs)], device=self.device
        )
        done = self.episode_length_buf >= length
        odd = (self.episode % 2 == 1).to(self.device)
        return done & ~odd, done & odd

    def _get_rewards(self) -> torch.Tensor:
        env = torch.arange(self.num_envs, dtype=torch.float32, device=self.device)
        return 1.0 + 0.1 * env + 0.01 * self.episode_length_buf.float()

    def _sim_step(self) -> None:
        """One physics step of the deterministic motion (1/decimation of an env step)."""
        self._phys_t += 1.0 / self.cfg.decimation
        self._place(torch.arange(self.num_envs, device=self.device))

    def _place(self, env_ids: torch.Tensor) -> None:
        """Every body of the given envs where the motion puts it now (written to the PhysX views, xyzw)."""
        ids = env_ids.cpu().tolist()
        for k, asset in enumerate(self._assets()):
            bodies = asset.num_bodies if hasattr(asset, "num_bodies") else asset.num_objects
            poses = torch.tensor(
                [[self._motion(e, b, k) for b in range(bodies)] for e in ids], dtype=torch.float32, device=self.device
            )
            asset._write_link_transforms_xyzw(env_ids.to(self.device), poses)

    def _motion(self, env: int, body: int, asset: int) -> list[float]:
        t = round(float(self._phys_t[env]), 9) + 0.37 * float(self.episode[env])
        angle = 0.1 * t + 0.5 * body + 0.2 * asset
        pos = [2.0 * env + 0.01 * t + 0.1 * body, 0.3 * asset + 0.02 * math.sin(t), 0.5 + 0.05 * body]
        axis = np.array([0.3 * body, 0.2, 1.0])
        axis /= np.linalg.norm(axis)
        s = math.sin(angle / 2)
        return [*pos, *(axis * s).tolist(), math.cos(angle / 2)]  # xyzw, as PhysX hands it out

    def _assets(self) -> list[Any]:
        s = self.scene
        return [*s.articulations.values(), *s.rigid_objects.values(), *s.rigid_object_collections.values()]

    # ------------------------------------------------------------------ test helpers (not Isaac Lab API)
    def all_poses_xyzw(self) -> dict[str, np.ndarray]:
        """(num_envs, num_bodies, 7) xyzw per asset, read through the 2.3 data API: what the simulator shows now."""
        out = {}
        for name, asset in (
            *self.scene.articulations.items(),
            *self.scene.rigid_objects.items(),
            *self.scene.rigid_object_collections.items(),
        ):
            d = asset.data
            pose = d.object_link_pose_w if hasattr(d, "object_link_pose_w") else d.body_link_pose_w
            p = pose.cpu().numpy().copy()
            out[name] = p[..., [0, 1, 2, 4, 5, 6, 3]]
        return out


def StandinGymEnv(base: StandinDirectRLEnv) -> gym.Env:
    """What ``gym.make(task)`` returns for an Isaac Lab task (registered with ``disable_env_checker=True``)."""
    return gym.wrappers.OrderEnforcing(base)
