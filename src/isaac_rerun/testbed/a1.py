"""Isaac Lab's own Unitree A1 velocity task, kit-less on the CPU with a locally built A1, and a nested-links A1.

The task is Isaac Lab's ``IsaacContrib-Velocity-Flat-UnitreeA1`` (:data:`A1_TASK_ID`; a manager-based env: velocity
commands, a contact sensor on every body, Isaac Lab's rewards, terminations, observations and events; rsl_rl / skrl /
SB3 agent configs in its registry entry), obtained with ``parse_env_cfg(A1_TASK_ID, ...,
overrides=["presets=newton_mjwarp"])`` (Newton / MuJoCo-Warp physics; without that override the task picks PhysX,
which needs Isaac Sim). Its A1 USD and its ground plane are on Isaac Lab's asset server; where that is out of reach,
:func:`a1_env_cfg` changes exactly two things:

* ``scene.robot.spawn.usd_path``: the A1 that ``scripts/setup.sh`` builds (``scripts/build_a1_asset.py``) from
  pybullet's A1 URDF into ``$XDG_CACHE_HOME/isaac-rerun/assets/a1-pybullet-3.2.7/a1.usd``: Isaac Lab's body and
  joint names (:data:`A1_BODY_NAMES`, :data:`A1_JOINT_NAMES`), every link a direct child of the robot prim (as in
  Isaac Lab's ``a1.usd``: the contact sensor matches ``{ENV_REGEX_NS}/Robot/[^/]*``), a floating base;
* ``scene.terrain``: ``terrain_type="usd"`` with a local USD of a 200 m x 200 m box slab whose top is z = 0 and
  whose physics material has the terrain's friction and restitution (written with ``pxr`` next to the A1 asset;
  Isaac Lab's ``"plane"`` loads a remote USD, and a generated flat *mesh* terrain fails in MuJoCo-Warp: "mesh volume
  is too small").

Everything else is the task as Isaac Lab registers it. Which A1 is used is decided by ``use_local_asset``:
``None`` (default) = the local build when it is there, else Isaac Lab's own assets when its asset server answers,
else :class:`A1AssetMissingError` (which says to run ``bash scripts/setup.sh``); ``True`` = the local build (error if
missing); ``False`` = the task untouched (Isaac Lab's assets, e.g. on a machine with Isaac Sim and its assets).

**A task id that works out of the box.** Importing this module (``import isaac_rerun.testbed`` does) registers
:data:`A1_KITLESS_TASK_ID` (``IsaacRerun-Velocity-Flat-UnitreeA1``) with Gymnasium: the same env class and the same
agent-config entry points as Isaac Lab's registration of :data:`A1_TASK_ID` (read from its ``gym.spec``), and as env
config entry point :func:`a1_kitless_env_cfg`: Isaac Lab's config with the two changes above and Newton as the
*default* physics preset (the other presets stay selectable). So Isaac Lab's own tools build it unchanged:
``parse_env_cfg(A1_KITLESS_TASK_ID, device="cpu", num_envs=4)`` and Hydra's ``resolve_task_config`` give exactly
:func:`a1_env_cfg`'s config, and ``isaaclab train --rl_library rsl_rl --task IsaacRerun-Velocity-Flat-UnitreeA1
--device cpu`` trains it (in a process that imported ``isaac_rerun.testbed`` first).

**The nested-links A1** (``a1_nested.usd``, built beside ``a1.usd``): the converted A1 with the root joint deleted
but every link still nested under its parent (``Robot/Geometry/trunk/FL_hip/FL_thigh/...``), as
``urdf-usd-converter`` writes it. :func:`a1_nested_articulation_cfg` loads it as a plain Isaac Lab
``ArticulationCfg`` (Isaac Lab's ``UNITREE_A1_CFG``: DC motors, standing pose); :func:`make_a1_nested_env` puts it in
a small kit-less scene (:class:`A1NestedSceneCfg`: a ground cuboid and the A1 per env, Newton) driven by a minimal
direct-workflow env (:class:`A1NestedEnv`: joint-position actions around the standing pose, time-outs and falls
end episodes), for recording tests of nested bodies.

Quick start::

    from isaac_rerun.testbed import make_a1_env

    env = make_a1_env(num_envs=8)  # gym.make(A1_KITLESS_TASK_ID, cfg=...) inside an entered launch_simulation context
    obs, _ = env.reset()
    obs, rew, terminated, truncated, extras = env.step(env.action_space.sample())  # (8, 12) joint targets
    env.close()  # closes the env and then the launch_simulation context
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import gymnasium as gym
import isaaclab.sim as sim_utils
import torch
from isaaclab.assets import Articulation, ArticulationCfg, AssetBaseCfg
from isaaclab.envs import DirectRLEnv, DirectRLEnvCfg
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sim import SimulationCfg
from isaaclab.sim.spawners.materials import RigidBodyMaterialBaseCfg
from isaaclab.utils import configclass
from isaaclab.utils.math import sample_uniform
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg, NewtonShapeCfg

from .env import apply_cfg_overrides

__all__ = [
    "A1_ASSET_DIR_NAME",
    "A1_BODY_NAMES",
    "A1_JOINT_NAMES",
    "A1_KITLESS_TASK_ID",
    "A1_NESTED_USD_NAME",
    "A1_PHYSICS_PRESET",
    "A1_TASK_ID",
    "A1AssetMissingError",
    "A1NestedEnv",
    "A1NestedEnvCfg",
    "A1NestedSceneCfg",
    "a1_env_cfg",
    "a1_ground_usd_path",
    "a1_kitless_env_cfg",
    "a1_nested_articulation_cfg",
    "local_a1_nested_usd_path",
    "local_a1_usd_path",
    "make_a1_env",
    "make_a1_nested_env",
]

A1_TASK_ID = "IsaacContrib-Velocity-Flat-UnitreeA1"
"""Isaac Lab's id of the flat-terrain Unitree A1 velocity-tracking task (registered by ``isaaclab_tasks``)."""

A1_KITLESS_TASK_ID = "IsaacRerun-Velocity-Flat-UnitreeA1"
"""The kit-less variant of :data:`A1_TASK_ID` registered by this module: env config :func:`a1_kitless_env_cfg`,
agent configs those of Isaac Lab's registration."""

A1_PHYSICS_PRESET = "newton_mjwarp"
"""The physics preset selected with ``parse_env_cfg(..., overrides=["presets=newton_mjwarp"])``: Newton
(MuJoCo-Warp), kit-less. The task's default, Isaac Sim's PhysX, needs Isaac Sim."""

A1_ASSET_DIR_NAME = "a1-pybullet-3.2.7"
"""Folder of the built A1 under ``$XDG_CACHE_HOME/isaac-rerun/assets`` (``scripts/build_a1_asset.py``)."""

A1_USD_NAME = "a1.usd"
"""The A1 the task uses: every link a direct child of the robot prim."""
A1_NESTED_USD_NAME = "a1_nested.usd"
"""The A1 as converted: every link nested under its parent link (``Geometry/trunk/FL_hip/FL_thigh/...``)."""

A1_BODY_NAMES: tuple[str, ...] = (
    "trunk",
    *(f"{leg}_{part}" for part in ("hip", "thigh", "calf", "foot") for leg in ("FL", "FR", "RL", "RR")),
)
"""Isaac Lab's 17 A1 bodies, in the order Isaac Lab lists them under PhysX (the trunk, then the hips, thighs, calves
and feet of FL, FR, RL, RR); Newton lists them leg by leg (trunk, FL_hip, FL_thigh, FL_calf, FL_foot, FR_hip, ...)."""

A1_JOINT_NAMES: tuple[str, ...] = tuple(
    f"{leg}_{part}_joint" for part in ("hip", "thigh", "calf") for leg in ("FL", "FR", "RL", "RR")
)
"""Isaac Lab's 12 A1 joints, in the order Isaac Lab lists them under PhysX (Newton: leg by leg)."""

GROUND_SIZE = 200.0
"""Side of the ground slab [m] (4096 envs at the task's 2.5 m spacing cover 160 m)."""
GROUND_THICKNESS = 1.0
"""Thickness of the ground slab [m]; its top face is the plane z = 0."""
GROUND_COLOR = (0.30, 0.32, 0.35)

_SETUP_HINT = "run `bash scripts/setup.sh` in the isaac-rerun repository (it builds the A1 from pybullet's URDF)"


class A1AssetMissingError(FileNotFoundError):
    """The locally built A1 USD is not there (and Isaac Lab's own A1 is out of reach)."""


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "isaac-rerun"


def _built(name: str) -> Path | None:
    folder = _cache_root() / "assets" / A1_ASSET_DIR_NAME
    usd = folder / name
    return usd if usd.is_file() and (folder / ".stamp").is_file() else None


def local_a1_usd_path() -> Path | None:
    """The locally built A1 USD (``scripts/build_a1_asset.py``), or ``None`` when it has not been built."""
    return _built(A1_USD_NAME)


def local_a1_nested_usd_path() -> Path | None:
    """The locally built nested-links A1 USD (``a1_nested.usd``), or ``None`` when it has not been built."""
    return _built(A1_NESTED_USD_NAME)


def _remote_asset_reachable(path: str) -> bool:
    """Whether Isaac Lab can load ``path``: a local file, or one its asset server reports.

    An ``http(s)`` host that does not even resolve or accept a connection within 3 s is unreachable; only then is
    Isaac Lab's own check (``check_file_path``, which can take a minute to give up) skipped.
    """
    if os.path.isfile(path):
        return True
    url = urlparse(path)
    if url.scheme in ("http", "https") and url.hostname:
        try:
            with socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), 3.0):
                pass
        except OSError:
            return False
    from isaaclab.utils.assets import check_file_path

    return check_file_path(path) != 0


def a1_ground_usd_path(static_friction: float = 1.0, dynamic_friction: float = 1.0, restitution: float = 0.0) -> Path:
    """A local USD of the ground slab (written once per set of material values, next to the A1 asset).

    A ``Cube`` collider ``GROUND_SIZE`` x ``GROUND_SIZE`` x ``GROUND_THICKNESS`` whose top face is z = 0, with a grey
    preview material and a physics material (``physics`` purpose) of the given friction and restitution.
    """
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdPhysics, UsdShade

    values = (GROUND_SIZE, GROUND_THICKNESS, GROUND_COLOR, static_friction, dynamic_friction, restitution)
    key = hashlib.sha256(repr(("ground-slab-v1", values)).encode()).hexdigest()[:12]
    path = _cache_root() / "assets" / f"ground-slab-{key}.usda"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/ground")
    stage.SetDefaultPrim(root.GetPrim())
    slab = UsdGeom.Cube.Define(stage, "/ground/slab")
    slab.CreateSizeAttr(1.0)
    slab.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, -GROUND_THICKNESS / 2))
    slab.AddScaleOp().Set(Gf.Vec3f(GROUND_SIZE, GROUND_SIZE, GROUND_THICKNESS))
    slab.CreateDisplayColorAttr([Gf.Vec3f(*GROUND_COLOR)])
    UsdPhysics.CollisionAPI.Apply(slab.GetPrim())

    looks = UsdShade.Material.Define(stage, "/ground/Looks/slab")
    shader = UsdShade.Shader.Define(stage, "/ground/Looks/slab/PreviewSurface")
    shader.CreateIdAttr("UsdPreviewSurface")
    shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*GROUND_COLOR))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(0.8)
    looks.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    physics = UsdShade.Material.Define(stage, "/ground/Looks/physics")
    material = UsdPhysics.MaterialAPI.Apply(physics.GetPrim())
    material.CreateStaticFrictionAttr(static_friction)
    material.CreateDynamicFrictionAttr(dynamic_friction)
    material.CreateRestitutionAttr(restitution)
    binding = UsdShade.MaterialBindingAPI.Apply(slab.GetPrim())
    binding.Bind(looks)
    binding.Bind(physics, UsdShade.Tokens.weakerThanDescendants, "physics")

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.usda")
    stage.GetRootLayer().Export(str(tmp))
    os.replace(tmp, path)
    return path


def _resolve_use_local(use_local_asset: bool | None, robot_usd_path: str) -> Path | None:
    """The local A1 USD to use, or ``None`` to keep the task's own; raises when neither can be loaded."""
    local = local_a1_usd_path()
    if use_local_asset is False:
        return None
    if local is not None:
        return local
    if use_local_asset is None and _remote_asset_reachable(robot_usd_path):
        return None
    raise A1AssetMissingError(
        f"the locally built Unitree A1 USD is missing ({_cache_root() / 'assets' / A1_ASSET_DIR_NAME / 'a1.usd'})"
        + ("" if use_local_asset else f" and Isaac Lab's own A1 ({robot_usd_path}) is out of reach")
        + f": {_SETUP_HINT}"
    )


def _patch_assets(cfg: Any, use_local_asset: bool | None) -> Any:
    """The two kit-less changes of the module doc (robot USD, ground slab), in place; the config is returned."""
    local = _resolve_use_local(use_local_asset, cfg.scene.robot.spawn.usd_path)
    if local is not None:
        cfg.scene.robot.spawn = cfg.scene.robot.spawn.replace(usd_path=str(local))
        material = cfg.scene.terrain.physics_material
        cfg.scene.terrain.terrain_type = "usd"
        cfg.scene.terrain.usd_path = str(
            a1_ground_usd_path(material.static_friction, material.dynamic_friction, material.restitution)
        )
    return cfg


def a1_env_cfg(num_envs: int = 8, device: str = "cpu", seed: int | None = 0, use_local_asset: bool | None = None):
    """Isaac Lab's config of :data:`A1_TASK_ID` with Newton physics, patched for kit-less use without its assets.

    Args:
        num_envs: Number of parallel environments.
        device: Simulation device, e.g. ``"cpu"`` or ``"cuda:0"``.
        seed: Seed of the environment (``None`` leaves it unseeded).
        use_local_asset: ``None``: the local A1 build and ground slab when the build is there, else the task's own
            assets when Isaac Lab's asset server answers; ``True``: the local ones; ``False``: the task's own.

    Returns:
        The task's ``ManagerBasedRLEnvCfg`` from ``parse_env_cfg(A1_TASK_ID, device=device, num_envs=num_envs,
        overrides=["presets=newton_mjwarp"])``, with (local assets only) ``scene.robot.spawn.usd_path`` and
        ``scene.terrain`` changed as the module doc says. With the default ``use_local_asset`` (and ``seed=None``)
        it is what Isaac Lab's ``parse_env_cfg(A1_KITLESS_TASK_ID, device=device, num_envs=num_envs)`` returns.

    Raises:
        A1AssetMissingError: The local A1 is wanted (or the only one in reach) but not built.
    """
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab_tasks.utils import parse_env_cfg

    cfg: Any = parse_env_cfg(A1_TASK_ID, device=device, num_envs=num_envs, overrides=[f"presets={A1_PHYSICS_PRESET}"])
    cfg.seed = seed
    return _patch_assets(cfg, use_local_asset)


def a1_kitless_env_cfg() -> Any:
    """The env config entry point of :data:`A1_KITLESS_TASK_ID` (called by Isaac Lab's ``load_cfg_from_registry``).

    Isaac Lab's own config of :data:`A1_TASK_ID` (its registered ``env_cfg_entry_point``), unresolved, with Newton
    (:data:`A1_PHYSICS_PRESET`) as the default physics preset instead of PhysX — ``physics=`` / ``presets=`` still
    select any of the task's physics presets — and the A1 and ground of :func:`a1_env_cfg` (``use_local_asset=None``:
    the local build, else Isaac Lab's own assets when they are in reach, else :class:`A1AssetMissingError`).
    Resolved by ``parse_env_cfg`` / ``resolve_task_config`` without overrides it equals ``a1_env_cfg(seed=None)``
    with the task's own ``num_envs`` and device.
    """
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    cfg: Any = load_cfg_from_registry(A1_TASK_ID, "env_cfg_entry_point")
    physics = cfg.sim.physics
    physics.default = getattr(physics, A1_PHYSICS_PRESET)  # the same object: its tuning (njmax, ...) is kept
    return _patch_assets(cfg, None)


def _register_kitless_task() -> None:
    """Register :data:`A1_KITLESS_TASK_ID` like Isaac Lab registers :data:`A1_TASK_ID` (see the module doc)."""
    if A1_KITLESS_TASK_ID in gym.registry:
        return
    try:
        import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks: A1_TASK_ID's spec is read below)

        spec = gym.spec(A1_TASK_ID)
    except (ImportError, gym.error.Error):  # an Isaac Lab without its tasks, or without this one: nothing to vary
        return
    kwargs = dict(spec.kwargs)  # the agent-config entry points (rsl_rl, skrl, sb3, ...) and any other entries
    kwargs["env_cfg_entry_point"] = f"{__name__}:{a1_kitless_env_cfg.__name__}"
    gym.register(
        id=A1_KITLESS_TASK_ID,
        entry_point=spec.entry_point,
        disable_env_checker=spec.disable_env_checker,
        kwargs=kwargs,
    )


_register_kitless_task()


def _make_in_launch_context(task_id: str, cfg: Any, device: str) -> gym.Env:
    """``gym.make(task_id, cfg=cfg)`` inside an entered ``launch_simulation`` context that ``env.close()`` closes
    after the env."""
    from isaaclab.app import launch_simulation

    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": device}))
    try:
        env = gym.make(task_id, cfg=cfg)
    except BaseException:
        stack.close()
        raise
    close = env.close

    def close_env_then_launch_context() -> None:
        try:
            close()
        finally:
            stack.close()

    env.close = close_env_then_launch_context  # type: ignore[method-assign]
    return env


def make_a1_env(
    num_envs: int = 8,
    device: str = "cpu",
    seed: int | None = 0,
    use_local_asset: bool | None = None,
    **cfg_overrides: Any,
) -> gym.Env:
    """Build the A1 task the way Isaac Lab's scripts do (as :func:`isaac_rerun.testbed.make_env` does).

    The config is :func:`a1_env_cfg`'s; the simulation launch context (:func:`isaaclab.app.launch_simulation`) is
    entered here and kept alive for the environment's lifetime: ``env.close()`` closes the environment first and the
    launch context second. Only one Isaac Lab environment can be open per process at a time.

    Args:
        num_envs: Number of parallel environments.
        device: Simulation device.
        seed: Seed of the environment (``None`` leaves it unseeded).
        use_local_asset: See :func:`a1_env_cfg`.
        **cfg_overrides: Values for attributes of the config, a nested one addressed with ``__``, e.g.
            ``episode_length_s=5.0`` or ``commands__base_velocity__debug_vis=False``.

    Returns:
        The environment returned by ``gym.make(task_id, cfg=cfg)``: :data:`A1_KITLESS_TASK_ID` when the local A1 is
        used, else :data:`A1_TASK_ID` (Isaac Lab's assets); ``env.unwrapped`` is Isaac Lab's ``ManagerBasedRLEnv``.

    Raises:
        A1AssetMissingError: See :func:`a1_env_cfg`.
        AttributeError: If an override names an attribute the configuration does not have.
    """
    cfg = a1_env_cfg(num_envs=num_envs, device=device, seed=seed, use_local_asset=use_local_asset)
    apply_cfg_overrides(cfg, cfg_overrides)
    local = local_a1_usd_path()
    task_id = A1_KITLESS_TASK_ID if local is not None and cfg.scene.robot.spawn.usd_path == str(local) else A1_TASK_ID
    return _make_in_launch_context(task_id, cfg, device)


# ----------------------------------------------------------------------------------------------------------------
# The nested-links A1 in a small scene


def a1_nested_articulation_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """Isaac Lab's ``UNITREE_A1_CFG`` (DC motors, standing pose at 0.42 m) spawned from ``a1_nested.usd``.

    Raises:
        A1AssetMissingError: The nested A1 has not been built.
    """
    from isaaclab_assets.robots.unitree import UNITREE_A1_CFG

    usd = local_a1_nested_usd_path()
    if usd is None:
        missing = _cache_root() / "assets" / A1_ASSET_DIR_NAME / A1_NESTED_USD_NAME
        raise A1AssetMissingError(f"the nested-links Unitree A1 USD is missing ({missing}): {_SETUP_HINT}")
    cfg: Any = UNITREE_A1_CFG.replace(prim_path=prim_path)
    cfg.spawn = cfg.spawn.replace(usd_path=str(usd))
    return cfg


NESTED_GROUND_SIZE = 20.0
"""Side of the nested scene's ground cuboid [m] (0.2 m thick, top face at z = 0)."""


@configclass
class A1NestedSceneCfg(InteractiveSceneCfg):
    """A ground cuboid and, per env, the nested-links A1 (:func:`a1_nested_articulation_cfg`, set when the env
    config is made: ``robot=None`` here)."""

    ground = AssetBaseCfg(
        prim_path="/World/ground",
        spawn=sim_utils.CuboidCfg(
            size=(NESTED_GROUND_SIZE, NESTED_GROUND_SIZE, 0.2),
            collision_props=sim_utils.UsdPhysicsCollisionCfg(),
            visual_material=sim_utils.PreviewSurfaceCfg(diffuse_color=GROUND_COLOR, roughness=0.8),
        ),
        init_state=AssetBaseCfg.InitialStateCfg(pos=(0.0, 0.0, -0.1)),
    )
    robot: ArticulationCfg | None = None


def _nested_physics() -> NewtonCfg:
    """Newton / MuJoCo-Warp as Isaac Lab's flat A1 task tunes it (``newton_mjwarp`` preset)."""
    return NewtonCfg(
        solver_cfg=MJWarpSolverCfg(
            njmax=60, nconmax=30, cone="pyramidal", impratio=1.0, integrator="implicitfast", use_mujoco_contacts=False
        ),
        num_substeps=2,
        default_shape_cfg=NewtonShapeCfg(margin=0.0, ke=160000.0, kd=1100.0),
    )


@configclass
class A1NestedEnvCfg(DirectRLEnvCfg):
    """Configuration of :class:`A1NestedEnv` (the task's timing: 5 ms physics steps, 4 per env step)."""

    decimation: int = 4
    episode_length_s: float = 5.0
    action_scale: float = 0.25
    """Joint-position offset per unit action [rad], around the standing pose (as the A1 task's action)."""
    action_space: int = 12
    observation_space: int = 45
    state_space: int = 0
    sim: SimulationCfg = SimulationCfg(
        device="cpu",
        dt=0.005,
        render_interval=4,
        physics=_nested_physics(),
        physics_material=RigidBodyMaterialBaseCfg(static_friction=1.0, dynamic_friction=1.0),
    )
    scene: A1NestedSceneCfg = A1NestedSceneCfg(num_envs=4, env_spacing=2.5, replicate_physics=True)
    min_base_height: float = 0.15
    """The episode terminates when the trunk is lower than this [m] or tilts beyond 60°."""
    reset_joint_noise: float = 0.1
    """Uniform noise on the standing pose's joint positions at reset [rad]."""

    def __post_init__(self) -> None:
        if self.scene.robot is None:
            self.scene.robot = a1_nested_articulation_cfg()


class A1NestedEnv(DirectRLEnv):
    """Stand and step on the nested-links A1: a minimal direct-workflow env around :class:`A1NestedSceneCfg`.

    * action (12): joint-position targets, the standing pose plus :attr:`~A1NestedEnvCfg.action_scale` x action;
    * observation (``"policy"``, 45): base linear and angular velocity (base frame), projected gravity, joint
      positions relative to the standing pose, joint velocities, the last action;
    * reward: staying upright (``-projected_gravity_z``) minus a small action cost, per second;
    * terminated: the trunk below :attr:`~A1NestedEnvCfg.min_base_height` or tilted beyond 60°; truncated: time-out;
    * reset: the standing pose at the env's origin, joints jittered by :attr:`~A1NestedEnvCfg.reset_joint_noise`.
    """

    cfg: A1NestedEnvCfg

    def __init__(self, cfg: A1NestedEnvCfg, render_mode: str | None = None, **kwargs: Any):
        self._launch_stack: contextlib.ExitStack | None = None  # closed by close(), after the env
        super().__init__(cfg, render_mode, **kwargs)
        self.robot: Articulation = self.scene["robot"]
        self.actions = torch.zeros(self.num_envs, self.cfg.action_space, device=self.device)

    def close(self) -> None:
        """Close the environment and then the launch context :func:`make_a1_nested_env` entered, if any."""
        super().close()
        stack, self._launch_stack = self._launch_stack, None
        if stack is not None:
            stack.close()

    def _pre_physics_step(self, actions: torch.Tensor) -> None:
        self.actions = actions.clone()

    def _apply_action(self) -> None:
        target = self.robot.data.default_joint_pos.torch + self.cfg.action_scale * self.actions
        self.robot.set_joint_position_target_index(target=target)

    def _get_observations(self) -> dict:
        data = self.robot.data
        obs = torch.cat(
            (
                data.root_lin_vel_b.torch,
                data.root_ang_vel_b.torch,
                data.projected_gravity_b.torch,
                data.joint_pos.torch - data.default_joint_pos.torch,
                data.joint_vel.torch,
                self.actions,
            ),
            dim=-1,
        )
        return {"policy": obs}

    def _get_rewards(self) -> torch.Tensor:
        upright = -self.robot.data.projected_gravity_b.torch[:, 2]
        return (upright - 0.01 * self.actions.square().sum(dim=-1)) * self.step_dt

    def _get_dones(self) -> tuple[torch.Tensor, torch.Tensor]:
        data = self.robot.data
        fallen = (data.root_pos_w.torch[:, 2] < self.cfg.min_base_height) | (
            data.projected_gravity_b.torch[:, 2] > -math.cos(math.radians(60.0))
        )
        return fallen, self.episode_length_buf >= self.max_episode_length

    def _reset_idx(self, env_ids: Sequence[int] | torch.Tensor | None) -> None:
        if env_ids is None:
            env_ids = self.robot._ALL_INDICES
        super()._reset_idx(env_ids)
        env_ids = torch.as_tensor(env_ids, device=self.device, dtype=torch.long)
        noise = self.cfg.reset_joint_noise
        joint_pos = self.robot.data.default_joint_pos.torch[env_ids].clone()
        joint_pos += sample_uniform(-noise, noise, tuple(joint_pos.shape), joint_pos.device)
        root_pose = self.robot.data.default_root_pose.torch[env_ids].clone()
        root_pose[:, :3] += self.scene.env_origins[env_ids]
        self.robot.write_root_pose_to_sim_index(root_pose=root_pose, env_ids=env_ids)
        self.robot.write_root_velocity_to_sim_index(
            root_velocity=torch.zeros(len(env_ids), 6, device=self.device), env_ids=env_ids
        )
        self.robot.write_joint_position_to_sim_index(position=joint_pos, env_ids=env_ids)
        self.robot.write_joint_velocity_to_sim_index(velocity=torch.zeros_like(joint_pos), env_ids=env_ids)
        self.actions[env_ids] = 0.0


def make_a1_nested_env(num_envs: int = 4, device: str = "cpu", seed: int | None = 0, **cfg_overrides: Any) -> gym.Env:
    """Build :class:`A1NestedEnv` (the nested-links A1 in :class:`A1NestedSceneCfg`) inside an entered
    ``launch_simulation`` context that ``env.close()`` closes after the env.

    Args:
        num_envs: Number of parallel environments.
        device: Simulation device.
        seed: Seed of the environment (``None`` leaves it unseeded).
        **cfg_overrides: Values for attributes of :class:`A1NestedEnvCfg`, a nested one addressed with ``__``, e.g.
            ``episode_length_s=1.0``.

    Returns:
        A ``gymnasium.Env`` whose ``unwrapped`` is the :class:`A1NestedEnv` (made directly, not through the registry:
        it is a test scene, not a task).

    Raises:
        A1AssetMissingError: The nested A1 has not been built.
    """
    from isaaclab.app import launch_simulation

    cfg = A1NestedEnvCfg()
    cfg.scene.num_envs = num_envs
    cfg.sim.device = device
    cfg.seed = seed
    apply_cfg_overrides(cfg, cfg_overrides)
    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": device}))
    try:
        env = A1NestedEnv(cfg)
    except BaseException:
        stack.close()
        raise
    env._launch_stack = stack
    return env
