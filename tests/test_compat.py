"""``isaac_rerun._compat``: the rerun-sdk version differences, checked on whichever Rerun is installed.

CI runs this on rerun-sdk 0.41 (Python 3.11 and 3.12 jobs) and on 0.23.1 with numpy 1.26 (the Isaac Lab 2.3 stack),
reading every file back with that Rerun's own reader (``rrd_readback``).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import rerun as rr
import rerun.blueprint as rrb

from isaac_rerun import _compat
from rrd_readback import quat_close, read_rrd


@pytest.fixture
def strict():
    """Rerun raises instead of warning and dropping a component it cannot convert."""
    from rerun.error_utils import strict_mode

    previous = strict_mode()
    rr.set_strict_mode(True)
    yield
    rr.set_strict_mode(previous)


def save(path: Path, name: str = "compat") -> rr.RecordingStream:
    stream = rr.RecordingStream(name)
    stream.save(str(path))
    return stream


def close(stream: rr.RecordingStream) -> None:
    stream.flush()
    stream.disconnect()


def random_quats(n: int, seed: int = 0) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_pose_columns_match_rerun_and_read_back(tmp_path, strict):
    """The hand-built arrow columns equal ``rr.Transform3D.columns`` (incl. 0.23's indicator) and record the poses."""
    n = 5
    t = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    q = random_quats(n)
    ours = _compat.PoseColumns()(t, q)
    theirs = list(rr.Transform3D.columns(translation=t, quaternion=q))
    assert len(ours) == len(theirs)  # 3 on rerun-sdk 0.23 (indicator first), 2 on newer ones
    for a, b in zip(ours, theirs, strict=True):
        assert str(a.component_descriptor()) == str(b.component_descriptor())
        assert a.as_arrow_array().equals(b.as_arrow_array())
    stream = save(tmp_path / "poses.rrd")
    stream.send_columns("body", indexes=[rr.TimeColumn("frame", sequence=np.arange(n))], columns=ours)
    close(stream)
    ent = read_rrd(tmp_path / "poses.rrd")["/body"]
    order = ent.sorted_by("frame")
    np.testing.assert_allclose(ent.vectors("Transform3D:translation", order), t)
    assert quat_close(ent.vectors("Transform3D:quaternion", order), q)


def test_quaternion_is_kept_in_strict_mode(tmp_path, strict):
    """``rr.Quaternion`` breaks on rerun-sdk 0.23 with numpy 1.x; ``_compat.quaternion`` works on every version."""
    q = random_quats(1, seed=3)[0]
    stream = save(tmp_path / "q.rrd")
    stream.log("body", rr.Transform3D(translation=[1, 2, 3], quaternion=_compat.quaternion(q)), static=True)
    close(stream)
    static = read_rrd(tmp_path / "q.rrd")["/body"].static
    assert quat_close(np.asarray(static["Transform3D:quaternion"]).reshape(4), q)


def test_blueprint_reaches_every_recording(tmp_path):
    """Each recording gets the whole blueprint (on 0.23 through one reused blueprint stream)."""
    bp = rrb.Blueprint(rrb.Spatial3DView(name="scene", origin="/World"), collapse_panels=True)
    paths = [tmp_path / f"r{i}.rrd" for i in range(3)]
    for i, path in enumerate(paths):
        stream = save(path, "compat_bp")
        _compat.send_blueprint(stream, bp, "compat_bp")
        stream.log("World/p", rr.Points3D([[0, 0, i]]))
        close(stream)
    exe = Path(sys.executable).parent / "rerun"
    for path in paths:
        out = subprocess.run([str(exe), "rrd", "print", str(path)], capture_output=True, text=True, timeout=120)
        text = out.stdout + out.stderr
        assert out.returncode == 0, text
        assert "Blueprint" in text and "/viewport" in text and "BlueprintActivation" in text, path.name
        assert "/World/p" in text
    if not _compat.RELEASES_STREAM_THREADS:
        assert "compat_bp" in _compat._blueprint_streams  # one kept stream, reused


def test_thread_warning_only_where_threads_are_kept(monkeypatch):
    monkeypatch.setattr(_compat, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _compat.warn_stream_threads_kept()
        _compat.warn_stream_threads_kept()
    messages = [str(w.message) for w in caught if "cannot release the threads" in str(w.message)]
    if _compat.RELEASES_STREAM_THREADS:
        assert messages == []
    else:
        assert len(messages) == 1 and rr.__version__ in messages[0] and "0.24" in messages[0]
