"""CI logs condensed into findings an agent can act on (see README.md)."""

from corral.ci.condense import (
    PARSERS,
    TOOL_NAMES,
    CondensedLog,
    LogFinding,
    UnknownToolError,
    condense,
    resolve_tools,
)

__all__ = [
    "PARSERS",
    "TOOL_NAMES",
    "CondensedLog",
    "LogFinding",
    "UnknownToolError",
    "condense",
    "resolve_tools",
]
