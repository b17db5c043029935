"""Who is on the other end of a request: what a session remembers of the device it came from."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.limits import client_host

USER_AGENT_MAX = 256


def describe_client(connection: HTTPConnection) -> tuple[str, str]:
    """(user agent, address) of a client, cleaned for showing in a list of sessions."""
    user_agent = connection.headers.get("user-agent", "")[:USER_AGENT_MAX]
    user_agent = "".join(c for c in user_agent if c.isprintable())
    return user_agent, client_host(connection)
