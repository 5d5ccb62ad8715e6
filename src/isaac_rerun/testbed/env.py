"""The test-bed direct-workflow RL task: balance a two-link pole on a cart, among rigid props.

Everything is local: the robot is the committed USD of :mod:`isaac_rerun.testbed.assets`, the props and the
ground are Isaac Lab spawner primitives. It runs kit-less on the CPU with Newton (MuJoCo-Warp) physics.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import isaaclab.sim as sim_utils
import isaaclab.terrains as terrain_gen
import torch
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import (
    Articulation,
    ArticulationCfg,
    AssetBaseCfg,
    RigidObject,
    RigidObjectCfg,
    RigidObjectCollection,
    RigidObjectCollectionCfg,
)
from isaaclab.envs import DirectRLEnv, DirectRLEnvCfg
from isaaclab.markers import VisualizationMarkers, VisualizationMarkersCfg
from isaaclab.markers.config import BLUE_ARROW_X_MARKER_CFG
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.sensors import CameraCfg, ContactSensorCfg, RayCasterCfg, patterns
from isaaclab.sim import SimulationCfg
from isaaclab.terrains import TerrainGeneratorCfg, TerrainImporterCfg
from isaaclab.utils import configclass
from isaaclab.utils.math import sample_uniform
from isaaclab_newton.physics import NewtonCfg
from isaaclab_newton.renderers import NewtonWarpRendererCfg
from isaaclab_newton.sim.schemas import NewtonArticulationCfg

from .assets import JOINT_NAMES, POLE_HINGE_OFFSET, POLE_LENGTH, ROBOT_USD_PATH, TIP_LENGTH

__all__ = [
    "RIGID_OBJECT_NAMES",
    "TESTBED_CAMERA_CFG",
    "TESTBED_TERRAIN_CFG",
    "TestbedEnv",
    "TestbedEnvCfg",
    "TestbedSceneCfg",
    "apply_cfg_overrides",
]

RIGID_OBJECT_NAMES: tuple[str, ...] = ("cuboid", "sphere", "capsule", "cylinder", "cone")
"""Keys of the single rigid objects in :attr:`InteractiveScene.rigid_objects`, one per spawner primitive."""


def _dynamic_props(mass: float) -> dict:
    """Spawner keyword arguments of a dynamic, colliding rigid body of the given mass [kg]."""
    return {
        "rigid_props": sim_utils.UsdPhysicsRigidBodyCfg(),
        "mass_props": sim_utils.MassCfg(mass=mass),
        "collision_props": sim_utils.UsdPhysicsCollisionCfg(),
    }


def _surface(rgb: tuple[float, float, float]) -> sim_utils.PreviewSurfaceCfg:
    return sim_utils.PreviewSurfaceCfg(diffuse_color=rgb, roughness=0.4)


TESTBED_ROBOT_CFG = ArticulationCfg(
    spawn=sim_utils.UsdFileCfg(
        usd_path=str(ROBOT_USD_PATH),
        articulation_props=[NewtonArticulationCfg(self_collision_enabled=False)],
    ),
    init_state=ArticulationCfg.InitialStateCfg(
        pos=(0.0, 0.0, 1.5),
        joint_pos={name: 0.0 for name in JOINT_NAMES},
    ),
    actuators={
        # the policy pushes the cart with an effort; a little viscous damping keeps it tame
        "cart": ImplicitActuatorCfg(
            joint_names_expr=["cart_slider"], joint_effort_limit=100.0, stiffness=0.0, damping=1.0
        ),
        # the lower pole is unactuated but strongly damped: it falls slowly enough that a random policy
        # survives some episodes (time-outs) and loses others (terminations)
        "pole": ImplicitActuatorCfg(joint_names_expr=["pole_hinge"], stiffness=0.0, damping=4.0),
        # the tip is a springy second link
        "tip": ImplicitActuatorCfg(joint_names_expr=["tip_hinge"], stiffness=4.0, damping=0.1),
    },
)
"""The test-bed robot: a cart on a rail welded to the world, with a two-link pole (4 bodies, 3 DoF)."""


TESTBED_TERRAIN_CFG = TerrainImporterCfg(
    prim_path="/World/ground",
    terrain_type="generator",
    terrain_generator=TerrainGeneratorCfg(
        size=(5.0, 5.0),
        border_width=1.0,
        num_rows=2,
        num_cols=2,
        use_cache=False,
        color_scheme="height",
        sub_terrains={
            "flat": terrain_gen.MeshPlaneTerrainCfg(proportion=0.25),
            "boxes": terrain_gen.MeshRandomGridTerrainCfg(
                proportion=0.35, grid_width=0.45, grid_height_range=(0.02, 0.08), platform_width=1.0
            ),
            "rough": terrain_gen.HfRandomUniformTerrainCfg(
                proportion=0.4, noise_range=(0.01, 0.05), noise_step=0.01, border_width=0.25
            ),
        },
    ),
    # the envs stay on the env_spacing grid (not one per sub-terrain, where several envs would share an origin)
    use_terrain_origins=False,
    visual_material=None,  # the vertex colours (by height) show
)
"""A generated rough terrain (a procedural ``Mesh`` at ``/World/ground/terrain/mesh``, made on the CPU, no download)
for :attr:`TestbedSceneCfg.terrain`; use it with ``ground=None``: ``make_env(scene__ground=None,
scene__terrain=TESTBED_TERRAIN_CFG)``."""

TESTBED_CAMERA_CFG = CameraCfg(
    prim_path="{ENV_REGEX_NS}/Camera",
    update_period=0.0,
    height=60,
    width=80,
    data_types=["rgb", "distance_to_image_plane"],
    spawn=sim_utils.PinholeCameraCfg(focal_length=12.0, clipping_range=(0.05, 20.0)),
    # beside the rail, looking at the robot along +y (world convention: forward +x, up +z; rotated 90° about z)
    offset=CameraCfg.OffsetCfg(pos=(0.0, -4.5, 1.8), rot=(0.0, 0.0, 0.7071068, 0.7071068), convention="world"),
    renderer_cfg=NewtonWarpRendererCfg(),
)
"""An 80x60 RGB + depth camera per env looking at the robot, rendered kit-less by Newton's Warp ray tracer, for
:attr:`TestbedSceneCfg.camera`. It must be in the cfg handed to ``launch_simulation`` (``make_env(scene__camera=...)``
does that)."""

GOAL_OFFSET = (0.0, POLE_HINGE_OFFSET[1], 1.5 + POLE_HINGE_OFFSET[2] + POLE_LENGTH + TIP_LENGTH)
"""Where the goal marker floats, relative to the env origin: the tip of the upright pole with the cart centred."""


@configclass
class TestbedSceneCfg(InteractiveSceneCfg):
    """Scene of the test bed: ground slab, robot, one rigid object per primitive and a small collection."""

    ground = AssetBaseCfg(
        prim_path="/World/ground",
        spawn=sim_utils.CuboidCfg(
            size=(60.0, 60.0, 0.1),
            collision_props=sim_utils.UsdPhysicsCollisionCfg(),
            visual_material=_surface((0.30, 0.32, 0.35)),
        ),
        init_state=AssetBaseCfg.InitialStateCfg(pos=(0.0, 0.0, -0.05)),
    )
    """Static ground: a thin collision box whose top face is the plane z = 0."""

    robot: ArticulationCfg = TESTBED_ROBOT_CFG.replace(prim_path="{ENV_REGEX_NS}/Robot")

    cuboid = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Cuboid",
        spawn=sim_utils.CuboidCfg(
            size=(0.2, 0.15, 0.1), visual_material=_surface((0.9, 0.2, 0.2)), **_dynamic_props(0.5)
        ),
        init_state=RigidObjectCfg.InitialStateCfg(pos=(-1.2, -0.9, 0.3), rot=(0.0, 0.0, 0.2588190, 0.9659258)),
    )
    sphere = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Sphere",
        spawn=sim_utils.SphereCfg(radius=0.08, visual_material=_surface((0.2, 0.8, 0.2)), **_dynamic_props(0.3)),
        init_state=RigidObjectCfg.InitialStateCfg(pos=(-0.6, -0.9, 0.4)),
    )
    capsule = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Capsule",
        spawn=sim_utils.CapsuleCfg(
            radius=0.05, height=0.2, axis="X", visual_material=_surface((0.2, 0.3, 0.9)), **_dynamic_props(0.3)
        ),
        init_state=RigidObjectCfg.InitialStateCfg(pos=(0.0, -0.9, 0.3)),
    )
    cylinder = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Cylinder",
        spawn=sim_utils.CylinderCfg(
            radius=0.07, height=0.15, axis="Z", visual_material=_surface((0.9, 0.8, 0.1)), **_dynamic_props(0.4)
        ),
        init_state=RigidObjectCfg.InitialStateCfg(pos=(0.6, -0.9, 0.3)),
    )
    cone = RigidObjectCfg(
        prim_path="{ENV_REGEX_NS}/Cone",
        spawn=sim_utils.ConeCfg(
            radius=0.08,
            height=0.2,
            axis="Z",
            visual_material=_surface((0.8, 0.3, 0.9)),
            # MuJoCo-Warp has no cone collider: no collision props, and kinematic so it does not fall forever
            rigid_props=sim_utils.UsdPhysicsRigidBodyCfg(kinematic_enabled=True),
            mass_props=sim_utils.MassCfg(mass=0.2),
        ),
        init_state=RigidObjectCfg.InitialStateCfg(pos=(1.2, -0.9, 0.1)),
    )
    """Kinematic cone standing on the ground (it has no collider, see above)."""

    collection = RigidObjectCollectionCfg(
        rigid_objects={
            "box": RigidObjectCfg(
                prim_path="{ENV_REGEX_NS}/Collection_Box",
                spawn=sim_utils.CuboidCfg(
                    size=(0.12, 0.12, 0.12), visual_material=_surface((0.6, 0.4, 0.2)), **_dynamic_props(0.2)
                ),
                init_state=RigidObjectCfg.InitialStateCfg(pos=(-0.4, 0.9, 0.1)),
            ),
            "ball": RigidObjectCfg(
                prim_path="{ENV_REGEX_NS}/Collection_Ball",
                spawn=sim_utils.SphereCfg(
                    radius=0.05, visual_material=_surface((0.1, 0.7, 0.7)), **_dynamic_props(0.1)
                ),
                init_state=RigidObjectCfg.InitialStateCfg(pos=(0.0, 0.9, 0.2)),
            ),
            "can": RigidObjectCfg(
                prim_path="{ENV_REGEX_NS}/Collection_Can",
                spawn=sim_utils.CylinderCfg(
                    radius=0.04, height=0.12, visual_material=_surface((0.7, 0.7, 0.75)), **_dynamic_props(0.1)
                ),
                init_state=RigidObjectCfg.InitialStateCfg(pos=(0.4, 0.9, 0.1)),
            ),
        }
    )
    """A rigid-object collection of three small dynamic props."""

    cuboid_contact = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Cuboid")
    """Contact forces on the cuboid (its weight while it rests on the ground)."""

    height_scanner = RayCasterCfg(
        prim_path="{ENV_REGEX_NS}/Robot/cart",
        offset=RayCasterCfg.OffsetCfg(pos=(0.0, 0.0, 2.0)),
        ray_alignment="yaw",
        pattern_cfg=patterns.GridPatternCfg(resolution=0.5, size=(1.0, 0.5)),
        mesh_prim_paths=["/World/ground"],
    )
    """A 3x2 grid of rays cast down from 2 m above the cart (Newton casts against every collision shape)."""

    goal_marker = VisualizationMarkersCfg(
        prim_path="/Visuals/CartGoal",
        markers={"goal": sim_utils.SphereCfg(radius=0.06, visual_material=_surface((1.0, 0.55, 0.0)))},
    )
    """The point the tip should stay at (drawn by the env at every reset, as Isaac Lab's goal markers are)."""

    terrain: TerrainImporterCfg | None = None
    """Optional generated terrain (:data:`TESTBED_TERRAIN_CFG`) instead of the ground slab."""

    camera: CameraCfg | None = None
    """Optional camera per env (:data:`TESTBED_CAMERA_CFG`)."""


def apply_cfg_overrides(cfg: Any, overrides: dict[str, Any]) -> None:
    """``key=value`` overrides of config attributes, a nested one addressed with ``__`` (``scene__env_spacing``): the
    ``**cfg_overrides`` of :func:`isaac_rerun.testbed.make_env` and :func:`~isaac_rerun.testbed.a1.make_a1_env`."""
    for key, value in overrides.items():
        *parents, leaf = key.split("__")
        target = cfg
        for name in parents:
            target = getattr(target, name)
        if not hasattr(target, leaf):
            raise AttributeError(f"{type(cfg).__name__} has no attribute {key.replace('__', '.')!r}")
        setattr(target, leaf, value)


@configclass
class TestbedEnvCfg(DirectRLEnvCfg):
    """Configuration of :class:`TestbedEnv`."""

    # env
    decimation: int = 2
    episode_length_s: float = 3.0
    action_scale: float = 20.0
    """Cart effort per unit action [N]; actions are clipped to [-1, 1] first."""
    action_space: int = 1
    observation_space: int = 6
    state_space: int = 0

    # simulation
    sim: SimulationCfg = SimulationCfg(device="cpu", dt=1 / 120, render_interval=2, physics=NewtonCfg())

    # scene
    scene: TestbedSceneCfg = TestbedSceneCfg(num_envs=4, env_spacing=5.0, replicate_physics=True)

    # joints
    cart_dof_name: str = "cart_slider"
    pole_dof_name: str = "pole_hinge"
    tip_dof_name: str = "tip_hinge"

    # terminations
    max_cart_pos: float = 1.8
    """The episode terminates when the cart leaves [-max_cart_pos, max_cart_pos] [m]."""
    max_pole_angle: float = 0.8
    """The episode terminates when the lower pole tilts beyond this angle [rad]."""

    # reset
    initial_cart_position_range: tuple[float, float] = (-0.3, 0.3)  # [m]
    initial_pole_angle_range: tuple[float, float] = (-0.15, 0.15)  # [rad]
    initial_tip_angle_range: tuple[float, float] = (-0.1, 0.1)  # [rad]
    initial_joint_velocity_range: tuple[float, float] = (-0.1, 0.1)  # [m/s] or [rad/s]

    # reward scales
    rew_scale_alive: float = 1.0
    rew_scale_terminated: float = -2.0
    rew_scale_upright: float = 1.0
    rew_scale_cart_vel: float = -0.01


class TestbedEnv(DirectRLEnv):
    """Keep a two-link pole upright by pushing its cart; the props in the scene are along for the ride.

    * action: cart effort, 1-D, clipped to [-1, 1] and scaled by :attr:`TestbedEnvCfg.action_scale`.
    * observation (``"policy"``): joint positions relative to the defaults and joint velocities (6-D).
    * reward: alive bonus plus an uprightness term, a termination penalty and a small cart-velocity cost.
    * terminated: the pole tilts beyond :attr:`~TestbedEnvCfg.max_pole_angle` or the cart leaves the rail's middle.
    * truncated: the episode reaches :attr:`~TestbedEnvCfg.episode_length_s`.

    On reset the joints get small random offsets and every prop is put back to its default pose in its env.
    """

    cfg: TestbedEnvCfg

    def __init__(self, cfg: TestbedEnvCfg, render_mode: str | None = None, **kwargs):
        # the launch_simulation context isaac_rerun.testbed.make_env entered; closed in close()
        self._launch_stack: contextlib.ExitStack | None = None
        super().__init__(cfg, render_mode, **kwargs)
        self.robot: Articulation = self.scene["robot"]
        self.props: dict[str, RigidObject] = {name: self.scene[name] for name in RIGID_OBJECT_NAMES}
        self.collection: RigidObjectCollection = self.scene["collection"]

        ids = [self.robot.find_joints(n)[0][0] for n in (cfg.cart_dof_name, cfg.pole_dof_name, cfg.tip_dof_name)]
        self._cart_dof_idx, self._pole_dof_idx, self._tip_dof_idx = ids
        self._dof_ids = torch.tensor(ids, device=self.device)
        self._cart_body_idx = self.robot.find_bodies("cart")[0][0]
        self._cart_dof_ids = torch.tensor([self._cart_dof_idx], device=self.device)
        self.actions = torch.zeros(self.num_envs, 1, device=self.device)
        self.effort_marker: VisualizationMarkers | None = None

    # -- debug visualization --------------------------------------------------------------------------------------

    def _set_debug_vis_impl(self, debug_vis: bool) -> None:
        """``env.set_debug_vis(True)``: an arrow over each cart shows the effort the policy applies."""
        if debug_vis and self.effort_marker is None:
            self.effort_marker = VisualizationMarkers(BLUE_ARROW_X_MARKER_CFG.replace(prim_path="/Visuals/CartEffort"))
        if self.effort_marker is not None:
            self.effort_marker.set_visibility(debug_vis)

    def _debug_vis_callback(self, event) -> None:
        """Draw the effort arrows: along +x or -x, as long as the action's magnitude (scaled by 0.5 m)."""
        if self.effort_marker is None:
            return
        cart = self.robot.data.body_link_pose_w.torch[:, self._cart_body_idx, :3] + torch.tensor(
            [0.0, 0.0, 0.25], device=self.device
        )
        effort = self.actions[:, 0]
        quat = torch.zeros(self.num_envs, 4, device=self.device)
        quat[:, 3] = torch.where(effort >= 0, 1.0, 0.0)  # identity, or a half turn about z (xyzw)
        quat[:, 2] = torch.where(effort >= 0, 0.0, 1.0)
        scales = torch.tensor([[1.0, 1.0, 1.0]], device=self.device).repeat(self.num_envs, 1)
        scales[:, 0] = 0.5 * effort.abs()
        self.effort_marker.visualize(translations=cart, orientations=quat, scales=scales)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def close(self):
        """Close the environment and then the simulation launch context :func:`make_env` entered, if any."""
        super().close()
        stack, self._launch_stack = self._launch_stack, None
        if stack is not None:
            stack.close()

    # -- MDP ------------------------------------------------------------------------------------------------------

    def _pre_physics_step(self, actions: torch.Tensor) -> None:
        self.actions = actions.clamp(-1.0, 1.0)

    def _apply_action(self) -> None:
        self.robot.actuators.target_command.set_effort_index(
            value=self.cfg.action_scale * self.actions, joint_ids=self._cart_dof_ids
        )

    def _get_observations(self) -> dict:
        joint_pos = self.robot.data.joint_pos.torch - self.robot.data.default_joint_pos.torch
        joint_vel = self.robot.data.joint_vel.torch
        obs = torch.cat((joint_pos[:, self._dof_ids], joint_vel[:, self._dof_ids]), dim=-1)
        return {"policy": obs}

    def _get_rewards(self) -> torch.Tensor:
        joint_pos = self.robot.data.joint_pos.torch
        joint_vel = self.robot.data.joint_vel.torch
        pole = joint_pos[:, self._pole_dof_idx]
        tip = pole + joint_pos[:, self._tip_dof_idx]
        terminated = self.reset_terminated.float()
        upright = 0.5 * (torch.cos(pole) + torch.cos(tip))
        reward = (
            self.cfg.rew_scale_alive * (1.0 - terminated)
            + self.cfg.rew_scale_terminated * terminated
            + self.cfg.rew_scale_upright * upright
            + self.cfg.rew_scale_cart_vel * joint_vel[:, self._cart_dof_idx].abs()
        )
        return reward * self.step_dt

    def _get_dones(self) -> tuple[torch.Tensor, torch.Tensor]:
        joint_pos = self.robot.data.joint_pos.torch
        time_out = self.episode_length_buf >= self.max_episode_length
        cart_out = joint_pos[:, self._cart_dof_idx].abs() > self.cfg.max_cart_pos
        pole_down = joint_pos[:, self._pole_dof_idx].abs() > self.cfg.max_pole_angle
        return cart_out | pole_down, time_out

    def _reset_idx(self, env_ids: Sequence[int] | torch.Tensor | None):
        if env_ids is None:
            env_ids = self.robot._ALL_INDICES
        super()._reset_idx(env_ids)
        env_ids = torch.as_tensor(env_ids, device=self.device, dtype=torch.long)
        n = len(env_ids)
        origins = self.scene.env_origins[env_ids]

        # robot: default root pose in its env, joints jittered around the defaults
        joint_pos = self.robot.data.default_joint_pos.torch[env_ids].clone()
        joint_vel = self.robot.data.default_joint_vel.torch[env_ids].clone()
        for dof, (lo, hi) in (
            (self._cart_dof_idx, self.cfg.initial_cart_position_range),
            (self._pole_dof_idx, self.cfg.initial_pole_angle_range),
            (self._tip_dof_idx, self.cfg.initial_tip_angle_range),
        ):
            joint_pos[:, dof] += sample_uniform(lo, hi, (n,), joint_pos.device)
        lo, hi = self.cfg.initial_joint_velocity_range
        joint_vel[:, self._dof_ids] += sample_uniform(lo, hi, (n, len(self._dof_ids)), joint_vel.device)
        root_pose = self.robot.data.default_root_pose.torch[env_ids].clone()
        root_pose[:, :3] += origins
        self.robot.write_root_pose_to_sim_index(root_pose=root_pose, env_ids=env_ids)
        self.robot.write_root_velocity_to_sim_index(
            root_velocity=self.robot.data.default_root_vel.torch[env_ids].clone(), env_ids=env_ids
        )
        self.robot.write_joint_position_to_sim_index(position=joint_pos, env_ids=env_ids)
        self.robot.write_joint_velocity_to_sim_index(velocity=joint_vel, env_ids=env_ids)

        # props: back to their default poses, at rest
        for prop in self.props.values():
            pose = prop.data.default_root_pose.torch[env_ids].clone()
            pose[:, :3] += origins
            prop.write_root_pose_to_sim_index(root_pose=pose, env_ids=env_ids)
            prop.write_root_velocity_to_sim_index(
                root_velocity=prop.data.default_root_vel.torch[env_ids].clone(), env_ids=env_ids
            )
        # the goal markers: drawn for every env at each reset (a new array: the old one may still be recorded)
        goal = self.scene.env_origins + torch.tensor(GOAL_OFFSET, device=self.device)
        self.scene.extras["goal_marker"].visualize(translations=goal)

        body_pose = self.collection.data.default_body_pose.torch[env_ids].clone()
        body_pose[..., :3] += origins.unsqueeze(1)
        self.collection.write_body_pose_to_sim_index(body_poses=body_pose, env_ids=env_ids)
        self.collection.write_body_velocity_to_sim_index(
            body_velocities=self.collection.data.default_body_vel.torch[env_ids].clone(), env_ids=env_ids
        )
