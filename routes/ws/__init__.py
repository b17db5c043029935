"""The WebSocket route: handshake and teardown (`endpoint.py`), the client's commands
(`commands.py`), the outbox pump with gap filling (`pump.py`)."""

from routes.ws.endpoint import LOGGED_OUT, WebSocketEndpoint

__all__ = ["LOGGED_OUT", "WebSocketEndpoint"]
