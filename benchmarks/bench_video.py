"""Cameras as H.264 video vs raw images: bytes per camera frame and encode time, on the real test bed, in one run.

    .venv/bin/python benchmarks/bench_video.py              # ~4 min on 2 CPU cores
    .venv/bin/python benchmarks/bench_video.py --frames 30  # shorter

For each camera — the test bed's own (``TESTBED_CAMERA_CFG``, 80 x 60, RGB + depth) and the same camera at
320 x 240, RGB only (a vision task's camera; recorded as video alone, it is sent every 32 frames instead of 8) — the
test bed (Isaac Lab 3.0, Newton, CPU, ``--envs`` envs, all logged) records one snippet of ``--frames`` env steps with
``camera_codec="h264"`` and again, from the same seed and actions, with ``camera_codec="raw"``. Per RGB camera frame
(one env, one step):

* **raw**: the image's bytes (``height x width x 3``);
* **H.264 payload**: the recorded ``VideoStream`` samples' bytes (read back from the ``.rrd``), keyframes included
  (the snippet's first frame and every ``KEYFRAME_INTERVAL``-th);
* **on disk**: the bytes of the ``rgb`` entities alone (copied out of each ``.rrd`` with the chunk API and written
  with Rerun's own LZ4 compression) for both codecs, static parts included;
* **encode ms**: libx264 encoding of the recorded renders, one fresh encoder per env (as a snippet does), CPU time of
  this thread per frame per env (median and mean), and the PSNR of the decoded frames against the renders.

Also the whole snippet file for both codecs (bodies, depth images and all). Rendering is not timed (it is the
simulator's, not the recorder's).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from isaac_rerun import LogRerun
from isaac_rerun.channels import video

CAMERA = "/World/sensors/camera"


def machine() -> str:
    import av

    from bench_recorder import machine as with_versions  # this folder: the recorder benchmark's machine line

    return with_versions(f"PyAV {av.__version__}")


def record(env, folder: Path, frames: int, codec: str) -> tuple[Path, np.ndarray]:
    """One snippet of ``frames`` steps of every env (fresh episode, fixed actions); the renders after each step."""
    base = env.unwrapped
    n = base.num_envs
    wrapped = LogRerun(
        env,
        logged_envs="all",
        save_dir=folder,
        step_trigger=lambda s: s == 0,
        recording_length=frames,
        scene_log_cfg={"cameras": ["camera"], "camera_codec": codec},
    )
    renders = []
    try:
        wrapped.reset(seed=0)
        for k in range(frames):
            wrapped.step(0.8 * torch.sin(torch.arange(n, dtype=torch.float32) + 0.4 * k).unsqueeze(1))
            renders.append(base.scene["camera"].data.output["rgb"].torch[..., :3].numpy().copy())
    finally:
        wrapped.recorder.close()
    return folder / "rl-rerun-step-0.rrd", np.stack(renders, axis=1)  # (envs, frames, h, w, 3)


def rgb_only(path: Path, envs: int, out: Path) -> int:
    """Bytes of the ``rgb`` entities alone, written by Rerun (LZ4) into ``out``."""
    from rerun.chunk import RrdReader

    content = [f"{CAMERA}/env_{i}/rgb" for i in range(envs)]
    RrdReader(str(path)).stream().filter(content=content).write_rrd(
        str(out), application_id="bench_video", recording_id="rgb"
    )
    return out.stat().st_size


def samples_of(path: Path, envs: int) -> list[list[bytes]]:
    """The recorded H.264 samples of each env, in frame order."""
    from rerun.chunk import RrdReader

    rows: dict[int, list[tuple[int, bytes]]] = {i: [] for i in range(envs)}
    for chunk in RrdReader(str(path)).stream().collect().stream():
        env = next((i for i in range(envs) if chunk.entity_path == f"{CAMERA}/env_{i}/rgb"), None)
        if env is None or chunk.is_static:
            continue
        rb = chunk.to_record_batch()
        if "VideoStream:sample" not in rb.schema.names:
            continue
        frame = rb.column("frame").to_pylist()
        for f, blob in zip(frame, rb.column("VideoStream:sample").to_pylist(), strict=True):
            if blob is not None:
                rows[env].append((f, bytes(blob[0])))
    return [[s for _, s in sorted(rows[i])] for i in range(envs)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def encode_timing(renders: np.ndarray) -> tuple[float, float, float]:
    """(median ms, mean ms) per frame per env encoding the renders, and the lowest PSNR of the decoded frames."""
    import av

    times, worst = [], float("inf")
    h, w = renders.shape[2:4]
    for env_frames in renders:
        enc = video.H264Encoder(w, h)
        samples = []
        for img in env_frames:
            t = time.thread_time()
            samples.append(enc.encode(img))
            times.append(time.thread_time() - t)
        dec = av.CodecContext.create("h264", "r")
        decoded = [f for s in samples for f in dec.decode(av.Packet(s))] + list(dec.decode(None))
        for f, want in zip(decoded, env_frames, strict=True):
            worst = min(worst, psnr(f.to_ndarray(format="rgb24")[:h, :w], want))
    return statistics.median(times) * 1e3, statistics.mean(times) * 1e3, worst


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=60, help="frames per snippet (default: 60)")
    p.add_argument("--envs", type=int, default=2, help="envs, all logged (default: 2)")
    args = p.parse_args()
    reason = video.unavailable_reason()
    if reason is not None:
        raise SystemExit(f"bench_video: no H.264 here: {reason}")

    from isaac_rerun.testbed import make_env
    from isaac_rerun.testbed.env import TESTBED_CAMERA_CFG

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [(TESTBED_CAMERA_CFG.width, TESTBED_CAMERA_CFG.height, TESTBED_CAMERA_CFG.data_types)]
        sizes.append((320, 240, ["rgb"]))  # a vision task's camera: RGB only (recorded as video alone)
        for width, height, data_types in sizes:
            cfg = TESTBED_CAMERA_CFG.replace(width=width, height=height, data_types=list(data_types))
            env = make_env(num_envs=args.envs, device="cpu", seed=0, episode_length_s=60.0, scene__camera=cfg)
            try:
                folder = Path(tmp) / f"{width}x{height}"
                h264, renders = record(env, folder / "h264", args.frames, "h264")
                raw, renders_raw = record(env, folder / "raw", args.frames, "raw")
            finally:
                env.close()
            assert np.array_equal(renders, renders_raw), "both snippets must show the same renders"
            n = args.envs * args.frames
            samples = samples_of(h264, args.envs)
            assert all(len(s) == args.frames for s in samples), [len(s) for s in samples]
            payload = sum(len(s) for env_samples in samples for s in env_samples) / n
            disk_h264 = rgb_only(h264, args.envs, folder / "rgb-h264.rrd") / n
            disk_raw = rgb_only(raw, args.envs, folder / "rgb-raw.rrd") / n
            med, mean, worst = encode_timing(renders)
            rows.append(
                dict(
                    size=f"{width}x{height} ({' + '.join(data_types)})",
                    raw=width * height * 3,
                    payload=payload,
                    disk_h264=disk_h264,
                    disk_raw=disk_raw,
                    file_h264=h264.stat().st_size,
                    file_raw=raw.stat().st_size,
                    enc_med=med,
                    enc_mean=mean,
                    psnr=worst,
                )
            )

    print(f"\nmachine: {machine()}")
    print(f"{args.envs} envs x {args.frames} frames per snippet; keyframe every {video.KEYFRAME_INTERVAL} frames\n")
    head = (
        "camera", "raw B/frame", "H.264 B/frame", "raw/H.264", "on disk: raw", "on disk: H.264", "raw/H.264 on disk",
        "encode ms/frame/env (median, mean)", "min PSNR", "whole file raw / H.264",
    )  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for r in rows:
        print(
            f"| {r['size']} | {r['raw']} | {r['payload']:.0f} | {r['raw'] / r['payload']:.0f}x | "
            f"{r['disk_raw']:.0f} | {r['disk_h264']:.0f} | {r['disk_raw'] / r['disk_h264']:.0f}x | "
            f"{r['enc_med']:.2f}, {r['enc_mean']:.2f} | {r['psnr']:.1f} dB | "
            f"{r['file_raw'] / 1e6:.2f} MB / {r['file_h264'] / 1e6:.2f} MB |"
        )
    big = rows[-1]
    print(
        f"\ngoals at 320x240: <= 1/200 of the raw bytes: {big['raw'] / big['payload']:.0f}x smaller "
        f"({'met' if big['raw'] / big['payload'] >= 200 else 'NOT met'}); encode <= 2 ms per frame per env: "
        f"{big['enc_mean']:.2f} ms ({'met' if big['enc_mean'] <= 2 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
