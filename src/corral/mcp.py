"""`corral mcp`: an MCP server over stdio with one tool, `verify`, answered by the job's gate.

Claude Code (or any MCP client) calls `verify` with no arguments and is shown exactly the
gate's message. What runs underneath (which build tools, which checks) is not the agent's
concern, so the tool's description names none of it.
"""

from __future__ import annotations

from mcp.server import MCPServer

from corral.gate.base import Gate

SERVER_NAME = "corral"
TOOL_NAME = "verify"
VERIFY_DESCRIPTION = (
    "Check the current change and return what is wrong with it, or that it passes. "
    "Call it after editing and before you finish; fix what it reports and call it again."
)


def build_server(gate: Gate) -> MCPServer:
    """The MCP server whose one tool runs `gate` on the workspace as it is now."""
    server = MCPServer(SERVER_NAME, log_level="WARNING")

    def verify() -> str:
        return gate.check().message

    server.add_tool(verify, name=TOOL_NAME, description=VERIFY_DESCRIPTION, structured_output=False)
    return server


def serve_stdio(gate: Gate) -> None:
    """Serve until the client closes stdin."""
    build_server(gate).run("stdio")
