"""Agent configurations for the test bed, as Isaac Lab ships them beside its tasks (``agents/``)."""

from __future__ import annotations

from typing import Any

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
