"""Voice and video calls (docs/calls.md): the server-side state machine (`machine.py`), the
frames it speaks (`frames.py`), what HTTP and WebSocket both do with a call (`commands.py`),
TURN credentials (`turn.py`), history entries in the chat (`history.py`) and counters
(`tally.py`)."""

from calls.machine import Call, CallError, Calls

__all__ = ["Call", "CallError", "Calls"]
