"""Small shared helpers: method patching that can be undone, and warnings given once."""

from __future__ import annotations

import atexit
import contextlib
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["ClassPatch", "Patch", "WarnOnce"]


class Patch:
    """Shadow ``obj.name`` on this **instance** with ``make(original)``; :meth:`remove` restores what was there.

    The class is untouched. Someone else's instance-level patch that was there before is kept and restored; if
    someone patched the instance again on top of ours, :meth:`remove` leaves theirs in place.

    Examples
    --------
    >>> class Env:
    ...     def step(self, a): return a
    >>> env = Env()
    >>> p = Patch(env, "step", lambda original: lambda a: original(a) + 1)
    >>> env.step(1)
    2
    >>> p.remove(); env.step(1)
    1
    """

    def __init__(self, obj: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]):
        self.obj, self.name = obj, name
        self.previous = obj.__dict__.get(name)
        original = getattr(obj, name)
        self.hook = make(original)
        with contextlib.suppress(AttributeError, TypeError):
            self.hook.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(obj, name, self.hook)

    @property
    def active(self) -> bool:
        """True while ``obj.name`` is still our hook."""
        return self.obj.__dict__.get(self.name) is self.hook

    def remove(self) -> None:
        """Restore the instance (idempotent)."""
        if self.active:
            if self.previous is None:
                delattr(self.obj, self.name)  # the class's own method shows through again
            else:
                setattr(self.obj, self.name, self.previous)


class ClassPatch:
    """Wrap methods of a **class** while at least one listener exists; the originals come back with the last one.

    ``ClassPatch(cls, {"visualize": make, ...})`` where ``make(original)`` returns the wrapper; :meth:`add` and
    :meth:`discard` count the listeners (``listeners`` is what wrappers iterate). Thread-safe.
    """

    def __init__(self, makers: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]):
        self.makers = makers
        self.listeners: list[Any] = []
        self._lock = threading.Lock()
        self._cls: Any = None
        self._originals: dict[str, Any] = {}

    def add(self, cls: Any, listener: Any) -> None:
        with self._lock:
            if not self.listeners:
                self._cls = cls
                self._originals = {name: cls.__dict__.get(name) for name in self.makers}
                for name, make in self.makers.items():
                    original = getattr(cls, name)
                    wrapper = make(original)
                    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
                    setattr(cls, name, wrapper)
            if listener not in self.listeners:
                self.listeners.append(listener)

    def discard(self, listener: Any) -> None:
        with self._lock:
            if listener in self.listeners:
                self.listeners.remove(listener)
            if not self.listeners and self._cls is not None:
                for name, original in self._originals.items():
                    if original is None:
                        delattr(self._cls, name)  # it was inherited: the base class's shows through again
                    else:
                        setattr(self._cls, name, original)
                self._cls, self._originals = None, {}


class WarnOnce:
    """``warn(key, message)`` emits ``message`` as a ``RuntimeWarning`` the first time ``key`` is seen.

    One instance per owner (a recorder, a channel): each fault is reported once, training goes on.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, key: str, message: str, stacklevel: int = 3) -> None:
        if key not in self.seen:
            self.seen.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)


def close_at_exit(obj: Any) -> Callable[[], None]:
    """Register an exit hook that calls ``obj.close()`` if ``obj`` still exists (a weak reference: the hook does not
    keep it alive); returns the hook, for ``atexit.unregister``. Hooks registered after Rerun's import run before its
    own exit hook (atexit runs them last in, first out), so an open snippet is finished while Rerun still sends."""
    ref = weakref.ref(obj)

    def close() -> None:
        alive = ref()
        if alive is not None:
            alive.close()

    atexit.register(close)
    return close
