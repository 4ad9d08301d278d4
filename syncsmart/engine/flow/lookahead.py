"""The pipeline across pages: the next page's match look-ups go out while this page is
checkpointed (and the next page's own database stages run), so the target's rate bucket is not
left idle at every page boundary.

Never racing a value this page creates: the look-ahead is sent only once every write of this
page has been answered (Flow.process calls it after the writer returns; vendor writes are sent
only from the run's thread, through `in_flight`, which waits for all of them), and its answers
are used only if no call that may change the target side was sent since (RunContext.writes_sent,
counted as each call is sent: a webhook page drained in between, a parent created by the next
page). So every answer it gives is one a look-up sent at that moment would give, with every
record our run made already there; a look-up whose values it did not all ask for goes to the
vendor as before. It only reads: the checkpoint, the PendingCreate rows committed before each
create and the page's transaction are exactly as without it, and a crash simply loses it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from connectors.base import Record, chunked
from connectors.http import run_owner_callbacks
from syncsmart.engine.flow.counterparts import Counterparts
from syncsmart.engine.flow.setup import FlowSetup


class LookAhead:
    """One flow's look-ups sent ahead for its next page (at most one set in flight)."""

    def __init__(self, setup: FlowSetup, counterparts: Counterparts):
        self.s = setup
        self.counterparts = counterparts
        self._pool: ThreadPoolExecutor | None = None
        self._asks: list[tuple[int, str, frozenset[str], list[Future]]] = []
        self._writes_at = -1

    def send(self, records: list[Record]) -> None:
        """Look up the unlinked records of the next page (vendor calls on worker threads)."""
        self.drop()
        matcher = self.counterparts.matcher
        if not records or not matcher.keys or matcher.use_index():
            return
        links = self.counterparts.links_for([str(r.id) for r in records])
        unlinked = [r for r in records if str(r.id) not in links and not r.deleted]
        asks = matcher.look_ahead_values(unlinked)
        if not asks:
            return
        connector = self.s.target_connector
        self._writes_at = self.s.ctx.writes_sent[self.s.target]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=max(1, connector.concurrency), thread_name_prefix="look-ahead")
        for position, field_name, values in asks:
            size = connector.match_chunk_size(self.s.target_object, field_name)
            futures = [
                # A copy of the context: the worker's log lines carry the run's ids (syncsmart.logging).
                self._pool.submit(
                    contextvars.copy_context().run, _find, connector.find_by, self.s.target_object, field_name, chunk
                )
                for chunk in chunked(values, size)
            ]
            self._asks.append((position, field_name, frozenset(values), futures))

    def take(self) -> dict[tuple[int, str], tuple[frozenset[str], list[Record]]]:
        """The answers, if they still stand (see the module docstring); {} otherwise."""
        asks, self._asks = self._asks, []
        if not asks:
            return {}
        wait([f for *_, futures in asks for f in futures])
        _handed_back()
        if self.s.ctx.writes_sent[self.s.target] != self._writes_at:
            return {}  # something may have changed the target since: look up again
        answers: dict[tuple[int, str], tuple[frozenset[str], list[Record]]] = {}
        for position, field_name, values, futures in asks:
            if any(f.exception() is not None for f in futures):
                continue  # a failed look-ahead is asked again, for real
            found = [record for f in futures for hits in f.result().values() for record in hits]
            answers[(position, field_name)] = (values, found)
            self.s.ctx.counts["match_lookups"] += len(futures)
        return answers

    def drop(self) -> None:
        """Forget what is in flight (waiting for it: never a call running against a closed connector)."""
        asks, self._asks = self._asks, []
        futures = [f for *_, fs in asks for f in fs]
        if futures:
            wait(futures)
            _handed_back()

    def close(self) -> None:
        self.drop()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _find(find_by: Callable, object_type: str, field_name: str, values: list[str]) -> dict[str, list[Record]]:
    return find_by(object_type, field_name, values)


def _handed_back() -> None:
    """Database work a vendor call left for the run's thread (a token refreshed, stored here)."""
    run_owner_callbacks()
