"""Agent configurations for the test bed, as Isaac Lab ships them beside its tasks (``agents/``).

Two kinds:

* plain dicts for the Python APIs (:func:`sb3_ppo_cfg`, :func:`rsl_rl_ppo_cfg`, :func:`skrl_ppo_cfg`), used by the
  tests and benchmarks;
* the agent configs of the task's Gymnasium registry entry, in the shapes Isaac Lab 3.x's ``isaaclab train|play
  --rl_library X`` (and ``isaac-rerun train|play``) load them: :class:`TestbedPPORunnerCfg` (a configclass, as
  rsl_rl's backend needs: ``rsl_rl_cfg_entry_point``), :func:`isaaclab_skrl_ppo_cfg` and :func:`isaaclab_sb3_ppo_cfg`
  (dicts in the shape of Isaac Lab's ``skrl_ppo_cfg.yaml`` / ``sb3_ppo_cfg.yaml``: ``skrl_cfg_entry_point``,
  ``sb3_cfg_entry_point``). Their log folders: ``logs/rsl_rl/isaac_rerun_testbed/<date>``,
  ``logs/skrl/isaac_rerun_testbed/<date>_ppo_torch``, ``logs/sb3/IsaacRerun-Testbed-Direct/<date>``.

:class:`TestbedPPORunnerCfg` is built on first use (it needs ``isaaclab_rl.rsl_rl``, i.e. rsl-rl-lib), so importing
this module needs no RL library.
"""

from __future__ import annotations

from typing import Any

EXPERIMENT_NAME = "isaac_rerun_testbed"
"""The registry agent configs' experiment name (rsl_rl) / directory (skrl): ``logs/<library>/isaac_rerun_testbed``."""

SB3_PPO_N_STEPS = 64
"""Vector steps per SB3 PPO rollout in :func:`sb3_ppo_cfg`."""


def sb3_ppo_cfg(num_envs: int, n_steps: int = SB3_PPO_N_STEPS) -> dict[str, Any]:
    """Keyword arguments of a small SB3 ``PPO("MlpPolicy", venv, **cfg)`` for the test bed (4 minibatches)."""
    return {"n_steps": n_steps, "batch_size": n_steps * num_envs // 4, "policy_kwargs": {"net_arch": [64, 64]}}


def rsl_rl_ppo_cfg(seed: int = 0, max_iterations: int = 30, num_steps_per_env: int = 24) -> dict[str, Any]:
    """A small rsl_rl 5.x ``OnPolicyRunner`` PPO configuration (the dict ``OnPolicyRunner`` takes)."""
    mlp = {"class_name": "MLPModel", "hidden_dims": [32, 32], "activation": "elu"}
    return {
        "class_name": "OnPolicyRunner",
        "seed": seed,
        "num_steps_per_env": num_steps_per_env,
        "max_iterations": max_iterations,
        "save_interval": 50,
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "algorithm": {
            "class_name": "PPO",
            "learning_rate": 1e-3,
            "num_learning_epochs": 4,
            "num_mini_batches": 2,
            "schedule": "adaptive",
            "desired_kl": 0.01,
            "value_loss_coef": 1.0,
            "clip_param": 0.2,
            "use_clipped_value_loss": True,
            "entropy_coef": 0.005,
            "gamma": 0.99,
            "lam": 0.95,
            "max_grad_norm": 1.0,
        },
        "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0}},
        "critic": mlp,
    }


def skrl_ppo_cfg(seed: int = 0, timesteps: int = 960, rollouts: int = 16) -> dict[str, Any]:
    """A skrl ``Runner`` PPO configuration, in the shape of Isaac Lab's ``skrl_ppo_cfg.yaml`` files."""
    net = [{"name": "net", "input": "OBSERVATIONS", "layers": [64, 64], "activations": "elu"}]
    return {
        "seed": seed,
        "models": {
            "separate": False,
            "policy": {
                "class": "GaussianMixin",
                "clip_actions": False,
                "initial_log_std": 0.0,
                "network": net,
                "output": "ACTIONS",
            },
            "value": {"class": "DeterministicMixin", "network": [dict(n) for n in net], "output": "ONE"},
        },
        "memory": {"class": "RandomMemory", "memory_size": -1},
        "agent": {
            "class": "PPO",
            "rollouts": rollouts,
            "learning_epochs": 4,
            "mini_batches": 2,
            "learning_rate": 1e-3,
            "observation_preprocessor": "RunningStandardScaler",
            "value_preprocessor": "RunningStandardScaler",
            "experiment": {"directory": "runs/skrl", "write_interval": rollouts, "checkpoint_interval": 0},
        },
        "trainer": {"class": "SequentialTrainer", "timesteps": timesteps},
    }


# ------------------------------------------------------------------------------------ the registry's agent configs
def isaaclab_skrl_ppo_cfg() -> dict[str, Any]:
    """``skrl_cfg_entry_point``: :func:`skrl_ppo_cfg` in Isaac Lab's YAML shape (experiment under
    ``logs/skrl/isaac_rerun_testbed``, TensorBoard and checkpoints at skrl's ``auto`` intervals, 30 iterations)."""
    cfg = skrl_ppo_cfg(seed=42, timesteps=30 * 16, rollouts=16)
    cfg["agent"]["experiment"] = {
        "directory": EXPERIMENT_NAME,
        "experiment_name": "",
        "write_interval": "auto",
        "checkpoint_interval": "auto",
    }
    cfg["trainer"]["environment_info"] = "log"
    return cfg


def isaaclab_sb3_ppo_cfg() -> dict[str, Any]:
    """``sb3_cfg_entry_point``: :func:`sb3_ppo_cfg` in Isaac Lab's YAML shape (4 minibatches whatever ``num_envs``,
    observations and rewards normalized by ``VecNormalize``, 32 rollouts of 16 envs)."""
    return {
        "seed": 42,
        "n_timesteps": 32 * SB3_PPO_N_STEPS * 16,
        "policy": "MlpPolicy",
        "n_steps": SB3_PPO_N_STEPS,
        "n_minibatches": 4,
        "gamma": 0.99,
        "policy_kwargs": {"net_arch": [64, 64]},
        "normalize_input": True,
        "normalize_value": True,
        "clip_obs": 10.0,
        "device": "auto",
    }


def _testbed_ppo_runner_cfg() -> type:
    from isaaclab.utils import configclass
    from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

    ref = rsl_rl_ppo_cfg()
    alg = {k: v for k, v in ref["algorithm"].items() if k != "class_name"}

    @configclass
    class TestbedPPORunnerCfg(RslRlOnPolicyRunnerCfg):
        """``rsl_rl_cfg_entry_point``: :func:`rsl_rl_ppo_cfg` as the configclass Isaac Lab's rsl_rl backend needs."""

        num_steps_per_env = ref["num_steps_per_env"]
        max_iterations = ref["max_iterations"]
        save_interval = ref["save_interval"]
        experiment_name = EXPERIMENT_NAME
        obs_groups = ref["obs_groups"]
        actor = RslRlMLPModelCfg(
            hidden_dims=[32, 32],
            activation="elu",
            obs_normalization=False,
            distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=1.0),
        )
        critic = RslRlMLPModelCfg(hidden_dims=[32, 32], activation="elu", obs_normalization=False)
        algorithm = RslRlPpoAlgorithmCfg(**alg)

    TestbedPPORunnerCfg.__module__ = __name__
    return TestbedPPORunnerCfg


_LAZY: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name == "TestbedPPORunnerCfg":  # built on first use: it needs isaaclab_rl.rsl_rl (rsl-rl-lib)
        if name not in _LAZY:
            _LAZY[name] = _testbed_ppo_runner_cfg()
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
