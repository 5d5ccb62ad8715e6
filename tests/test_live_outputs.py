"""Documented outputs, end to end on the real Isaac Lab 3.0 test bed (``docs/outputs.md``):

* ``viewer="rerun+http://HOST:PORT/proxy"`` and ``viewer="spawn"`` deliver every frame: a real Rerun server
  (``rerun --port P --bind 127.0.0.1 --save FILE``: it accepts SDK connections over gRPC and writes what it receives
  to ``FILE``) stands in for the viewer; what it received is read back and compared with the simulator. ``spawn``
  connects to a viewer already listening on Rerun's default port (9876) instead of starting one, so the server there
  receives the stream.
* ``keep_last=N`` removes old snippet files but never the run's metrics file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")

from isaac_rerun import LogRerun, every_n  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from testbed_truth import BODIES, sim_poses  # noqa: E402

RERUN = Path(sys.executable).with_name("rerun")
SPAWN_PORT = 9876  # rerun-sdk's default: where spawn() looks for a running viewer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def saving_server(port: int, path: Path):
    """A Rerun server on 127.0.0.1:``port`` that writes every message it receives to ``path``."""
    log = path.with_suffix(".log").open("w")
    cmd = [str(RERUN), "--port", str(port), "--bind", "127.0.0.1", "--save", str(path)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, path.with_suffix(".log").read_text()
            time.sleep(0.1)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _record(env, viewer: str, steps: int, logged: list[int]) -> tuple[str, list[dict]]:
    """``steps`` recorded steps into ``viewer``; the simulator's poses after each step."""
    wrapped = LogRerun(env, logged_envs=logged, viewer=viewer, step_trigger=lambda s: s == 0, recording_length=steps)
    truth = []
    try:
        wrapped.reset(seed=0)
        for k in range(steps):
            action = 0.5 * torch.sin(torch.arange(env.unwrapped.num_envs, dtype=torch.float32) + k).unsqueeze(1)
            _, _, terminated, truncated, _ = wrapped.step(action)
            assert not (terminated | truncated)[logged].any(), "no reset inside the snippet for this test"
            truth.append(sim_poses(env.unwrapped.scene))
    finally:
        wrapped.recorder.close()
    return "rl-rerun-step-0", truth


def _received(path: Path, entity: str, timeline: str, frames: int, timeout: float = 60) -> dict:
    """The server's file read back once it holds ``frames`` rows of ``entity`` (it writes as it receives)."""
    deadline = time.monotonic() + timeout
    ents: dict = {}
    while time.monotonic() < deadline:
        with warnings.catch_warnings(), contextlib.suppress(Exception):  # no footer while it runs
            warnings.simplefilter("ignore")
            ents = read_rrd(path)
            if entity in ents and len(ents[entity].sorted_by(timeline)) >= frames:
                return ents
        time.sleep(0.2)
    return ents


def _check_received(ents: dict, name: str, truth: list[dict], logged: list[int]) -> None:
    timeline = f"{name}_frame"  # a live stream holds each snippet as its own timelines
    for env in logged:
        for suffix, (group, asset, body) in BODIES.items():
            ent = ents[f"/World/envs/env_{env}/{suffix}"]
            order = ent.sorted_by(timeline)
            assert list(ent.timeline(timeline, order)) == list(range(len(truth))), (suffix, env)
            want = np.array([t[(group, asset)][env, body] for t in truth])
            np.testing.assert_allclose(ent.vectors("Transform3D:translation", order), want[:, :3], atol=1e-5)
            assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:]), (suffix, env)
            assert any(p.startswith(f"/World/envs/env_{env}/{suffix}/") and e.static for p, e in ents.items()), (
                f"{suffix}: its visuals reached the viewer"
            )


@pytest.mark.skipif(not RERUN.exists(), reason="needs the rerun CLI next to the Python executable")
def test_a_grpc_url_delivers_every_frame(testbed_env, tmp_path):
    port, path, logged = _free_port(), tmp_path / "received.rrd", [0, 2]
    with saving_server(port, path):
        name, truth = _record(testbed_env, f"rerun+http://127.0.0.1:{port}/proxy", 6, logged)
        ents = _received(path, f"/World/envs/env_{logged[-1]}/Robot/pole", f"{name}_frame", 6)
    _check_received(ents, name, truth, logged)


@pytest.mark.skipif(not RERUN.exists(), reason="needs the rerun CLI next to the Python executable")
def test_spawn_streams_to_the_local_viewer(testbed_env, tmp_path):
    if _port_open(SPAWN_PORT):
        pytest.skip(f"port {SPAWN_PORT} is taken by another process: spawn() would stream to it")
    path, logged = tmp_path / "received.rrd", [1]
    with saving_server(SPAWN_PORT, path):
        name, truth = _record(testbed_env, "spawn", 4, logged)
        ents = _received(path, f"/World/envs/env_{logged[-1]}/Robot/pole", f"{name}_frame", 4)
    _check_received(ents, name, truth, logged)


def test_keep_last_never_removes_the_metrics_file(testbed_env, tmp_path):
    wrapped = LogRerun(
        testbed_env, logged_envs=[0], save_dir=tmp_path, step_trigger=every_n(2), recording_length=1, keep_last=2
    )
    try:
        wrapped.reset(seed=0)
        wrapped.recorder.log_metrics({"loss": -1.0})  # the metrics file opens before any snippet
        for k in range(12):
            wrapped.step(torch.zeros(testbed_env.unwrapped.num_envs, 1))
            if k % 3 == 2:
                wrapped.recorder.log_metrics({"loss": float(k)})
    finally:
        wrapped.recorder.close()
    assert sorted(p.name for p in tmp_path.glob("*.rrd")) == [
        "rl-rerun-metrics.rrd",
        "rl-rerun-step-10.rrd",
        "rl-rerun-step-8.rrd",
    ], "the last two of six snippets, and the metrics file"
    loss = read_rrd(tmp_path / "rl-rerun-metrics.rrd")["/train/loss"]
    order = loss.sorted_by("env_step")
    assert [v[0] for v in loss.timeline("Scalars:scalars", order)] == [-1.0, 2.0, 5.0, 8.0, 11.0]
