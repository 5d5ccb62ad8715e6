"""The Isaac Lab 2.3 user stack end to end, on the stand-in of Isaac Lab 2.3's data API (``standin_isaaclab2``).

``scripts/test-isaaclab2-stack.sh`` runs this (with every other test that needs no real Isaac Lab) in ``.venv-il2``:
Python 3.11, numpy < 2, rerun-sdk 0.23.1, gymnasium 1.2.0, torch, and the SB3 / skrl / rsl_rl versions that
``isaaclab==2.3.2.post1`` admits (``requirements/py311-isaaclab2.txt``). Isaac Lab 2.x itself needs Isaac Sim and a GPU;
the stand-in mirrors isaaclab 2.3.2.post1 (see its docstring). The tests run on the 3.12 stack too.

Every recording is read back with the installed Rerun's own reader (``rrd_readback``: the dataframe API on 0.23) and
checked with that Rerun's ``rerun rrd verify``; poses are compared with the stand-in simulator's.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pxr")

import torch

from isaac_rerun import LogRerun, Recorder, every_n
from isaac_rerun.outputs import resolve_output
from isaac_rerun.scene import IsaacLabScene
from rrd_readback import quat_close, read_rrd
from schedule import expected_snippets
from standin_isaaclab2 import ISAACLAB_VERSION, StandinDirectRLEnv, StandinGymEnv

ASSET_OF = {"Robot/hand": ("robot", 2), "Ball": ("ball", 0), "BoxA": ("boxes", 0), "BoxB": ("boxes", 1)}
"""Entity suffix → (asset, body) for the bodies without a logged parent (their entity pose is their world pose)."""
BODIES = {
    "Robot/base": ("robot", 0, None),
    "Robot/base/arm": ("robot", 1, "Robot/base"),  # nested: its entity pose is relative to its parent's
    **{suffix: (asset, body, None) for suffix, (asset, body) in ASSET_OF.items()},
}
"""Every body of the stand-in: entity suffix → (asset, body, parent entity suffix or None)."""


def rerun_cli() -> str:
    """The ``rerun`` executable of the Rerun under test (the one installed beside this Python)."""
    exe = Path(sys.executable).parent / "rerun"
    return str(exe) if exe.exists() else "rerun"


def verify(path: Path) -> None:
    out = subprocess.run([rerun_cli(), "rrd", "verify", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"rerun rrd verify {path.name}: {out.stdout}{out.stderr}"


def frame_poses(ent, timeline: str = "frame") -> tuple[np.ndarray, np.ndarray]:
    order = ent.sorted_by(timeline)
    pose = np.concatenate(
        [ent.vectors("Transform3D:translation", order), ent.vectors("Transform3D:quaternion", order)], axis=1
    )
    return order, pose


def assert_pose(got: np.ndarray, want: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(got[:3], want[:3], atol=1e-5, err_msg=what)
    assert quat_close(got[3:], want[3:]), f"{what}: quaternion {got[3:]} != {want[3:]}"


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of xyzw quaternions."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _quat_mul(_quat_mul(q, np.array([*v, 0.0])), q * np.array([-1.0, -1.0, -1.0, 1.0]))[:3]


def compose(parent: np.ndarray, local: np.ndarray) -> np.ndarray:
    """World pose (xyz + xyzw) of a child entity from its parent's world pose and its own (relative) pose."""
    return np.concatenate([parent[:3] + _rotate(parent[3:], local[:3]), _quat_mul(parent[3:], local[3:])])


def world_poses(ents, env: int, frame_timeline: str = "frame") -> dict[str, np.ndarray]:
    """Every body's recorded world pose per frame, (frames, 7) by entity suffix (nested entities composed)."""
    out: dict[str, np.ndarray] = {}
    for suffix, (_, _, parent) in BODIES.items():  # parents come first
        ent = ents[f"/World/envs/env_{env}/{suffix}"]
        order, poses = frame_poses(ent, frame_timeline)
        assert list(ent.timeline(frame_timeline, order)) == list(range(len(order))), suffix
        if parent is not None:
            assert len(poses) == len(out[parent]), f"{suffix}: {len(poses)} frames, its parent {len(out[parent])}"
            poses = np.array([compose(p, c) for p, c in zip(out[parent], poses, strict=True)])
        out[suffix] = poses
    return out


def frame_kinds(ent, frame_timeline: str = "frame", sim_time: str = "sim_time") -> list[tuple[str, int]]:
    """What each frame of a snippet shows, from its timelines: ``("step", s)`` (env step ``s``'s pose before any
    reset: a terminal frame shows the pose before ``_reset_idx``), ``("reset", s)`` (the frame added when the tracked
    env's episode ended at step ``s``: the poses after the auto-reset; ``sim_time`` does not advance) or
    ``("reset", -1)`` (the pose ``reset()`` left, before the run's first step)."""
    order = ent.sorted_by(frame_timeline)
    steps = [int(v) for v in ent.timeline("env_step", order)]
    times = ent.timeline(sim_time, order)
    kinds: list[tuple[str, int]] = []
    for i, (s, t) in enumerate(zip(steps, times, strict=True)):
        if t > (times[i - 1] if i else 0.0) + 1e-9:
            kinds.append(("step", s))
        elif (i and kinds[-1] == ("step", s)) or s > 0:
            kinds.append(("reset", s))  # after step s's frame, or a snippet that starts with an episode
        else:
            kinds.append(("reset", -1))
    return kinds


def expected_pose(base: StandinDirectRLEnv, kind: str, s: int, asset: str, env: int, body: int) -> np.ndarray:
    if s < 0:
        return base.reset_poses[-1][asset][env, body]
    return base.history[s]["after" if kind == "reset" else "before"][asset][env, body]


def check_frames_against_simulator(
    path: Path,
    base: StandinDirectRLEnv,
    logged: list[int],
    step_offset: int = 0,
    frame_timeline: str = "frame",
    sim_time: str = "sim_time",
) -> list[tuple[str, int]]:
    """Each recorded frame of a snippet written by any integration shows every body exactly where the simulator had
    it: a frame at env step ``s`` the pose at the end of step ``s`` before the auto-reset (``history[s]["before"]``,
    the terminal pose for an env that finished), the frame added when the tracked env's episode ended the pose
    after the reset (``history[s]["after"]``), a frame before the run's first step the pose ``reset()`` left.
    ``step_offset``: history index of the run's step 0. Returns the frames' kinds (:func:`frame_kinds`)."""
    assert all(all(np.array_equal(r[a], base.reset_poses[0][a]) for a in r) for r in base.reset_poses), (
        "every reset() leaves the same poses (expected_pose takes the last one)"
    )
    ents = read_rrd(path)
    kinds = frame_kinds(ents[f"/World/envs/env_{logged[0]}/Ball"], frame_timeline, sim_time)
    assert any(k == "step" for k, _ in kinds), path.name
    for env in logged:
        poses = world_poses(ents, env, frame_timeline)
        for suffix, (asset, body, _) in BODIES.items():
            assert len(poses[suffix]) == len(kinds), f"{path.name} {suffix} env {env}"
            assert frame_kinds(ents[f"/World/envs/env_{env}/{suffix}"], frame_timeline, sim_time) == kinds
            for (kind, s), pose in zip(kinds, poses[suffix], strict=True):
                want = expected_pose(base, kind, s + step_offset if s >= 0 else s, asset, env, body)
                assert_pose(pose, want, f"{path.name} {suffix} env {env} {kind} frame at step {s}")
    return kinds


# ---------------------------------------------------------------------------------------------------------- the stack
@pytest.mark.skipif(os.environ.get("ISAAC_RERUN_STACK") != "isaaclab2", reason="run by scripts/test-isaaclab2-stack.sh")
def test_the_installed_stack_is_isaac_lab_2_3s():
    """What ``requirements/py311-isaaclab2.txt`` promises is what runs (so the job cannot silently test another)."""
    from packaging.version import Version

    assert sys.version_info[:2] == (3, 11)
    assert Version(version("numpy")) < Version("2")  # isaaclab 2.3.2.post1: numpy<2
    assert version("gymnasium") == "1.2.0"  # isaaclab 2.3.2.post1: gymnasium==1.2.0
    assert Version(version("rerun-sdk")).release[:2] == (0, 23)  # the newest Rerun beside numpy<2
    assert importlib.util.find_spec("rerun.chunk") is None  # so rrd_readback reads through rerun.dataframe
    assert Version(version("torch")) >= Version("2.7")  # isaaclab: torch>=2.7
    assert Version(version("stable-baselines3")) >= Version("2.6")  # isaaclab[sb3]: stable-baselines3>=2.6
    assert Version(version("skrl")) >= Version("1.4.3")  # isaaclab[skrl]: skrl>=1.4.3
    assert version("rsl-rl-lib") == "3.0.1"  # isaaclab[rsl-rl]: rsl-rl-lib==3.0.1
    assert version("pillow") == "11.3.0"  # isaaclab: pillow==11.3.0


def test_standin_follows_isaac_lab_2_3_data_api():
    """The properties of isaaclab 2.3.2.post1's data API that the recorder depends on (see standin_isaaclab2)."""
    assert ISAACLAB_VERSION == "2.3.2.post1"
    base = StandinDirectRLEnv(num_envs=3)
    base.reset()
    scene = base.scene
    assert scene.env_regex_ns == "/World/envs/env_.*"
    assert scene.env_prim_paths == ["/World/envs/env_0", "/World/envs/env_1", "/World/envs/env_2"]
    robot, ball, boxes = scene["robot"], scene["ball"], scene["boxes"]
    assert robot.cfg.prim_path == "/World/envs/env_.*/Robot" and robot.body_names == robot.data.body_names
    assert ball.body_names == ["Ball"]
    assert not hasattr(boxes.cfg, "prim_path"), "a 2.3 RigidObjectCollectionCfg has only rigid_objects"
    assert boxes.object_names == ["box_a", "box_b"] == list(boxes.cfg.rigid_objects)
    assert boxes.cfg.rigid_objects["box_b"].prim_path == "/World/envs/env_.*/BoxB"
    poses = {
        "robot": robot.data.body_link_pose_w,
        "ball": ball.data.body_link_pose_w,
        "boxes": boxes.data.object_link_pose_w,
    }
    for name, t in poses.items():
        assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape[0] == 3 and t.shape[-1] == 7, name
        np.testing.assert_allclose(t[..., 3:].norm(dim=-1).numpy(), 1.0, atol=1e-6)
    assert poses["robot"].shape == (3, 3, 7) and poses["ball"].shape == (3, 1, 7) and poses["boxes"].shape == (3, 2, 7)
    assert not poses["boxes"].is_contiguous()  # einsum("ijk -> jik") of the object-major PhysX rows
    # wxyz: the same rotation as the xyzw the simulator holds
    xyzw = base.all_poses_xyzw()["ball"]
    np.testing.assert_allclose(poses["ball"][..., [4, 5, 6, 3]].numpy(), xyzw[..., 3:], atol=1e-7)
    # lazy buffers: the same tensor until the simulation time advances, then a new one (never updated in place)
    assert robot.data.body_link_pose_w is poses["robot"] and robot.data.body_pose_w is poses["robot"]
    before = poses["robot"].clone()
    _, _, terminated, truncated, _ = base.step(torch.zeros(3, 1))
    assert robot.data.body_link_pose_w is not poses["robot"]
    assert torch.equal(poses["robot"], before)
    assert terminated.dtype == torch.bool and truncated.dtype == torch.bool
    assert base.step(torch.zeros(3, 1))[2] is terminated, "reset_terminated is updated in place"
    with pytest.raises(AttributeError):  # DirectRLEnv.step starts with action.to(self.device)
        base.step(np.zeros((3, 1), dtype=np.float32))


# ---------------------------------------------------------------------------------------------------------- core
def test_recorder_core_end_to_end(tmp_path):
    """The framework-neutral Recorder on 2.x data: snippets, poses, timelines, scalars and metrics, read back."""
    n, logged, steps = 4, [1, 3], 40
    base = StandinDirectRLEnv(num_envs=n)
    trig = every_n(2)
    recorder = Recorder(
        IsaacLabScene(base.scene, logged),
        lambda: resolve_output(save_dir=tmp_path),
        episode_trigger=trig,
        step_dt=base.step_dt,
        global_timeline="timesteps",
        flush_every=5,  # several send_columns chunks per snippet
        reset_hook_target=base,
    )
    base.reset()
    initial = base.all_poses_xyzw()
    recorder.begin(global_step=0)
    actions = torch.linspace(-1, 1, n).unsqueeze(-1)
    for s in range(steps):
        _, rew, terminated, truncated, _ = base.step(actions)
        recorder.after_step(terminated, rew, actions, truncated=truncated, global_step=(s + 1) * n)
        if s % 10 == 9:
            recorder.log_metrics({"loss": float(s), "skipped": "text"}, global_step=(s + 1) * n)
    recorder.close()

    tracked = [bool(h["done"][logged[0]]) for h in base.history]
    snips = expected_snippets(tracked, trig, None, 0)
    assert len(snips) >= 2
    assert sorted(p.name for p in tmp_path.glob("*.rrd")) == sorted(
        [f"{s.name}.rrd" for s in snips] + ["rl-rerun-metrics.rrd"]
    )
    for snip in snips:
        path = tmp_path / f"{snip.name}.rrd"
        verify(path)
        ents = read_rrd(path)
        for env in logged:
            for suffix, (asset, body) in ASSET_OF.items():
                ent = ents[f"/World/envs/env_{env}/{suffix}"]
                order, got = frame_poses(ent)
                assert len(order) == len(snip.frames)
                for (kind, s), pose in zip(snip.frames, got, strict=True):
                    if kind == "reset" and s < 0:
                        want = initial[asset][env, body]
                    else:
                        want = base.history[s]["after" if kind == "reset" else "before"][asset][env, body]
                    assert_pose(pose, want, f"{snip.name} {suffix} env {env} {kind} {s}")
                assert list(ent.timeline("env_step", order)) == [max(s, 0) for _, s in snip.frames]
                assert list(ent.timeline("timesteps", order)) == [(max(s, -1) + 1) * n for _, s in snip.frames]
                n_steps = np.cumsum([k == "step" for k, _ in snip.frames])
                np.testing.assert_allclose(ent.timeline("sim_time", order), n_steps * base.step_dt, atol=1e-9)
            rew = ents[f"/scalars/env_{env}/reward"]
            order = rew.sorted_by("frame")
            step_rows = [s for k, s in snip.frames if k == "step"]
            assert list(rew.timeline("env_step", order)) == step_rows
            act = ents[f"/scalars/env_{env}/action"]
            values = [v[0] for v in act.timeline("Scalars:scalars", act.sorted_by("frame"))]
            np.testing.assert_allclose(values, float(actions[env, 0]), rtol=1e-6)
    metrics = read_rrd(tmp_path / "rl-rerun-metrics.rrd")
    loss = metrics["/train/loss"]
    order = loss.sorted_by("env_step")
    assert list(loss.timeline("env_step", order)) == [9, 19, 29, 39]
    assert list(loss.timeline("timesteps", order)) == [40, 80, 120, 160]
    assert [v[0] for v in loss.timeline("Scalars:scalars", order)] == [9.0, 19.0, 29.0, 39.0]
    assert "/train/skipped" not in metrics


def test_log_rerun_end_to_end_with_visuals(tmp_path):
    """LogRerun into one ``save_path`` file: every snippet's frames, and the static visuals with their rotation."""
    base = StandinDirectRLEnv(num_envs=4)
    env = LogRerun(StandinGymEnv(base), logged_envs=[2], save_path=tmp_path / "run.rrd", step_trigger=every_n(9))
    env.reset()
    for _ in range(30):
        env.step(torch.zeros(4, 1))
    env.close()
    path = tmp_path / "run.rrd"
    verify(path)
    ents = read_rrd(path)
    ball = ents["/World/envs/env_2/Ball"]
    timelines = sorted(t for t in ball.columns if t.endswith("_frame"))
    assert timelines == sorted(f"rl-rerun-step-{s}_frame" for s in (0, 9, 18, 27))
    tracked = [bool(h["done"][2]) for h in base.history]
    snips = expected_snippets(tracked, None, every_n(9), 0)
    assert sorted(f"{snip.name}_frame" for snip in snips) == timelines
    for snip in snips:  # every body at every frame of each snippet, as the simulator had it
        timeline = dict(frame_timeline=f"{snip.name}_frame", sim_time=f"{snip.name}_sim_time")
        assert check_frames_against_simulator(path, base, [2], **timeline) == snip.frames, snip.name
    # the visuals of env 2 come from env_0's prims (replicated physics), each with its full transform; on
    # rerun-sdk 0.23 with numpy < 2 an rr.Quaternion would have been dropped (see _compat.quaternion)
    for entity in ("Robot/base/visual", "Robot/base/arm/visual", "Ball/geometry/mesh"):
        static = ents[f"/World/envs/env_2/{entity}"].static
        assert {"Transform3D:translation", "Transform3D:quaternion", "Transform3D:scale"} <= set(static), entity
        np.testing.assert_allclose(np.asarray(static["Transform3D:quaternion"]).reshape(4), [0, 0, 0, 1])
    assert "Boxes3D:half_sizes" in ents["/World/envs/env_2/Robot/base/visual"].static


def test_instanced_layout_on_2x_data(tmp_path):
    """All envs, instanced (2.x wxyz data): every instance's pose is its env's body at every frame, terminal frames
    included; the visuals once (baked meshes), the envs labelled."""
    base = StandinDirectRLEnv(num_envs=4)
    env = LogRerun(
        StandinGymEnv(base), logged_envs="all", save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=25
    )
    env.reset()
    initial = base.all_poses_xyzw()
    for _ in range(25):
        env.step(torch.zeros(4, 1))
    env.close()
    tracked = [bool(h["done"][0]) for h in base.history]
    (snip,) = expected_snippets(tracked, None, lambda s: s == 0, 25)
    assert any(kind == "reset" for kind, _ in snip.frames[1:]), "a terminal and a reset frame inside the snippet"
    path = tmp_path / f"{snip.name}.rrd"
    verify(path)
    ents = read_rrd(path)
    assert ents["/World/envs/instances"].static["Points3D:labels"] == ["env 0", "env 1", "env 2", "env 3"]
    for suffix, (asset, body) in ASSET_OF.items():
        ent = ents[f"/World/envs/instances/{suffix}"]
        assert "Mesh3D:vertex_positions" in ent.static, suffix
        order = ent.sorted_by("frame")
        assert len(order) == len(snip.frames)
        for (kind, s), i in zip(snip.frames, order, strict=True):
            pos = np.array(ent.column("InstancePoses3D:translations")[i], dtype=np.float64)
            quat = np.array(ent.column("InstancePoses3D:quaternions")[i], dtype=np.float64)
            if kind == "reset" and s < 0:
                want = initial[asset][:, body]
            else:
                want = base.history[s]["after" if kind == "reset" else "before"][asset][:, body]
            np.testing.assert_allclose(pos, want[:, :3], atol=1e-5, err_msg=f"{suffix} {kind} {s}")
            assert quat_close(quat, want[:, 3:]), f"{suffix} {kind} {s}"


# ------------------------------------------------------------------------------------------------------ integrations
def integration(name: str):
    """``isaac_rerun.integrations.<name>``; skipped only if that module does not exist (an import error fails)."""
    module = f"isaac_rerun.integrations.{name}"
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} does not exist (yet)")
    return importlib.import_module(module)


class Sb3VecEnvWrapper23:
    """isaaclab 2.3.2.post1's ``isaaclab_rl.sb3.Sb3VecEnvWrapper`` (fast variant, Box observations), reduced to what
    SB3 and a callback see: numpy obs/rewards/dones, ``infos`` with ``episode`` / ``TimeLimit.truncated`` /
    ``terminal_observation`` for the envs that finished, ``unwrapped`` = the Isaac Lab env."""

    def __new__(cls, env):
        from stable_baselines3.common.vec_env import VecEnv

        class _Wrapper(VecEnv):
            def __init__(self, env):
                self.env = env
                self.num_envs = env.unwrapped.num_envs
                self.sim_device = env.unwrapped.device
                self.render_mode = None
                self._ep_rew_buf = np.zeros(self.num_envs)
                self._ep_len_buf = np.zeros(self.num_envs)
                super().__init__(
                    self.num_envs,
                    env.unwrapped.single_observation_space["policy"],
                    env.unwrapped.single_action_space,
                )

            @property
            def unwrapped(self):
                return self.env.unwrapped

            def reset(self):
                obs_dict, _ = self.env.reset()
                self._ep_rew_buf[:] = 0
                self._ep_len_buf[:] = 0
                return obs_dict["policy"].detach().cpu().numpy()

            def step_async(self, actions):
                self._async_actions = torch.from_numpy(np.asarray(actions)).to(self.sim_device, torch.float32)

            def step_wait(self):
                obs_dict, rew, terminated, truncated, _ = self.env.step(self._async_actions)
                dones = (terminated | truncated).detach().cpu().numpy()
                obs = obs_dict["policy"].detach().cpu().numpy()
                rewards = rew.detach().cpu().numpy()
                terminated, truncated = terminated.cpu().numpy(), truncated.cpu().numpy()
                reset_ids = dones.nonzero()[0]
                self._ep_rew_buf += rewards
                self._ep_len_buf += 1
                infos = [{} for _ in range(self.num_envs)]
                for i in reset_ids:
                    infos[i]["episode"] = {"r": self._ep_rew_buf[i], "l": self._ep_len_buf[i]}
                    infos[i]["TimeLimit.truncated"] = truncated[i] and not terminated[i]
                    infos[i]["terminal_observation"] = obs[i]
                self._ep_rew_buf[reset_ids] = 0.0
                self._ep_len_buf[reset_ids] = 0
                return obs, rewards, dones, infos

            def close(self):
                self.env.close()

            def get_attr(self, attr_name, indices=None):
                n = self.num_envs if indices is None else len(indices)
                return [getattr(self.env, attr_name)] * n

            def set_attr(self, attr_name, value, indices=None):
                raise NotImplementedError

            def env_method(self, method_name, *args, indices=None, **kwargs):
                return getattr(self.env, method_name)(*args, **kwargs)

            def env_is_wrapped(self, wrapper_class, indices=None):
                return [False]

            def get_images(self):
                raise NotImplementedError

        return _Wrapper(env)


def test_sb3_callback_on_the_2x_scene(tmp_path):
    pytest.importorskip("stable_baselines3")
    sb3 = integration("sb3")
    from stable_baselines3 import PPO

    base = StandinDirectRLEnv(num_envs=4)
    cb = sb3.RerunCallback(save_dir=tmp_path, logged_envs=[0, 2], step_trigger=every_n(24), recording_length=10)
    model = PPO("MlpPolicy", Sb3VecEnvWrapper23(StandinGymEnv(base)), n_steps=16, batch_size=32, n_epochs=1, seed=0)
    model.learn(48, callback=cb)
    snippets = sorted(tmp_path.glob("rl-rerun-step-*.rrd"))
    assert [p.name for p in snippets] == ["rl-rerun-step-0.rrd"], "48 timesteps = 12 vector steps: one snippet"
    for p in snippets:
        verify(p)
        (snip,) = expected_snippets([bool(h["done"][0]) for h in base.history], None, every_n(24), 10)
        assert snip.name == p.stem and len(snip.frames) == 10
        assert check_frames_against_simulator(p, base, [0, 2]) == snip.frames
    assert (tmp_path / "rl-rerun-metrics.rrd").exists()
    verify(tmp_path / "rl-rerun-metrics.rrd")


def test_skrl_trainer_on_the_2x_scene(tmp_path, monkeypatch):
    pytest.importorskip("skrl")
    skrl_rerun = integration("skrl")
    from skrl.envs.wrappers.torch import wrap_env
    from skrl.utils.runner.torch import Runner

    monkeypatch.chdir(tmp_path)  # skrl's experiment directory defaults to ./runs
    base = StandinDirectRLEnv(num_envs=4)
    wenv = wrap_env(StandinGymEnv(base), wrapper="isaaclab")  # what isaaclab_rl.skrl.SkrlVecEnvWrapper returns
    mlp = [{"name": "net", "input": "OBSERVATIONS", "layers": [16], "activations": "elu"}]
    cfg = {
        "seed": 0,
        "models": {
            "separate": True,
            "policy": {"class": "GaussianMixin", "network": mlp, "output": "ACTIONS"},
            "value": {"class": "DeterministicMixin", "network": mlp, "output": "ONE"},
        },
        "memory": {"class": "RandomMemory", "memory_size": -1},
        "agent": {
            "class": "PPO",
            "rollouts": 8,
            "learning_epochs": 1,
            "mini_batches": 1,
            "experiment": {"write_interval": 8, "checkpoint_interval": 0},
        },
        "trainer": {
            "class": "SequentialTrainer",
            "timesteps": 24,
            "headless": True,
            "disable_progressbar": True,
            "close_environment_at_exit": False,
        },
    }
    runner = Runner(wenv, cfg)
    rec = skrl_rerun.attach_rerun(
        runner.trainer, save_dir=tmp_path / "rerun", logged_envs=[1], episode_trigger=every_n(1)
    )
    runner.run("train")
    rec.close()
    snippets = sorted((tmp_path / "rerun").glob("rl-rerun-episode-*.rrd"))
    assert len(base.history) == 24
    snips = expected_snippets([bool(h["done"][1]) for h in base.history], every_n(1), None, 0)
    assert len(snips) >= 2, "the tracked env's episodes last 6 / 9 steps: several in 24 steps"
    assert [p.stem for p in snippets] == sorted(snip.name for snip in snips)
    for snip in snips:  # each episode whole: reset frame, its steps, the terminal frame
        p = tmp_path / "rerun" / f"{snip.name}.rrd"
        verify(p)
        assert check_frames_against_simulator(p, base, [1]) == snip.frames, snip.name


def rsl_rl_is_3x() -> bool:
    return importlib.util.find_spec("rsl_rl") is not None and version("rsl-rl-lib").startswith("3.")


def test_rsl_rl_runner_on_the_2x_scene(tmp_path):
    pytest.importorskip("rsl_rl")
    rsl = integration("rsl_rl")
    from rsl_rl.runners import OnPolicyRunner
    from tensordict import TensorDict

    class RslRlVecEnvWrapper23:
        """isaaclab 2.3.2.post1's ``isaaclab_rl.rsl_rl.RslRlVecEnvWrapper``: TensorDict observations, long dones."""

        def __init__(self, env):
            self.env = env
            self.num_envs = env.unwrapped.num_envs
            self.device = env.unwrapped.device
            self.max_episode_length = env.unwrapped.max_episode_length
            self.num_actions = 1
            self.cfg = env.unwrapped.cfg
            self.env.reset()

        @property
        def unwrapped(self):
            return self.env.unwrapped

        def get_observations(self):
            return TensorDict(self.unwrapped._get_observations(), batch_size=[self.num_envs])

        def reset(self):
            obs, extras = self.env.reset()
            return TensorDict(obs, batch_size=[self.num_envs]), extras

        def step(self, actions):
            obs, rew, terminated, truncated, extras = self.env.step(actions)
            dones = (terminated | truncated).to(dtype=torch.long)
            if not self.unwrapped.cfg.is_finite_horizon:
                extras["time_outs"] = truncated
            return TensorDict(obs, batch_size=[self.num_envs]), rew, dones, extras

    class RecordingRunner(rsl.RerunRunnerMixin, OnPolicyRunner):
        pass

    algorithm = {"class_name": "PPO", "num_learning_epochs": 1, "num_mini_batches": 1}
    if rsl_rl_is_3x():  # Isaac Lab 2.3's rsl_rl: one actor-critic module
        train_cfg = {
            "num_steps_per_env": 8,
            "save_interval": 1000,
            "obs_groups": {"policy": ["policy"], "critic": ["policy"]},
            "policy": {
                "class_name": "ActorCritic",
                "init_noise_std": 1.0,
                "actor_hidden_dims": [16],
                "critic_hidden_dims": [16],
                "activation": "elu",
                "actor_obs_normalization": False,
                "critic_obs_normalization": False,
            },
            "algorithm": algorithm,
        }
    else:  # rsl_rl 5 (the Isaac Lab 3 stack): separate actor and critic models
        mlp = {"class_name": "MLPModel", "hidden_dims": [16], "activation": "elu"}
        train_cfg = {
            "num_steps_per_env": 8,
            "save_interval": 1000,
            "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
            "algorithm": algorithm,
            "actor": {**mlp, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0}},
            "critic": mlp,
        }
    base = StandinDirectRLEnv(num_envs=4)
    runner = RecordingRunner(
        RslRlVecEnvWrapper23(StandinGymEnv(base)),
        train_cfg,
        str(tmp_path / "logs"),
        rerun={"iteration_interval": 1, "logged_envs": [0]},
    )
    runner.learn(num_learning_iterations=3)
    snippets = sorted((tmp_path / "logs" / "rerun").glob("rl-rerun-iteration-*.rrd"))
    assert snippets
    # rerun_length 0: an iteration's snippet is the tracked env's first whole episode that starts after the
    # iteration begins (8 steps per iteration), from its reset frame to its terminal frame (or the last step)
    assert len(base.history) == 3 * 8
    ends = [s for s, h in enumerate(base.history) if h["done"][0]]
    want: list[list[tuple[str, int]]] = []
    for it in range(3):
        start = next(e for e in ends if e >= 8 * it and (not want or e >= want[-1][-1][1]))
        end = next((e for e in ends if e > start), len(base.history) - 1)
        want.append([("reset", start)] + [("step", s) for s in range(start + 1, end + 1)])
    assert [p.name for p in snippets] == [f"rl-rerun-iteration-{it}.rrd" for it in range(3)]
    for p, frames in zip(snippets, want, strict=True):
        verify(p)
        assert check_frames_against_simulator(p, base, [0]) == frames, p.name
    # rsl_rl's per-iteration scalars (rsl_rl 3: runner.log + runner.writer; rsl_rl 5: Logger) reach the metrics file
    metrics = read_rrd(tmp_path / "logs" / "rerun" / "rl-rerun-metrics.rrd")
    loss = [p for p in metrics if p.startswith("/train/Loss/")]
    assert loss, sorted(metrics)
    assert sorted(set(metrics[loss[0]].timeline("iteration", metrics[loss[0]].sorted_by("iteration")))) == [0, 1, 2]
