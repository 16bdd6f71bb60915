"""Every exit code `corral` uses, in one table: scripts rely on them."""

from __future__ import annotations

from enum import IntEnum

from corral.states import CampaignVerdict


class ExitCode(IntEnum):
    OK = 0
    """Passed; or every repository has its PR (open with CI passing, merged or closed) or
    needed no change."""
    FAILED = 1
    """A check failed; or some repository ended without a PR for a failure, or its PR fails
    CI."""
    USAGE = 2
    """Bad usage, an invalid spec, nothing to verify, or a store or forge out of reach:
    nothing ran."""
    PENDING = 3
    """Campaigns: nothing failed, but some jobs wait for approval or are not finished."""
    INTERRUPTED = 128
    """Stopped by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM)."""


def for_verdict(verdict: CampaignVerdict) -> ExitCode:
    """What `corral run`, `retry` and `status CAMPAIGN` exit with for a campaign's verdict."""
    return {
        CampaignVerdict.OK: ExitCode.OK,
        CampaignVerdict.FAILED: ExitCode.FAILED,
        CampaignVerdict.PENDING: ExitCode.PENDING,
    }[verdict]


def passed(ok: bool) -> ExitCode:
    return ExitCode.OK if ok else ExitCode.FAILED
