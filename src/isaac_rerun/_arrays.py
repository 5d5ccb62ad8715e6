"""Rows of Isaac Lab per-env data (numpy, torch on any device, 3.x ``ProxyArray``) as owned numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def as_tensor(x: Any) -> Any:
    """The tensor behind Isaac Lab data: a 3.x ``ProxyArray``'s ``.torch``; anything else as it is."""
    return x.torch if hasattr(x, "torch") and hasattr(x, "warp") else x


def to_numpy(x: Any) -> np.ndarray:
    """A small array (e.g. env ids) on the host, as numpy."""
    x = as_tensor(x)
    if hasattr(x, "detach"):
        return np.asarray(x.detach().to("cpu").numpy())
    return np.asarray(x)


def _flag_view(array: np.ndarray) -> Any:
    """A flat view of per-env flags: a ``memoryview`` for bools (indexing it gives a Python bool, cheaper than a numpy
    scalar), the numpy array otherwise."""
    flat = array.reshape(-1)
    if flat.dtype == np.bool_ and flat.flags.c_contiguous:
        return memoryview(flat.view(np.uint8)).cast("?")
    return flat


class RowSelector:
    """Pick fixed rows (e.g. the logged envs) of per-row arrays into owned numpy arrays.

    On the CPU the rows are indexed straight out of the tensor's memory (numpy fancy indexing copies them); on a GPU
    they are selected on the device (the index tensor is made once per device) before one small host copy. So the
    cost does not grow with the number of envs, and nothing returned aliases simulator memory.
    """

    def __init__(self, rows: Sequence[int] | np.ndarray):
        self.host = np.asarray(rows, dtype=np.int64)
        n = len(self.host)
        contiguous = n > 0 and bool(np.all(self.host == np.arange(self.host[0], self.host[0] + n)))
        self.sel: slice | np.ndarray = slice(int(self.host[0]), int(self.host[0]) + n) if contiguous else self.host
        """The rows as a numpy index: a slice when they are contiguous (cheaper), else the index array."""
        self._device: dict[str, Any] = {}
        self._views: dict[int, tuple[Any, np.ndarray]] = {}  # numpy views of CPU tensors seen (kept alive), by id
        self.first = int(self.host[0]) if len(self.host) else 0
        """The first row (the tracked env)."""
        self._flags: list[tuple[Any, tuple[int, int], Any]] = []  # flag views: (tensor, memory, view)
        self.pair: tuple[Any, Any, Any, Any] = (object(), None, object(), None)
        """The done and time-out buffers last read by :meth:`done`, with their flag views: ``(dones, view, truncated,
        view or None)``."""

    def flag(self, x: Any) -> bool:
        """The first row's entry of a per-row flag array (the tracked env's done flag) as a bool.

        Isaac Lab updates its done buffers in place and hands out the same tensor every step: its view is cached while
        the same tensor comes back (one identity check and one index); skrl hands out fresh views of the same memory:
        the view is kept while the memory is the same. Bool views are ``memoryview`` casts (a Python bool per index).
        """
        flags = self._flags
        if flags and flags[0][0] is x:  # the same buffer as last time (Isaac Lab's done flags): one check, one index
            return bool(flags[0][2][self.first])
        for cached in flags:
            if cached[0] is x:
                return bool(cached[2][self.first])
        if isinstance(x, np.ndarray):
            return bool(x.reshape(-1)[self.first])
        x = as_tensor(x)
        if getattr(x, "is_cpu", False) and x.is_contiguous():
            key = (x.data_ptr(), x.numel())
            view = next((c[2] for c in self._flags if c[1] == key), None)
            if view is None:
                view = _flag_view(x.detach().numpy())
            # keep the tensor: its memory cannot be reused by another one while we hold the view
            self._flags = [(x, key, view), *self._flags[:1]]
            return bool(view[self.first])
        return bool(x.reshape(-1)[self.first])

    def done(self, dones: Any, truncated: Any = None) -> bool:
        """The first row's ``dones`` flag, or its ``truncated`` flag (when given): whether the tracked env's episode
        ended. When both are buffers with cached views (Isaac Lab's, handed out every step), :attr:`pair` holds them
        for the caller's own check: ``pair[0] is dones and pair[2] is truncated`` → ``pair[1][i] or pair[3][i]``."""
        flag = self.flag
        ended = flag(dones) or (truncated is not None and flag(truncated))
        views = {id(c[0]): c[2] for c in self._flags}
        if id(dones) in views and (truncated is None or id(truncated) in views):
            self.pair = (dones, views[id(dones)], truncated, None if truncated is None else views[id(truncated)])
        return bool(ended)

    def numpy_view(self, x: Any) -> np.ndarray:
        """The numpy view of a CPU tensor's memory, cached while the same tensor comes back: Isaac Lab hands out the
        same buffers every step (poses, done flags, rewards). Index it with :attr:`sel` (a copy); never keep it."""
        cached = self._views.get(id(x))
        if cached is not None and cached[0] is x:
            return cached[1]
        view = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
        if len(self._views) >= 32:
            self._views.clear()
        self._views[id(x)] = (x, view)  # the tensor is kept: its id cannot be reused while cached
        return view

    def device_index(self, device: Any) -> Any:
        """The rows as a torch index tensor on ``device`` (made once per device)."""
        key = str(device)
        idx = self._device.get(key)
        if idx is None:
            import torch

            idx = self._device[key] = torch.as_tensor(self.host, device=device, dtype=torch.long)
        return idx

    def __call__(self, x: Any, dtype: Any = np.float32) -> np.ndarray:
        x = as_tensor(x)
        if isinstance(x, np.ndarray):
            return np.asarray(x[self.host], dtype=dtype)
        if hasattr(x, "index_select"):  # torch.Tensor
            if x.is_cpu:
                return np.array(self.numpy_view(x)[self.sel], dtype=dtype)  # a copy (a slice is a view)
            rows = x.index_select(0, self.device_index(x.device)).detach().to("cpu")
            if rows.is_floating_point():
                rows = rows.float()  # numpy has no bfloat16
            return np.array(rows.numpy(), dtype=dtype, copy=True)
        return np.asarray(x, dtype=dtype)[self.host]
