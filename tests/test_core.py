"""Fast tests of the core's frame logic — triggers, episodes, terminal frames, lengths, runs — with a fake scene, a
fake channel and numpy done flags: no torch, no simulator (they run in seconds, on Python 3.11 too).

The fake env stands in for an Isaac Lab env's bookkeeping only: each env's "pose" is a counter of the steps in its
episode; ``step()`` advances it, and envs whose episode ends are reset (counter 0) **inside** ``step()`` through
``_reset_idx``, as Isaac Lab does. So a frame's recorded value says exactly which moment it shows: the terminal frame
of an episode of length L holds L, the reset frame after it 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rerun as rr

from isaac_rerun import every_n
from isaac_rerun._arrays import RowSelector
from isaac_rerun.channels import Channel, Sample, StepRows
from isaac_rerun.config import RecordingCfg, resolve_logged_envs
from isaac_rerun.outputs import FolderOutput, Output, Sink
from isaac_rerun.recorder import Recorder
from isaac_rerun.session import RecordingSession


class FakeEnv:
    """``num_envs`` counters; env ``i``'s episodes last ``lengths[i]`` steps."""

    def __init__(self, lengths: list[int]):
        self.lengths = np.asarray(lengths)
        self.num_envs = len(lengths)
        self.count = np.zeros(self.num_envs)
        self.resets: list[np.ndarray] = []

    def step(self) -> np.ndarray:
        self.count += 1
        done = self.count >= self.lengths
        if done.any():
            self._reset_idx(np.nonzero(done)[0])
        return done

    def _reset_idx(self, ids: np.ndarray) -> None:
        self.resets.append(ids)
        self.count[ids] = 0


class FakeScene:
    """The scene interface the recorder uses: every logged env's counter is its one body's x position."""

    layout = "per_env"

    def __init__(self, env: FakeEnv, logged_envs: Any = 0):
        self.env = env
        self.logged_envs = resolve_logged_envs(logged_envs, env.num_envs)
        self.env_rows = RowSelector(self.logged_envs)

    def sample(self) -> Sample:
        poses = np.zeros((len(self.logged_envs), 7), np.float32)
        poses[:, 0] = self.env.count[self.logged_envs]
        poses[:, 6] = 1
        return Sample(poses, None)

    def view_eye(self, poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.ones(3, np.float32), np.zeros(3, np.float32)


class FakeChannel(Channel):
    """Keeps what it is given: per snippet, each frame's counters, time values and step flags."""

    def __init__(self) -> None:
        self.snippets: list[list[dict[str, Any]]] = []
        self.buffer: list[dict[str, Any]] = []
        self.gathered = 0

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        self.snippets.append([])

    def gather(self, sample: Sample) -> np.ndarray:
        self.gathered += 1
        return sample.poses[:, 0].copy()

    def append(self, row: int, data: Any, step: StepRows) -> None:
        self.buffer.append({"row": row, "count": data.tolist(), "step": step})

    def send(self, stream: rr.RecordingStream, times: Any) -> None:
        columns = {c.timeline_name(): c.as_arrow_array().to_pylist() for c in times(None)}
        columns["sim_time"] = [t.total_seconds() for t in columns["sim_time"]]
        for f in self.buffer:
            f.update({name: values[f["row"]] for name, values in columns.items()})
        self.snippets[-1].extend(self.buffer)
        self.buffer = []

    def clear(self) -> None:
        self.buffer = []


class MemoryOutput(Output):
    """Snippets into one in-memory stream (nothing on disk)."""

    live = False

    def __init__(self) -> None:
        self.stream = rr.RecordingStream("isaac_rerun_test")
        self.stream.memory_recording()
        self.names: list[str] = []

    def open(self, name: str) -> Sink:
        self.names.append(name)
        return Sink(self.stream, name, "frame", "sim_time")

    def open_metrics(self, name: str) -> rr.RecordingStream:
        return self.stream


def make(lengths: list[int], *, hook: bool = True, logged_envs: Any = 0, output: Output | None = None, **options):
    env = FakeEnv(lengths)
    channel = FakeChannel()
    out = output if output is not None else MemoryOutput()
    rec = Recorder(
        FakeScene(env, logged_envs),
        out,
        RecordingCfg(logged_envs=logged_envs, **options),
        step_dt=0.5,
        reset_hook_target=env if hook else None,
        channels=[channel],
    )
    return env, rec, channel, out


def run(env: FakeEnv, rec: Recorder, steps: int) -> None:
    rec.begin()
    for _ in range(steps):
        rec.after_step(env.step())
    rec.close()


# ------------------------------------------------------------------------------------------------ triggers
def test_step_trigger_records_n_frames_across_an_episode_end():
    env, rec, ch, out = make([5], step_trigger=lambda s: s == 2, recording_length=4)
    run(env, rec, 12)
    assert out.names == ["rl-rerun-step-2"]
    (frames,) = ch.snippets
    # steps 2, 3, 4 (4 is the terminal frame: the counter before the reset), then the next episode's reset frame
    assert [f["count"][0] for f in frames] == [3, 4, 5, 0]
    assert [f["frame"] for f in frames] == [0, 1, 2, 3]
    assert [f["env_step"] for f in frames] == [2, 3, 4, 4]
    assert [f["sim_time"] for f in frames] == pytest.approx([0.5, 1.0, 1.5, 1.5]), "a reset frame takes no time"
    assert [f["step"].advance for f in frames] == [True, True, True, False]
    assert frames[2]["step"].ended.tolist() == [True]


def test_a_snippet_that_starts_on_an_episode_end_keeps_its_terminal_frame():
    # the step trigger is asked one step ahead, so the terminal-frame hook is on the env during step 4
    env, rec, ch, _ = make([5], step_trigger=lambda s: s == 4, recording_length=2)
    run(env, rec, 8)
    (frames,) = ch.snippets
    assert [f["count"][0] for f in frames] == [5, 0], "the terminal frame (5), then the reset frame"


def test_the_terminal_frame_hook_is_on_the_env_only_for_steps_that_may_be_recorded():
    env, rec, ch, _ = make([5], step_trigger=lambda s: s == 6, recording_length=2)
    rec.begin()
    hooked = []
    for _ in range(10):
        hooked.append("_reset_idx" in vars(env))  # during the coming env.step()
        rec.after_step(env.step())
    rec.close()
    assert hooked == [False] * 6 + [True, True] + [False, False], hooked
    assert "_reset_idx" not in vars(env), "close() takes the hook off"
    assert [len(s) for s in ch.snippets] == [2]


def test_episode_trigger_records_whole_episodes_from_reset_to_terminal_frame():
    env, rec, ch, out = make([4], episode_trigger=every_n(2))
    run(env, rec, 17)
    assert out.names == ["rl-rerun-episode-0", "rl-rerun-episode-2", "rl-rerun-episode-4"]
    assert rec.episode_id == 4 and rec.step_id == 16
    for frames in ch.snippets[:2]:
        assert [f["count"][0] for f in frames] == [0, 1, 2, 3, 4], "reset frame, then 4 steps; the last is terminal"
        assert frames[0]["step"].advance is False and frames[-1]["step"].ended.tolist() == [True]
    assert [f["env_step"] for f in ch.snippets[1]] == [7, 8, 9, 10, 11]
    assert [f["count"][0] for f in ch.snippets[2]] == [0, 1], "the open snippet is finished by close()"


def test_without_the_reset_hook_the_terminal_frame_shows_the_reset_pose():
    env, rec, ch, _ = make([3], hook=False, episode_trigger=lambda e: e == 0)
    run(env, rec, 4)
    assert [f["count"][0] for f in ch.snippets[0]] == [0, 1, 2, 0]


def test_a_trigger_that_fires_while_recording_starts_a_new_snippet():
    env, rec, ch, out = make([100], step_trigger=every_n(3), recording_length=10)
    run(env, rec, 7)
    assert out.names == ["rl-rerun-step-0", "rl-rerun-step-3", "rl-rerun-step-6"]
    assert [len(s) for s in ch.snippets] == [3, 3, 1]


def test_the_tracked_env_is_the_first_logged_env():
    env, rec, ch, out = make([10, 3], logged_envs=[1, 0], episode_trigger=lambda e: e == 1)
    run(env, rec, 8)
    assert out.names == ["rl-rerun-episode-1"]
    frames = ch.snippets[0]
    assert [f["count"][0] for f in frames] == [0, 1, 2, 3], "env 1's second episode, from its reset frame"
    assert [f["count"][1] for f in frames] == [3, 4, 5, 6]


def test_not_recording_gathers_nothing():
    env, rec, ch, _ = make([3], step_trigger=lambda s: False)
    run(env, rec, 50)
    assert ch.gathered == 0 and ch.snippets == []


def test_a_trigger_that_raises_propagates_with_a_note():
    env, rec, _, _ = make([3], step_trigger=lambda s: 1 / (s - 2) > 0)
    rec.begin()
    rec.after_step(env.step())
    rec.after_step(env.step())
    with pytest.raises(ZeroDivisionError) as info:
        rec.after_step(env.step())
    assert "raised by step_trigger(2)" in "".join(info.value.__notes__)
    rec.close()


# ------------------------------------------------------------------------------------------------ iterations
def test_iteration_trigger_with_length_0_records_the_next_whole_episode():
    env, rec, ch, out = make([5], iteration_trigger=every_n(2))
    rec.begin()
    for it in range(4):
        rec.iteration_start(it)
        for _ in range(3):  # 3 steps per iteration
            rec.after_step(env.step())
    rec.close()
    # iteration 0 (steps 0-2) arms: episode 1 starts after step 4 (in iteration 1); iteration 2 (steps 6-8) arms:
    # episode 2 starts after step 9 (in iteration 3)
    assert out.names == ["rl-rerun-iteration-0", "rl-rerun-iteration-2"]
    assert [f["count"][0] for f in ch.snippets[0]] == [0, 1, 2, 3, 4, 5]
    assert ch.snippets[0][0]["env_step"] == 4


def test_iteration_trigger_with_a_length_records_from_the_iterations_first_step():
    env, rec, ch, out = make([100], iteration_trigger=every_n(2), recording_length=2)
    rec.begin()
    for it in range(4):
        rec.iteration_start(it)
        for _ in range(3):
            rec.after_step(env.step())
    rec.close()
    assert out.names == ["rl-rerun-iteration-0", "rl-rerun-iteration-2"]
    assert [[f["env_step"] for f in s] for s in ch.snippets] == [[0, 1], [6, 7]]


def test_iteration_and_step_triggers_together_are_refused():
    with pytest.raises(ValueError, match="`step_trigger` or `iteration_trigger`"):
        RecordingCfg(step_trigger=every_n(2), iteration_trigger=every_n(3))


# ------------------------------------------------------------------------------------------------ runs
def test_runs_continue_the_counters_and_label_their_files(tmp_path: Path):
    env = FakeEnv([4])
    channel = FakeChannel()
    cfg = RecordingCfg(episode_trigger=every_n(1), save_dir=tmp_path)
    session = RecordingSession(cfg, global_timeline="timesteps")
    session.recorder = rec = Recorder(
        FakeScene(env),
        FolderOutput(tmp_path),
        cfg,
        step_dt=0.5,
        reset_hook_target=env,
        start_run=False,
        global_timeline="timesteps",
        channels=[channel],
    )
    with session.run("train"):
        rec.begin()
        assert "_reset_idx" in env.__dict__, "the terminal-frame hook is on the env while a snippet is open"
        for _ in range(6):
            rec.after_step(env.step())
        rec.log_metrics({"loss": 1.0})
    assert "_reset_idx" not in env.__dict__, "…and off between runs"
    with session.run("train"):
        for _ in range(6):
            rec.after_step(env.step())
        rec.log_metrics({"loss": 2.0})
    with session.run("eval"):
        rec.after_step(env.step())
    session.close()
    assert rec.step_id == 12 and rec.episode_id == 3
    names = sorted(p.stem for p in tmp_path.glob("*.rrd"))
    assert names == [
        "rl-rerun-episode-0",
        "rl-rerun-episode-1",
        "rl-rerun-metrics",
        "rl-rerun-train2-episode-2",
        "rl-rerun-train2-episode-3",
        "rl-rerun-train2-metrics",
    ], "nothing overwritten: later runs are labelled; the eval run recorded no frame and logged no metric"


# ------------------------------------------------------------------------------------------------ options
@pytest.mark.parametrize(
    ("options", "error", "name"),
    [
        ({"logged_envs": "some"}, TypeError, "`logged_envs`"),
        ({"logged_envs": slice(0, 0)}, None, None),  # valid form; empty only against num_envs
        ({"logged_envs": True}, TypeError, "`logged_envs`"),
        ({"logged_envs": []}, ValueError, "`logged_envs`"),
        ({"recording_length": -1}, ValueError, "`recording_length`"),
        ({"episode_trigger": 3}, TypeError, "`episode_trigger`"),
        ({"episode_trigger": "no_such_module:f"}, ValueError, "`episode_trigger`"),
        ({"iteration_trigger": 0}, ValueError, "`iteration_trigger`"),
        ({"flush_every": 0}, ValueError, "`flush_every`"),
        ({"history": 0}, ValueError, "`history`"),
        ({"episode_filter": "worst"}, TypeError, "`episode_filter`"),
        ({"scene_log_cfg": {"layout": "grid"}}, ValueError, "`layout`"),
        ({"save_dir": "a", "viewer": "spawn"}, ValueError, "at most one output"),
        ({"verbose": 3}, ValueError, "`verbose`"),
    ],
)
def test_recording_cfg_validates_each_option_naming_it(options, error, name):
    if error is None:
        RecordingCfg(**options)
        return
    with pytest.raises(error, match=name):
        RecordingCfg(**options)


@pytest.mark.parametrize(
    ("value", "num_envs", "expected"),
    [
        (3, 8, [3]),
        ([5, 1], 8, [5, 1]),
        ("all", 4, [0, 1, 2, 3]),
        (slice(0, 8, 2), 8, [0, 2, 4, 6]),
        ("::3", 8, [0, 3, 6]),
        ("2:", 4, [2, 3]),
        (range(2), 4, [0, 1]),
    ],
)
def test_logged_envs_forms(value, num_envs, expected):
    assert resolve_logged_envs(value, num_envs) == expected


@pytest.mark.parametrize(("value", "match"), [([9], "out-of-range"), ("5:9", "selects no env"), ([1, 1], "duplicates")])
def test_logged_envs_out_of_range_names_the_argument_and_the_valid_values(value, match):
    with pytest.raises(ValueError, match=f"`logged_envs` must be .*'all'.*{match}"):
        resolve_logged_envs(value, 4)


def test_cfg_dicts_and_keyword_overrides():
    cfg = RecordingCfg.coerce({"recording_length": 5}, step_trigger=every_n(2))
    assert cfg.recording_length == 5 and cfg.step_trigger(4)
    with pytest.raises(ValueError, match=r"`cfg` has unknown keys \['recording_lenght'\]"):
        RecordingCfg.coerce({"recording_lenght": 5})
    with pytest.raises(TypeError, match="unknown options"):
        RecordingCfg.coerce(None, rerun_interval=3)


def test_import_isaac_rerun_needs_neither_gymnasium_nor_torch():
    """``import isaac_rerun`` (and the whole core) works where Gymnasium and torch cannot be imported."""
    import subprocess
    import sys

    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("gymnasium", "torch"):
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
import isaac_rerun
from isaac_rerun import RecordingCfg, Recorder, RecordingSession, channels, session
assert "gymnasium" not in sys.modules and "torch" not in sys.modules
try:
    isaac_rerun.LogRerun
except ImportError as exc:
    assert "gymnasium" in str(exc)
else:
    raise AssertionError("LogRerun needs gymnasium")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_rsl_rl_cfg_has_the_core_options_and_defaults():
    """rsl_rl's mutable RerunCfg repeats RecordingCfg's fields (a configclass field must be mutable): same names,
    same defaults (scene_log_cfg: None there, SceneLogCfg() here), plus its own three."""
    import dataclasses

    from isaac_rerun.integrations.rsl_rl import RerunCfg

    core = {f.name: f for f in dataclasses.fields(RecordingCfg)}
    ours = {f.name: f for f in dataclasses.fields(RerunCfg)}
    assert set(ours) - set(core) == {"enabled", "iteration_interval", "record_rank"}
    assert set(core) <= set(ours)
    for name, f in core.items():
        if name == "scene_log_cfg":
            continue
        assert ours[name].default == f.default, name
    assert RerunCfg().recording_cfg() == RecordingCfg()


@pytest.mark.parametrize("rows", [[0, 1, 2], [1, 3], [2]])
def test_row_selection_returns_owned_arrays_and_the_tracked_flag(rows):
    """What RowSelector returns never aliases the simulator's buffer (which the next env.step() overwrites), for
    contiguous rows (a slice: a numpy view unless copied) and others; its flag is the first row's."""
    torch = pytest.importorskip("torch")
    from isaac_rerun._arrays import RowSelector

    select = RowSelector(rows)
    buffer = torch.arange(8, dtype=torch.float32).reshape(4, 2)
    first = select(buffer)
    assert first.tolist() == buffer[rows].tolist()
    buffer.add_(100.0)  # the simulator writes the next step in place
    assert first.tolist() == [[2.0 * r, 2.0 * r + 1] for r in rows]
    assert select(buffer).tolist() == buffer[rows].tolist()  # the cached view follows the buffer
    flags = torch.zeros(4, dtype=torch.bool)
    assert select.flag(flags) is False
    flags[rows[0]] = True  # in place, as Isaac Lab's done buffers
    assert select.flag(flags) is True


def test_the_tracked_done_flag_follows_both_buffers_in_place():
    """``RowSelector.done`` is the tracked env's ``terminated | truncated``; the views it leaves in ``pair`` (which
    the recorder's idle path reads instead of calling it) follow Isaac Lab's in-place writes to both buffers."""
    torch = pytest.importorskip("torch")
    from isaac_rerun._arrays import RowSelector

    select = RowSelector([2, 0])
    terminated = torch.zeros(4, dtype=torch.bool)
    time_outs = torch.zeros(4, dtype=torch.bool)

    def fast() -> bool:
        pair = select.pair
        assert pair[0] is terminated and pair[2] is time_outs
        return bool(pair[1][select.first] or pair[3][select.first])

    assert select.done(terminated, time_outs) is False and fast() is False
    time_outs[2] = True
    assert select.done(terminated, time_outs) is True and fast() is True
    time_outs[2], terminated[0] = False, True  # another env ended: not the tracked one
    assert fast() is False and select.done(terminated, time_outs) is False
    terminated[2] = True
    assert fast() is True
    assert select.done(terminated.clone()) is True  # a fresh tensor: read, and remembered without a time-out buffer
    assert select.pair[2] is None and select.pair[3] is None
