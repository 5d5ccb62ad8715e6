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


def _blueprint_rows(path: Path) -> list[tuple[str, str]]:
    """Every blueprint chunk of a file as (entity, its data without row ids and the time it was logged), sorted."""
    from rerun.chunk import RrdReader

    reader = RrdReader(str(path))
    (store,) = reader.blueprints()
    rows = []
    for chunk in reader.stream(store=store).to_chunks():
        batch = chunk.to_record_batch()
        names = [n for n in batch.schema.names if not n.startswith("rerun.controls")]
        data = {n: batch.column(n).to_pylist() for n in names if n not in ("log_time", "log_tick")}
        rows.append((chunk.entity_path, repr(sorted(data.items()))))
    return sorted(rows)


def test_a_blueprint_sent_again_is_the_same_blueprint(tmp_path):
    """rerun-sdk 0.41: a blueprint is logged once and its chunks are sent again to later recordings; each file then
    holds exactly what Rerun's own ``send_blueprint`` writes (views, containers, panels: every component)."""
    pytest.importorskip("rerun.chunk", reason="rerun-sdk 0.23 has no chunk reader: it logs the blueprint each time")
    bp = rrb.Blueprint(
        rrb.Horizontal(rrb.Spatial3DView(name="scene", origin="/World"), rrb.TimeSeriesView(name="r", origin="/s")),
        collapse_panels=True,
    )
    reference = save(tmp_path / "reference.rrd", "compat_bp2")
    reference.send_blueprint(bp)
    close(reference)
    paths = [tmp_path / f"r{i}.rrd" for i in range(3)]
    for path in paths:
        stream = save(path, "compat_bp2")
        _compat.send_blueprint(stream, bp, "compat_bp2")
        close(stream)
    assert isinstance(_compat._BLUEPRINT_CHUNKS.get(id(bp)), list)  # logged again once, then its chunks sent
    expected = _blueprint_rows(tmp_path / "reference.rrd")
    assert len(expected) >= 5
    for path in paths:
        assert _blueprint_rows(path) == expected, path.name


def _static_rows(path: Path) -> list[tuple[str, str]]:
    """Every static chunk of a file's recording as (entity, its data without row ids), sorted."""
    from rerun.chunk import RrdReader

    reader = RrdReader(str(path))
    (store,) = reader.recordings()
    rows = []
    for chunk in reader.stream(store=store).to_chunks():
        if chunk.is_static and not chunk.entity_path.startswith("/__properties"):
            batch = chunk.to_record_batch()
            data = {n: batch.column(n).to_pylist() for n in batch.schema.names if not n.startswith("rerun.controls")}
            rows.append((chunk.entity_path, repr(sorted(data.items()))))
    return sorted(rows)


def test_static_data_sent_again_is_the_same_data(tmp_path):
    """rerun-sdk 0.41: ``StaticOnce`` logs into the first file as usual and sends the chunks it logged to later
    files; every file holds exactly what logging it directly writes."""
    pytest.importorskip("rerun.chunk", reason="rerun-sdk 0.23 has no chunk reader: static data is logged each time")
    calls = []

    def log(stream: rr.RecordingStream) -> None:
        calls.append(stream)
        stream.log("World/mesh", rr.Mesh3D(vertex_positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]]), static=True)
        stream.log("World/labels", rr.Points3D([[0, 0, 1]], labels=["env 0"]), static=True)

    reference = save(tmp_path / "reference.rrd")
    log(reference)
    close(reference)
    once = _compat.StaticOnce(log)
    paths = [tmp_path / f"r{i}.rrd" for i in range(3)]
    for path in paths:
        stream = save(path)
        once.send(stream)
        close(stream)
    assert len(calls) == 3  # the reference, the first file, once more into memory: not for the third file
    expected = _static_rows(tmp_path / "reference.rrd")
    assert [e for e, _ in expected] == ["/World/labels", "/World/mesh"]
    for path in paths:
        assert _static_rows(path) == expected, path.name


def as_any_values(values: dict[str, object]) -> dict[str, object]:
    """``values`` typed for ``rr.AnyValues`` as isaac-rerun 0.2.0 sent its properties: lists as typed numpy arrays
    (``float64`` if one is a float) or text, a bool as ``[bool]``, an array of text as a ``string`` Arrow array."""
    import pyarrow as pa

    fields: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, (list, tuple)):
            is_float = any(isinstance(v, float) for v in value)
            is_str = any(isinstance(v, str) for v in value)
            value = [str(v) for v in value] if is_str else np.asarray(value, dtype=np.float64 if is_float else np.int64)
        elif isinstance(value, bool):
            value = [value]
        elif isinstance(value, np.ndarray) and value.dtype.kind == "U":
            value = pa.array(value.tolist(), type=pa.string())
        fields[key] = value
    return fields


def test_properties_are_what_rerun_any_values_makes(tmp_path, strict):
    """``send_properties`` builds each property's component directly; every kind of value a snippet's properties hold
    gives the descriptor and Arrow array ``rr.AnyValues`` gives for it (keys fresh to this process: ``AnyValues``
    keeps the first type it saw per key), None is left out, an empty list is an empty ``int64`` array, and the file
    reads back with them."""
    import uuid

    import pyarrow as pa

    tag = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "trigger": "step",
        "ident": 128,
        "np_int": np.int64(7),
        "first": True,
        "step_dt": 1 / 60,
        "np_float": np.float64(2.5),
        "envs": [0, 1, 15],
        "returns": [1.5, 2],
        "names": ["a", "b"],
        "reasons": np.array(["time_out"]),
        "no_reasons": np.array([], dtype=str),
        "f32": np.array([0.5, 1.5], dtype=np.float32),
        "none": None,
        "empty": [],
    }
    values = {f"{k}_{tag}": v for k, v in values.items()}
    ours = _compat.property_batches(values)
    by_key = {str(b.component_descriptor()).rsplit(":", 1)[-1]: b for b in ours}
    assert sorted(by_key) == sorted(k for k in values if not k.startswith("none_"))  # None is left out
    empty = by_key.pop(f"empty_{tag}").as_arrow_array()  # kept by AnyValues on rerun-sdk 0.23, dropped on 0.41
    assert empty.type == pa.int64() and len(empty) == 0
    typed = {k: v for k, v in values.items() if not k.startswith("empty_")}
    theirs = rr.AnyValues(**as_any_values(typed)).as_component_batches()
    assert [b.component_descriptor() for b in by_key.values()] == [b.component_descriptor() for b in theirs]
    for a, b in zip(by_key.values(), theirs, strict=True):
        assert a.as_arrow_array().equals(b.as_arrow_array()), (a.component_descriptor(), a.as_arrow_array())
    assert by_key[f"no_reasons_{tag}"].as_arrow_array().type == pa.string()
    odd = {f"arrow_{tag}": pa.array([1, 2], type=pa.int32())}  # a kind not built here: AnyValues' own batch
    (made,) = _compat.property_batches(odd)
    (expected,) = rr.AnyValues(**odd).as_component_batches()
    assert made.component_descriptor() == expected.component_descriptor()
    assert made.as_arrow_array().equals(expected.as_arrow_array())

    stream = save(tmp_path / "props.rrd")
    _compat.send_properties(stream, "snip", values)
    close(stream)
    props = read_rrd(tmp_path / "props.rrd")["/__properties/snip"].static
    assert props[f"trigger_{tag}"] == ["step"] and props[f"envs_{tag}"] == [0, 1, 15]
    assert props[f"returns_{tag}"] == [1.5, 2.0] and props[f"first_{tag}"] == [True]
