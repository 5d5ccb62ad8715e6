"""Train skrl PPO on an Isaac Lab task and record snippets of the scene to Rerun (``.rrd`` files), the Isaac Lab way.

It follows Isaac Lab's skrl training script: the task env is wrapped with ``SkrlVecEnvWrapper``, skrl's ``Runner``
builds models, agent and trainer from the agent config, and ``attach_rerun(runner.trainer, ...)`` records the
trainer's ``train()`` without rebuilding anything. Runs the bundled test-bed task kit-less on the CPU by default::

    .venv/bin/python examples/train_skrl.py --timesteps 960 --rerun_dir runs/rerun

On a GPU machine with Isaac Lab's tasks installed, any task with a skrl agent config works:
``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``.

``--timesteps`` counts skrl timesteps (vector env steps; one PPO iteration is ``rollouts`` of them).
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

ROLLOUTS = 16

# skrl Runner config for the test bed, in the shape of Isaac Lab's `skrl_ppo_cfg.yaml` files
TESTBED_AGENT_CFG = {
    "seed": 0,
    "models": {
        "separate": False,
        "policy": {
            "class": "GaussianMixin",
            "clip_actions": False,
            "initial_log_std": 0.0,
            "network": [{"name": "net", "input": "OBSERVATIONS", "layers": [64, 64], "activations": "elu"}],
            "output": "ACTIONS",
        },
        "value": {
            "class": "DeterministicMixin",
            "network": [{"name": "net", "input": "OBSERVATIONS", "layers": [64, 64], "activations": "elu"}],
            "output": "ONE",
        },
    },
    "memory": {"class": "RandomMemory", "memory_size": -1},
    "agent": {
        "class": "PPO",
        "rollouts": ROLLOUTS,
        "learning_epochs": 4,
        "mini_batches": 2,
        "learning_rate": 1e-3,
        "observation_preprocessor": "RunningStandardScaler",
        "value_preprocessor": "RunningStandardScaler",
        "experiment": {"directory": "runs/skrl", "write_interval": ROLLOUTS, "checkpoint_interval": 0},
    },
    "trainer": {"class": "SequentialTrainer", "timesteps": 960},
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default=None, help="Gymnasium task id (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--timesteps", type=int, default=960, help="skrl timesteps (vector env steps) to train")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rerun_interval", type=int, default=5, help="record every N-th episode of the tracked env")
    p.add_argument("--rerun_length", type=int, default=0, help="frames per snippet (0 = whole episodes)")
    p.add_argument("--rerun_dir", default="runs/rerun", help="folder for the .rrd snippets")
    p.add_argument("--rerun_envs", default="0,1", help="comma-separated env indices to record")
    return p.parse_args()


def make_env(args: argparse.Namespace):
    """The task as Isaac Lab's scripts build it; returns the env, its skrl agent config and an exit stack."""
    import copy

    import gymnasium as gym
    from isaaclab.app import launch_simulation

    if args.task is None:
        from isaac_rerun.testbed import make_env as make_testbed

        env = make_testbed(num_envs=args.num_envs, device=args.device, seed=args.seed)
        return env, copy.deepcopy(TESTBED_AGENT_CFG), contextlib.ExitStack()
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab_tasks.utils import load_cfg_from_registry, parse_env_cfg

    cfg = parse_env_cfg(args.task, device=args.device, num_envs=args.num_envs)
    cfg.seed = args.seed
    agent_cfg = load_cfg_from_registry(args.task, "skrl_cfg_entry_point")
    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": args.device}))
    return gym.make(args.task, cfg=cfg), agent_cfg, stack


def main() -> None:
    args = parse_args()
    from isaaclab_rl.skrl import SkrlVecEnvWrapper
    from skrl.utils.runner.torch import Runner

    from isaac_rerun import every_n
    from isaac_rerun.integrations.skrl import attach_rerun

    env, agent_cfg, stack = make_env(args)
    agent_cfg["seed"] = args.seed
    agent_cfg["trainer"]["timesteps"] = args.timesteps
    agent_cfg["trainer"]["close_environment_at_exit"] = False  # the env is closed below, after the recording
    agent_cfg["trainer"]["headless"] = True
    with stack:
        try:
            runner = Runner(SkrlVecEnvWrapper(env, ml_framework="torch"), agent_cfg)
            rollouts = getattr(runner.agent.cfg, "rollouts", None)
            print(
                f"training skrl {type(runner.agent).__name__} on {env.unwrapped.num_envs} envs for {args.timesteps} "
                f"timesteps" + (f" ({args.timesteps // rollouts} iterations of {rollouts} steps)" if rollouts else "")
            )
            with attach_rerun(
                runner.trainer,
                save_dir=args.rerun_dir,
                logged_envs=[int(e) for e in args.rerun_envs.split(",")],
                episode_trigger=every_n(args.rerun_interval),
                recording_length=args.rerun_length,
                name_prefix="skrl-ppo",
                verbose=1,  # one line per finished snippet
            ) as recording:
                runner.run("train")
            print(f"\ntracked env {recording.recorder.tracked_env}: {recording.recorder.episode_id} episodes")
        finally:
            env.close()
    files = recording.paths
    print(f"\nwrote {len(files)} recordings to {Path(args.rerun_dir).resolve()}:")
    for f in files:
        print(f"  {f}")
    if recording.metrics_path is not None:
        print(f"training curves (skrl's TensorBoard scalars): {recording.metrics_path}")
    print(f"\nopen them with:  .venv/bin/rerun {args.rerun_dir}/*.rrd")


if __name__ == "__main__":
    main()
