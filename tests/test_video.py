"""Cameras as H.264 video (``SceneLogCfg.camera_codec``): the recorded ``VideoStream`` decoded back with PyAV and
compared frame by frame with the simulator's own images, on the real Isaac Lab 3.0 test bed and its camera.

The tests without Isaac Lab need only rerun-sdk, numpy and (where said) PyAV, so that they also run on the Python 3.11
core venv and the Isaac Lab 2.x stack (rerun-sdk 0.23: no ``VideoStream``, raw images with a note).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import rerun as rr

from isaac_rerun import _compat
from isaac_rerun.channels import video
from isaac_rerun.config import SceneLogCfg

MIN_PSNR = 35.0  # dB, at the encoder's default quality

needs_av = pytest.mark.skipif(
    video.unavailable_reason() is not None, reason=f"no H.264 VideoStream here: {video.unavailable_reason()}"
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def decode(samples: list[bytes]) -> list[tuple[np.ndarray, bool]]:
    """Each Annex-B sample decoded with PyAV's H.264 decoder: (RGB frame, is it a keyframe), in order."""
    import av

    ctx = av.CodecContext.create("h264", "r")
    out = []
    for sample in samples:
        out += [(f.to_ndarray(format="rgb24"), bool(f.key_frame)) for f in ctx.decode(av.Packet(sample))]
    out += [(f.to_ndarray(format="rgb24"), bool(f.key_frame)) for f in ctx.decode(None)]
    return out


def nal_types(sample: bytes) -> set[int]:
    """The NAL unit types in an Annex-B sample (5: IDR slice, 7: SPS, 8: PPS)."""
    parts = sample.split(b"\x00\x00\x01")
    return {p[0] & 0x1F for p in parts[1:] if p}


# ------------------------------------------------------------------------------------------------ no Isaac Lab
def test_bad_codec_is_an_error_naming_the_field():
    with pytest.raises(ValueError, match=r"`camera_codec` must be one of \('h264', 'raw'\), got 'vp9'"):
        SceneLogCfg(camera_codec="vp9")
    assert SceneLogCfg().camera_codec == "h264"
    assert SceneLogCfg(camera_codec="raw").camera_codec == "raw"


def test_cli_flag_sets_the_codec():
    import argparse

    from isaac_rerun.cli.options import add_rerun_args, recording_cfg, rerun_options

    parser = argparse.ArgumentParser()
    add_rerun_args(parser, "train")
    ns = parser.parse_args(["--rerun_camera_codec", "raw"])
    cfg = recording_cfg(rerun_options(ns, "train"), save_dir=None, name_prefix="x")
    assert cfg.scene_log_cfg.camera_codec == "raw"
    ns = parser.parse_args([])
    assert recording_cfg(rerun_options(ns, "train"), save_dir=None, name_prefix="x").scene_log_cfg.camera_codec == (
        "h264"
    )
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--rerun_camera_codec", "vp9"])
    assert exc.value.code == 2


@needs_av
@pytest.mark.parametrize(("width", "height"), [(80, 60), (81, 61)])
def test_encoder_keyframes_and_quality_with_odd_sizes(width, height):
    """Smooth moving frames: one sample per frame, keyframes (with SPS/PPS) at 0 and every KEYFRAME_INTERVAL."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for k in range(2 * video.KEYFRAME_INTERVAL + 2):
        # a render-like picture: shaded grey-blue background, a moving ball of a muted colour (sharp edges of
        # saturated colours lose more than 35 dB to yuv420p's half-resolution chroma alone, before any encoding)
        shade = 60 + 120 * xx / width + 40 * yy / height
        img = np.stack([shade, shade + 10, shade + 25], axis=-1).clip(0, 255).astype(np.uint8)
        img[(xx - 10 - k) ** 2 + (yy - height // 2) ** 2 < 64] = (190, 150, 120)
        frames.append(img)
    enc = video.H264Encoder(width, height)
    samples, flags = [], []
    for img in frames:
        samples.append(enc.encode(img))
        flags.append(enc.keyframe)
    keyframes = [i for i, f in enumerate(flags) if f]
    assert keyframes == list(range(0, len(frames), video.KEYFRAME_INTERVAL))
    assert {5, 7, 8} <= nal_types(samples[0]), "the first sample is an IDR frame with its SPS and PPS"
    assert 5 not in nal_types(samples[1])
    decoded = decode(samples)
    assert len(decoded) == len(frames)
    assert [i for i, (_, key) in enumerate(decoded) if key][:1] == [0]
    for k, ((img, _), want) in enumerate(zip(decoded, frames, strict=True)):
        assert img.shape[:2] == (height + height % 2, width + width % 2), "padded to even sizes"
        assert psnr(img[:height, :width], want) >= MIN_PSNR, k
    with pytest.raises(ValueError, match="expected a"):
        enc.encode(np.zeros((height, width, 4), np.uint8))


def test_without_pyav_frames_are_raw_images_with_one_note(monkeypatch):
    """PyAV missing (an ImportError, as on an installation without ``isaac-rerun[video]``): the reason says so."""
    monkeypatch.setattr(video, "_reason", [])
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError
    reason = video.unavailable_reason()
    assert reason is not None
    if _compat.has_video_stream():
        assert "PyAV is not installed" in reason and "isaac-rerun[video]" in reason
    else:  # rerun-sdk 0.23
        assert f"rerun-sdk {rr.__version__} has no `VideoStream`" in reason


# ------------------------------------------------------------------------------------------------ Isaac Lab
def _camera_env(make_testbed_env, num_envs=2, **camera):
    pytest.importorskip("isaaclab")
    from isaac_rerun.testbed.env import TESTBED_CAMERA_CFG

    cfg = TESTBED_CAMERA_CFG.replace(**camera) if camera else TESTBED_CAMERA_CFG
    return make_testbed_env(num_envs=num_envs, episode_length_s=10.0, scene__camera=cfg)


def _record(env, tmp_path, steps, logged, **options):
    """``steps`` steps of a fresh episode recorded as one snippet; the simulator's RGB (and depth) after each step."""
    import torch

    from isaac_rerun import LogRerun

    base = env.unwrapped
    wrapped = LogRerun(
        env, logged_envs=logged, save_dir=tmp_path, step_trigger=lambda s: s == 0, recording_length=steps, **options
    )
    rgb, depth = [], []
    try:
        wrapped.reset(seed=0)
        for k in range(steps):
            action = 0.8 * torch.sin(torch.arange(base.num_envs, dtype=torch.float32) + 0.4 * k).unsqueeze(1)
            wrapped.step(action)
            out = base.scene["camera"].data.output
            rgb.append(out["rgb"].torch[..., :3].numpy().copy())
            if "distance_to_image_plane" in out:
                depth.append(out["distance_to_image_plane"].torch[..., 0].numpy().copy())
    finally:
        wrapped.recorder.close()
    return tmp_path / "rl-rerun-step-0.rrd", np.array(rgb), np.array(depth)


def _column_rows(ent, column):
    """(frame indices, values) of the rows of ``ent`` holding ``column``, in frame order (the store may keep the
    components of one ``send_columns`` call in separate chunks: each row holds a part of them)."""
    rows = [i for i in ent.sorted_by("frame") if ent.column(column)[i] is not None]
    return [ent.column("frame")[i] for i in rows], [ent.column(column)[i] for i in rows]


def _video_rows(path, entity):
    """(frame indices, samples, keyframe flags) of a VideoStream entity, in frame order, and its static codec."""
    from rrd_readback import read_rrd

    ent = read_rrd(path)[entity]
    frames, samples = _column_rows(ent, "VideoStream:sample")
    flags = None
    if "VideoStream:is_keyframe" in ent.columns:  # rerun-sdk versions with keyframe flags
        flag_frames, values = _column_rows(ent, "VideoStream:is_keyframe")
        assert flag_frames == frames
        flags = [v[0] for v in values]
    return frames, [bytes(s[0]) for s in samples], flags, ent.static.get("VideoStream:codec")


def _check_video(path, logged, rgb, steps, *, order=True):
    """The VideoStream of each logged env decodes to the simulator's images; ``order``: the snippet's images differ
    enough over its frames that each decoded frame is closest to its own step's image among the clearly different
    ones (a 1-env 320x240 snippet of 8 frames barely moves: there the frame timeline gives the order)."""
    for env_id in logged:
        frames, samples, flags, codec = _video_rows(path, f"/World/sensors/camera/env_{env_id}/rgb")
        assert frames == list(range(steps)), "one sample per frame, in order"
        assert np.ravel(codec).tolist() == [int(rr.components.VideoCodec.H264.value)]
        assert {5, 7, 8} <= nal_types(samples[0]), "the snippet starts with a keyframe (IDR + SPS/PPS)"
        if flags is not None:
            assert flags[0] and not any(flags[1:steps]), "keyframe flags: frame 0 only (fewer frames than the GOP)"
        decoded = decode(samples)
        assert len(decoded) == steps and decoded[0][1], "every sample decodes; frame 0 is a keyframe"
        h, w = rgb.shape[2:4]
        distinct = 0
        for k, (img, _) in enumerate(decoded):
            score = psnr(img[:h, :w], rgb[k, env_id])
            assert score >= MIN_PSNR, f"env {env_id} frame {k}: {score:.1f} dB"
            # order: closer to the simulator's image of that step than to any clearly different one
            for m in range(steps):
                if psnr(rgb[m, env_id], rgb[k, env_id]) < MIN_PSNR - 5:
                    distinct += 1
                    assert score > psnr(img[:h, :w], rgb[m, env_id]), f"env {env_id}: frame {k} looks like step {m}"
        assert distinct > 0 or not order, "some frames of the snippet differ clearly, so that the order is checked"
        assert rgb[:, env_id].std() > 5, "the camera sees the scene, not a blank image"
    assert any(not np.array_equal(rgb[0], rgb[k]) for k in range(1, steps)), "the images change over the snippet"


@needs_av
def test_video_decodes_to_the_simulators_images_in_both_layouts_and_depth_stays_an_image(make_testbed_env, tmp_path):
    from rrd_readback import read_rrd

    env = _camera_env(make_testbed_env)
    steps, logged = 10, [0, 1]
    for layout in ("per_env", "instanced"):
        path, rgb, depth = _record(
            env, tmp_path / layout, steps, logged, scene_log_cfg={"cameras": ["camera"], "layout": layout}
        )
        _check_video(path, logged, rgb, steps)
        ents = read_rrd(path)
        assert "Image:buffer" not in ents["/World/sensors/camera/env_1/rgb"].columns, "no raw images beside it"
        ent = ents["/World/sensors/camera/env_1/depth"]
        frames, buffers = _column_rows(ent, "DepthImage:buffer")
        assert frames == list(range(steps))
        assert np.ravel(ent.static["DepthImage:meter"]).tolist() == [1.0]
        got = np.frombuffer(bytes(buffers[-1][0]), dtype=np.float32)
        np.testing.assert_array_equal(got.reshape(depth.shape[2:]), depth[-1, 1])
        if layout == "instanced":
            assert any(p.startswith("/World/envs/instances/") for p in ents), "the bodies are instanced"


@needs_av
def test_video_at_320x240_decodes_to_the_simulators_images(make_testbed_env, tmp_path):
    """An RGB-only camera (a vision task's): the frames are buffered as small samples and sent in one chunk."""
    from rrd_readback import read_rrd

    env = _camera_env(make_testbed_env, num_envs=1, width=320, height=240, data_types=["rgb"])
    steps = 8
    path, rgb, _ = _record(env, tmp_path, steps, [0], scene_log_cfg={"cameras": ["camera"]})
    assert rgb.shape[2:4] == (240, 320)
    assert "/World/sensors/camera/env_0/depth" not in read_rrd(path)
    _check_video(path, [0], rgb, steps, order=False)
    _, samples, _, _ = _video_rows(path, "/World/sensors/camera/env_0/rgb")
    raw = 320 * 240 * 3
    assert sum(len(s) for s in samples[1:]) / (steps - 1) <= raw / 200, "P-frames: at most 1/200 of a raw frame"


def test_raw_codec_records_the_simulators_images_exactly(make_testbed_env, tmp_path):
    from rrd_readback import read_rrd

    env = _camera_env(make_testbed_env)
    steps = 6
    path, rgb, _ = _record(env, tmp_path, steps, [1], scene_log_cfg={"cameras": ["camera"], "camera_codec": "raw"})
    ent = read_rrd(path)["/World/sensors/camera/env_1/rgb"]
    assert "VideoStream:sample" not in ent.columns and "VideoStream:codec" not in ent.static
    frames, buffers = _column_rows(ent, "Image:buffer")
    assert frames == list(range(steps))
    for k, buffer in enumerate(buffers):
        np.testing.assert_array_equal(np.array(buffer[0], dtype=np.uint8).reshape(rgb.shape[2:]), rgb[k, 1])


@needs_av
def test_encoder_failure_warns_once_and_falls_back_to_raw_images(make_testbed_env, tmp_path, monkeypatch):
    """libx264 raising from the 4th frame on: frames 0-2 stay video, the rest are raw images, training goes on."""
    from rrd_readback import read_rrd

    original = video.H264Encoder.encode

    def failing(self, rgb):
        if self.frames >= 3:
            raise RuntimeError("injected encoder failure")
        return original(self, rgb)

    monkeypatch.setattr(video.H264Encoder, "encode", failing)
    env = _camera_env(make_testbed_env)
    steps, logged = 8, [0, 1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path, rgb, _ = _record(env, tmp_path, steps, logged, scene_log_cfg={"cameras": ["camera"]})
    ours = [str(w.message) for w in caught if "could not encode camera" in str(w.message)]
    assert len(ours) == 1 and "injected encoder failure" in ours[0] and "raw images" in ours[0], ours
    ents = read_rrd(path)
    for env_id in logged:
        ent = ents[f"/World/sensors/camera/env_{env_id}/rgb"]
        video_frames, samples = _column_rows(ent, "VideoStream:sample")
        image_frames, buffers = _column_rows(ent, "Image:buffer")
        assert video_frames == [0, 1, 2]
        assert image_frames == list(range(3, steps))
        decoded = decode([bytes(s[0]) for s in samples])
        assert len(decoded) == 3
        for k, (img, _) in enumerate(decoded):
            assert psnr(img, rgb[k, env_id]) >= MIN_PSNR
        for k, buffer in zip(image_frames, buffers, strict=True):
            img = np.array(buffer[0], dtype=np.uint8).reshape(rgb.shape[2:])
            np.testing.assert_array_equal(img, rgb[k, env_id])
    depth = ents["/World/sensors/camera/env_0/depth"]
    assert _column_rows(depth, "DepthImage:buffer")[0] == list(range(steps)), "depth is recorded as before"


@needs_av
def test_frames_gathered_earlier_are_encoded_when_written(make_testbed_env, tmp_path):
    """What the rolling history does with a kept episode: the channel's gathered frames (owned numpy) are kept while
    the simulator steps on, then written through a fresh channel into a new recording — encoded then."""
    import torch

    from isaac_rerun import IsaacLabScene
    from isaac_rerun.channels import build_channels
    from isaac_rerun.channels.cameras import CameraChannel

    env = _camera_env(make_testbed_env)
    base = env.unwrapped
    scene = IsaacLabScene(base.scene, [1], cfg=SceneLogCfg(cameras=["camera"]))
    (gatherer,) = [c for c in build_channels(scene.context()) if isinstance(c, CameraChannel)]
    env.reset(seed=0)
    kept, truth = [], []
    steps = 8
    for k in range(steps):
        env.step(0.8 * torch.sin(torch.arange(base.num_envs, dtype=torch.float32) + 0.4 * k).unsqueeze(1))
        kept.append(gatherer.gather(scene.sample()))
        truth.append(base.scene["camera"].data.output["rgb"].torch[1, ..., :3].numpy().copy())
    # later: a fresh channel (as the history's writer builds one) encodes the kept frames into a recording
    (writer,) = [c for c in build_channels(scene.context()) if isinstance(c, CameraChannel)]
    path = tmp_path / "kept.rrd"
    stream = rr.RecordingStream("isaac_rerun_test", recording_id="kept")
    stream.save(str(path))
    writer.start(stream, static=True)
    for row, data in enumerate(kept):
        writer.append(row, data, None)  # type: ignore[arg-type]
    writer.send(
        stream,
        lambda rows: [rr.TimeColumn("frame", sequence=np.arange(steps)[slice(None) if rows is None else list(rows)])],
    )
    stream.flush()
    stream.disconnect()
    assert all("rgb" in d for d in kept), "the kept frames are not changed by writing them"
    frames, samples, _, _ = _video_rows(path, "/World/sensors/camera/env_1/rgb")
    assert frames == list(range(steps))
    decoded = decode(samples)
    assert len(decoded) == steps and decoded[0][1]
    for k, (img, _) in enumerate(decoded):
        assert psnr(img, truth[k]) >= MIN_PSNR, k


@needs_av
def test_kept_episode_from_the_history_is_encoded_when_written(make_testbed_env, tmp_path):
    """``episode_filter=terminated()``: env 0 pushed hard (its pole falls); the kept episode's camera is a video
    that decodes to the simulator's images of that episode (reset frame and steps; the terminal frame, rendered
    before the auto-reset, is only counted)."""
    import torch

    from isaac_rerun import IsaacLabScene, LogRerun
    from isaac_rerun.channels import build_channels
    from isaac_rerun.channels.cameras import CameraChannel
    from isaac_rerun.filters import terminated

    env = _camera_env(make_testbed_env)
    base = env.unwrapped
    scene = IsaacLabScene(base.scene, [0], cfg=SceneLogCfg(cameras=["camera"]))
    if not any(isinstance(c, CameraChannel) for c in build_channels(scene.context(), history=True)):
        pytest.skip("the rolling history does not keep camera frames yet (no camera channel among its channels)")
    wrapped = LogRerun(
        env,
        logged_envs=0,
        save_dir=tmp_path,
        step_trigger=lambda s: False,
        episode_filter=terminated(),
        history=150,
        history_envs=[0],
        scene_log_cfg={"cameras": ["camera"]},
    )
    rgb, ends = [], []
    try:
        wrapped.reset(seed=0)
        rgb.append(base.scene["camera"].data.output["rgb"].torch[0, ..., :3].numpy().copy())  # after reset: "step -1"
        for _ in range(120):
            action = torch.zeros(base.num_envs, 1)
            action[0, 0] = 1.0
            _, _, term, trunc, _ = wrapped.step(action)
            rgb.append(base.scene["camera"].data.output["rgb"].torch[0, ..., :3].numpy().copy())
            ends.append(bool(term[0] and not trunc[0]))
            if sum(ends) == 1 and ends[-1]:
                break
    finally:
        wrapped.recorder.close()
    assert any(ends), "env 0's pole must fall for this test to mean anything"
    last = ends.index(True)  # the first episode: steps 0..last
    (path,) = sorted(tmp_path.glob("*.rrd"))
    frames, samples, _, _ = _video_rows(path, "/World/sensors/camera/env_0/rgb")
    assert frames == list(range(last + 2)), "reset frame, steps 0..last-1, terminal frame"
    decoded = decode(samples)
    assert len(decoded) == last + 2 and decoded[0][1], "every sample decodes; the kept snippet starts on a keyframe"
    for k, (img, _) in enumerate(decoded[:-1]):  # frame k shows the state after step k-1 (rgb[k])
        assert psnr(img, rgb[k]) >= MIN_PSNR, k


# ------------------------------------------------------------------------------------------------ stand-in camera
class _Data:
    def __init__(self, n, h, w):
        self.output = {"rgb": np.zeros((n, h, w, 3), np.uint8)}
        self.pos_w = np.zeros((n, 3), np.float32)
        self.quat_w_ros = np.tile(np.array([0, 0, 0, 1], np.float32), (n, 1))
        self.intrinsic_matrices = np.tile(np.array([[50, 0, w / 2], [0, 50, h / 2], [0, 0, 1]], np.float32), (n, 1, 1))


class Camera:
    """Isaac Lab's camera data API as 2.x hands it out (plain arrays; 2.x gives torch tensors of the same shapes):
    ``data.output["rgb"]`` (num_envs, h, w, 3) uint8, ``pos_w``, ``quat_w_ros``, ``intrinsic_matrices``."""

    def __init__(self, n, h, w):
        self.data = _Data(n, h, w)
        self.cfg = type("CameraCfg", (), {"data_types": ["rgb"]})()


@pytest.mark.parametrize("pyav", ["installed", "missing"])
def test_standin_camera_is_video_where_it_can_be_else_raw_images_with_one_note(tmp_path, monkeypatch, pyav):
    """On rerun-sdk 0.23 (the Isaac Lab 2.x stack) or without PyAV: raw images and one warning saying why, however
    many cameras; with both: video that decodes to the frames."""
    from isaac_rerun._arrays import RowSelector
    from isaac_rerun._util import WarnOnce
    from isaac_rerun.channels import ChannelContext, Sample, cameras
    from rrd_readback import read_rrd

    monkeypatch.setattr(cameras, "_warn", WarnOnce())  # the note is once per process: a fresh "process" here
    if pyav == "missing":
        monkeypatch.setattr(video, "_reason", [])
        monkeypatch.setitem(sys.modules, "av", None)
    reason = video.unavailable_reason()
    h, w, steps, logged = 24, 32, 6, (0, 2)
    sensors = {"front": Camera(3, h, w), "side": Camera(3, h, w)}
    ctx = ChannelContext(
        logged_envs=logged,
        num_envs=3,
        layout="per_env",
        cfg=SceneLogCfg(cameras=True),
        bodies=(),
        rows=RowSelector(list(logged)),
        sensors=sensors,
        wxyz_data=True,
        visuals=lambda r: (),
        global_visuals=lambda: (),
        global_shift=lambda: None,
        resolve_env_pattern=lambda p, e: None,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chans = cameras.channels(ctx)
    notes = [str(c.message) for c in caught if "recorded as raw images" in str(c.message)]
    assert len(chans) == 2
    if reason is None:
        assert not notes and all(c.codec == "h264" for c in chans)
    else:
        assert notes == [f"isaac_rerun: camera frames are recorded as raw images: {reason}"], notes
        assert all(c.codec == "raw" for c in chans)
    path = tmp_path / "standin.rrd"
    stream = rr.RecordingStream("isaac_rerun_test", recording_id="standin")
    stream.save(str(path))
    yy, xx = np.mgrid[0:h, 0:w]
    truth = []
    for ch in chans:
        ch.start(stream, static=True)
    for k in range(steps):
        shade = 60 + 120 * xx / w + 40 * yy / h + 4 * k
        frame = np.stack([shade, shade + 10, shade + 25], axis=-1).clip(0, 255).astype(np.uint8)
        for s in sensors.values():
            s.data.output["rgb"][:] = frame[None]  # in place, as the simulator's buffers are
        truth.append(frame)
        for ch in chans:
            ch.append(k, ch.gather(Sample(np.zeros((0, 7), np.float32), None)), None)  # type: ignore[arg-type]
    for ch in chans:
        ch.send(stream, lambda rows: [rr.TimeColumn("frame", sequence=np.arange(steps))])
    stream.flush()
    stream.disconnect()
    ents = read_rrd(path)
    for name in sensors:
        for env in logged:
            ent = ents[f"/World/sensors/{name}/env_{env}/rgb"]
            if reason is None:
                frames, samples, _, _ = _video_rows(path, f"/World/sensors/{name}/env_{env}/rgb")
                assert frames == list(range(steps))
                for k, (img, _) in enumerate(decode(samples)):
                    assert psnr(img, truth[k]) >= MIN_PSNR
            else:
                assert not any(c.startswith("VideoStream") for c in ent.columns)
                frames, buffers = _column_rows(ent, "Image:buffer")
                assert frames == list(range(steps))
                for k, buffer in enumerate(buffers):
                    np.testing.assert_array_equal(np.asarray(buffer[0], dtype=np.uint8).reshape(h, w, 3), truth[k])
