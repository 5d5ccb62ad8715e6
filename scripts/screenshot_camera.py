"""``docs/images/camera-video.png``: a camera snippet of the test bed in the web viewer, the camera's H.264 video
panel beside the 3D view (where the video also shows on the camera's frustum).

1. Records one snippet of ``--frames`` env steps of the test bed with a ``--width`` x ``--height`` RGB camera per env
   (``TESTBED_CAMERA_CFG``, RGB only), env 0 logged, the cart driven back and forth; cameras as H.264 video (the
   default ``camera_codec``).
2. Copies it with a blueprint of its 3D view (as the recorder frames it, by ``view_eye``) beside a 2D view of the
   camera's video (``/World/sensors/camera/env_0/rgb``), on the ``frame`` timeline, at its last frame.
3. Serves the copy and takes the picture with ``scripts/screenshots.py``'s ``serve`` and ``Browser`` (headless
   Chromium, software WebGL: ``apt-get install -y chromium``), then writes an optimized PNG.

Usage: ``.venv/bin/python scripts/screenshot_camera.py [--out docs/images] [--keep]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from screenshots import Browser, optimize, serve, with_blueprint  # noqa: E402

ENTITY = "/World/sensors/camera/env_0"


def record(folder: Path, args: argparse.Namespace) -> tuple[Path, dict]:
    import torch

    from isaac_rerun import LogRerun
    from isaac_rerun.scene import IsaacLabScene
    from isaac_rerun.testbed import make_env
    from isaac_rerun.testbed.env import TESTBED_CAMERA_CFG

    camera = TESTBED_CAMERA_CFG.replace(width=args.width, height=args.height, data_types=["rgb"])
    env = make_env(num_envs=2, device="cpu", seed=0, episode_length_s=60.0, scene__camera=camera)
    try:
        base = env.unwrapped
        wrapped = LogRerun(
            env,
            logged_envs=[0],
            save_dir=folder,
            step_trigger=lambda s: s == 0,
            recording_length=args.frames,
            scene_log_cfg={"cameras": ["camera"], "trails": ["cart"]},
        )
        try:
            wrapped.reset(seed=0)
            for k in range(args.frames):
                push = torch.full((base.num_envs, 1), 1.0 if (k // 20) % 2 == 0 else -1.0)
                wrapped.step(push)
        finally:
            wrapped.recorder.close()
        scene = IsaacLabScene(base.scene, [0], cfg={"trails": ["cart"]})
        eye, target = scene.view_eye(scene.sample().poses)
    finally:
        env.close()
    return folder / "rl-rerun-step-0.rrd", {"eye": eye.tolist(), "target": target.tolist()}


def blueprint(framing: dict) -> object:
    import rerun.blueprint as rrb

    from isaac_rerun import _compat

    scene_3d = _compat.spatial3d_view("scene", "/World", (framing["eye"], framing["target"]), [], "frame")
    video = rrb.Spatial2DView(name="camera video (H.264)", origin=ENTITY, contents=[f"{ENTITY}/rgb"])
    return rrb.Blueprint(
        rrb.Horizontal(scene_3d, video, column_shares=[3, 2]),
        rrb.TimePanel(timeline="frame", play_state="following", state="collapsed"),
        rrb.TopPanel(state="hidden"),
        collapse_panels=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "docs" / "images"))
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--settle_s", type=float, default=40)
    p.add_argument("--stable_s", type=float, default=12)
    p.add_argument("--max_s", type=float, default=300)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="isaac-rerun-camera-shot-"))
    try:
        rrd, framing = record(tmp, args)
        shown = tmp / "camera-video.rrd"
        with_blueprint(rrd, blueprint(framing), shown)
        raw = tmp / "raw-camera-video.png"
        with serve([shown], tmp / "rerun.log") as url:
            browser = Browser((1280, 600), tmp)
            try:
                browser.screenshot(url, raw, settle_s=args.settle_s, max_s=args.max_s, stable_s=args.stable_s)
            finally:
                browser.close()
        optimize(raw, out / "camera-video.png")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
