"""``RerunRunnerMixin``: rsl_rl 5.5 PPO / distillation trained for real through Isaac Lab's ``RslRlVecEnvWrapper`` on
the test bed (kit-less, Newton, CPU); every recording is read back from its ``.rrd`` and compared with the simulator.

The ground truth comes from spies installed before the runner: one on the env's ``_reset_idx`` (poses just before
each auto-reset, i.e. terminal poses) and one on the wrapper instance's ``step`` (which the mixin then wraps): the
actions rsl_rl sent, the rewards and dones it got back, and the poses after every step. rsl_rl's own TensorBoard file
is the truth for the per-iteration metrics.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import rerun as rr

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")
pytest.importorskip("rsl_rl")

from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper  # noqa: E402
from rsl_rl.runners import DistillationRunner, OnPolicyRunner  # noqa: E402

from isaac_rerun.integrations.rsl_rl import RerunCfg, RerunRunnerMixin  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from schedule import expected_snippets  # noqa: E402
from testbed_truth import BODIES, sim_poses  # noqa: E402

NSPE = 16  # rsl_rl num_steps_per_env
MLP = {"class_name": "MLPModel", "hidden_dims": [16], "activation": "elu"}
GAUSSIAN = {"class_name": "GaussianDistribution", "init_std": 1.0}
PPO_CFG = {
    "num_steps_per_env": NSPE,
    "save_interval": 1000,
    "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
    "algorithm": {
        "class_name": "PPO",
        "learning_rate": 1e-3,
        "num_learning_epochs": 1,
        "num_mini_batches": 1,
        "schedule": "fixed",
        "value_loss_coef": 1.0,
        "clip_param": 0.2,
        "use_clipped_value_loss": True,
        "desired_kl": 0.01,
        "entropy_coef": 0.0,
        "gamma": 0.99,
        "lam": 0.95,
        "max_grad_norm": 1.0,
    },
    "actor": {**MLP, "distribution_cfg": GAUSSIAN},
    "critic": MLP,
}


class RecordingRunner(RerunRunnerMixin, OnPolicyRunner):
    pass


class RecordingDistillationRunner(RerunRunnerMixin, DistillationRunner):
    pass


def ppo_cfg(**rerun) -> dict:
    cfg = copy.deepcopy(PPO_CFG)  # rsl_rl edits its cfg dict in place
    if rerun:
        cfg["rerun"] = rerun
    return cfg


class Truth:
    """Per ``env.step()`` of rsl_rl: actions, rewards, dones, poses before the auto-reset and after the step.

    The ``_reset_idx`` spy also puts ``extras["log"]`` as an Isaac Lab task does (``{"resets": n}``), so that
    rsl_rl logs an ``Episode/*`` metric.
    """

    def __init__(self, venv):
        self.venv = venv
        self.base = venv.unwrapped
        self.pending = None
        self.history: list[dict] = []
        reset_idx, step = self.base._reset_idx, venv.step

        def reset_spy(env_ids, *args, **kwargs):
            self.pending = sim_poses(self.base.scene)
            self.base.extras["log"] = {"resets": float(len(env_ids))}
            return reset_idx(env_ids, *args, **kwargs)

        def step_spy(actions):
            obs, rewards, dones, extras = step(actions)
            after = sim_poses(self.base.scene)
            self.history.append(
                {
                    "actions": actions.detach().cpu().numpy().copy(),
                    "rewards": rewards.detach().cpu().numpy().copy(),
                    "done": dones.detach().cpu().numpy().astype(bool),
                    "before": self.pending if self.pending is not None else after,
                    "after": after,
                }
            )
            self.pending = None
            return obs, rewards, dones, extras

        self.base._reset_idx = reset_spy
        venv.step = step_spy

    def remove(self):
        self.base.__dict__.pop("_reset_idx", None)
        self.venv.__dict__.pop("step", None)

    def pose(self, event, key, env, body):
        kind, s = event
        return self.history[s]["after" if kind == "reset" else "before"][key][env, body]


def iteration_schedule(tracked_dones, interval, length, start_it=0):
    """The snippets of ``iteration_interval=interval``, in the event model of ``schedule.expected_snippets``.

    Written over the tracked env's done flags: iteration ``it`` (``it % interval == 0``) arms at its first step; the
    first episode that starts (a done of the tracked env) at that step or later is recorded as ``iteration-{it}``.
    Steps in the returned frames are indices into this run's history (step id = ``start_it * NSPE + index``).
    """
    fires, armed, episode = {}, None, 0
    for i, done in enumerate(tracked_dones):
        step_id = start_it * NSPE + i
        if step_id % NSPE == 0 and (step_id // NSPE) % interval == 0:
            armed = step_id // NSPE
        if done:
            episode += 1
            if armed is not None:
                fires[episode], armed = armed, None
    snips = expected_snippets(tracked_dones, lambda e: e in fires, None, length)
    for snip in snips:
        snip.name = f"rl-rerun-iteration-{fires[int(snip.name.rsplit('-', 1)[1])]}"
    return snips


def check_snippet(path, snip, truth, logged_envs, step_dt, start_it=0):
    """Poses of every body, the timelines, and the per-step scalars of one snippet against the truth."""
    ents = read_rrd(path)
    steps = [s for _, s in snip.frames]
    for env in logged_envs:
        for suffix, (group, name, body) in BODIES.items():
            ent = ents[f"/World/envs/env_{env}/{suffix}"]
            order = ent.sorted_by("frame")
            assert list(ent.timeline("frame", order)) == list(range(len(snip.frames))), (snip.name, suffix)
            want = np.array([truth.pose(ev, (group, name), env, body) for ev in snip.frames])
            pos = ent.vectors("Transform3D:translation", order)
            np.testing.assert_allclose(pos, want[:, :3], atol=1e-5, err_msg=f"{snip.name} env {env} {suffix}")
            assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:]), (snip.name, env, suffix)
            step_ids = [start_it * NSPE + s for s in steps]
            assert list(ent.timeline("env_step", order)) == step_ids
            assert list(ent.timeline("iteration", order)) == [s // NSPE for s in step_ids]
            n_steps = np.cumsum([kind == "step" for kind, _ in snip.frames])
            np.testing.assert_allclose(ent.timeline("sim_time", order), n_steps * step_dt, atol=1e-6)
    step_frames = [s for kind, s in snip.frames if kind == "step"]
    for j, env in enumerate(logged_envs):
        for metric, want in (
            ("reward", [truth.history[s]["rewards"][env] for s in step_frames]),
            ("action", [truth.history[s]["actions"][env, 0] for s in step_frames]),
        ):
            ent = ents[f"/scalars/env_{env}/{metric}"]
            order = ent.sorted_by("frame")
            assert list(ent.timeline("env_step", order)) == [start_it * NSPE + s for s in step_frames]
            got = [v[0] for v in ent.timeline("Scalars:scalars", order)]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{snip.name} env {env} {metric}")
        # episodes that start and end inside the snippet (the tracked env's first one starts at the snippet's start)
        starts = [snip.frames[0][1]] if j == 0 and snip.frames[0][0] == "reset" else []
        episodes = []
        for s in step_frames:
            if truth.history[s]["done"][env]:
                if starts:
                    ret = sum(float(truth.history[t]["rewards"][env]) for t in range(starts[-1] + 1, s + 1))
                    episodes.append((start_it * NSPE + s, ret, s - starts[-1]))
                starts.append(s)
        got_ret = ents.get(f"/scalars/env_{env}/episode_return")
        if not episodes:
            assert got_ret is None, (snip.name, env)
            continue
        order = got_ret.sorted_by("frame")
        assert list(got_ret.timeline("env_step", order)) == [e[0] for e in episodes]
        np.testing.assert_allclose([v[0] for v in got_ret.timeline("Scalars:scalars", order)], [e[1] for e in episodes])
        got_len = ents[f"/scalars/env_{env}/episode_length"]
        assert [v[0] for v in got_len.timeline("Scalars:scalars", got_len.sorted_by("frame"))] == [
            e[2] for e in episodes
        ]


def tensorboard_scalars(log_dir) -> dict[str, dict[int, float]]:
    """What rsl_rl wrote to TensorBoard: tag -> {iteration: value} (the wall-clock-indexed ``*/time`` tags left out)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {
        tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"] if not tag.endswith("/time")
    }


def rrd_metrics(path) -> dict[str, dict[int, tuple[float, int]]]:
    """``/train/<tag>`` of a metrics recording: tag -> {iteration: (value, env_step)}."""
    out = {}
    for entity, ent in read_rrd(path).items():
        if entity.startswith("/train/") and "Scalars:scalars" in ent.columns:
            order = ent.sorted_by("iteration")
            values = [v[0] for v in ent.timeline("Scalars:scalars", order)]
            rows = zip(values, ent.timeline("env_step", order), strict=True)
            out[entity[len("/train/") :]] = dict(zip(ent.timeline("iteration", order), rows, strict=True))
    return out


def test_ppo_training_is_recorded_on_the_iteration_schedule(make_testbed_env, tmp_path):
    assert rr.get_data_recording() is None, "a global recording (rr.init) would take the place of the default output"
    env = make_testbed_env(num_envs=4, episode_length_s=0.5)  # 30-step time-outs: several episodes per run
    venv = RslRlVecEnvWrapper(env)
    truth = Truth(venv)
    logs = tmp_path / "logs"
    runner = RecordingRunner(
        venv, ppo_cfg(), str(logs), device="cpu", rerun=RerunCfg(iteration_interval=2, logged_envs=[0, 2])
    )
    try:
        runner.learn(num_learning_iterations=7)
    finally:
        truth.remove()
    runner.logger.writer.flush()
    assert len(truth.history) == 7 * NSPE
    tracked = [bool(h["done"][0]) for h in truth.history]
    assert sum(tracked) >= 3, "the tracked env must finish several episodes for this test to mean anything"
    snips = iteration_schedule(tracked, 2, 0)
    assert len(snips) >= 2, f"tracked env's episode ends {[i for i, d in enumerate(tracked) if d]} give {snips}"
    rerun_dir = logs / "rerun"  # the default output: beside rsl_rl's TensorBoard files
    assert sorted(p.name for p in rerun_dir.glob("*.rrd")) == sorted(
        [f"{s.name}.rrd" for s in snips] + ["rl-rerun-metrics.rrd"]
    )
    for snip in snips:
        check_snippet(rerun_dir / f"{snip.name}.rrd", snip, truth, [0, 2], env.unwrapped.step_dt)
    assert [s.name for s in runner.rerun_recorder.finished] == [s.name for s in snips]

    # every scalar rsl_rl wrote for an iteration is on the iteration timeline, at the iteration's last step
    want = tensorboard_scalars(logs)
    assert {"Loss/value", "Loss/surrogate", "Perf/total_fps", "Train/mean_reward", "Episode/resets"} <= set(want)
    got = rrd_metrics(rerun_dir / "rl-rerun-metrics.rrd")
    assert set(got) == set(want)
    for tag, by_it in want.items():
        assert sorted(got[tag]) == sorted(by_it), tag
        for it, value in by_it.items():
            np.testing.assert_allclose(got[tag][it][0], value, rtol=1e-6, err_msg=tag)
            assert got[tag][it][1] == it * NSPE + NSPE - 1, tag
    assert sorted(got["Loss/value"]) == list(range(7))

    # nothing stays hooked once learn() returned
    assert "step" not in venv.__dict__ and "log" not in runner.logger.__dict__
    assert "_reset_idx" not in env.unwrapped.__dict__


def test_resumed_run_continues_the_iteration_numbering(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=0.5)
    venv = RslRlVecEnvWrapper(env)
    first = RecordingRunner(venv, ppo_cfg(), str(tmp_path / "run1"), rerun={"iteration_interval": 1})
    first.learn(num_learning_iterations=3)  # saves model_2.pt: rsl_rl numbers the last iteration 2
    # a new runner restored from the checkpoint, as Isaac Lab's --resume does (new log dir)
    cfg = ppo_cfg(iteration_interval=1, logged_envs=[1], save_dir=str(tmp_path / "rerun2"))
    second = RecordingRunner(venv, cfg, str(tmp_path / "run2"))
    second.load(str(tmp_path / "run1" / "model_2.pt"))
    assert second.current_learning_iteration == 2
    truth = Truth(venv)
    try:
        second.learn(num_learning_iterations=3)  # rsl_rl runs iterations 2, 3, 4
    finally:
        truth.remove()
    second.logger.writer.flush()
    got = rrd_metrics(tmp_path / "rerun2" / "rl-rerun-metrics.rrd")
    assert sorted(got["Loss/value"]) == [2, 3, 4] == sorted(tensorboard_scalars(tmp_path / "run2")["Loss/value"])
    assert [env_step for _, env_step in got["Loss/value"].values()] == [2 * NSPE + 15, 3 * NSPE + 15, 4 * NSPE + 15]
    tracked = [bool(h["done"][1]) for h in truth.history]
    snips = iteration_schedule(tracked, 1, 0, start_it=2)
    assert snips and all(int(s.name.rsplit("-", 1)[1]) >= 2 for s in snips)
    assert sorted(p.name for p in (tmp_path / "rerun2").glob("rl-rerun-iteration-*.rrd")) == sorted(
        f"{s.name}.rrd" for s in snips
    )
    for snip in snips:
        check_snippet(tmp_path / "rerun2" / f"{snip.name}.rrd", snip, truth, [1], env.unwrapped.step_dt, start_it=2)
    assert first.rerun_recorder.finished
    assert all(s.path.parent == tmp_path / "run1" / "rerun" for s in first.rerun_recorder.finished)


class SimulatedRank1Runner(RecordingRunner):
    """Stands for the second process of ``torchrun --nproc_per_node=2`` (``WORLD_SIZE=2 RANK=1 LOCAL_RANK=1``).

    It sets exactly the attributes and ``cfg["multi_gpu"]`` that rsl_rl's ``_configure_multi_gpu`` sets there; left
    out are its ``cuda:1`` device check and its NCCL process group (they need two GPUs): the test runs a one-process
    gloo group instead, which PPO's gradient all-reduce and parameter broadcast use.
    """

    def _configure_multi_gpu(self):
        self.gpu_world_size, self.is_distributed = 2, True
        self.gpu_local_rank, self.gpu_global_rank = 1, 1
        self.cfg["multi_gpu"] = {"global_rank": 1, "local_rank": 1, "world_size": 2}


@pytest.fixture
def gloo_group(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_only_the_recording_rank_records(testbed_env, tmp_path, gloo_group):
    venv = RslRlVecEnvWrapper(testbed_env)
    rerun = {"step_trigger": lambda s: s == 0, "recording_length": 5, "save_dir": str(tmp_path / "rerun")}
    rank1 = SimulatedRank1Runner(venv, ppo_cfg(), str(tmp_path / "logs"), rerun=rerun)  # record_rank=0: not us
    assert rank1.rerun_recorder is None
    assert "_reset_idx" not in testbed_env.unwrapped.__dict__
    step, unhooked = venv.step, []

    def spy(actions):  # on the recording rank the mixin would replace this instance attribute during learn()
        unhooked.append(venv.__dict__.get("step") is spy)
        return step(actions)

    venv.step = spy
    try:
        rank1.learn(num_learning_iterations=1)
    finally:
        venv.__dict__.pop("step", None)
    assert unhooked == [True] * NSPE
    assert not (tmp_path / "rerun").exists()
    assert not (tmp_path / "logs").exists()  # rsl_rl itself writes nothing on rank 1 either
    # the same process configured to record rank 1 does record: the check above can fail
    recording = SimulatedRank1Runner(venv, ppo_cfg(), None, rerun={**rerun, "record_rank": 1})
    recording.learn(num_learning_iterations=1)
    assert [p.name for p in (tmp_path / "rerun").glob("*.rrd")] == ["rl-rerun-step-0.rrd"]
    ent = read_rrd(tmp_path / "rerun" / "rl-rerun-step-0.rrd")["/World/envs/env_0/Robot/pole"]
    assert list(ent.timeline("env_step", ent.sorted_by("frame"))) == [0, 1, 2, 3, 4]


def test_learn_that_raises_finishes_the_snippet_and_unhooks(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=2.0)  # 120 steps: the snippet is still open at step 20
    venv = RslRlVecEnvWrapper(env)

    def trigger(step_id):
        if step_id == 20:
            raise RuntimeError("user trigger failed")
        return step_id == 3

    truth = Truth(venv)
    runner = RecordingRunner(venv, ppo_cfg(step_trigger=trigger, save_dir=str(tmp_path)), None)
    try:
        with pytest.raises(RuntimeError, match="user trigger failed"):
            runner.learn(num_learning_iterations=3)
    finally:
        truth.remove()
    assert not any(bool(h["done"][0]) for h in truth.history[3:20])
    ents = read_rrd(tmp_path / "rl-rerun-step-3.rrd")  # complete: finished when learn() raised
    ent = ents["/World/envs/env_0/Robot/pole"]
    order = ent.sorted_by("frame")
    assert list(ent.timeline("env_step", order)) == list(range(3, 20))
    want = np.array([truth.history[s]["before"][("articulations", "robot")][0, 2] for s in range(3, 20)])
    assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:])
    assert "_reset_idx" not in env.unwrapped.__dict__ and "log" not in runner.logger.__dict__


def test_distillation_runner(testbed_env, tmp_path):
    venv = RslRlVecEnvWrapper(testbed_env)
    teacher = tmp_path / "teacher.pt"
    OnPolicyRunner(venv, ppo_cfg(), None).save(str(teacher))
    cfg = {
        "num_steps_per_env": NSPE,
        "save_interval": 1000,
        "obs_groups": {"student": ["policy"], "teacher": ["policy"]},
        "algorithm": {"class_name": "Distillation", "num_learning_epochs": 1, "gradient_length": 8},
        "student": {**MLP, "distribution_cfg": GAUSSIAN},
        "teacher": {**MLP, "distribution_cfg": GAUSSIAN},
        "rerun": {"step_trigger": lambda s: s in (2, NSPE + 2), "recording_length": 4},
    }
    runner = RecordingDistillationRunner(venv, cfg, str(tmp_path / "logs"))
    with pytest.raises(ValueError, match="Teacher"):
        runner.learn(num_learning_iterations=1)  # rsl_rl refuses: no teacher yet; nothing recorded, nothing hooked
    assert not (tmp_path / "logs" / "rerun").exists() and "step" not in venv.__dict__
    runner.load(str(teacher))
    runner.learn(num_learning_iterations=2)
    rerun_dir = tmp_path / "logs" / "rerun"
    assert sorted(p.name for p in rerun_dir.glob("*.rrd")) == [
        "rl-rerun-metrics.rrd",
        "rl-rerun-step-18.rrd",
        "rl-rerun-step-2.rrd",
    ]
    ent = read_rrd(rerun_dir / "rl-rerun-step-18.rrd")["/World/envs/env_0/Robot/pole"]
    order = ent.sorted_by("frame")
    assert list(ent.timeline("env_step", order)) == [18, 19, 20, 21]
    assert list(ent.timeline("iteration", order)) == [1, 1, 1, 1]
    metrics = rrd_metrics(rerun_dir / "rl-rerun-metrics.rrd")
    assert sorted(metrics["Loss/behavior"]) == [0, 1]


def test_bad_settings_raise_at_construction_and_write_nothing(testbed_env, tmp_path):
    venv = RslRlVecEnvWrapper(testbed_env)
    out = tmp_path / "out"
    cases = [
        ("often", TypeError, "`rerun`"),
        ({"iteration_intervall": 5}, ValueError, "iteration_intervall"),
        ({"iteration_interval": 0}, ValueError, "iteration_interval"),
        ({"logged_envs": 4}, ValueError, "logged_envs"),
        ({"recording_length": -1}, ValueError, "recording_length"),
        ({"step_trigger": 5}, TypeError, "step_trigger"),
        ({"episode_trigger": "no_such_module:trigger"}, ValueError, "episode_trigger"),
        ({"record_rank": -1}, ValueError, "record_rank"),
        ({"record_rank": 1}, ValueError, "record_rank"),  # a one-process run has rank 0 only
        ({"log_scalars": "yes"}, TypeError, "log_scalars"),
        ({"name_prefix": "a/b"}, ValueError, "name_prefix"),
        ({"viewer": "spawn", "save_path": str(out / "a.rrd")}, ValueError, "save_path"),
    ]
    for rerun, exc, name in cases:
        with pytest.raises(exc, match=name):
            RecordingRunner(venv, ppo_cfg(), str(out / "logs"), rerun=rerun)
    with pytest.raises(ValueError, match=r'train_cfg\["rerun"\].*bogus'):
        RecordingRunner(venv, ppo_cfg(bogus=1), None)
    with pytest.raises(ValueError, match="`env`"):
        RecordingRunner(object(), ppo_cfg(), None)
    assert not out.exists()
    assert "_reset_idx" not in testbed_env.unwrapped.__dict__
    # enabled=False: a plain rsl_rl runner
    plain = RecordingRunner(venv, ppo_cfg(enabled=False, logged_envs=99), None)
    assert plain.rerun_recorder is None


def every_third_episode(episode_id: int) -> bool:
    return episode_id % 3 == 0


def test_settings_from_an_isaac_lab_runner_configclass():
    """The runner-cfg route: a ``rerun`` field on an ``RslRlOnPolicyRunnerCfg`` survives ``to_dict()``."""
    from isaaclab.utils import configclass
    from isaaclab_rl.rsl_rl import RslRlOnPolicyRunnerCfg

    @configclass
    class AgentCfg(RslRlOnPolicyRunnerCfg):
        num_steps_per_env = 24
        rerun = RerunCfg(iteration_interval=50, logged_envs=[0, 1], episode_trigger=every_third_episode)

    agent_cfg = AgentCfg()
    agent_cfg.rerun.recording_length = 200
    as_dict = agent_cfg.to_dict()["rerun"]
    assert as_dict["episode_trigger"] == f"{__name__}:every_third_episode"  # how to_dict() stores a function
    cfg = RerunCfg.from_value(as_dict, 'train_cfg["rerun"]')
    assert (cfg.iteration_interval, cfg.logged_envs, cfg.recording_length) == (50, [0, 1], 200)
    assert cfg.episode_trigger is every_third_episode
    assert AgentCfg().rerun.recording_length == 0  # each config instance has its own copy


def test_worst_return_per_iteration_keeps_the_lowest_return_of_each_iteration(make_testbed_env, tmp_path):
    """``worst_return(per_iteration=True)``: of the episodes that ended in each learning iteration (any env), the one
    with the lowest return is written from the rolling history, whole (reset frame to terminal frame)."""
    from isaac_rerun.filters import worst_return

    env = make_testbed_env(num_envs=4, episode_length_s=0.25)  # 15-step time-outs: episodes end in every iteration
    venv = RslRlVecEnvWrapper(env)
    truth = Truth(venv)
    out = tmp_path / "rerun"
    rerun = {
        "save_dir": str(out),
        "iteration_trigger": lambda it: False,
        "episode_filter": worst_return(per_iteration=True),
    }
    runner = RecordingRunner(venv, ppo_cfg(), str(tmp_path / "logs"), device="cpu", rerun=rerun)
    try:
        runner.learn(num_learning_iterations=4)
    finally:
        truth.remove()
    assert len(truth.history) == 4 * NSPE
    rewards = np.array([h["rewards"] for h in truth.history], dtype=np.float64)
    dones = np.array([h["done"] for h in truth.history])
    ended = []  # (env, its episode index, first step, last step, return)
    for e in range(dones.shape[1]):
        first, k = 0, 0
        for s in np.flatnonzero(dones[:, e]):
            ended.append((e, k, first, int(s), float(rewards[first : s + 1, e].sum())))
            first, k = int(s) + 1, k + 1
    want = []
    for it in range(4):
        inside = [ep for ep in ended if it * NSPE <= ep[3] < (it + 1) * NSPE]
        assert inside, f"episodes must end in iteration {it} for this test to mean anything"
        want.append(min(inside, key=lambda ep: (ep[4], ep[0])))
    assert len({ep[4] for ep in ended}) > 1, "returns must differ for the choice to mean anything"
    assert sorted(p.name for p in out.glob("*-worst-*.rrd")) == sorted(
        f"rl-rerun-env-{e}-worst-episode-{k}.rrd" for e, k, *_ in want
    )
    for e, k, first, last, ret in want:
        path = out / f"rl-rerun-env-{e}-worst-episode-{k}.rrd"
        ents = read_rrd(path)
        base = ents[f"/World/envs/env_{e}/Robot/pole"]
        order = base.sorted_by("frame")
        assert list(base.timeline("env_step", order)) == [max(first - 1, 0), *range(first, last + 1)], path.name
        want_pole = [truth.pose(("step", s), ("articulations", "robot"), e, 2) for s in range(first, last + 1)]
        got = base.vectors("Transform3D:translation", order)[1:]
        np.testing.assert_allclose(got, np.array(want_pole)[:, :3], atol=1e-5, err_msg=path.name)
        reward = ents[f"/scalars/env_{e}/reward"]
        got_ret = sum(v[0] for v in reward.timeline("Scalars:scalars", reward.sorted_by("frame")))
        np.testing.assert_allclose(got_ret, ret, rtol=1e-5, atol=1e-6, err_msg=path.name)
