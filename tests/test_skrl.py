"""skrl integration on the real Isaac Lab 3.0 test bed: skrl 2.1 PPO trains through Isaac Lab's ``SkrlVecEnvWrapper``,
both ways of enabling recording (``RerunSequentialTrainer`` and ``attach_rerun`` on the trainer of skrl's ``Runner``),
then ``eval()``; every ``.rrd`` is read back and compared with the simulator.

The ground truth is a :class:`Truth` wrapper between the Isaac Lab env and ``SkrlVecEnvWrapper``: per vector step it
keeps the poses just before the auto-reset (a spy on ``_reset_idx``) and after ``step()``, the done flags, rewards
and actions. skrl's TensorBoard writes are spied on (``agent.writer.add_scalar``, still called through) to check that
the same tracking data reached the metrics recording.
"""

from __future__ import annotations

import collections
import multiprocessing
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")
pytest.importorskip("skrl")

import gymnasium as gym  # noqa: E402
import rerun as rr  # noqa: E402
from isaaclab_rl.skrl import SkrlVecEnvWrapper  # noqa: E402
from skrl.agents.torch.ppo import PPO, PPO_CFG  # noqa: E402
from skrl.memories.torch import RandomMemory  # noqa: E402
from skrl.models.torch import DeterministicMixin, GaussianMixin, Model  # noqa: E402
from skrl.trainers.torch import ParallelTrainer, SequentialTrainer  # noqa: E402

from isaac_rerun import every_n  # noqa: E402
from isaac_rerun.integrations.skrl import RerunSequentialTrainer, attach_rerun  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from schedule import Snip, expected_snippets  # noqa: E402
from testbed_truth import BODIES, sim_poses  # noqa: E402

ROLLOUTS = 16
TRAINER_CFG = {"headless": True, "disable_progressbar": True, "close_environment_at_exit": False}


# ------------------------------------------------------------------------------------------------ ground truth


class Truth(gym.Wrapper):
    """Between the Isaac Lab env and ``SkrlVecEnvWrapper``: what the simulator did at every vector step."""

    def __init__(self, env):
        super().__init__(env)
        self.base = env.unwrapped
        self.pending = None
        self.history: list[dict] = []
        self.initial = None
        original = self.base._reset_idx

        def spy(*args, **kwargs):
            self.pending = sim_poses(self.base.scene)
            return original(*args, **kwargs)

        self.base._reset_idx = spy

    def remove(self):
        self.base.__dict__.pop("_reset_idx", None)

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        self.pending = None
        self.initial = sim_poses(self.base.scene)
        return out

    def step(self, action):
        obs, rew, terminated, truncated, info = self.env.step(action)
        after = sim_poses(self.base.scene)
        before = self.pending if self.pending is not None else after
        self.pending = None
        self.history.append(
            {
                "before": before,
                "after": after,
                "done": (terminated | truncated).cpu().numpy().copy(),
                "reward": rew.detach().cpu().numpy().astype(np.float64).copy(),
                "action": action.detach().cpu().numpy().astype(np.float64).copy(),
            }
        )
        return obs, rew, terminated, truncated, info


@dataclass
class Run:
    """One ``train()`` / ``eval()`` call as the simulator saw it."""

    truth: Truth
    offset: int  # index of the run's first step in truth.history
    steps: int
    prefix: str
    began: bool  # did the run start with a real reset (skrl's wrapper resets once per process)
    tb: list[tuple[str, float, int]] = field(default_factory=list)  # TensorBoard writes during the run

    def step(self, s: int) -> dict:
        return self.truth.history[self.offset + s]

    def tracked_dones(self, env: int) -> list[bool]:
        return [bool(self.step(s)["done"][env]) for s in range(self.steps)]

    def pose(self, event, key, env, body) -> np.ndarray:
        kind, s = event
        if kind == "reset" and s < 0:
            return self.truth.initial[key][env, body]
        return self.step(s)["after" if kind == "reset" else "before"][key][env, body]


def run_trainer(call, truth: Truth, prefix: str, agent) -> Run:
    """Call ``trainer.train`` / ``.eval`` (or ``runner.run``) and note what the simulator did meanwhile."""
    run = Run(truth, len(truth.history), 0, prefix, began=False)
    initial = truth.initial
    writer = agent.writer
    original = writer.add_scalar

    def spy(*, tag, value, timestep):
        run.tb.append((tag, float(value), int(timestep)))
        return original(tag=tag, value=value, timestep=timestep)

    writer.add_scalar = spy
    try:
        call()
    finally:
        del writer.add_scalar
    run.steps = len(truth.history) - run.offset
    run.began = truth.initial is not initial
    return run


def expected_run(run: Run, logged_envs, episode_trigger, step_trigger, length, episodes_before=0) -> list[Snip]:
    """The trigger schedule of one run. Episode ids continue from run to run: without a reset at its start (skrl
    resets once per process), the episode in progress has the id the previous run ended with (``episodes_before``,
    its tracked env's episode count) and is not picked, since it did not start in this run."""
    dones = run.tracked_dones(logged_envs[0])
    if run.began:
        return expected_snippets(dones, episode_trigger, step_trigger, length, run.prefix)
    shifted = None if episode_trigger is None else (lambda e: e >= 1 and episode_trigger(e + episodes_before))
    snips = expected_snippets(dones, shifted, step_trigger, length, run.prefix)
    for snip in snips:
        head, _, n = snip.name.rpartition("-")
        if head.endswith("-episode"):
            snip.name = f"{head}-{int(n) + episodes_before}"
    return snips


def expected_episodes(run: Run, snip: Snip, logged_envs) -> dict[int, list[tuple[int, float, int]]]:
    """Per logged env: (frame, return, length) of each episode whose first and last step are in the snippet."""
    out: dict[int, list[tuple[int, float, int]]] = {}
    first_kind, first_step = snip.frames[0]
    for j, env in enumerate(logged_envs):
        start = None
        if (first_kind, first_step) == ("reset", -1):
            start = 0  # a real reset: every env starts an episode
        elif first_kind == "reset" and j == 0:
            start = first_step + 1  # an episode-triggered snippet starts with the tracked env's new episode
        eps = []
        for i, (kind, s) in enumerate(snip.frames):
            if kind == "step" and run.step(s)["done"][env]:
                if start is not None:
                    ret = sum(run.step(t)["reward"][env] for t in range(start, s + 1))
                    eps.append((i, ret, s - start + 1))
                start = s + 1
        out[env] = eps
    return out


# ------------------------------------------------------------------------------------------------ checks
def check_run(save_dir, run: Run, snips: list[Snip], logged_envs, step_dt) -> int:
    """Compare every snippet file of a run with the simulator; returns the number of frames checked."""
    assert snips, f"{run.prefix}: the schedule must produce snippets for this test to mean anything"
    own = re.compile(rf"{re.escape(run.prefix)}-(episode|step|iteration)-\d+")  # not the files of other runs
    written = {p.stem for p in save_dir.glob("*.rrd") if own.fullmatch(p.stem)}
    assert written == {s.name for s in snips}
    frames = 0
    for snip in snips:
        ents = read_rrd(save_dir / f"{snip.name}.rrd")
        want_steps = [max(s, 0) for _, s in snip.frames]
        # the global `timestep` timeline: env steps completed (skrl's TensorBoard x-axis)
        want_timestep = [s + 1 for _, s in snip.frames]
        n_steps = np.cumsum([kind == "step" for kind, _ in snip.frames])
        for env in logged_envs:
            for suffix, (group, name, body) in BODIES.items():
                ent = ents[f"/World/envs/env_{env}/{suffix}"]
                order = ent.sorted_by("frame")
                assert list(ent.timeline("frame", order)) == list(range(len(snip.frames))), (snip.name, suffix)
                want = np.array([run.pose(ev, (group, name), env, body) for ev in snip.frames])
                pos = ent.vectors("Transform3D:translation", order)
                np.testing.assert_allclose(pos, want[:, :3], atol=1e-5, err_msg=f"{snip.name} env {env} {suffix}")
                assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:]), (snip.name, suffix)
                assert list(ent.timeline("env_step", order)) == want_steps
                assert list(ent.timeline("timestep", order)) == want_timestep
                np.testing.assert_allclose(ent.timeline("sim_time", order), n_steps * step_dt, atol=1e-6)
            # reward and action on every step frame
            step_frames = [(i, s) for i, (kind, s) in enumerate(snip.frames) if kind == "step"]
            for metric in ("reward", "action"):
                if not step_frames:  # a snippet of one reset frame (cut by the end of the run): no step, no reward
                    assert f"/scalars/env_{env}/{metric}" not in ents
                    continue
                ent = ents[f"/scalars/env_{env}/{metric}"]
                order = ent.sorted_by("frame")
                assert list(ent.timeline("frame", order)) == [i for i, _ in step_frames], (snip.name, metric)
                got = np.array([ent.column("Scalars:scalars")[i] for i in order], dtype=np.float64)
                want = np.array([np.atleast_1d(run.step(s)[metric][env]) for _, s in step_frames])
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{snip.name} {metric}")
            # episode return / length at the terminal frame of every episode seen whole
            eps = expected_episodes(run, snip, logged_envs)[env]
            for metric, k in (("episode_return", 1), ("episode_length", 2)):
                path = f"/scalars/env_{env}/{metric}"
                if not eps:
                    assert path not in ents or not ents[path].n, (snip.name, path)
                    continue
                ent = ents[path]
                order = ent.sorted_by("frame")
                assert list(ent.timeline("frame", order)) == [e[0] for e in eps], (snip.name, metric)
                got = [ent.column("Scalars:scalars")[i][0] for i in order]
                np.testing.assert_allclose(got, [e[k] for e in eps], rtol=1e-5, err_msg=f"{snip.name} {metric}")
        frames += len(snip.frames)
    return frames


def metric_path(tag: str, mode: str, shared: bool = True) -> str:
    """A tracking-data tag's entity: ``/train/…`` (an eval run's under ``/train/eval`` in a shared stream)."""
    parts = [rr.escape_entity_path_part(p.strip()) for p in tag.split("/")]
    return "/train/" + ("eval/" if mode == "eval" and shared else "") + "/".join(parts)


def check_tracking_data(folder, runs: dict[str, Run]) -> None:
    """Every scalar skrl wrote to TensorBoard is in the run's metrics file (``rl-rerun-metrics.rrd`` for the first
    train run, ``rl-rerun-eval-metrics.rrd`` for the first eval run), at the same timestep, same value."""
    for mode, run in runs.items():
        ents = read_rrd(folder / ("rl-rerun-metrics.rrd" if mode == "train" else f"rl-rerun-{mode}-metrics.rrd"))
        assert run.tb, f"skrl must have written tracking data during {mode} for this test to mean anything"
        tags = {t for t, _, _ in run.tb}
        assert any(t.startswith("Reward /") for t in tags)
        if mode == "train":
            assert "Loss / Policy loss" in tags and "Loss / Value loss" in tags
        for tag in tags:
            ent = ents[metric_path(tag, mode, shared=False)]
            got = {
                int(ts): v[0]
                for ts, v in zip(ent.column("timestep"), ent.column("Scalars:scalars"), strict=True)
                if ts is not None
            }
            want = {ts: v for t, v, ts in run.tb if t == tag}
            assert sorted(got) == sorted(want), (mode, tag)
            np.testing.assert_allclose([got[k] for k in sorted(want)], [want[k] for k in sorted(want)], rtol=1e-5)
            # the env_step timeline: the step id the tracking data was written after (skrl writes at timestep + 1)
            assert sorted(x for x in ent.column("env_step") if x is not None) == [k - 1 for k in sorted(want)]


# ------------------------------------------------------------------------------------------------ skrl setup
class Policy(GaussianMixin, Model):
    def __init__(self, observation_space, action_space, device):
        Model.__init__(self, observation_space=observation_space, action_space=action_space, device=device)
        GaussianMixin.__init__(self)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(self.num_observations, 32), torch.nn.ELU(), torch.nn.Linear(32, self.num_actions)
        )
        self.log_std = torch.nn.Parameter(torch.zeros(self.num_actions))

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {"log_std": self.log_std}


class Value(DeterministicMixin, Model):
    def __init__(self, observation_space, action_space, device):
        Model.__init__(self, observation_space=observation_space, action_space=action_space, device=device)
        DeterministicMixin.__init__(self)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(self.num_observations, 32), torch.nn.ELU(), torch.nn.Linear(32, 1)
        )

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {}


def make_ppo(wenv, experiment_dir, name="ppo", write_interval=ROLLOUTS) -> PPO:
    spaces = (wenv.observation_space, wenv.action_space, wenv.device)
    cfg = PPO_CFG(rollouts=ROLLOUTS, learning_epochs=2, mini_batches=2)
    cfg.experiment.directory = str(experiment_dir)
    cfg.experiment.experiment_name = name
    cfg.experiment.write_interval = write_interval
    cfg.experiment.checkpoint_interval = 0
    return PPO(
        models={"policy": Policy(*spaces), "value": Value(*spaces)},
        memory=RandomMemory(memory_size=ROLLOUTS, num_envs=wenv.num_envs, device=wenv.device),
        observation_space=wenv.observation_space,
        action_space=wenv.action_space,
        device=wenv.device,
        cfg=cfg,
    )


RUNNER_CFG = {
    "seed": 0,
    "models": {
        "separate": True,
        "policy": {
            "class": "GaussianMixin",
            "network": [{"name": "net", "input": "OBSERVATIONS", "layers": [32], "activations": "elu"}],
            "output": "ACTIONS",
        },
        "value": {
            "class": "DeterministicMixin",
            "network": [{"name": "net", "input": "OBSERVATIONS", "layers": [32], "activations": "elu"}],
            "output": "ONE",
        },
    },
    "memory": {"class": "RandomMemory", "memory_size": -1},
    "agent": {
        "class": "PPO",
        "rollouts": ROLLOUTS,
        "learning_epochs": 2,
        "mini_batches": 2,
        "experiment": {"write_interval": ROLLOUTS, "checkpoint_interval": 0},
    },
    "trainer": {"class": "SequentialTrainer", "timesteps": 130, **TRAINER_CFG},
}


# ------------------------------------------------------------------------------------------------ tests
def test_rerun_sequential_trainer_records_train_and_eval(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)  # 60-step time-outs
    truth = Truth(env)
    try:
        wenv = SkrlVecEnvWrapper(truth)
        agent = make_ppo(wenv, tmp_path / "skrl")
        logged, trig = [0, 2], every_n(2)
        trainer = RerunSequentialTrainer(
            env=wenv,
            agents=agent,
            cfg={"timesteps": 150, **TRAINER_CFG},
            save_dir=tmp_path / "rerun",
            logged_envs=logged,
            episode_trigger=trig,
        )
        train = run_trainer(trainer.train, truth, "rl-rerun", agent)
        assert trainer.rerun.mode is None and trainer.rerun.recorder.step_id == 149
        evaluation = run_trainer(trainer.eval, truth, "rl-rerun-eval", agent)
        assert trainer.rerun.recorder.step_id == 149, "skrl's timestep of the eval run"
        trainer.rerun.close()
    finally:
        truth.remove()
    assert (train.steps, evaluation.steps) == (150, 150)
    assert train.began and not evaluation.began, "skrl's Isaac Lab wrapper resets once: eval() continues"
    step_dt = env.unwrapped.step_dt
    names = {"rl-rerun-metrics", "rl-rerun-eval-metrics"}
    train_episodes = sum(train.tracked_dones(logged[0]))
    for run, before in ((train, 0), (evaluation, train_episodes)):
        snips = expected_run(run, logged, trig, None, 0, episodes_before=before)
        frames = check_run(tmp_path / "rerun", run, snips, logged, step_dt)
        assert frames > 40
        names |= {s.name for s in snips}
    # episode ids go on from the train run: the eval run's first episode is the one after the train run's last
    eval_ids = [int(n.rsplit("-", 1)[1]) for n in names if n.startswith("rl-rerun-eval-episode-")]
    assert eval_ids and min(eval_ids) > train_episodes
    assert {p.stem for p in (tmp_path / "rerun").glob("*")} == names
    # the first training snippet is a whole episode of the tracked env, with its return beside it
    assert expected_episodes(train, expected_run(train, logged, trig, None, 0)[0], logged)[0]
    assert {p.name for p in trainer.rerun.paths} == {p.name for p in (tmp_path / "rerun").glob("*-episode-*.rrd")}
    check_tracking_data(tmp_path / "rerun", {"train": train, "eval": evaluation})
    assert trainer.rerun.metrics_path == tmp_path / "rerun" / "rl-rerun-metrics.rrd"
    assert trainer.rerun.metrics_paths[1] == tmp_path / "rerun" / "rl-rerun-eval-metrics.rrd"
    assert not {"record_transition", "write_tracking_data"} & set(agent.__dict__)
    assert "reset" not in env.unwrapped.__dict__ and "_reset_idx" not in env.unwrapped.__dict__


def test_attach_to_isaac_lab_runner_trainer(make_testbed_env, tmp_path, monkeypatch):
    from skrl.utils.runner.torch import Runner

    monkeypatch.chdir(tmp_path)  # the Runner's experiment directory defaults to ./runs
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)
    truth = Truth(env)
    try:
        runner = Runner(SkrlVecEnvWrapper(truth), RUNNER_CFG)
        trainer, agent = runner.trainer, runner.agent
        writer, memory = agent.writer, agent.memory
        logged = [1, 3]
        rec = attach_rerun(
            trainer,
            save_dir=tmp_path / "rerun",
            logged_envs=logged,
            iteration_trigger=lambda i: i % 3 == 1,  # iterations 1, 4, 7: steps 16, 64, 112
            recording_length=20,
        )
        assert rec.rollouts == ROLLOUTS
        train = run_trainer(lambda: runner.run("train"), truth, "rl-rerun", agent)
        assert rec.iteration == 129 // ROLLOUTS
        trainer.cfg.timesteps = 40
        evaluation = run_trainer(lambda: runner.run("eval"), truth, "rl-rerun-eval", agent)
        rec.close()
        rec.close()  # idempotent
    finally:
        truth.remove()
    # attached, not rebuilt: agent.init() ran once (same TensorBoard writer, same memory, one experiment dir)
    assert agent.writer is writer and agent.memory is memory
    assert len(list((tmp_path / "runs").iterdir())) == 1
    step_trigger = lambda s: s % ROLLOUTS == 0 and (s // ROLLOUTS) % 3 == 1  # noqa: E731
    step_dt = env.unwrapped.step_dt
    names = []
    for run in (train, evaluation):
        snips = expected_run(run, logged, None, step_trigger, 20)
        for snip in snips:  # an iteration's snippet is named after the iteration: its first step // rollouts
            head, _, step = snip.name.rpartition("-step-")
            snip.name = f"{head}-iteration-{int(step) // ROLLOUTS}"
        check_run(tmp_path / "rerun", run, snips, logged, step_dt)
        names += [s.name for s in snips]
    assert names == [f"rl-rerun-iteration-{i}" for i in (1, 4, 7)] + ["rl-rerun-eval-iteration-1"]
    check_tracking_data(tmp_path / "rerun", {"train": train, "eval": evaluation})
    # close() gave the trainer and the agent back untouched
    assert not {"train", "eval"} & set(trainer.__dict__)
    assert not {"record_transition", "write_tracking_data"} & set(agent.__dict__)


def test_snippet_is_finished_when_training_raises_and_runs_do_not_collide(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4)  # 180-step episodes
    truth = Truth(env)
    fail_at = 12
    failing = [True]

    def step_trigger(s):
        if failing[0] and s == fail_at:
            raise RuntimeError(f"trigger failed at step {s}")
        return s == 0

    try:
        wenv = SkrlVecEnvWrapper(truth)
        agent = make_ppo(wenv, tmp_path / "skrl")
        trainer = SequentialTrainer(env=wenv, agents=agent, cfg={"timesteps": 100, **TRAINER_CFG})
        rec = attach_rerun(trainer, save_dir=tmp_path / "rerun", step_trigger=step_trigger)
        with pytest.raises(RuntimeError, match=f"step {fail_at}"):  # a user's trigger that raises propagates
            trainer.train()
        first = Run(truth, 0, fail_at, "rl-rerun", began=True)  # step 12 ran in the env, its frame was not taken
        # the run is over: hooks gone, snippet complete, while the recording itself stays attached
        assert rec.mode is None and not rec.recorder.recording
        assert not {"record_transition", "write_tracking_data"} & set(agent.__dict__)
        assert {"train", "eval"} <= set(trainer.__dict__)
        # a second train() run on the same trainer: timestep restarts at 0, its snippets get their own names
        failing[0] = False
        trainer.cfg.timesteps = 10
        second = run_trainer(trainer.train, truth, "rl-rerun-train2", agent)
        rec.close()
        assert not {"train", "eval"} & set(trainer.__dict__)
    finally:
        truth.remove()
    assert not any(first.tracked_dones(0)), "the snippet must still be open when training fails"
    snips = expected_run(first, [0], None, lambda s: s == 0, 0)
    assert [len(s.frames) for s in snips] == [fail_at]
    check_run(tmp_path / "rerun", first, snips, [0], env.unwrapped.step_dt)
    assert (second.offset, second.steps, second.began) == (fail_at + 1, 10, False)
    snips = expected_run(second, [0], None, lambda s: s == 0, 0)
    assert [(s.name, len(s.frames)) for s in snips] == [("rl-rerun-train2-step-0", 10)]
    check_run(tmp_path / "rerun", second, snips, [0], env.unwrapped.step_dt)


def test_bad_input_raises_naming_the_argument(testbed_env, tmp_path):
    wenv = SkrlVecEnvWrapper(testbed_env)
    out = tmp_path / "rerun"
    agent = make_ppo(wenv, tmp_path / "skrl", name="first")

    def fresh(name):
        return make_ppo(wenv, tmp_path / "skrl", name=name)

    cases = [
        (dict(logged_envs=4), ValueError, "logged_envs"),
        (dict(logged_envs=[0, 0]), ValueError, "logged_envs"),
        (dict(recording_length=-1), ValueError, "recording_length"),
        (dict(episode_trigger=5), TypeError, "episode_trigger"),
        (dict(iteration_trigger="often"), TypeError, "iteration_trigger"),
        (dict(iteration_trigger=every_n(2), step_trigger=every_n(3)), ValueError, "iteration_trigger"),
        (dict(name_prefix="a/b"), ValueError, "name_prefix"),
        (dict(save_dir=out, viewer="spawn"), ValueError, "at most one output"),
        (dict(keep_last=0), ValueError, "keep_last"),
        (dict(rerun_interval=3), TypeError, "rerun_interval"),
    ]
    for i, (kwargs, exc, name) in enumerate(cases):
        agent_i = fresh(f"case{i}")
        with pytest.raises(exc, match=name):
            RerunSequentialTrainer(
                env=wenv, agents=agent_i, cfg={"timesteps": 10, **TRAINER_CFG}, **{"save_dir": out, **kwargs}
            )
        assert not (tmp_path / "skrl" / f"case{i}").exists(), "agent.init() must not run for bad recording options"
    with pytest.raises(TypeError, match="save_dir"):  # recording options do not belong in skrl's cfg
        RerunSequentialTrainer(env=wenv, agents=agent, cfg={"timesteps": 10, "save_dir": out})
    with pytest.raises(ValueError, match="agents"):
        RerunSequentialTrainer(env=wenv, agents=[fresh("a"), fresh("b")], cfg=dict(TRAINER_CFG), save_dir=out)
    # an env with no Isaac Lab scene behind it
    from skrl.envs.wrappers.torch import wrap_env

    cartpole = wrap_env(gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"), wrapper="gymnasium")
    try:
        with pytest.raises(ValueError, match="`env` does not lead to an Isaac Lab environment"):
            RerunSequentialTrainer(env=cartpole, agents=fresh("c"), cfg=dict(TRAINER_CFG), save_dir=out)
    finally:
        cartpole.close()

    # attach_rerun: what it refuses, and why
    with pytest.raises(TypeError, match="trainer"):
        attach_rerun(agent, save_dir=out)
    two = SequentialTrainer(env=wenv, agents=[fresh("d"), fresh("e")], cfg={"timesteps": 10, **TRAINER_CFG})
    with pytest.raises(ValueError, match="2 simultaneous agents"):
        attach_rerun(two, save_dir=out)
    start_method = multiprocessing.get_start_method(allow_none=True)
    try:
        parallel = ParallelTrainer(env=wenv, agents=fresh("f"), cfg={"timesteps": 10, **TRAINER_CFG})
        with pytest.raises(ValueError, match="ParallelTrainer"):
            attach_rerun(parallel, save_dir=out)
    finally:
        multiprocessing.set_start_method(start_method, force=True)  # ParallelTrainer forces "spawn"
    single = SequentialTrainer(env=wenv, agents=agent, cfg={"timesteps": 10, **TRAINER_CFG})
    with pytest.raises(ValueError, match="logged_envs"):
        attach_rerun(single, save_dir=out, logged_envs=[7])
    assert not {"train", "eval"} & set(single.__dict__)
    rec = attach_rerun(single, save_dir=out)
    with pytest.raises(ValueError, match="already records"):
        attach_rerun(single, save_dir=out)
    rec.close()
    assert not out.exists(), "nothing is written before a run records"
    assert not {"reset", "_reset_idx"} & set(testbed_env.unwrapped.__dict__)


def test_single_file_output_holds_train_and_eval(testbed_env, tmp_path):
    """``save_path``: one stream shared by the runs; each snippet is a pair of timelines in it."""
    wenv = SkrlVecEnvWrapper(testbed_env)
    agent = make_ppo(wenv, tmp_path / "skrl")
    path = tmp_path / "all.rrd"
    trainer = RerunSequentialTrainer(
        env=wenv,
        agents=agent,
        cfg={"timesteps": 20, **TRAINER_CFG},
        save_path=path,
        step_trigger=lambda s: s == 2,
        recording_length=5,
    )
    trainer.train()
    trainer.eval()
    trainer.rerun.close()
    assert [s.name for s in trainer.rerun.finished] == ["rl-rerun-step-2", "rl-rerun-eval-step-2"]
    ents = read_rrd(path)
    pole = ents["/World/envs/env_0/Robot/pole"]
    for name in ("rl-rerun-step-2", "rl-rerun-eval-step-2"):
        frames = [f for f in pole.column(f"{name}_frame") if f is not None]
        assert sorted(frames) == [0, 1, 2, 3, 4], name
    # the env_step timeline of both runs: steps 2..6 of each
    assert sorted(x for x in pole.column("env_step") if x is not None) == sorted([2, 3, 4, 5, 6] * 2)
    # the scene's visuals went into the stream once: one static row per visual, not one per run
    from rerun.chunk import RrdReader

    static: collections.Counter[str] = collections.Counter()
    for ch in RrdReader(str(path)).stream().to_chunks():  # as written (a collected store keeps one static row)
        if ch.is_static:
            static[ch.entity_path] += ch.num_rows
    visuals = [p for p in static if p.startswith("/World/envs/env_0/Robot/pole/")]
    # (the markers' and the scalars' styles are logged again with each snippet: not the scene's visuals)
    twice = sorted(p for p, n in static.items() if n > 1 and p.startswith(("/World/envs/", "/World/ground")))
    assert visuals and not twice, twice
    train_reward = metric_path("Reward / Instantaneous reward (mean)", "train")
    eval_reward = metric_path("Reward / Instantaneous reward (mean)", "eval")
    assert [t for t in ents[train_reward].column("timestep") if t is not None] == [16]
    assert [t for t in ents[eval_reward].column("timestep") if t is not None] == [16]
