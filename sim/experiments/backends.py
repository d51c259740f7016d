"""Where a sweep's runs execute: in this process, a local process pool, or Dask.

A backend maps a module-level function over tasks and yields ``(task,
result)`` pairs as they finish, in whatever order they finish.  A result is
the function's return value, or the exception raised by the *machinery*
(a worker process that died, a Dask worker that was lost); the sweep's run
function catches the model's own errors itself.  Results do not depend on the
backend: each task carries its own seed.

- :class:`SerialBackend` runs tasks one by one in this process.
- :class:`ProcessPoolBackend` uses :class:`concurrent.futures.ProcessPoolExecutor`
  with the ``forkserver`` (Linux) or ``spawn`` start method, both safe from
  Jupyter and from threaded parents (the function and tasks must be
  picklable, i.e. importable).
- :class:`DaskBackend` submits to a ``dask.distributed`` cluster: an existing
  scheduler (:meth:`DaskBackend.connect`) or a :class:`~distributed.LocalCluster`
  it starts (:meth:`DaskBackend.local_cluster`), or any ``Client`` you pass.

Backends are context managers; :meth:`Backend.start` connects (and raises a
:class:`~sim.errors.ScenarioError` for an unreachable scheduler) so callers can
fail before writing anything.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from sim.errors import ScenarioError

T = TypeVar("T")

#: Seconds to wait for a Dask scheduler before calling it unreachable.
DEFAULT_CONNECT_TIMEOUT = 5.0

#: A pool that breaks this many times in a row, with no task finishing in between, is given up.
MAX_CONSECUTIVE_POOL_BREAKS = 3

#: Address schemes a Dask scheduler listens on.
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


#: Runs a pool worker does before it is replaced by a fresh process: a second line of defence against memory
#: that a run leaks (the worker's memory is returned to the system when it exits).
DEFAULT_TASKS_PER_WORKER = 50

#: Modules a ``forkserver`` imports once, so that pool workers start with them loaded.
FORKSERVER_PRELOAD = ["sim.experiments.sweep", "sim.experiments.replicate"]


def ignore_interrupts() -> None:
    """Ignore Ctrl-C (SIGINT) in this process: the initializer of pool workers.

    Ctrl-C in a terminal interrupts the whole process group.  The parent
    stops the sweep and ends its workers itself (:meth:`ProcessPoolBackend.close`),
    so a worker must not die of it with a traceback of its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore Ctrl-C (SIGINT) meanwhile, so that a program started now ignores it for good.

    Used only around starting the forkserver (a fork and an exec, a few
    milliseconds): an interrupt in that window is lost.  A no-op off the main
    thread (only it may set signal handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) meanwhile; one that came is raised (KeyboardInterrupt) when the block ends.

    Used while a worker starts, so that an interrupt cannot cut its start in
    half (the parent would end, and the half-started worker print a
    traceback).  A no-op off the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple] = []
    previous = signal.signal(signal.SIGINT, lambda *received: caught.append(received))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(*caught[0])     # Python's default handler raises KeyboardInterrupt
        elif caught and previous == signal.SIG_DFL:
            raise KeyboardInterrupt


def default_start_method() -> str:
    """``forkserver`` on Linux, else ``spawn``.

    Both start workers from a fresh interpreter, never from a fork of the
    caller, so they are safe from Jupyter and from processes with threads.
    A forkserver imports the model once and forks workers from that clean
    process: they start in milliseconds instead of importing for a second
    or two each, and exit without interpreter teardown.
    """
    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return "spawn"


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity, e.g. under SLURM or taskset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Backend(ABC):
    """Runs a function over tasks and yields results as they complete."""

    #: Short name for progress bars and manifests.
    name: str = "backend"

    def __enter__(self) -> Backend:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        """Acquire resources (processes, a connection); idempotent."""

    def close(self) -> None:
        """Release what :meth:`start` acquired; idempotent."""

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many tasks can run at once."""

    @abstractmethod
    def imap_unordered(self, fn: Callable[[T], Any], tasks: Iterable[T]) -> Iterator[tuple[T, Any]]:
        """Yield ``(task, fn(task))`` in completion order.

        If the machinery fails for a task, the exception is yielded in place
        of the result instead of being raised, so one lost worker does not
        stop a sweep.
        """

    def describe(self) -> str:
        """One line for logs: the backend and its parallelism."""
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"


class SerialBackend(Backend):
    """Every task in this process, one after another: no pickling, easiest to debug."""

    name = "serial"

    @property
    def workers(self) -> int:
        return 1

    def imap_unordered(self, fn, tasks):
        for task in tasks:
            try:
                result = fn(task)
            except Exception as exc:  # noqa: BLE001 - reported per task, as the other backends do
                result = exc
            yield task, result


class ProcessPoolBackend(Backend):
    """A local pool of worker processes (the default backend).

    Parameters
    ----------
    workers : int, optional
        Number of processes; default all available cores.
    start_method : {"forkserver", "spawn", "fork"}, optional
        How workers start; default :func:`default_start_method` (``forkserver``
        on Linux, ``spawn`` elsewhere), both safe from notebooks and threaded
        parents.  Workers import the function's module by name, so it must be
        importable (not defined in a notebook cell).
    in_flight : int, optional
        Tasks handed to the pool ahead of completion; default ``2 * workers``.
        Bounding it keeps memory flat for sweeps of any size and lets an
        interrupted sweep stop promptly.
    tasks_per_worker : int or None, optional
        Runs a worker process does before it is replaced by a new one
        (``max_tasks_per_child`` of the executor), so memory leaked by a run
        cannot accumulate; default :data:`DEFAULT_TASKS_PER_WORKER`.  ``None``
        keeps workers for the pool's life.  Not available with ``fork``.
    """

    name = "pool"

    def __init__(self, workers: int | None = None, start_method: str | None = None, in_flight: int | None = None,
                 tasks_per_worker: int | None = DEFAULT_TASKS_PER_WORKER):
        if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
            raise ScenarioError.single("--workers", "", f"got {workers!r}", "an integer >= 1")
        self._workers = int(workers) if workers is not None else available_cores()
        self.start_method = start_method or default_start_method()
        self.in_flight = in_flight or 2 * self._workers
        assert tasks_per_worker is None or tasks_per_worker >= 1, (
            f"tasks_per_worker must be >= 1, got {tasks_per_worker}"
        )
        self.tasks_per_worker = None if self.start_method == "fork" else tasks_per_worker
        self._executor: ProcessPoolExecutor | None = None
        self._pending: dict[Future, Any] = {}

    @property
    def workers(self) -> int:
        return self._workers

    def start(self) -> None:
        """Make the pool (its workers start as tasks arrive); they ignore Ctrl-C, see :meth:`close`."""
        if self._executor is None:
            context = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                context.set_forkserver_preload(FORKSERVER_PRELOAD)
                from multiprocessing import forkserver

                # Started with SIGINT ignored, the server and every worker it forks inherit that: a Ctrl-C
                # while it imports the model or a worker starts prints no traceback from them.
                with interrupts_ignored():
                    forkserver.ensure_running()
            self._executor = ProcessPoolExecutor(max_workers=self._workers, mp_context=context,
                                                 max_tasks_per_child=self.tasks_per_worker,
                                                 initializer=ignore_interrupts)

    def close(self) -> None:
        """Shut the pool down; runs still in flight (after Ctrl-C, an error, or a loop left early) are ended.

        The workers ignore Ctrl-C, so waiting for them would wait for every
        run in flight to finish: they are terminated instead.
        """
        if self._executor is not None:
            if any(not future.done() for future in self._pending):
                self._terminate_workers()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            self._pending = {}

    def _terminate_workers(self) -> None:
        """End the worker processes at once (their runs in flight are lost, which is what the caller wants)."""
        for future in self._pending:
            future.cancel()
        processes = getattr(self._executor, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(Exception):   # already gone
                process.terminate()

    def _restart(self) -> None:
        """Replace a broken pool (a worker died) with a fresh one."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self.start()

    def imap_unordered(self, fn, tasks):
        self.start()
        queue = iter(tasks)
        pending: dict[Future, Any] = {}
        self._pending = pending   # what close() ends if the caller stops before the tasks finish
        exhausted = False
        breaks = 0

        def fill() -> None:
            nonlocal exhausted
            while not exhausted and len(pending) < self.in_flight:
                task = next(queue, _END)
                if task is _END:
                    exhausted = True
                    return
                with interrupts_deferred():   # a submit may start a worker: not cut in half by Ctrl-C
                    pending[self._executor.submit(fn, task)] = task

        try:
            fill()
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    task = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        broken, result = True, exc
                    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                        result = exc
                    yield task, result
                if broken:
                    # Every other in-flight task died with the pool; report them and go on with a new pool,
                    # unless pools keep breaking before any task finishes (e.g. workers cannot import the code).
                    for future, task in list(pending.items()):
                        pending.pop(future)
                        yield task, BrokenProcessPool("a worker process died while this run was in flight")
                    breaks += 1
                    if breaks >= MAX_CONSECUTIVE_POOL_BREAKS:
                        raise RuntimeError(f"the process pool broke {breaks} times in a row without finishing a task; "
                                           "do the workers fail to start (try --serial to see the error)?")
                    self._restart()
                else:
                    breaks = 0
                fill()
        finally:
            for future in pending:
                future.cancel()


class DaskBackend(Backend):
    """Runs tasks on a ``dask.distributed`` cluster through a :class:`~distributed.Client`.

    Use :meth:`connect` for an existing scheduler (``tcp://HOST:PORT``, e.g. one
    started by dask-jobqueue on SLURM), :meth:`local_cluster` for a
    :class:`~distributed.LocalCluster` on this machine, or pass a ``Client``.
    Tasks are submitted a window at a time (twice the cluster's threads, at
    least 16), so a cluster that scales up gets more work as it grows.
    """

    name = "dask"

    def __init__(self, client=None, *, address: str | None = None, n_workers: int | None = None,
                 timeout: float = DEFAULT_CONNECT_TIMEOUT, dashboard: bool = False):
        self._client = client
        self.address = address
        self.n_workers = n_workers
        self.timeout = timeout
        self.dashboard = dashboard
        self._owns_client = client is None
        self._cluster = None

    @classmethod
    def connect(cls, address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> DaskBackend:
        """A backend for the running scheduler at ``address`` (connects on :meth:`start`)."""
        scheme = address.partition("://")[0] if isinstance(address, str) and "://" in address else None
        if scheme not in DASK_SCHEMES:
            raise ScenarioError.single("--scheduler", "", f"got {address!r}", "a Dask scheduler address such as tcp://HOST:PORT")
        return cls(address=address, timeout=timeout)

    @classmethod
    def local_cluster(cls, n_workers: int = 2, dashboard: bool = False) -> DaskBackend:
        """A backend that starts a LocalCluster of ``n_workers`` single-threaded processes."""
        if isinstance(n_workers, bool) or int(n_workers) < 1:
            raise ScenarioError.single("--workers", "", f"got {n_workers!r}", "an integer >= 1")
        return cls(n_workers=int(n_workers), dashboard=dashboard)

    @property
    def client(self):
        """The ``distributed.Client`` (after :meth:`start`)."""
        return self._client

    @property
    def workers(self) -> int:
        if self._client is None:
            return self.n_workers or 0
        return sum(self._client.nthreads().values())

    def start(self) -> None:
        if self._client is not None:
            return
        from distributed import Client, LocalCluster

        if self.address is not None:
            try:
                self._client = Client(self.address, timeout=f"{self.timeout}s", set_as_default=False)
            except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad scheme
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                reason = "" if reason.startswith("Timed out") else f" ({reason})"
                raise ScenarioError.single(
                    "--scheduler",
                    "",
                    f"cannot reach a Dask scheduler at {self.address} within {self.timeout:g} s{reason}",
                    "the address of a running scheduler, e.g. tcp://HOST:8786",
                ) from None
        else:
            self._cluster = LocalCluster(
                n_workers=self.n_workers or 2, threads_per_worker=1, processes=True,
                dashboard_address=":0" if self.dashboard else None,
            )
            self._client = Client(self._cluster, set_as_default=False)

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def describe(self) -> str:
        where = self.address or ("LocalCluster" if self._cluster is not None else "client")
        return f"dask at {where} ({self.workers} threads)"

    def imap_unordered(self, fn, tasks):
        from distributed import as_completed

        self.start()
        client = self._client
        queue = iter(tasks)
        pending: dict[Any, Any] = {}
        completed = as_completed(loop=client.loop)
        exhausted = False
        window, window_checked = 16, 0.0

        def fill() -> None:
            nonlocal exhausted, window, window_checked
            now = time.monotonic()
            if now - window_checked > 5.0:
                window, window_checked = max(16, 2 * self.workers), now
            while not exhausted and len(pending) < window:
                task = next(queue, _END)
                if task is _END:
                    exhausted = True
                    return
                future = client.submit(fn, task, pure=False)
                pending[future] = task
                completed.add(future)

        try:
            fill()
            while pending:
                future = next(completed)
                task = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker, a cancelled task
                    result = exc
                future.release()
                yield task, result
                fill()
        finally:
            if pending:
                client.cancel(list(pending))


def make_backend(
    backend: str | Backend | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Backend:
    """The backend a command line (or a notebook) asks for.

    Parameters
    ----------
    backend : {"pool", "serial", "dask"} or Backend, optional
        Default ``"pool"``; a Backend instance is returned as is.
    workers : int, optional
        Pool processes (default all cores) or LocalCluster workers (default 2).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running Dask scheduler.
    cluster : {"local"}, optional
        Start a Dask LocalCluster.
    timeout : float
        Seconds to wait for ``scheduler``.
    """
    if isinstance(backend, Backend):
        return backend
    if scheduler is not None and cluster is not None:
        raise ScenarioError.single(
            "--scheduler/--cluster", "", "both given", "one of --scheduler ADDRESS and --cluster local"
        )
    if scheduler is not None:
        return DaskBackend.connect(scheduler, timeout=timeout)
    if cluster is not None:
        if cluster != "local":
            raise ScenarioError.single("--cluster", "", f"got {cluster!r}", "local")
        return DaskBackend.local_cluster(n_workers=2 if workers is None else workers)
    kind = backend or "pool"
    if kind == "serial":
        return SerialBackend()
    if kind == "pool":
        return ProcessPoolBackend(workers)
    if kind == "dask":
        return DaskBackend.local_cluster(n_workers=2 if workers is None else workers)
    raise ScenarioError.single("backend", "", f"got {kind!r}", "pool, serial, dask, or a Backend instance")


class _End:
    """Marks the end of a task iterator."""


_END = _End()

__all__ = [
    "Backend",
    "DaskBackend",
    "ProcessPoolBackend",
    "SerialBackend",
    "available_cores",
    "make_backend",
    "DEFAULT_CONNECT_TIMEOUT",
]
