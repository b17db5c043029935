"""The WebSocket route: handshake and teardown (`endpoint.py`), the client's commands
(`commands.py`); what each client is sent is `live/outgoing.py`."""

from routes.ws.endpoint import SocketApp

__all__ = ["SocketApp"]
