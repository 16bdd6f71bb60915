"""Failures that are not the change's fault: the runner, the network, the disk, a quota.

Such a failure is recorded and shown on the pull request, never given to the agent: no edit
fixes a registry that answered 503. A log counts as one only when it names no failing place
in the code (a compile error, a failed test at a line): a test that failed because a service
it calls was down is left to the re-run, which tells flaky from broken.
"""

from __future__ import annotations

import re

from corral.ci.condense import CondensedLog, condense
from corral.ci.logtext import clean_lines

# (reason, pattern), the most specific first.
_CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "the runner was lost",
        re.compile(
            r"The runner has received a shutdown signal|lost communication with the server"
            r"|The hosted runner .* lost communication|Runner\.Worker.* exited unexpectedly"
            r"|runner system failure|Job failed \(system failure\)"
            r"|hudson\.remoting\.(?:Channel\$OrderlyShutdown|ChannelClosedException)"
            r"|Agent went offline during the build|The agent: .* lost communication"
            r"|The operation was canceled\.$|received a cancellation request",
            re.I | re.M,
        ),
    ),
    (
        "the runner ran out of disk space",
        re.compile(r"No space left on device|\bENOSPC\b|not enough space on the disk", re.I),
    ),
    (
        "a quota or rate limit was exceeded",
        re.compile(
            r"API rate limit exceeded|secondary rate limit|toomanyrequests|429 Too Many Requests"
            r"|pull rate limit|exceeded (?:the|your) (?:\w+ )?quota|quota exceeded"
            r"|insufficient_quota"
            r"|spending limit|billing issue|usage limit (?:was )?reached",
            re.I,
        ),
    ),
    (
        "a registry or remote service was unreachable",
        re.compile(
            r"\b50[234] (?:Service Unavailable|Bad Gateway|Gateway Time-?out)"
            r"|(?:returned error|status code|HTTP(?: status)?|response code):? 50[234]\b"
            r"|Could not resolve host|Temporary failure in name resolution"
            r"|Name or service not known|\bE(?:AI_AGAIN|TIMEDOUT|CONNRESET|CONNREFUSED)\b"
            r"|Connection (?:timed out|reset by peer)"
            r"|TLS handshake timeout|dial tcp .*: i/o timeout|npm ERR! network|Read timed out"
            r"|Failed to connect to \S+ port|Could not (?:transfer|resolve) .*(?:timed out|refused)"
            r"|Could not resolve dependencies for project|Could not find artifact \S+-SNAPSHOT",
            re.I,
        ),
    ),
)


def classify_infrastructure(raw: str, condensed: CondensedLog | None = None) -> str | None:
    """Why the run failed when it is the infrastructure's fault, else None."""
    condensed = condensed or condense(raw)
    if any(f.finding.file and f.finding.line for f in condensed.findings if not condensed.fallback):
        return None
    text = "\n".join(clean_lines(raw))
    for reason, pattern in _CAUSES:
        match = pattern.search(text)
        if match:
            return f"{reason} ({match[0].strip()[:80]})"
    return None
