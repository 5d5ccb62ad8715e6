"""Record what went wrong after it happened: a rolling history of the last frames, on the simulation device.

Triggers decide *before* an episode what to record; the history decides *after*. It keeps the last ``history``
frames of every candidate env (``history_envs``, default all) — body poses (the terminal pose before the auto-reset,
as the recorder's frames), rewards, actions and what each channel with a ``read_all`` gathers (Isaac Lab's reward
terms, commands, joints, your signals) — in buffers preallocated on the simulation device, written by
device-to-device copies: no allocation and no copy to the host per step while nothing is saved. When an episode of
a candidate env ends, the episode filter (:mod:`isaac_rerun.filters`) decides whether to keep it; a kept episode is
written as a snippet from its reset frame to its terminal frame, named ``{prefix}-env-{env}-{reason}-episode-{id}``
(its properties: ``trigger`` ``"kept:<reason>"``, ``ident`` the episode id)
(an episode longer than the history is written from the oldest frame kept, and its recording says
``complete = False``). The NaN guard writes the last frames of an env whose poses, observations or rewards stop being
finite, as ``{prefix}-env-{env}-nan-step-{step}``, and warns once with the file's path.

What it costs, per step:

* memory (stated by :attr:`History.nbytes`, refused above ``max_history_bytes``): ``history`` × (candidate envs ×
  bodies × 28 B of float32 poses + candidate envs × 4 B of rewards + candidate envs × actions × 4 B + candidate envs ×
  signal columns × 4 B), plus ``START_DEPTH`` reset poses per env and body;
* device work: one copy of the candidates' pose rows per asset, their rewards and actions into the ring (one
  ``index_select`` into a preallocated slot when the candidates are a subset);
* host work: reading the done flags (a numpy view on the CPU; ``num_envs`` bytes from a GPU — the recorder reads the
  tracked env's flag every step anyway); per episode end, a few numbers of the envs that ended.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from isaac_rerun._arrays import RowSelector
from isaac_rerun._util import WarnOnce
from isaac_rerun.channels import StepRows
from isaac_rerun.config import RecordingCfg, resolve_logged_envs
from isaac_rerun.filters import WindowFilter, reason_of

if TYPE_CHECKING:
    from isaac_rerun.scene import IsaacLabScene

__all__ = ["Episode", "History", "KeptFrames"]

POSE_BYTES = 28  # float32 position + quaternion
START_DEPTH = 8
"""Reset poses kept per env: an episode decided later (a window filter) is written with its reset frame unless its
env started ``START_DEPTH`` more episodes since."""


@dataclass(frozen=True)
class Episode:
    """An episode of a candidate env that just ended, as an episode filter sees it."""

    env: int
    """The env index."""
    episode_id: int
    """That env's episode count since the history started (0 = its first)."""
    episode_return: float
    """The sum of its rewards (NaN when no rewards were given)."""
    length: int
    """Env steps."""
    terminated: bool
    """Ended by a termination (the task's failure / success conditions)."""
    truncated: bool
    """Ended by a time-out."""
    info: dict[str, Any] = field(default_factory=dict)
    """The env's own entries of the framework's ``extras`` / ``info`` at the end (per-env tensors taken at its row)."""
    first_step: int = 0
    """``env_step`` of its first step."""
    last_step: int = 0
    """``env_step`` of its terminal step."""
    iteration: int = -1
    """The training iteration it ended in (-1 where the framework has none)."""
    reasons: tuple[str, ...] = ()
    """The termination terms that ended it (``("base_contact",)``, ``("time_out",)``; several when several were set);
    empty for a direct env or with ``"terminations"`` not in ``builtin_signals``."""


@dataclass
class KeptFrames:
    """Frames of one env read back from the history, ready to be written as a snippet."""

    name: str  # without the name prefix: env-3-worst-episode-7
    env: int
    trigger: str
    ident: int  # the episode id (kept episodes) or the env step (NaN dumps)
    parts: list[np.ndarray]  # per asset: (F, 1 or N_a, B_a, 7) poses, as IsaacLabScene.rows_from_assets takes them
    rows: dict[str, list[np.ndarray]]  # per channel key: each frame's (1, width) row of its read_all
    steps: list[StepRows]
    env_steps: list[int]
    global_steps: list[int]
    complete: bool


@dataclass
class _Pending:
    ep: Episode
    first_t: int  # internal counter of its first step
    last_t: int


class History:
    """The rolling history of the candidate envs (see the module docstring).

    Parameters
    ----------
    scene:
        The recorder's scene (its pose buffers and, for writing, :meth:`~isaac_rerun.scene.IsaacLabScene.for_envs`).
    cfg:
        ``episode_filter``, ``nan_guard``, ``history``, ``history_envs``, ``max_history_bytes``,
        ``max_saved_per_window``, ``save_window``, ``name_prefix``.
    action_dim:
        Actions per env, if known now (the memory is stated with it; else counted when actions first come).
    write:
        Called with each :class:`KeptFrames` to write (the recorder's snippet writer); returns the file path or None.
    channels:
        The recorder's channels: those with a :attr:`~isaac_rerun.channels.Channel.key` whose
        :meth:`~isaac_rerun.channels.Channel.read_all` gives a tensor get a ring of their own.
    """

    def __init__(
        self,
        scene: IsaacLabScene,
        cfg: RecordingCfg,
        *,
        action_dim: int | None,
        write: Callable[[KeptFrames], Any],
        channels: Sequence[Any] = (),
    ):
        import torch

        self.scene = scene
        self.cfg = cfg
        self.write = write
        self.filter = cfg.episode_filter
        self.windowed = isinstance(self.filter, WindowFilter) or hasattr(self.filter, "select")
        self.reason = reason_of(self.filter) if self.filter is not None else ""
        self.k = cfg.history_length
        self.candidates = resolve_logged_envs(cfg.history_envs, scene.num_envs, "history_envs")
        c = len(self.candidates)
        self.all_envs = self.candidates == list(range(scene.num_envs))
        self._pos = np.full(scene.num_envs, -1, dtype=np.int64)
        self._pos[self.candidates] = np.arange(c)
        self._warn = WarnOnce()
        tensors = scene.pose_tensors()
        self.device = tensors[0][0].device
        self._rows = RowSelector(self.candidates)  # the candidates' rows (one row selection for the whole package)
        self._idx = self._rows.device_index(self.device)
        shapes = [(c if per_env else t.shape[0], t.shape[1]) for t, per_env, _ in tensors]
        bodies = sum(n * b for n, b in shapes)
        self.sources = [(ch.key, ch.read_all) for ch in channels if ch.key and ch.read_all() is not None]
        widths = [int(read().shape[1]) for _, read in self.sources]
        per_frame = bodies * POSE_BYTES + c * 4 + c * 4 * (action_dim or 0) + c * 4 * sum(widths)
        self.nbytes = self.k * per_frame + START_DEPTH * (bodies * POSE_BYTES + c * 4 * sum(widths))
        """Bytes the history holds on the device (poses, rewards, actions, reset poses)."""
        if self.nbytes > cfg.max_history_bytes:
            raise ValueError(
                f"the rolling history would hold {self.nbytes / 2**20:.0f} MiB on {self.device} ({self.k} frames × "
                f"{c} envs × {bodies // max(c, 1)} bodies × {POSE_BYTES} B, + rewards and actions), above "
                f"`max_history_bytes` ({cfg.max_history_bytes / 2**20:.0f} MiB): lower `history` (frames) or "
                "`history_envs` (candidate envs), or raise `max_history_bytes`"
            )
        self.per_env = [per_env for _, per_env, _ in tensors]
        self.poses = [
            torch.empty((self.k, n, b, 7), dtype=t.dtype, device=self.device)
            for (t, _, _), (n, b) in zip(tensors, shapes, strict=True)
        ]
        # the first pose of each env's last START_DEPTH episodes (its reset frame), at episode index % START_DEPTH
        self.start_poses = [
            torch.empty((START_DEPTH, n, b, 7), dtype=t.dtype, device=self.device)
            for (t, _, _), (n, b) in zip(tensors, shapes, strict=True)
        ]
        self.rings = {
            key: torch.full((self.k, c, w), float("nan"), dtype=torch.float32, device=self.device)
            for (key, _), w in zip(self.sources, widths, strict=True)
        }
        # each channel's data at the first frame of each env's last START_DEPTH episodes (their reset frames)
        self.start_rings = {
            key: torch.full((START_DEPTH, c, w), float("nan"), dtype=torch.float32, device=self.device)
            for (key, _), w in zip(self.sources, widths, strict=True)
        }
        self.rewards = torch.zeros((self.k, c), dtype=torch.float32, device=self.device)
        self.actions: Any = None  # (k, c, A), made when actions first come
        self.ep_return = torch.zeros(c, dtype=torch.float64, device=self.device)
        # host bookkeeping (numbers per slot / env, no tensors)
        self.t = -1  # the internal step counter (the slot of step t is t % k)
        self.slot_t = np.full(self.k, -1, dtype=np.int64)  # which step each slot holds
        self.slot_env_step = np.zeros(self.k, dtype=np.int64)
        self.slot_global = np.zeros(self.k, dtype=np.int64)
        self.slot_done = np.zeros((self.k, c), dtype=bool)
        self.rewarded = False
        self.ep_first_t = np.zeros(c, dtype=np.int64)  # the internal step of each env's episode's first step
        self.ep_count = np.zeros(c, dtype=np.int64)
        self.ep_started = np.zeros(c, dtype=bool)  # its reset frame is known (it started while we watched)
        self.snapped = False
        self.pending: list[_Pending] = []
        self.window_end: int | None = None
        self.saved_in_window: dict[int, int] = {}
        self.nan_seen = np.zeros(c, dtype=bool)
        self._begun = False
        view = getattr(scene, "env_view", None)
        self._reasons = view.termination_reasons if view is not None and "terminations" in cfg.builtin_signals else None

    # ------------------------------------------------------------------ driven by the recorder
    def begin(self) -> None:
        """The env was reset: every candidate env starts an episode, whose reset frame is the current pose."""
        self.snapped = False
        if self._begun:  # a reset again: the episodes in progress are cut, new ones start
            self.ep_count += 1
        self._begun = True
        self._copy_start_poses(np.arange(len(self.candidates)))
        self.ep_first_t[:] = self.t + 1
        self.ep_started[:] = True
        self.ep_return.zero_()

    def before_reset(self) -> None:
        """Inside ``env.step()``, before the auto-reset: this step's frame is the poses now (terminal poses)."""
        if not self.snapped:
            self.snapped = True
            self._copy_poses((self.t + 1) % self.k)

    def iteration_start(self, iteration: int) -> None:
        """A training iteration begins: a per-iteration window closes."""
        if self.windowed and getattr(self.filter, "per_iteration", False):
            self._close_window()

    def after_step(
        self,
        dones: Any,
        truncated: Any,
        rewards: Any,
        actions: Any,
        *,
        env_step: int,
        global_step: int,
        iteration: int,
        info: Any = None,
        observations: Any = None,
        terminated: Any = None,
    ) -> None:
        """One vector step: the frame into the ring, episode ends to the filter, the NaN guard."""
        self.t += 1
        t, slot = self.t, self.t % self.k
        if not self.snapped:
            self._copy_poses(slot)
        self.snapped = False
        self.slot_t[slot], self.slot_env_step[slot], self.slot_global[slot] = t, env_step, global_step
        if rewards is not None:
            self._copy_rows(self.rewards[slot], rewards)
            self.ep_return.add_(self.rewards[slot])
            self.rewarded = True
        if actions is not None:
            if self.actions is None:
                self._make_actions(actions)
            self._copy_rows(self.actions[slot], _tensor(actions).reshape(self.scene.num_envs, -1))
        done = _host_bool(dones)
        trunc = _host_bool(truncated) if truncated is not None else np.zeros_like(done)
        term = _host_bool(terminated) if terminated is not None else done & ~trunc
        done = (done | trunc)[self.candidates]
        self.slot_done[slot] = done
        if self.cfg.nan_guard:
            self._nan_guard(slot, rewards, observations, env_step)
        ended = np.nonzero(done)[0]
        if len(ended):
            self._episodes_end(ended, term[self.candidates], trunc[self.candidates], info, env_step, iteration)
            self.ep_count[ended] += 1
            self._copy_start_poses(ended)
            self.ep_first_t[ended] = t + 1
            self.ep_started[ended] = True
            self.ep_return[self._ended_index(ended)] = 0
        window = self.cfg.save_window
        if self.windowed and not getattr(self.filter, "per_iteration", False) and (t + 1) % self._window() == 0:
            self._close_window()
        for key in [k for k in self.saved_in_window if k < t // window]:
            del self.saved_in_window[key]

    def close(self) -> None:
        """Decide the open window (its episodes are still in the history)."""
        if self.windowed:
            self._close_window()

    # ------------------------------------------------------------------ episodes
    def _episodes_end(
        self, ended: np.ndarray, term: np.ndarray, trunc: np.ndarray, info: Any, env_step: int, iteration: int
    ) -> None:
        returns = self.ep_return[self._ended_index(ended)].cpu().numpy()  # the envs that ended: a few numbers
        why = self._reasons([self.candidates[j] for j in ended]) if self._reasons is not None else [""] * len(ended)
        for j, ret, reason in zip(ended, returns, why, strict=True):
            env = self.candidates[j]
            ep = Episode(
                env=env,
                episode_id=int(self.ep_count[j]),
                episode_return=float(ret) if self.rewarded else math.nan,
                length=int(self.t - self.ep_first_t[j] + 1),
                terminated=bool(term[j]),
                truncated=bool(trunc[j]),
                info=_env_info(info, env, self.scene.num_envs),
                first_step=int(self.slot_env_step[self.ep_first_t[j] % self.k])
                if self._kept(self.ep_first_t[j])
                else -1,
                last_step=env_step,
                iteration=iteration,
                reasons=tuple(reason.split("+")) if reason else (),
            )
            pending = _Pending(ep, int(self.ep_first_t[j]), self.t)
            if self.filter is None or not self.ep_started[j]:
                continue
            if self.windowed:
                self.pending.append(pending)
            elif _call_filter(self.filter, ep):
                self._save(pending, self.reason)

    def _close_window(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        chosen = self.filter.select([p.ep for p in pending])  # type: ignore[union-attr]
        keep = {id(ep) for ep in chosen}
        for p in pending:
            if id(p.ep) in keep:
                self._save(p, self.reason)

    def _window(self) -> int:
        return int(getattr(self.filter, "window", None) or self.cfg.save_window)

    def _save(self, p: _Pending, reason: str) -> None:
        ep = p.ep
        j = int(self._pos[ep.env])
        name = f"env-{ep.env}-{reason}-episode-{ep.episode_id}"
        start = ep.episode_id % START_DEPTH if self.ep_count[j] - ep.episode_id < START_DEPTH else None
        why = "+".join(ep.reasons)
        self._write_frames(
            j, name, f"kept:{reason}", ep.episode_id, first_t=p.first_t, last_t=p.last_t, start=start, why=why
        )

    def _nan_guard(self, slot: int, rewards: Any, observations: Any, env_step: int) -> None:
        import torch

        bad = torch.zeros(len(self.candidates), dtype=torch.bool, device=self.device)
        for ring, per_env in zip(self.poses, self.per_env, strict=True):
            if per_env:
                bad |= ~torch.isfinite(ring[slot]).all(dim=-1).all(dim=-1)
        for value in (rewards, *_leaves(observations)):
            if value is not None:
                x = _tensor(value)
                x = x.reshape(x.shape[0], -1) if x.ndim else x.reshape(1, 1)
                if x.shape[0] == self.scene.num_envs:
                    rows = x if self.all_envs else x.index_select(0, self._rows.device_index(x.device))
                    bad |= ~torch.isfinite(rows.to(self.device)).all(dim=-1)
        found = np.nonzero(bad.cpu().numpy() & ~self.nan_seen)[0]
        for j in found:
            self.nan_seen[j] = True
            env = self.candidates[j]
            name = f"env-{env}-nan-step-{env_step}"
            path = self._write_frames(
                int(j), name, "nan", env_step, first_t=self.t - self.k + 1, last_t=self.t, start=None
            )
            if path is not None:  # a dump dropped by the rate limit has its own warning
                self._warn(
                    "nan",
                    f"isaac_rerun: non-finite poses, observations or rewards in env {env} at step {env_step}; "
                    f"its last {min(self.k, self.t + 1)} frames are in {path}",
                )

    # ------------------------------------------------------------------ writing
    def _write_frames(
        self,
        j: int,
        name: str,
        trigger: str,
        ident: int,
        *,
        first_t: int,
        last_t: int,
        start: int | None,
        why: str = "",
    ) -> Any:
        """Read env ``j``'s frames ``first_t..last_t`` (those still kept) back from the device and write them, after
        the reset frame kept at ``start`` (an episode's; None: no reset frame, the last frames before NaNs)."""
        import torch

        window = self.t // self.cfg.save_window
        if self.saved_in_window.get(window, 0) >= self.cfg.max_saved_per_window:
            self._warn(
                "rate",
                f"isaac_rerun: the history saved {self.cfg.max_saved_per_window} snippets in {self.cfg.save_window} "
                f"env steps (`max_saved_per_window`); {name!r} and others are dropped until the next window",
            )
            return None
        self.saved_in_window[window] = self.saved_in_window.get(window, 0) + 1
        oldest = max(first_t, self.t - self.k + 1, 0)
        ts = np.arange(oldest, last_t + 1)
        ts = ts[self.slot_t[ts % self.k] == ts]
        if not len(ts):  # it left the history before it was chosen (cannot happen with a valid config)
            self._warn("gone", f"isaac_rerun: {name!r} is no longer in the rolling history; raise `history`")
            return None
        complete = bool(len(ts)) and ts[0] == first_t and (start is not None or trigger == "nan")
        slots = torch.as_tensor(ts % self.k, device=self.device, dtype=torch.long)
        env_rows = torch.as_tensor([j], device=self.device, dtype=torch.long)
        parts = []
        with_reset = complete and start is not None
        for ring, starts, per_env in zip(self.poses, self.start_poses, self.per_env, strict=True):
            frames = ring.index_select(0, slots)
            frames = frames.index_select(1, env_rows) if per_env else frames
            if with_reset:
                first = starts[start]
                first = first.index_select(0, env_rows) if per_env else first
                frames = torch.cat([first.unsqueeze(0), frames], dim=0)
            parts.append(frames.cpu().numpy().copy())
        rows: dict[str, list[np.ndarray]] = {}
        for key, ring in self.rings.items():
            values = ring.index_select(0, slots)[:, j].cpu().numpy()  # (F, width)
            reset = [self.start_rings[key][start, j : j + 1].cpu().numpy()] if with_reset else []
            rows[key] = [*reset, *(values[i : i + 1] for i in range(len(values)))]
        rewards = self.rewards.index_select(0, slots)[:, j].cpu().numpy() if self.rewarded else None
        actions = None if self.actions is None else self.actions.index_select(0, slots)[:, j].cpu().numpy()
        steps: list[StepRows] = []
        if with_reset:
            steps.append(StepRows(started=np.ones(1, bool), jumped=np.ones(1, bool), advance=False))
        done = self.slot_done[ts % self.k, j]
        for i in range(len(ts)):
            steps.append(
                StepRows(
                    rewards=None if rewards is None else rewards[i : i + 1].astype(np.float64),
                    actions=None if actions is None else actions[i : i + 1].reshape(1, -1),
                    ended=done[i : i + 1].copy(),
                    reasons=[why if i == len(ts) - 1 and self._reasons is not None else ""],
                    jumped=np.array([(i == 0 and not with_reset) or (i > 0 and bool(done[i - 1]))]),
                )
            )
        env_steps = [int(self.slot_env_step[t % self.k]) for t in ts]
        glob = [int(self.slot_global[t % self.k]) for t in ts]
        if with_reset:
            env_steps.insert(0, max(env_steps[0] - 1, 0))
            glob.insert(0, glob[0])
        kept = KeptFrames(name, self.candidates[j], trigger, ident, parts, rows, steps, env_steps, glob, complete)
        return self.write(kept)

    # ------------------------------------------------------------------ copies on the device
    def _copy_poses(self, slot: int) -> None:
        """This step's frame into the ring: poses and every channel's data."""
        for ring, (src, per_env, _) in zip(self.poses, self.scene.pose_tensors(), strict=True):
            self._copy_rows(ring[slot], src, per_env)
        for key, read in self.sources:
            self._copy_rows(self.rings[key][slot], read())

    def _copy_start_poses(self, envs: np.ndarray) -> None:
        """The poses now are the first frame of the new episodes of candidate envs ``envs`` (positions)."""
        import torch

        depth = torch.as_tensor(self.ep_count[envs] % START_DEPTH, device=self.device, dtype=torch.long)
        idx = self._ended_index(envs)
        for ring, (src, per_env, _) in zip(self.start_poses, self.scene.pose_tensors(), strict=True):
            src = _tensor(src)
            if not per_env:  # a global asset: its pose now, in every depth
                ring.copy_(src.to(self.device).unsqueeze(0).expand_as(ring))
                continue
            rows = torch.as_tensor(np.asarray(self.candidates)[envs], device=src.device, dtype=torch.long)
            ring.index_put_((depth, idx), src.index_select(0, rows).to(self.device))
        for key, read in self.sources:
            src = _tensor(read())
            rows = torch.as_tensor(np.asarray(self.candidates)[envs], device=src.device, dtype=torch.long)
            self.start_rings[key].index_put_((depth, idx), src.index_select(0, rows).to(self.device, torch.float32))

    def _copy_rows(self, out: Any, src: Any, per_env: bool = True) -> None:
        """``out[:] = src[candidates]`` without allocating when the candidates are all envs (or not per env)."""
        import torch

        src = _tensor(src)
        if not isinstance(src, torch.Tensor):
            src = torch.as_tensor(np.asarray(src), device=self.device)
        src = src.reshape(out.shape[0] if not per_env or self.all_envs else self.scene.num_envs, *out.shape[1:])
        if not per_env or self.all_envs:
            out.copy_(src)
        else:
            torch.index_select(src.to(self.device), 0, self._idx, out=out)

    def _make_actions(self, actions: Any) -> None:
        import torch

        a = _tensor(actions)
        dim = int(np.prod(a.shape[1:])) if a.ndim > 1 else 1
        extra = self.k * len(self.candidates) * dim * 4
        if self.nbytes + extra > self.cfg.max_history_bytes:
            self._warn("actions", "isaac_rerun: the history keeps no actions: they would exceed `max_history_bytes`")
            self.actions = None
            return
        self.nbytes += extra
        self.actions = torch.zeros((self.k, len(self.candidates), dim), dtype=torch.float32, device=self.device)

    def _ended_index(self, ended: np.ndarray) -> Any:
        import torch

        return torch.as_tensor(ended, device=self.device, dtype=torch.long)

    def _kept(self, t: int) -> bool:
        return t >= 0 and self.slot_t[t % self.k] == t


# ---------------------------------------------------------------------------------------------------------- helpers
def _tensor(x: Any) -> Any:
    """The torch tensor behind Isaac Lab data (3.x ``ProxyArray``), a numpy array as torch, else ``x``."""
    if hasattr(x, "torch") and hasattr(x, "warp"):
        return x.torch
    if isinstance(x, np.ndarray):
        import torch

        return torch.from_numpy(x)
    return x


def _host_bool(flags: Any) -> np.ndarray:
    """Done flags on the host (a numpy view of a CPU tensor; one small copy from a GPU)."""
    x = _tensor(flags)
    if hasattr(x, "detach"):
        x = x.detach()
        return (x if x.is_cpu else x.cpu()).numpy().reshape(-1).astype(bool, copy=False)
    return np.asarray(x).reshape(-1).astype(bool, copy=False)


def _leaves(obs: Any) -> list[Any]:
    """The arrays in an observation (a tensor, a dict of them, a TensorDict, a tuple)."""
    if obs is None:
        return []
    if isinstance(obs, Mapping) or (hasattr(obs, "values") and hasattr(obs, "keys") and not hasattr(obs, "shape")):
        return [leaf for v in obs.values() for leaf in _leaves(v)]
    if isinstance(obs, (list, tuple)):
        return [leaf for v in obs for leaf in _leaves(v)]
    return [obs]


def _env_info(info: Any, env: int, num_envs: int) -> dict[str, Any]:
    """One env's entries of the framework's ``extras`` / ``info``: per-env arrays at its row, other numbers as is."""
    out: dict[str, Any] = {}
    if isinstance(info, Sequence) and not isinstance(info, (str, bytes)) and len(info) == num_envs:
        item = info[env]  # SB3: one info dict per env
        return dict(item) if isinstance(item, Mapping) else {"info": item}
    if not isinstance(info, Mapping):
        return out
    for key, value in info.items():
        if isinstance(value, Mapping):
            out[key] = _env_info(value, env, num_envs)
            continue
        x = _tensor(value)
        shape = getattr(x, "shape", None)
        if shape is not None and len(shape) and shape[0] == num_envs:
            row = x[env]
            out[key] = (
                row.item()
                if getattr(row, "ndim", 1) == 0
                else np.asarray(row.detach().cpu() if hasattr(row, "detach") else row)
            )
        elif isinstance(value, (int, float, bool, str)):
            out[key] = value
        elif shape is not None and len(shape) == 0:
            out[key] = x.item()
    return out


def _call_filter(episode_filter: Callable[[Episode], bool], ep: Episode) -> bool:
    try:
        return bool(episode_filter(ep))
    except Exception as exc:
        exc.add_note(f"isaac_rerun: raised by episode_filter({ep!r})")
        raise
