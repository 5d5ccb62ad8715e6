"""Shared fixtures: the bundled Isaac Lab test bed (:mod:`isaac_rerun.testbed`), built once per test session.

* ``testbed_env`` (session scope): ``make_env(num_envs=4)``, built on first use and closed at session end. It is
  shared: tests may step, reset and wrap it, but ``close()`` on it (or on a wrapper around it) is ignored — the
  session closes it. Its state carries over from test to test, so call ``reset()`` when a test needs a fresh start.
* ``make_testbed_env`` (function scope): a factory ``make_testbed_env(num_envs=..., **cfg_overrides)`` for tests that
  need another configuration. Isaac Lab allows one open environment per process, so the factory closes the shared
  environment first and, at the end of the test, closes what it built. The shared one is rebuilt in place before the
  next test that uses ``testbed_env`` (the ``testbed_env`` object stays valid; its ``unwrapped`` is then a new
  ``TestbedEnv``). A test cannot use both fixtures at once.

Both skip the test when Isaac Lab is not importable, and tests using them get the ``isaaclab`` marker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

TESTBED_FIXTURES = frozenset({"testbed_env", "make_testbed_env", "testbed_pool", "make_managed_env"})
DEFAULT_TESTBED_KWARGS: dict[str, Any] = {"num_envs": 4, "device": "cpu", "seed": 0}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses a test-bed fixture with ``isaaclab``."""
    for item in items:
        if TESTBED_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.isaaclab)


class TestbedPool:
    """Owns the one Isaac Lab environment a process may have open: the shared one or a test's own."""

    __test__ = False  # not a test class

    def __init__(self) -> None:
        import gymnasium as gym

        pool = self

        class SharedTestbedEnv(gym.Wrapper):
            """The session's shared test-bed env; ``close()`` is a no-op (the session closes it)."""

            def close(self) -> None:
                pass

            def _swap(self, env: gym.Env | None) -> None:
                self.env = env

            def __repr__(self) -> str:
                return f"<SharedTestbedEnv {self.env!r} (owned by {pool!r})>"

        self._shared_cls = SharedTestbedEnv
        self.shared: gym.Wrapper | None = None  # the wrapper handed out as ``testbed_env``
        self._shared_open = False
        self._own: list[gym.Env] = []  # envs built by ``make_testbed_env`` for the running test

    def get_shared(self):
        """The shared default env (``make_env(num_envs=4)``), built or rebuilt on demand."""
        from isaac_rerun.testbed import make_env

        if self._own:
            raise RuntimeError("a test's own test-bed env is open; the shared one cannot be used in the same test")
        if not self._shared_open:
            env = make_env(**DEFAULT_TESTBED_KWARGS)
            if self.shared is None:
                self.shared = self._shared_cls(env)
            else:
                self.shared._swap(env)
            self._shared_open = True
        return self.shared

    def make(self, *, factory: Callable[..., Any] | None = None, **kwargs: Any):
        """Close whatever env is open and build ``make_env(**kwargs)`` (or ``factory(**kwargs)``: the manager-based
        test bed, the A1 task), owned by the running test."""
        from isaac_rerun.testbed import make_env

        self._close_shared()
        self.release()
        env = (factory or make_env)(**{**DEFAULT_TESTBED_KWARGS, **kwargs})
        self._own.append(env)
        return env

    def release(self) -> None:
        """Close the running test's own envs."""
        while self._own:
            self._own.pop().close()

    def _close_shared(self) -> None:
        if self._shared_open and self.shared is not None:
            self.shared.env.close()  # the inner env: the wrapper's own close() is a no-op
            self._shared_open = False

    def close(self) -> None:
        """Close everything (session end)."""
        self.release()
        self._close_shared()


@pytest.fixture(scope="session")
def testbed_pool() -> Iterator[TestbedPool]:
    """The session's :class:`TestbedPool`; skips when Isaac Lab is not importable."""
    pytest.importorskip("isaaclab")
    pool = TestbedPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def testbed_env(testbed_pool: TestbedPool):
    """The shared 4-env test bed (``isaac_rerun.testbed.make_env(num_envs=4)``), built once per session."""
    return testbed_pool.get_shared()


@pytest.fixture
def make_testbed_env(testbed_pool: TestbedPool) -> Iterator[Callable[..., Any]]:
    """Factory ``make_testbed_env(num_envs=..., **cfg_overrides)`` of a test's own test-bed env (see module doc)."""
    yield testbed_pool.make
    testbed_pool.release()


@pytest.fixture
def make_managed_env(testbed_pool: TestbedPool) -> Iterator[Callable[..., Any]]:
    """Factory ``make_managed_env(num_envs=..., **cfg_overrides)`` of the manager-based test bed
    (:func:`isaac_rerun.testbed.make_managed_env`), owned by the test (see ``make_testbed_env``)."""
    from isaac_rerun.testbed import make_managed_env as factory

    yield lambda **kwargs: testbed_pool.make(factory=factory, **kwargs)
    testbed_pool.release()


@pytest.fixture(autouse=True)
def _reopen_shared_testbed_env(request: pytest.FixtureRequest) -> None:
    """Rebuild the shared env (closed by an earlier ``make_testbed_env`` test) for tests that use it."""
    if "testbed_env" in request.fixturenames:
        request.getfixturevalue("testbed_pool").get_shared()
