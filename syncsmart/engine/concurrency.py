"""Vendor calls side by side: a page's independent chunks (look-ups, reads, creates, updates) go
out together, up to the target connection's bound; only the HTTP runs on worker threads."""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from connectors.http import run_owner_callbacks

K = TypeVar("K")
T = TypeVar("T")


def in_flight(calls: Iterable[tuple[K, Callable[[], T]]], limit: int) -> Iterator[tuple[K, T]]:
    """Run vendor calls up to `limit` at a time on worker threads; yield (key, answer) here, on
    the calling thread, as each one answers.

    `calls` is drawn lazily, here, only when a slot is free: whatever it does before handing out
    a call (remember a create, renew the lease) happens on this thread, before that call is sent.
    When a call (or drawing the next one) fails, nothing new is sent, the calls already out are
    awaited and yielded, and then the first error is raised: one chunk's failure never loses
    what another chunk did. A single call, or a bound of 1, runs here without a pool."""
    calls = iter(calls)
    first = next(calls, None)
    if first is None:
        return
    second = next(calls, None) if limit > 1 else None
    if second is None:
        yield first[0], first[1]()
        for key, call in calls:
            yield key, call()
        return
    waiting = itertools.chain((first, second), calls)
    running: dict[Future, K] = {}
    error: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="syncsmart-vendor")
    try:
        while True:
            while error is None and len(running) < limit:
                try:
                    nxt = next(waiting, None)
                except Exception as exc:  # e.g. the lease is lost: send nothing more
                    error = exc
                    break
                if nxt is None:
                    break
                # A copy of the context: the worker's log lines carry the run's ids (syncsmart.logging).
                running[pool.submit(contextvars.copy_context().run, nxt[1])] = nxt[0]
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key = running.pop(future)
                if future.exception() is not None:
                    error = error or future.exception()
                else:
                    yield key, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        run_owner_callbacks()  # e.g. a token a worker refreshed is stored by this thread
    if error is not None:
        raise error
