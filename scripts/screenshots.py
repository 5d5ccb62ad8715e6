"""Regenerate the pictures in ``docs/images/`` from a real recording (run by ``scripts/screenshots.sh``).

1. Records a training run, kit-less on the CPU, into a temporary folder. ``--scene a1`` (default): Isaac Lab's own
   Unitree A1 velocity task (``IsaacRerun-Velocity-Flat-UnitreeA1``, :mod:`isaac_rerun.testbed.a1`, the locally
   built A1) trained by rsl_rl PPO with the task's own agent config through ``RerunRunnerMixin``, with
   ``--episode_length_s`` episodes (1 s by default instead of the task's 20 s, so that episodes end inside the
   snippet and the episode-return plot has points) and the envs 2 m apart; the snippet holds ``--episodes`` (4)
   whole episodes of envs 0 and 1 (from the terminal frame of the first episode, so each has its reset frame and
   its return), with trails of the base and the feet, the contact arrows (``--contact_force_scale``, 2 mm per newton
   instead of the default 10: the flailing A1's feet see 80-400 N) and the velocity-command arrows; the 3D
   view is framed on the snippet's last frame as the recorder frames a snippet, the eye ``--zoom`` (1.3) times
   closer. ``--scene testbed``: SB3 PPO on the bundled test bed, as ``examples/train_sb3.py`` does, the last
   ``--frames`` vector steps of envs 0 and 1, trails on the cart and the pole tip, framed by ``view_eye``.
2. For each picture, copies the snippet with the picture's blueprint as its only one (the viewer keeps a recording's
   own blueprint active over a ``.rbl`` given beside it): ``recording.png``, the recorder's own layout (the 3D view
   + the ``/scalars`` plots); ``scene-3d.png``, its 3D view alone. Both select the ``frame`` timeline
   (the trails' visible range is on it) and follow it to the snippet's last frame.
3. Serves each copy with ``rerun <file> --serve-web`` (free ports), opens the web viewer in headless Chromium (software
   WebGL, driven over the DevTools pipe so that it can wait in real time for the viewer to load and render), saves
   the picture once it stops changing, stops both by pid, and writes an optimized PNG into ``docs/images/``.

Usage: ``.venv/bin/python scripts/screenshots.py [--scene a1|testbed] [--out docs/images] [--keep] [--reuse KEPT]``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "isaac_rerun"  # the application id of the recordings written to the copies shown
LOGGED_ENVS = [0, 1]
SCENES = {
    # scene: (trails, default frames, snippet name prefix)
    "a1": (["trunk", ".*_foot"], 0, "a1-ppo"),  # frames: --episodes whole episodes
    "testbed": (["cart", "tip"], 150, "sb3-ppo"),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scene", choices=sorted(SCENES), default="a1", help="what to record (default: the A1 task)")
    p.add_argument("--out", default=str(ROOT / "docs" / "images"), help="folder for the PNGs")
    p.add_argument("--reuse", default=None, help="a folder kept by --keep: screenshot its recording, train nothing")
    p.add_argument("--num_envs", type=int, default=None, help="envs (default: a1 8, testbed 16)")
    p.add_argument("--frames", type=int, default=None, help="testbed: frames in the snippet (ends with training)")
    p.add_argument("--episodes", type=int, default=4, help="a1: whole episodes of the tracked env in the snippet")
    p.add_argument("--episode_length_s", type=float, default=1.0, help="a1: episode length of the picture run [s]")
    p.add_argument(
        "--contact_force_scale", type=float, default=0.002, help="a1: contact arrow length [m/N] (A1 feet: ~30-300 N)"
    )
    p.add_argument("--timesteps", type=int, default=6144, help="testbed: SB3 timesteps (num_envs per vector step)")
    p.add_argument("--zoom", type=float, default=None, help="the 3D view's eye this much closer (default: a1 1.3)")
    p.add_argument("--settle_s", type=float, default=30, help="seconds the viewer gets before its picture may be taken")
    p.add_argument("--stable_s", type=float, default=12, help="the picture is taken once unchanged for this long")
    p.add_argument("--max_s", type=float, default=300, help="take the picture after this many seconds at the latest")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (recording, blueprint, raw PNGs)")
    args = p.parse_args()
    if args.frames is None:
        args.frames = SCENES[args.scene][1]
    if args.num_envs is None:
        args.num_envs = 8 if args.scene == "a1" else 16
    if args.zoom is None:
        args.zoom = 1.3 if args.scene == "a1" else 1.0
    return args


# ---------------------------------------------------------------------------------------------------- recording
def framing_of(env: object, trails: list[str], zoom: float) -> dict:
    """The 3D view's framing as the recorder computes it (``view_eye`` of the logged envs now), its eye ``zoom``
    times closer to the target, and the trail entities."""
    from isaac_rerun.channels.trails import trail_entities
    from isaac_rerun.scene import IsaacLabScene

    scene = IsaacLabScene(env.unwrapped.scene, LOGGED_ENVS, cfg={"trails": trails})  # type: ignore[attr-defined]
    eye, target = scene.view_eye(scene.gather())
    eye = target + (eye - target) / zoom
    return {
        "eye": eye.tolist(),
        "target": target.tolist(),
        "trails": trail_entities(scene.context()),
        "envs": LOGGED_ENVS,
    }


def record_a1(folder: Path, args: argparse.Namespace) -> tuple[Path, dict]:
    """rsl_rl PPO (the task's own agent config) on the A1 task through ``RerunRunnerMixin``, recording envs 0 and 1
    over ``args.episodes`` whole episodes (from the terminal frame of the first episode, so that every recorded
    episode has its reset frame and its return); returns the snippet and the 3D view's framing (the snippet's last
    frame, where the picture is taken)."""
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper, check_rsl_rl_version, handle_deprecated_rsl_rl_cfg
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry
    from rsl_rl.runners import OnPolicyRunner

    from isaac_rerun.integrations.rsl_rl import RerunRunnerMixin
    from isaac_rerun.testbed.a1 import A1_KITLESS_TASK_ID, make_a1_env

    class Runner(RerunRunnerMixin, OnPolicyRunner):
        pass

    trails, _, prefix = SCENES["a1"]
    env = make_a1_env(
        num_envs=args.num_envs,
        use_local_asset=True,
        episode_length_s=args.episode_length_s,
        scene__env_spacing=2.0,  # the envs do not interact: two A1s side by side fill the view
    )
    try:
        episode = int(env.unwrapped.max_episode_length)  # type: ignore[attr-defined]  # env steps per episode
        start = episode - 1  # the terminal frame of the first episode, then its reset frame, then whole episodes
        frames = 1 + args.episodes * (episode + 1) - 1
        agent_cfg = load_cfg_from_registry(A1_KITLESS_TASK_ID, "rsl_rl_cfg_entry_point")
        agent_cfg = handle_deprecated_rsl_rl_cfg(agent_cfg, check_rsl_rl_version())
        agent_cfg.device = "cpu"
        iterations = -(-(start + args.episodes * episode + 1) // agent_cfg.num_steps_per_env)
        train_cfg = agent_cfg.to_dict()
        train_cfg["rerun"] = {
            "save_dir": str(folder),
            "logged_envs": LOGGED_ENVS,
            "step_trigger": lambda s: s == start,
            "recording_length": frames,
            "name_prefix": prefix,
            "scene_log_cfg": {"trails": trails, "contact_force_scale": args.contact_force_scale},
        }
        runner = Runner(
            RslRlVecEnvWrapper(env, clip_actions=agent_cfg.clip_actions), train_cfg, log_dir=None, device="cpu"
        )
        t0 = time.perf_counter()
        runner.learn(num_learning_iterations=iterations, init_at_random_ep_len=False)
        print(f"trained {iterations} iterations in {time.perf_counter() - t0:.0f} s", flush=True)
        views = layout_of(runner.rerun_recorder)
    finally:
        env.close()
    snippet = folder / f"{prefix}-step-{start}.rrd"
    return snippet, {**framing_at_last_frame(snippet, args.zoom), "views": views}


def layout_of(recorder: object) -> dict:
    """What the recorder's channels put in its default layout (:func:`isaac_rerun.blueprint.merged_views`)."""
    import dataclasses

    return dataclasses.asdict(recorder.layout.views)  # type: ignore[attr-defined]


def framing_at_last_frame(snippet: Path, zoom: float) -> dict:
    """The recorder's framing (:meth:`IsaacLabScene.view_eye`: the look target in the middle of the logged envs'
    bodies, the eye up and to the side along (1, 1, 1), far enough back to see them all) of the snippet's last frame,
    read back from the file, the eye ``zoom`` times closer."""
    import numpy as np
    from rerun.chunk import RrdReader

    last: dict[str, tuple[int, np.ndarray]] = {}
    trail_paths: set[str] = set()
    for chunk in RrdReader(str(snippet)).stream():
        if chunk.entity_path.startswith("/World/trails/"):
            trail_paths.add(chunk.entity_path)
        if chunk.is_static or not chunk.entity_path.startswith("/World/envs/env_"):
            continue
        batch = chunk.to_record_batch()
        if "Transform3D:translation" not in batch.schema.names or "frame" not in batch.schema.names:
            continue
        frames = batch.column("frame").to_pylist()
        i = int(np.argmax(frames))
        translation = np.asarray(batch.column("Transform3D:translation").to_pylist()[i][0], dtype=np.float64)
        if chunk.entity_path not in last or last[chunk.entity_path][0] < frames[i]:
            last[chunk.entity_path] = (frames[i], translation)
    # root-level bodies only (the flat A1: every link is a direct child of the robot prim, in world coordinates)
    points = np.array([t for path, (_, t) in last.items() if path.count("/") == 5])
    lo, hi = points.min(axis=0), points.max(axis=0)
    target = (lo + hi) / 2
    radius = max(float(np.linalg.norm(hi - lo)) / 2, 0.75)
    direction = np.ones(3) / np.sqrt(3.0)
    eye = target + direction * (2.2 * radius + 1.0) / zoom
    return {"eye": eye.tolist(), "target": target.tolist(), "trails": sorted(trail_paths), "envs": LOGGED_ENVS}


def record_testbed(folder: Path, args: argparse.Namespace) -> tuple[Path, dict]:
    """Train SB3 PPO briefly on the test bed, recording its last ``args.frames`` vector steps; returns the snippet
    and the 3D view's framing."""
    from isaaclab_rl.sb3 import Sb3VecEnvWrapper
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from isaac_rerun.integrations.sb3 import RerunCallback
    from isaac_rerun.testbed import make_env
    from isaac_rerun.testbed.agents import sb3_ppo_cfg

    trails, _, prefix = SCENES["testbed"]
    env = make_env(num_envs=args.num_envs, device="cpu", seed=0)
    try:
        venv = VecNormalize(Sb3VecEnvWrapper(env), norm_obs=True, norm_reward=True, clip_obs=10.0)
        cfg = sb3_ppo_cfg(venv.num_envs)  # as examples/train_sb3.py trains
        n_steps = cfg["n_steps"]
        vector_steps = -(-args.timesteps // (n_steps * venv.num_envs)) * n_steps  # whole rollouts
        start = max(vector_steps - args.frames, 0)
        model = PPO("MlpPolicy", venv, **cfg, seed=0, device="cpu", verbose=0)
        t0 = time.perf_counter()
        with RerunCallback(
            save_dir=folder,
            logged_envs=LOGGED_ENVS,
            step_trigger=lambda s: s == start,
            recording_length=args.frames,
            name_prefix=prefix,
            scene_log_cfg={"trails": trails},
        ) as callback:
            model.learn(vector_steps * venv.num_envs, callback=callback)
            views = layout_of(callback.recorder)
        print(f"trained {model.num_timesteps} timesteps in {time.perf_counter() - t0:.0f} s", flush=True)
        framing = {**framing_of(env, trails, args.zoom), "views": views}
    finally:
        env.close()
    return folder / f"{prefix}-step-{start}.rrd", framing


def record(folder: Path, args: argparse.Namespace) -> Path:
    """The scene's recording (one snippet); writes the 3D view's framing beside it (``framing.json``)."""
    snippet, framing = (record_a1 if args.scene == "a1" else record_testbed)(folder, args)
    if not snippet.is_file():
        raise SystemExit(f"expected the recorded snippet {snippet}, got {sorted(p.name for p in folder.iterdir())}")
    (folder / "framing.json").write_text(json.dumps(framing))
    return snippet


def pictures(framing: dict) -> dict[str, tuple[object, tuple[int, int]]]:
    """Blueprint and window size of each picture: the recorder's own layout (3D scene + plots), the same with the
    command and episode-end tabs shown (``signals.png``), and the 3D view alone. All select the snippet's ``frame``
    timeline, on which the trails' visible range is set, and follow it to its last frame."""
    import rerun.blueprint as rrb

    from isaac_rerun.blueprint import default_blueprint
    from isaac_rerun.channels import Views

    eye = (framing["eye"], framing["target"])
    full = default_blueprint(Views(**framing["views"]), eye=eye, frame_timeline="frame")
    scene_3d = next(iter(full.root_container.contents))  # the recorder's 3D view (same eye, same trails)
    top = rrb.TopPanel(state="hidden")  # hides the viewer's menu bar (and its "software rasterizer" badge)
    return {
        "recording.png": (
            rrb.Blueprint(
                full.root_container,
                rrb.TimePanel(timeline="frame", play_state="following", state="collapsed"),
                top,
                collapse_panels=True,
            ),
            (1280, 720),
        ),
        "signals.png": (
            rrb.Blueprint(
                default_blueprint(
                    Views(**framing["views"]),
                    eye=eye,
                    frame_timeline="frame",
                    active={"middle": "command base_velocity", "bottom": "episodes"},
                ).root_container,
                rrb.TimePanel(timeline="frame", play_state="following", state="collapsed"),
                top,
                collapse_panels=True,
            ),
            (1280, 720),
        ),
        "scene-3d.png": (
            rrb.Blueprint(
                scene_3d,
                rrb.TimePanel(timeline="frame", play_state="following", state="hidden"),
                top,
                collapse_panels=True,
            ),
            (960, 720),  # about the 3D view's shape in the recorder's layout: the same framing
        ),
    }


def with_blueprint(src: Path, blueprint: object, dst: Path) -> None:
    """Copy the recording ``src`` to ``dst`` with ``blueprint`` as its only blueprint (the viewer keeps the
    recording's own blueprint active over a ``.rbl`` given beside it)."""
    import rerun as rr
    from rerun.chunk import RrdReader

    rec = rr.RecordingStream(APP_ID, recording_id=f"docs-{dst.stem}")
    rec.save(str(dst))
    rec.send_blueprint(blueprint, make_active=True, make_default=True)  # type: ignore[arg-type]
    rec.send_chunks(RrdReader(src).stream())
    rec.flush()
    rec.disconnect()


# ---------------------------------------------------------------------------------------------------- screenshots
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(paths: list[Path], log: Path) -> Iterator[str]:
    """``rerun <paths> --serve-web`` on free ports; yields the web viewer URL for the data; kills it by pid."""
    rerun = Path(sys.executable).with_name("rerun")
    web, grpc = free_port(), free_port()
    cmd = [str(rerun), *map(str, paths), "--serve-web", "--web-viewer-port", str(web), "--port", str(grpc)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"rerun exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=2).close()
                with socket.create_connection(("127.0.0.1", grpc), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise SystemExit(f"rerun did not serve within 60 s: {tail}") from None
                time.sleep(0.5)
        data = urllib.parse.quote(f"rerun+http://127.0.0.1:{grpc}/proxy", safe="")
        yield f"http://127.0.0.1:{web}/?url={data}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no chromium found: apt-get install -y chromium")


def _fd_above_4(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: it reads commands
    on fd 3 and writes replies on fd 4, NUL-terminated JSON): real-time waits, which ``--screenshot`` lacks (its
    virtual time runs out while the viewer's WebAssembly still compiles)."""

    def __init__(self, size: tuple[int, int], tmp: Path):
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp))
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        cmd_r, out_w = (_fd_above_4(fd) for fd in (cmd_r, out_w))  # the wrapper's 3</4> cannot clobber them
        args = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            "--enable-unsafe-swiftshader",
            "--use-angle=swiftshader",
            f"--window-size={size[0]},{size[1]}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # bash moves the pipe ends to fds 3 and 4, then becomes chromium
        wrapper = f'exec "$@" 3<&{cmd_r} 4>&{out_w} {cmd_r}<&- {out_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", wrapper, "bash", *args],
            pass_fds=(cmd_r, out_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(cmd_r)
        os.close(out_w)
        self._buf = b""
        self._id = 0
        self.size = size
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def call(self, method: str, params: dict | None = None, *, session: bool = False, timeout: float = 120) -> dict:
        self._id += 1
        msg: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buf:
                if not select.select([self._out_r], [], [], max(deadline - time.monotonic(), 0))[0]:
                    raise SystemExit(f"chromium did not answer {method} within {timeout:.0f} s")
                chunk = os.read(self._out_r, 1 << 20)
                if not chunk:
                    raise SystemExit(f"chromium exited ({self.proc.poll()}) during {method}")
                self._buf += chunk
            raw, self._buf = self._buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise SystemExit(f"chromium: {method} failed: {reply['error']}")
                return reply.get("result", {})

    def screenshot(self, url: str, png: Path, *, settle_s: float, max_s: float, stable_s: float) -> None:
        """Open ``url``; after at least ``settle_s`` seconds, once the captures (every 3 s) have not changed for
        ``stable_s`` seconds (or after ``max_s``), save the last one. The viewer follows the data as it arrives: a
        loaded CPU can pause it for seconds, so one unchanged capture does not mean that everything is in."""
        self.call("Page.navigate", {"url": url}, session=True)
        t0 = time.monotonic()
        prev, since = None, time.monotonic()
        while True:
            time.sleep(3)
            shot = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
            now = time.monotonic()
            if shot != prev:
                prev, since = shot, now
            if (now - t0 >= settle_s and now - since >= stable_s) or now - t0 >= max_s:
                break
        png.write_bytes(base64.b64decode(shot))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=10)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # renderer / GPU helpers left in its session
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._out_r)
        shutil.rmtree(self.profile, ignore_errors=True)


def optimize(src: Path, dst: Path) -> None:
    """Save ``src`` as an optimized PNG (a 256-colour palette if the full-colour one is over 400 KB)."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    img.save(dst, optimize=True)
    if dst.stat().st_size > 400_000:
        img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)
    print(f"wrote {dst.relative_to(ROOT) if dst.is_relative_to(ROOT) else dst} ({dst.stat().st_size // 1024} KB)")


def main() -> None:
    args = parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="isaac-rerun-screenshots-"))
    try:
        if args.reuse:
            folder = Path(args.reuse).resolve()
            rrd = next(folder.glob(f"{SCENES[args.scene][2]}-step-*.rrd"))
        else:
            folder, rrd = tmp, record(tmp, args)
        framing = json.loads((folder / "framing.json").read_text())
        for name, (blueprint, size) in pictures(framing).items():
            t0 = time.perf_counter()
            shown = tmp / f"{Path(name).stem}.rrd"
            with_blueprint(rrd, blueprint, shown)
            raw = tmp / f"raw-{name}"
            with serve([shown], tmp / f"rerun-{name}.log") as url:
                browser = Browser(size, tmp)
                try:
                    browser.screenshot(url, raw, settle_s=args.settle_s, max_s=args.max_s, stable_s=args.stable_s)
                finally:
                    browser.close()
            optimize(raw, out / name)
            print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
