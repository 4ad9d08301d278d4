"""What steers a running run from outside: the signals it polls, and the two ways it stops early."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunSignals:
    """What a running run is asked to do, read in one query (see `slices.poll`)."""

    cancelled: bool = False
    inbox_waiting: bool = False
    others_waiting: bool = False


class LeaseLost(Exception):
    """Another worker took over this integration (our lease expired): stop without committing."""


class RunCancelled(Exception):
    """Someone cancelled the run: stop after the current page."""
