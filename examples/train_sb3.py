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
from pathlib import Path

from isaac_rerun.testbed.cli import logged_envs, make_task_env, print_recordings, scene_log_cfg, task_parser


def parse_args() -> argparse.Namespace:
    p = task_parser(__doc__, rerun_length=100)
    p.add_argument("--timesteps", type=int, default=8192, help="SB3 timesteps to train (num_envs per vector step)")
    p.add_argument("--rerun_interval", type=int, default=128, help="start a recording every N vector steps")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    from isaaclab_rl.sb3 import Sb3VecEnvWrapper
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from isaac_rerun import every_n
    from isaac_rerun.integrations.sb3 import RerunCallback
    from isaac_rerun.testbed.agents import sb3_ppo_cfg

    env = make_task_env(args)
    try:
        venv = VecNormalize(Sb3VecEnvWrapper(env), norm_obs=True, norm_reward=True, clip_obs=10.0)
        cfg = sb3_ppo_cfg(venv.num_envs)
        # verbose=1: SB3's progress table after each rollout
        model = PPO("MlpPolicy", venv, **cfg, seed=args.seed, device=args.device, verbose=1)
        print(
            f"training PPO on {venv.num_envs} envs for {args.timesteps} timesteps ({cfg['n_steps']} steps per rollout)"
        )
        with RerunCallback(
            save_dir=args.rerun_dir,
            logged_envs=logged_envs(args),
            scene_log_cfg=scene_log_cfg(args),
            step_trigger=every_n(args.rerun_interval),
            recording_length=args.rerun_length,
            name_prefix="sb3-ppo",
            verbose=1,  # one line per saved recording
        ) as recording:
            model.learn(args.timesteps, callback=recording)
    finally:
        env.close()
    files = recording.paths
    print_recordings(Path(args.rerun_dir).resolve(), files, recording.metrics_paths, "SB3's logger")


if __name__ == "__main__":
    main()
