"""Record a signal of your own beside Isaac Lab's reward terms, terminations, commands and joints.

The manager-based test bed (``IsaacRerun-Testbed-Managed``: Isaac Lab's managers on a cart with a two-link pole) runs
kit-less on the CPU with a policy that pushes its cart; every whole episode of envs 0 and 1 is recorded, with two
signals of our own: the pole tip's height (one column) and the cart's position and speed (two named columns)::

    .venv/bin/python examples/custom_signal.py            # writes runs/custom-signal/*.rrd
    .venv/bin/isaac-rerun ls runs/custom-signal           # why each episode ended
    .venv/bin/isaac-rerun view runs/custom-signal         # the plots beside the 3D scene

A signal is ``read(env) -> (num_envs, k)`` (or ``(num_envs,)``), read at each recorded frame: see ``docs/signals.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

OUT = Path("runs/custom-signal")


def tip_height(env: Any) -> Any:
    """The pole tip's height above the ground [m]: one value per env."""
    robot = env.scene["robot"]
    tip = robot.find_bodies("tip")[0][0]
    return robot.data.body_link_pose_w.torch[:, tip, 2]


def cart_state(env: Any) -> Any:
    """The cart's position [m] and speed [m/s]: two values per env."""
    import torch

    robot = env.scene["robot"]
    return torch.stack([robot.data.joint_pos.torch[:, 0], robot.data.joint_vel.torch[:, 0]], dim=1)


def main() -> int:
    import torch

    from isaac_rerun import LogRerun, RecordingCfg, Signal
    from isaac_rerun.cli.common import print_summary
    from isaac_rerun.testbed import make_managed_env

    cfg = RecordingCfg(
        logged_envs=[0, 1],
        episode_trigger=lambda episode: True,  # every whole episode of env 0
        save_dir=OUT,
        signals={"pole/tip_height": tip_height, "cart": Signal(cart_state, columns=["position", "speed"])},
    )
    env = LogRerun(make_managed_env(num_envs=4), cfg=cfg)
    env.reset()
    try:
        for step in range(200):
            push = 1.0 if (step // 8) % 2 else -1.0  # shake the cart: the pole falls now and then
            env.step(torch.tensor([[push], [0.5 * push], [-0.6], [0.0]]))
    finally:
        env.close()
    print_summary([env.session], OUT.absolute(), None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
