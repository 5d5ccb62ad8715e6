"""The snippet schedule that Gymnasium's ``RecordVideo`` would produce, written over its own event model.

RecordVideo sees ``reset()`` and ``step()`` calls of one (non-vector) env. For an auto-resetting vector env the
tracked env's event stream is: one ``reset`` at the start, then for every vector step ``s`` a ``step s`` event and,
if the tracked env finished at ``s``, a ``reset`` event (its auto-reset). Frames are captured on every event while
recording. The one documented difference: ``recording_length=N`` means exactly N frames (RecordVideo keeps N + 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Snip:
    name: str
    frames: list[tuple[str, int]] = field(default_factory=list)  # ("reset", step or -1) / ("step", step)


def expected_snippets(
    tracked_dones: Sequence[bool],
    episode_trigger: Callable[[int], bool] | None,
    step_trigger: Callable[[int], bool] | None,
    length: int,
    prefix: str = "rl-rerun",
) -> list[Snip]:
    done: list[Snip] = []
    cur: list[Snip | None] = [None]

    def stop() -> None:
        if cur[0] is not None:
            done.append(cur[0])
            cur[0] = None

    def start(name: str) -> None:
        stop()
        cur[0] = Snip(f"{prefix}-{name}")

    def capture(event: tuple[str, int]) -> None:
        if cur[0] is not None:
            cur[0].frames.append(event)
            if length and len(cur[0].frames) >= length:
                stop()

    episode = 0
    if episode_trigger and episode_trigger(episode):  # reset()
        start(f"episode-{episode}")
    capture(("reset", -1))
    for s, d in enumerate(tracked_dones):  # step()
        if step_trigger and step_trigger(s):
            start(f"step-{s}")
        capture(("step", s))
        if d:  # the auto-reset inside step(), seen by RecordVideo as reset()
            episode += 1
            if cur[0] is not None and length == 0:
                stop()
            if episode_trigger and episode_trigger(episode):
                start(f"episode-{episode}")
            capture(("reset", s))
    stop()
    return done
