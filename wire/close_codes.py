"""Every WebSocket close code the server sends, in one table. The README's frame section lists
the same codes; clients decide from the code alone whether to log in again, wait or resume."""

POLICY_VIOLATION = 1008  # refused before the handshake (a page from another origin)
SERVICE_RESTART = 1012  # the server is restarting: reconnect at once, resume from the cursor
TRY_AGAIN_LATER = 1013  # the database is away: reconnect after a pause
NOT_AUTHENTICATED = 4001  # no valid token (missing, wrong, or expired): log in or refresh
LOGGED_OUT = 4003  # the session was ended (logout, revoked, account deleted): log in again
TOO_FAR_BEHIND = 4008  # the connection fell too far behind: reconnect and resume from the cursor
TOO_MANY_CONNECTIONS = 4009  # past WS_PER_USER or WS_PER_SESSION, the oldest: reconnect later, not at once
