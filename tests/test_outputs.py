"""Outputs (folder, save_path, a given stream, the global recording), retention, thread hygiene and the seed's
``IsaacLabRerunLogger`` — on the Isaac Lab 2.x data stand-in, read back from real ``.rrd`` files."""

from __future__ import annotations

import os
import re
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import rerun as rr

pytest.importorskip("torch")
pytest.importorskip("pxr")

import torch

from isaac_rerun import IsaacLabRerunLogger, LogRerun, _compat, every_n
from rrd_readback import quat_close, read_rrd
from standin_isaaclab2 import StandinDirectRLEnv, StandinGymEnv


def drive(env, steps):
    env.reset()
    for _ in range(steps):
        env.step(torch.zeros(env.unwrapped.num_envs, 1))  # Isaac Lab 2.x needs torch actions


def thread_count() -> int:
    try:
        return len(os.listdir(f"/proc/{os.getpid()}/task"))
    except OSError:  # not Linux
        return threading.active_count()


def test_save_path_holds_every_snippet_as_its_own_timelines(tmp_path):
    path = tmp_path / "all.rrd"
    env = LogRerun(StandinGymEnv(StandinDirectRLEnv()), save_path=path, step_trigger=every_n(10), recording_length=4)
    drive(env, 25)
    env.close()
    ents = read_rrd(path)
    ball = ents["/World/envs/env_0/Ball"]
    for name in ("rl-rerun-step-0", "rl-rerun-step-10", "rl-rerun-step-20"):
        order = ball.sorted_by(f"{name}_frame")
        assert list(ball.timeline(f"{name}_frame", order)) == [0, 1, 2, 3]
        start = int(name.rsplit("-", 1)[1])
        steps = list(ball.timeline("env_step", order))
        assert steps[0] == start and steps == sorted(steps) and steps[-1] <= start + 3  # + reset frames
    # static visuals are logged once into the shared stream
    assert "Ellipsoids3D:half_sizes" in ents["/World/envs/env_0/Ball/geometry/mesh"].static


def test_given_stream_and_global_recording(tmp_path):
    stream = rr.RecordingStream("mine")
    stream.save(str(tmp_path / "mine.rrd"))
    env = LogRerun(StandinGymEnv(StandinDirectRLEnv()), recording_stream=stream, episode_trigger=lambda e: e == 1)
    drive(env, 20)
    env.close()
    stream.flush()
    stream.disconnect()
    ents = read_rrd(tmp_path / "mine.rrd")
    assert "rl-rerun-episode-1_frame" in ents["/World/envs/env_0/Ball"].columns

    rr.init("global_test")
    rr.save(str(tmp_path / "global.rrd"))
    try:
        env = LogRerun(StandinGymEnv(StandinDirectRLEnv()), step_trigger=lambda s: s == 2, recording_length=3)
        drive(env, 6)
        env.close()
    finally:
        rr.disconnect()
    ball = read_rrd(tmp_path / "global.rrd")["/World/envs/env_0/Ball"]
    assert len(ball.sorted_by("rl-rerun-step-2_frame")) == 3


def test_no_output_and_no_global_recording_is_a_clear_error(tmp_path):
    from rerun import bindings

    bindings.set_global_data_recording(None)  # rr.set_global_data_recording(None) fails on rerun-sdk 0.23
    if rr.get_data_recording() is not None:
        pytest.skip("a global recording exists in this process")
    with pytest.raises(ValueError, match="save_dir"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()))


def test_keep_last_and_thread_hygiene(tmp_path, monkeypatch):
    monkeypatch.setattr(_compat, "_warned", set())  # the rerun-sdk 0.23 warning is given once per process
    before = thread_count()
    env = LogRerun(
        StandinGymEnv(StandinDirectRLEnv()), save_dir=tmp_path, step_trigger=every_n(2), recording_length=1, keep_last=3
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(env, 80)  # 40 snippets, each its own stream
    env.close()
    files = sorted(tmp_path.glob("*.rrd"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert [p.name for p in files] == [f"rl-rerun-step-{s}.rrd" for s in (74, 76, 78)]
    assert len(env.recorder.finished) == 40
    if _compat.RELEASES_STREAM_THREADS:
        assert thread_count() - before < 10, "closed snippet streams must not keep their threads (rerun#2116)"
    else:  # rerun-sdk 0.23 cannot release them: 2 per snippet stream, none per blueprint, and the user is told
        assert thread_count() - before < 2 * 40 + 10, "at most the 2 threads of each snippet's own stream"
        assert any("cannot release the threads" in str(w.message) for w in caught)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses Linux kernel filesystems (/sys, /proc/sys)")
@pytest.mark.parametrize(
    "folder",
    [
        "/sys/isaac-rerun-test/sub",  # os.access says writable for root; creating anything there fails
        "/proc/sys/isaac-rerun-test/sub",  # denied by the permission bits, to root too
    ],
)
def test_unwritable_output_folder_is_refused(folder):
    """Places no user (root included) can write: refused at construction, naming the folder."""
    with pytest.raises(PermissionError, match=rf"output folder {re.escape(folder)} is not writable"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()), save_dir=folder)
    with pytest.raises(PermissionError, match="not writable"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()), save_path=Path(folder) / "run.rrd")
    assert not Path(folder).parent.exists()


def test_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()), save_dir=tmp_path / "file" / "sub")


def test_conflicting_outputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at most one output"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()), save_dir=tmp_path, viewer="spawn")
    with pytest.raises(ValueError, match="viewer"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()), viewer="tcp://nowhere")
    with pytest.raises(ValueError, match="keep_last"):
        LogRerun(StandinGymEnv(StandinDirectRLEnv()), save_path=tmp_path / "x.rrd", keep_last=2)
    assert not list(tmp_path.iterdir())


def test_env_without_scene_is_refused():
    import gymnasium as gym

    with pytest.raises(ValueError, match="scene"):
        LogRerun(gym.make("CartPole-v1"), save_dir="unused")


def test_seed_logger_log_scene(tmp_path):
    base = StandinDirectRLEnv()
    base.reset()
    logger = IsaacLabRerunLogger(base.scene, logged_envs=[1], save_path=tmp_path / "seed.rrd", application_id="seed")
    for k in range(3):
        base.step(torch.zeros(base.num_envs, 1))
        logger.recording_stream.set_time("step", sequence=k)
        logger.log_scene()
    logger.recording_stream.flush()
    logger.recording_stream.disconnect()
    ents = read_rrd(tmp_path / "seed.rrd")
    ball = ents["/World/envs/env_1/Ball"]
    order = ball.sorted_by("step")
    assert list(ball.timeline("step", order)) == [0, 1, 2]
    want = base.all_poses_xyzw()["ball"][1, 0]
    np.testing.assert_allclose(ball.vectors("Transform3D:translation", order)[-1], want[:3], atol=1e-6)
    assert quat_close(ball.vectors("Transform3D:quaternion", order)[-1], want[3:])
    assert "Ellipsoids3D:half_sizes" in ents["/World/envs/env_1/Ball/geometry/mesh"].static
