"""The test bed as a manager-based task: the same scene, with Isaac Lab's reward, termination, command, action managers.

``IsaacRerun-Testbed-Managed`` (:data:`MANAGED_TASK_ID`) is the cart with the two-link pole of
:mod:`isaac_rerun.testbed.env`, written the way Isaac Lab's own manager-based tasks are (its cart-pole task's terms,
:mod:`isaaclab.envs.mdp`): a joint-effort action on the cart, joint observations, five weighted reward terms (one with
weight 0, as Isaac Lab tasks keep metric-only terms), three termination terms (``time_out``, ``cart_out_of_bounds``,
``pole_fell``) and a base-velocity command (``UniformVelocityCommand`` on the robot's fixed base: the measured base
velocity stays 0). Small and fast: it is what the signal tests read back against the managers' own buffers.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import isaaclab.envs.mdp as mdp
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.sim import SimulationCfg
from isaaclab.utils import configclass
from isaaclab_newton.physics import NewtonCfg

from .env import TestbedSceneCfg, apply_cfg_overrides

__all__ = ["MANAGED_TASK_ID", "TestbedManagedEnvCfg", "make_managed_env"]

MANAGED_TASK_ID = "IsaacRerun-Testbed-Managed"
"""Gymnasium id of the manager-based test-bed task."""

_CART = SceneEntityCfg("robot", joint_names=["cart_slider"])
_POLE = SceneEntityCfg("robot", joint_names=["pole_hinge"])


@configclass
class ActionsCfg:
    cart_effort = mdp.JointEffortActionCfg(asset_name="robot", joint_names=["cart_slider"], scale=20.0)


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObsGroup):
        joint_pos_rel = ObsTerm(func=mdp.joint_pos_rel)
        joint_vel_rel = ObsTerm(func=mdp.joint_vel_rel)
        velocity_command = ObsTerm(func=mdp.generated_commands, params={"command_name": "base_velocity"})

        def __post_init__(self) -> None:
            self.enable_corruption = False
            self.concatenate_terms = True

    policy: PolicyCfg = PolicyCfg()


@configclass
class CommandsCfg:
    base_velocity = mdp.UniformVelocityCommandCfg(
        asset_name="robot",
        resampling_time_range=(0.5, 1.0),
        heading_command=False,
        rel_standing_envs=0.0,
        debug_vis=False,
        ranges=mdp.UniformVelocityCommandCfg.Ranges(
            lin_vel_x=(-1.0, 1.0), lin_vel_y=(-0.5, 0.5), ang_vel_z=(-1.0, 1.0)
        ),
    )


@configclass
class RewardsCfg:
    alive = RewTerm(func=mdp.is_alive, weight=1.0)
    terminating = RewTerm(func=mdp.is_terminated, weight=-2.0)
    pole_pos = RewTerm(func=mdp.joint_pos_target_l2, weight=-1.0, params={"asset_cfg": _POLE, "target": 0.0})
    cart_vel = RewTerm(func=mdp.joint_vel_l1, weight=-0.01, params={"asset_cfg": _CART})
    metric_only = RewTerm(func=mdp.joint_vel_l1, weight=0.0, params={"asset_cfg": _POLE})


@configclass
class TerminationsCfg:
    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    cart_out_of_bounds = DoneTerm(
        func=mdp.joint_pos_out_of_manual_limit, params={"asset_cfg": _CART, "bounds": (-1.5, 1.5)}
    )
    pole_fell = DoneTerm(func=mdp.joint_pos_out_of_manual_limit, params={"asset_cfg": _POLE, "bounds": (-0.2, 0.2)})


@configclass
class EventCfg:
    reset_scene = EventTerm(func=mdp.reset_scene_to_default, mode="reset")
    reset_joints = EventTerm(
        func=mdp.reset_joints_by_offset,
        mode="reset",
        params={"asset_cfg": SceneEntityCfg("robot"), "position_range": (-0.1, 0.1), "velocity_range": (-0.1, 0.1)},
    )


@configclass
class TestbedManagedEnvCfg(ManagerBasedRLEnvCfg):
    """The manager-based test bed (see the module docstring)."""

    sim: SimulationCfg = SimulationCfg(device="cpu", dt=1 / 120, render_interval=2, physics=NewtonCfg())
    scene: TestbedSceneCfg = TestbedSceneCfg(num_envs=4, env_spacing=5.0, replicate_physics=True)
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()
    commands: CommandsCfg = CommandsCfg()
    rewards: RewardsCfg = RewardsCfg()
    terminations: TerminationsCfg = TerminationsCfg()
    events: EventCfg = EventCfg()

    def __post_init__(self) -> None:
        self.decimation = 2
        self.episode_length_s = 2.0


if MANAGED_TASK_ID not in gym.registry:
    gym.register(
        id=MANAGED_TASK_ID,
        entry_point="isaaclab.envs:ManagerBasedRLEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": f"{__name__}:TestbedManagedEnvCfg",
            "rsl_rl_cfg_entry_point": "isaac_rerun.testbed.agents:TestbedPPORunnerCfg",
            "skrl_cfg_entry_point": "isaac_rerun.testbed.agents:isaaclab_skrl_ppo_cfg",
            "sb3_cfg_entry_point": "isaac_rerun.testbed.agents:isaaclab_sb3_ppo_cfg",
            "default_agent": "rsl_rl",
        },
    )


def make_managed_env(num_envs: int = 4, device: str = "cpu", seed: int | None = 0, **cfg_overrides: Any) -> gym.Env:
    """Build the manager-based test bed as Isaac Lab's scripts do (``gym.make`` inside an entered
    ``launch_simulation`` context that ``env.close()`` closes after the env); overrides as
    :func:`~isaac_rerun.testbed.make_env`'s."""
    from .a1 import _make_in_launch_context

    cfg = TestbedManagedEnvCfg()
    cfg.scene.num_envs = num_envs
    cfg.sim.device = device
    cfg.seed = seed
    apply_cfg_overrides(cfg, cfg_overrides)
    return _make_in_launch_context(MANAGED_TASK_ID, cfg, device)
