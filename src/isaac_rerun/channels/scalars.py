"""Per-env plots beside the scene: reward and action every frame, episode return and length at each episode's end.

Per-env layout: ``/scalars/env_<i>/reward``, ``…/action`` (one series per action dimension), ``…/episode_return``,
``…/episode_length``. Instanced layout: one entity per signal — ``/scalars/reward``, ``/scalars/action``,
``/scalars/episode_return``, ``/scalars/episode_length`` — with one named series per logged env (``env 37``; actions
``env 37 [k]`` when there are several dimensions); an episode value row holds NaN for the envs whose episode did not
end at that frame.

An episode's return and length are logged at its terminal frame when the whole episode was recorded (it started
inside the snippet); its return only when rewards were given for it (``log_scalars=True``). With terminations
recorded, each episode end of a logged env is also a text entry at ``/episodes`` on the terminal frame (``env 3 ended:
base_contact after 412 steps, return -3.1``), and the snippet's properties list each whole episode's reason
(``episode_reasons``, aligned with ``episode_envs``). Actions are named by joint where the env's action manager says
(``FL_hip_joint``; instanced ``env 37 FL_hip_joint``), else by index.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import rerun as rr

from isaac_rerun.channels.base import Channel, ChannelContext, StepRows, TimeColumns, Views

__all__ = ["EPISODES", "SCALARS_ROOT", "ScalarChannel"]

SCALARS_ROOT = "/scalars"
EPISODES = "/episodes"
"""The text log of episode ends (``env 3 ended: base_contact after 412 steps, return -3.1``)."""
POINT_SIZE = 4.0


class ScalarChannel(Channel):
    """Rewards, actions, episode returns and lengths of the logged envs (see the module docstring)."""

    def __init__(
        self,
        ctx: ChannelContext,
        log_scalars: bool = True,
        *,
        action_names: list[str] | None = None,
        terminations: bool = False,
    ):
        self.envs = list(ctx.logged_envs)
        self.action_names = action_names
        self.terminations = terminations
        self.texts: list[tuple[int, str]] = []
        self.instanced = ctx.instanced
        self.log_scalars = log_scalars
        n = len(self.envs)
        self.ep_return = np.zeros(n)
        self.ep_rewarded = np.zeros(n, dtype=bool)
        self.ep_length = np.zeros(n, dtype=np.int64)
        self.seen_start = np.zeros(n, dtype=bool)
        self.rewards: list[tuple[int, np.ndarray]] = []
        self.actions: list[tuple[int, np.ndarray]] = []
        self.episodes: list[tuple[int, int, float | None, int]] = []  # (row, env position, return, length)
        self.styled: set[str] = set()
        self.names = [f"env {e}" for e in self.envs]
        self.completed: list[tuple[int, float | None, int, str]] = []  # whole episodes: env, return, length, reason

    def start(self, stream: rr.RecordingStream, *, static: bool) -> None:
        self.seen_start[:] = False
        if static:  # a new stream: its series styles are logged again
            self.styled = set()
        self.completed = []

    def append(self, row: int, data: Any, step: StepRows) -> None:
        if step.started is not None:
            started = np.nonzero(step.started)[0]
            self.seen_start[started] = True
            self.ep_return[started] = 0
            self.ep_rewarded[started] = False
            self.ep_length[started] = 0
        if step.advance:
            self.ep_length += 1
            if step.rewards is not None:
                self.ep_return += step.rewards
                self.ep_rewarded[:] = True
        if self.log_scalars and step.rewards is not None:
            self.rewards.append((row, step.rewards))
        if self.log_scalars and step.actions is not None:
            self.actions.append((row, step.actions))
        if step.ended is not None and step.ended.any():
            for j in np.nonzero(step.ended)[0]:
                reason = str(step.reasons[j]) if step.reasons is not None else ""
                ret = float(self.ep_return[j]) if self.ep_rewarded[j] else None
                if self.seen_start[j]:
                    self.episodes.append((row, int(j), ret, int(self.ep_length[j])))
                    self.completed.append((self.envs[j], ret, int(self.ep_length[j]), reason))
                if self.terminations:
                    text = f"env {self.envs[j]} ended: {reason or 'done'}"
                    if self.seen_start[j]:
                        text += f" after {int(self.ep_length[j])} steps"
                        text += f", return {ret:.4g}" if ret is not None else ""
                    self.texts.append((row, text))
                self.seen_start[j] = True  # the next episode starts at the next frame
                self.ep_return[j] = 0
                self.ep_rewarded[j] = False
                self.ep_length[j] = 0

    def send(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        if self.rewards:
            rows = [r for r, _ in self.rewards]
            values = np.stack([v for _, v in self.rewards]).astype(np.float64)  # (m, L)
            self._send_series(stream, "reward", rows, values, times, points=False)
        if self.actions:
            rows = [r for r, _ in self.actions]
            values = np.stack([v for _, v in self.actions]).astype(np.float64)  # (m, L, A)
            self._send_series(stream, "action", rows, values, times, points=False)
        if self.episodes:
            self._send_episodes(stream, times)
        if self.texts:
            stream.send_columns(
                EPISODES,
                indexes=times([r for r, _ in self.texts]),
                columns=rr.TextLog.columns(text=[t for _, t in self.texts]),
            )
        self.clear()

    def clear(self) -> None:
        self.rewards, self.actions, self.episodes, self.texts = [], [], [], []

    def views(self) -> Views:
        def entities(metric: str) -> list[str]:
            if self.instanced:
                return [f"{SCALARS_ROOT}/{metric}"]
            return [f"{SCALARS_ROOT}/env_{e}/{metric}" for e in self.envs]

        v = Views()
        v.plot("reward", entities("reward"), slot="top")
        v.plot("action", entities("action"), slot="middle")
        v.plot("episode return", entities("episode_return"), slot="bottom")
        v.plot("episode length", entities("episode_length"), slot="bottom")
        if self.terminations:
            v.texts.append(("episodes", EPISODES))
        return v

    def summary(self) -> dict[str, Any]:
        """The whole episodes this snippet holds: their envs, returns (NaN without rewards) and lengths."""
        done = self.completed
        out: dict[str, Any] = {
            "episode_envs": [e for e, _, _, _ in done],
            "episode_returns": [float("nan") if r is None else r for _, r, _, _ in done],
            "episode_lengths": [n for _, _, n, _ in done],
        }
        if self.terminations:
            out["episode_reasons"] = np.asarray([reason for _, _, _, reason in done], dtype=np.str_)
        return out

    # ------------------------------------------------------------------ sending
    def _send_series(
        self,
        stream: rr.RecordingStream,
        metric: str,
        rows: list[int],
        values: np.ndarray,
        times: TimeColumns,
        *,
        points: bool,
    ) -> None:
        """``values`` (m, L) or (m, L, A) at frames ``rows``."""
        m = len(rows)
        if not self.instanced:
            for j, env in enumerate(self.envs):
                entity = f"{SCALARS_ROOT}/env_{env}/{metric}"
                v = values[:, j]
                labels = (
                    [f"env {env}"] if v.ndim == 1 else [f"env {env} {c}" for c in self._columns(metric, v.shape[1])]
                )
                self._style(stream, entity, points, labels)
                cols = rr.Scalars.columns(scalars=v.reshape(-1))
                if v.ndim == 2:
                    cols = cols.partition([v.shape[1]] * m)
                stream.send_columns(entity, indexes=times(rows), columns=cols)
            return
        entity = f"{SCALARS_ROOT}/{metric}"
        flat = values.reshape(m, -1)
        names = self.names
        if values.ndim == 3 and values.shape[2] > 1:
            names = [f"env {e} {c}" for e in self.envs for c in self._columns(metric, values.shape[2])]
        self._style(stream, entity, points, names)
        cols = rr.Scalars.columns(scalars=flat.reshape(-1)).partition([flat.shape[1]] * m)
        stream.send_columns(entity, indexes=times(rows), columns=cols)

    def _columns(self, metric: str, width: int) -> list[str]:
        """Names of a per-env vector's entries: the action manager's joint names for actions, else ``[k]``."""
        names = self.action_names if metric == "action" else None
        return list(names) if names is not None and len(names) == width else [f"[{k}]" for k in range(width)]

    def _send_episodes(self, stream: rr.RecordingStream, times: TimeColumns) -> None:
        for metric, pick in (("episode_return", 2), ("episode_length", 3)):
            eps = [e for e in self.episodes if e[pick] is not None]
            if not eps:
                continue
            if not self.instanced:
                for j, env in enumerate(self.envs):
                    mine = [e for e in eps if e[1] == j]
                    if not mine:
                        continue
                    entity = f"{SCALARS_ROOT}/env_{env}/{metric}"
                    self._style(stream, entity, True, None)
                    stream.send_columns(
                        entity,
                        indexes=times([e[0] for e in mine]),
                        columns=rr.Scalars.columns(scalars=[float(e[pick]) for e in mine]),  # type: ignore[arg-type]
                    )
                continue
            rows = sorted({e[0] for e in eps})
            values = np.full((len(rows), len(self.envs)), np.nan)
            at = {r: i for i, r in enumerate(rows)}
            for e in eps:
                values[at[e[0]], e[1]] = float(e[pick])  # type: ignore[arg-type]
            self._send_series(stream, metric, rows, values, times, points=True)

    def _style(self, stream: rr.RecordingStream, entity: str, points: bool, names: list[str] | None) -> None:
        """Static series style, once per entity and snippet: points for once-per-episode values, names per env."""
        if entity in self.styled or (not points and names is None):
            return
        self.styled.add(entity)
        kwargs: dict[str, Any] = {} if names is None else {"names": names}
        if points:
            stream.log(entity, rr.SeriesPoints(marker_sizes=[POINT_SIZE], **kwargs), static=True)
        else:
            stream.log(entity, rr.SeriesLines(**kwargs), static=True)
