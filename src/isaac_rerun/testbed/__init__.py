"""A small, real Isaac Lab 3.x RL task bundled for tests, examples and benchmarks (needs the ``isaaclab`` extra).

It runs kit-less on the CPU with Newton physics and loads nothing from the network: a cart-and-two-link-pole robot
authored with ``pxr`` (:mod:`isaac_rerun.testbed.assets`, committed as ``assets/robot.usda``), one rigid object per
Isaac Lab spawner primitive, a rigid-object collection and a ground slab; a contact sensor on the cuboid, a ray-caster
height scanner on the cart and a goal marker per env (an effort arrow too with ``env.unwrapped.set_debug_vis(True)``).
Optional: a generated rough terrain instead of the slab (``make_env(scene__ground=None,
scene__terrain=TESTBED_TERRAIN_CFG)``) and a camera per env (``make_env(scene__camera=TESTBED_CAMERA_CFG)``), both
from :mod:`isaac_rerun.testbed.env`.

Importing this subpackage imports Isaac Lab and registers the Gymnasium task :data:`TASK_ID`
(``import isaac_rerun`` alone never imports Isaac Lab). Quick start::

    from isaac_rerun.testbed import make_env

    env = make_env(num_envs=4)  # gym.make(TASK_ID, cfg=...) inside an entered launch_simulation context
    obs, _ = env.reset()
    obs, rew, terminated, truncated, extras = env.step(env.action_space.sample())  # any (num_envs, 1) tensor works
    env.close()  # closes the env *and* the launch_simulation context make_env entered

Or, the way Isaac Lab's own scripts do it::

    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from isaac_rerun.testbed import TASK_ID, TestbedEnvCfg

    cfg = TestbedEnvCfg()
    with launch_simulation(cfg, {"device": "cpu"}):
        env = gym.make(TASK_ID, cfg=cfg)
        ...
        env.close()
"""

from __future__ import annotations

import contextlib
from typing import Any

import gymnasium as gym

from .a1 import A1_TASK_ID, a1_env_cfg, make_a1_env
from .env import RIGID_OBJECT_NAMES, TestbedEnv, TestbedEnvCfg, TestbedSceneCfg, apply_cfg_overrides
from .managed import MANAGED_TASK_ID, TestbedManagedEnvCfg, make_managed_env

__all__ = [
    "A1_TASK_ID",
    "MANAGED_TASK_ID",
    "RIGID_OBJECT_NAMES",
    "TASK_ID",
    "TestbedEnv",
    "TestbedEnvCfg",
    "TestbedManagedEnvCfg",
    "TestbedSceneCfg",
    "a1_env_cfg",
    "make_a1_env",
    "make_env",
    "make_managed_env",
]

TASK_ID = "IsaacRerun-Testbed-Direct"
"""Gymnasium id of the test-bed task."""

if TASK_ID not in gym.registry:
    gym.register(
        id=TASK_ID,
        entry_point=f"{__name__}.env:TestbedEnv",
        disable_env_checker=True,
        kwargs={
            "env_cfg_entry_point": f"{__name__}.env:TestbedEnvCfg",
            # the agent configs of `isaaclab train|play --rl_library X` and `isaac-rerun train|play` (agents.py)
            "rsl_rl_cfg_entry_point": f"{__name__}.agents:TestbedPPORunnerCfg",
            "skrl_cfg_entry_point": f"{__name__}.agents:isaaclab_skrl_ppo_cfg",
            "sb3_cfg_entry_point": f"{__name__}.agents:isaaclab_sb3_ppo_cfg",
            "default_agent": "rsl_rl",
        },
    )


def make_env(num_envs: int = 4, device: str = "cpu", seed: int | None = 0, **cfg_overrides: Any) -> gym.Env:
    """Build the test-bed task the way Isaac Lab's scripts do and return the ``gym.make`` environment.

    The simulation launch context (:func:`isaaclab.app.launch_simulation`) is entered here and kept alive for the
    environment's lifetime: ``env.close()`` (:meth:`TestbedEnv.close`) closes the environment first and the
    launch context second. Only one Isaac Lab environment can be open per process at a time; close it before making
    the next one.

    Args:
        num_envs: Number of parallel environments.
        device: Simulation device, e.g. ``"cpu"`` or ``"cuda:0"``.
        seed: Seed of the environment (``None`` leaves it unseeded).
        **cfg_overrides: Values for attributes of :class:`TestbedEnvCfg`, e.g. ``episode_length_s=2.0``. A nested
            attribute is addressed with ``__``, e.g. ``scene__env_spacing=3.0`` or ``sim__dt=0.005``.

    Returns:
        The environment returned by ``gym.make(TASK_ID, cfg=cfg)``; ``env.unwrapped`` is the :class:`TestbedEnv`.

    Raises:
        AttributeError: If an override names an attribute the configuration does not have.
    """
    from isaaclab.app import launch_simulation

    cfg = TestbedEnvCfg()
    cfg.scene.num_envs = num_envs
    cfg.sim.device = device
    cfg.seed = seed
    apply_cfg_overrides(cfg, cfg_overrides)

    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": device}))
    try:
        env = gym.make(TASK_ID, cfg=cfg)
    except BaseException:
        stack.close()
        raise
    base = env.unwrapped
    assert isinstance(base, TestbedEnv)
    base._launch_stack = stack  # closed by TestbedEnv.close(), after the env itself
    return env
