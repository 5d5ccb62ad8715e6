"""The rolling history on the real Isaac Lab 3.0 test bed: episodes kept after they ended, the worst return of a
window, the NaN guard; every kept snippet read back from its ``.rrd`` and compared with the simulator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.isaaclab
torch = pytest.importorskip("torch")
pytest.importorskip("isaaclab")

from isaac_rerun import LogRerun  # noqa: E402
from isaac_rerun.filters import best_return, terminated, worst_return  # noqa: E402
from rrd_readback import quat_close, read_rrd  # noqa: E402
from test_log_rerun_isaaclab import Truth  # noqa: E402
from testbed_truth import BODIES  # noqa: E402

BODY = "Robot/pole"


def run(env, tmp_path, steps, *, seed=0, poison=None, **kwargs):
    """``steps`` steps through ``LogRerun`` with the history on — envs 0 and 1 pushed hard one way (their pole
    falls: terminations), the others nudged at random (time-outs) — and the simulator's truth per step (poses before
    the auto-reset and after the step, done flags, rewards). ``poison(step, base)`` may corrupt the simulation."""
    truth = Truth(env)
    wrapped = LogRerun(env, logged_envs=0, save_dir=tmp_path, step_trigger=lambda s: False, **kwargs)
    rewards, terms, truncs = [], [], []
    try:
        wrapped.reset(seed=seed)
        truth.after_reset()
        gen = torch.Generator().manual_seed(seed)
        n = env.unwrapped.num_envs
        for k in range(steps):
            if poison is not None:
                poison(k, env.unwrapped)
            action = 0.2 * torch.rand(n, 1, generator=gen) - 0.1
            action[:2, 0] = torch.tensor([1.0, -1.0])
            _, rew, term, trunc, _ = wrapped.step(action)
            truth.after_step(term, trunc)
            rewards.append(rew.numpy().astype(np.float64).copy())
            terms.append(term.numpy().copy())
            truncs.append(trunc.numpy().copy())
    finally:
        wrapped.recorder.close()
        truth.remove()
    return wrapped, truth, np.array(rewards), np.array(terms), np.array(truncs)


def episodes(terms, truncs, rewards):
    """Every episode that ended: (env, that env's episode index, first step, last step, return, terminated)."""
    out = []
    for env in range(terms.shape[1]):
        first, k = 0, 0
        for s in range(len(terms)):
            if terms[s, env] or truncs[s, env]:
                out.append(
                    (
                        env,
                        k,
                        first,
                        s,
                        float(rewards[first : s + 1, env].sum()),
                        bool(terms[s, env] and not truncs[s, env]),
                    )
                )
                first, k = s + 1, k + 1
    return out


def check_episode(path, truth, env, first, last, rewards):
    """The kept snippet holds env ``env``'s episode: its reset frame, then every step to the terminal frame."""
    ents = read_rrd(path)
    frames = [("reset", first - 1), *(("step", s) for s in range(first, last + 1))]
    for suffix, (group, name, body) in BODIES.items():
        ent = ents[f"/World/envs/env_{env}/{suffix}"]
        order = ent.sorted_by("frame")
        assert list(ent.timeline("frame", order)) == list(range(len(frames))), (path.name, suffix)
        want = np.array([truth.pose(ev, (group, name), env, body) for ev in frames])
        np.testing.assert_allclose(ent.vectors("Transform3D:translation", order), want[:, :3], atol=1e-5)
        assert quat_close(ent.vectors("Transform3D:quaternion", order), want[:, 3:]), (path.name, suffix)
        assert list(ent.timeline("env_step", order)) == [max(first - 1, 0), *range(first, last + 1)]
    reward = ents[f"/scalars/env_{env}/reward"]
    order = reward.sorted_by("frame")
    got = [reward.column("Scalars:scalars")[i][0] for i in order]
    np.testing.assert_allclose(got, rewards[first : last + 1, env], rtol=1e-5, atol=1e-7)
    ret = ents[f"/scalars/env_{env}/episode_return"]
    np.testing.assert_allclose(ret.column("Scalars:scalars")[0][0], rewards[first : last + 1, env].sum(), rtol=1e-5)
    assert not any(p.startswith(f"/World/envs/env_{e}/") for e in range(4) if e != env for p in ents), "one env"


def test_kept_episodes_are_the_terminated_ones_from_reset_to_terminal_frame(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)  # 60-step time-outs; the pole falls before, often
    _, truth, rewards, terms, truncs = run(env, tmp_path, 130, episode_filter=terminated(), history=200)
    ended = episodes(terms, truncs, rewards)
    kept = [e for e in ended if e[5]]
    assert kept and len(kept) < len(ended), "the run must end episodes both ways for this test to mean anything"
    assert sorted(p.name for p in tmp_path.glob("*.rrd")) == sorted(
        f"rl-rerun-env-{env_id}-terminated-episode-{k}.rrd" for env_id, k, *_ in kept
    ), "exactly the terminated episodes, and nothing else"
    for env_id, k, first, last, _, _ in kept:
        check_episode(
            tmp_path / f"rl-rerun-env-{env_id}-terminated-episode-{k}.rrd", truth, env_id, first, last, rewards
        )


@pytest.mark.parametrize("which", ["worst", "best"])
def test_worst_or_best_return_keeps_that_episode_of_each_window(make_testbed_env, tmp_path, which):
    """``worst_return`` / ``best_return``: the lowest / highest return among the episodes that ended in each
    window (ties: the lowest env index)."""
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)
    episode_filter = (worst_return if which == "worst" else best_return)(window=40)
    _, truth, rewards, terms, truncs = run(env, tmp_path, 120, episode_filter=episode_filter, history=200)
    ended = episodes(terms, truncs, rewards)
    want = []
    for w in range(3):
        inside = [e for e in ended if 40 * w <= e[3] < 40 * (w + 1)]
        if inside:
            pick = min if which == "worst" else max
            want.append(pick(inside, key=lambda e: (e[4], e[0] if which == "worst" else -e[0])))
    assert len(want) >= 2, "episodes must end in several windows"
    assert len({e[4] for e in ended}) > 1, "returns must differ for the choice to mean anything"
    names = sorted(p.name for p in tmp_path.glob("*.rrd"))
    assert names == sorted(f"rl-rerun-env-{e[0]}-{which}-episode-{e[1]}.rrd" for e in want)
    for env_id, k, first, last, _, _ in want:
        path = tmp_path / f"rl-rerun-env-{env_id}-{which}-episode-{k}.rrd"
        check_episode(path, truth, env_id, first, last, rewards)


def test_nan_guard_writes_the_frames_before_warns_once_and_is_rate_limited(make_testbed_env, tmp_path):
    env = make_testbed_env(num_envs=4, episode_length_s=10.0)  # no time-out in this test

    def poison(step, base):
        if step == 20:  # env 2's robot leaves the finite world: the simulator's poses become NaN there
            robot = base.scene["robot"]
            pose = robot.data.root_link_pose_w.torch[2:3].clone()
            pose[:, 0] = float("nan")
            robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.tensor([2]))
        if step == 25:  # and envs 0 and 3 get NaN poses too: over the rate limit
            robot = base.scene["robot"]
            pose = robot.data.root_link_pose_w.torch[[0, 3]].clone()
            pose[:, 1] = float("nan")
            robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.tensor([0, 3]))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, truth, *_ = run(
            env, tmp_path, 30, poison=poison, nan_guard=True, history=12, max_saved_per_window=2, save_window=1000
        )
    ours = [str(w.message) for w in caught if "isaac_rerun" in str(w.message)]
    nan_warnings = [m for m in ours if "non-finite" in m]
    assert len(nan_warnings) == 1 and "rl-rerun-env-2-nan-step-20.rrd" in nan_warnings[0], ours
    assert any("max_saved_per_window" in m for m in ours), "the third dump is over the rate limit"
    files = sorted(p.name for p in tmp_path.glob("*.rrd"))
    assert files == ["rl-rerun-env-0-nan-step-25.rrd", "rl-rerun-env-2-nan-step-20.rrd"]
    ents = read_rrd(tmp_path / "rl-rerun-env-2-nan-step-20.rrd")
    group, name, body = BODIES[BODY]
    ent = ents[f"/World/envs/env_2/{BODY}"]
    order = ent.sorted_by("frame")
    assert list(ent.timeline("env_step", order)) == list(range(9, 21)), "the last 12 frames, up to the first NaN"
    got = ent.vectors("Transform3D:translation", order)
    want = np.array([truth.pose(("step", s), (group, name), 2, body)[:3] for s in range(9, 21)])
    assert np.isfinite(got[:-1]).all() and not np.isfinite(got[-1]).all()
    np.testing.assert_allclose(got[:-1], want[:-1], atol=1e-5)


def test_bad_history_options_raise_at_construction_and_write_nothing(testbed_env, tmp_path):
    out = tmp_path / "out"
    cases = [
        (dict(episode_filter=terminated(), history=0), ValueError, "`history`"),
        (dict(episode_filter="worst"), TypeError, "`episode_filter`"),
        (dict(nan_guard="yes"), TypeError, "`nan_guard`"),
        (dict(episode_filter=terminated(), history=10**6, max_history_bytes=2**20), ValueError, "`history`"),
        (dict(episode_filter=terminated(), history_envs=[9]), ValueError, "`history_envs`"),
    ]
    for kwargs, error, name in cases:
        with pytest.raises(error, match=name):
            LogRerun(testbed_env, save_dir=out, **kwargs)
    assert not out.exists()
    assert "_reset_idx" not in testbed_env.unwrapped.__dict__


def test_the_rate_limit_window_rolls_over_counting_kept_episodes(make_testbed_env, tmp_path):
    """``max_saved_per_window=1, save_window=40``: of the terminated episodes, only the first to end in each window of
    40 env steps is written (the others dropped with one warning per window), and the count starts again in the
    next window."""
    env = make_testbed_env(num_envs=4, episode_length_s=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, truth, rewards, terms, truncs = run(
            env, tmp_path, 130, episode_filter=terminated(), history=200, max_saved_per_window=1, save_window=40
        )
    kept_all = [e for e in episodes(terms, truncs, rewards) if e[5]]
    want = []
    for w in range(4):
        inside = sorted((e for e in kept_all if 40 * w <= e[3] < 40 * (w + 1)), key=lambda e: (e[3], e[0]))
        want += inside[:1]
    assert len(want) >= 2 and len(want) < len(kept_all), "windows with dropped episodes, several windows"
    assert sorted(p.name for p in tmp_path.glob("*.rrd")) == sorted(
        f"rl-rerun-env-{e[0]}-terminated-episode-{e[1]}.rrd" for e in want
    )
    for env_id, k, first, last, _, _ in want:
        path = tmp_path / f"rl-rerun-env-{env_id}-terminated-episode-{k}.rrd"
        check_episode(path, truth, env_id, first, last, rewards)
    dropped = [w for w in caught if "max_saved_per_window" in str(w.message)]
    assert dropped, "the dropped episodes are said"
