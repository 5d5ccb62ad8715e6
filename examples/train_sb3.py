"""Train Stable-Baselines3 PPO on an Isaac Lab task and record snippets of the scene to Rerun (``.rrd`` files).

It follows Isaac Lab's SB3 training script: the task env is wrapped with ``Sb3VecEnvWrapper`` (and ``VecNormalize``),
and ``RerunCallback`` is passed to ``model.learn(callback=...)``. Runs the bundled test-bed task kit-less on the CPU
by default::

    .venv/bin/python examples/train_sb3.py --timesteps 8192 --rerun_dir runs/rerun

On a GPU machine with Isaac Lab's tasks installed, any task works:
``--task Isaac-Cartpole-Direct --device cuda:0 --num_envs 64``.

``--timesteps`` counts SB3 timesteps (``num_envs`` per vector step); ``--rerun_interval`` counts vector steps, as
Isaac Lab's ``--video_interval`` does.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default=None, help="Gymnasium task id (default: the bundled test bed)")
    p.add_argument("--num_envs", type=int, default=16)
    p.add_argument("--device", default="cpu")
    p.add_argument("--timesteps", type=int, default=8192, help="SB3 timesteps to train (num_envs per vector step)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rerun_interval", type=int, default=128, help="start a recording every N vector steps")
    p.add_argument("--rerun_length", type=int, default=100, help="frames per recording (0 = until the episode ends)")
    p.add_argument("--rerun_dir", default="runs/rerun", help="folder for the .rrd recordings")
    p.add_argument("--rerun_envs", default="0,1", help="comma-separated env indices to record")
    return p.parse_args()


def make_env(args: argparse.Namespace):
    """The task as Isaac Lab's scripts build it; returns the env and an exit stack to close after it."""
    import gymnasium as gym
    from isaaclab.app import launch_simulation

    if args.task is None:
        from isaac_rerun.testbed import make_env as make_testbed

        return make_testbed(num_envs=args.num_envs, device=args.device, seed=args.seed), contextlib.ExitStack()
    import isaaclab_tasks  # noqa: F401  (registers Isaac Lab's tasks)
    from isaaclab_tasks.utils import parse_env_cfg

    cfg = parse_env_cfg(args.task, device=args.device, num_envs=args.num_envs)
    cfg.seed = args.seed
    stack = contextlib.ExitStack()
    stack.enter_context(launch_simulation(cfg, {"device": args.device}))
    return gym.make(args.task, cfg=cfg), stack


def main() -> None:
    args = parse_args()
    from isaaclab_rl.sb3 import Sb3VecEnvWrapper
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from isaac_rerun import every_n
    from isaac_rerun.integrations.sb3 import RerunCallback

    env, stack = make_env(args)
    with stack:
        try:
            venv = VecNormalize(Sb3VecEnvWrapper(env), norm_obs=True, norm_reward=True, clip_obs=10.0)
            n_steps = 64
            model = PPO(
                "MlpPolicy",
                venv,
                n_steps=n_steps,
                batch_size=n_steps * venv.num_envs // 4,
                policy_kwargs={"net_arch": [64, 64]},
                seed=args.seed,
                device=args.device,
                verbose=1,  # SB3's progress table after each rollout
            )
            print(f"training PPO on {venv.num_envs} envs for {args.timesteps} timesteps ({n_steps} steps per rollout)")
            with RerunCallback(
                save_dir=args.rerun_dir,
                logged_envs=[int(e) for e in args.rerun_envs.split(",")],
                step_trigger=every_n(args.rerun_interval),
                recording_length=args.rerun_length,
                name_prefix="sb3-ppo",
                verbose=1,  # one line per saved recording
            ) as recording:
                model.learn(args.timesteps, callback=recording)
        finally:
            env.close()
    files = recording.paths
    print(f"\nwrote {len(files)} recordings to {Path(args.rerun_dir).resolve()}:")
    for f in files:
        print(f"  {f}")
    for f in recording.metrics_paths:
        print(f"training curves (SB3's logger): {f}")
    print(f"\nopen them with:  .venv/bin/rerun {args.rerun_dir}/*.rrd")


if __name__ == "__main__":
    main()
