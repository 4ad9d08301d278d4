"""What steers a running run from outside: the signals it polls, and the two ways it stops early."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunSignals:
    """What a running run is asked to do, read in one query (see `slices.poll`)."""

    cancelled: bool = False
    inbox_waiting: bool = False
    others_waiting: bool = False
    # Why the run's workspace may not be used any more (suspended while the run works), or None.
    blocked: str | None = None


@dataclass(frozen=True)
class RunHints:
    """What the run's one state read (`slices.load_run`) said about work waiting besides the
    change feeds. A run skips the queries whose answer it already has; a flag is True when
    unknown (a run started without the state read asks as before)."""

    inbox_waiting: bool = True
    deferred_due: bool = True
    deletions_waiting: bool = True
    webhook_check_due: bool = True


class LeaseLost(Exception):
    """Another worker took over this integration (our lease expired): stop without committing."""


class RunCancelled(Exception):
    """Someone cancelled the run: stop after the current page."""


class WorkspaceBlocked(Exception):
    """The run's workspace was suspended while the run worked: stop after the current page,
    writing nothing more (the message is the reason)."""
