"""The WebSocket protocol the server runs: uvicorn's websockets-sansio with a shutdown that lets
a close handshake already begun finish.

On SIGTERM the app sends every socket its 1012 close frame (server/graceful.py). uvicorn then
shuts each connection down, and for one whose close frame is out it closes the TCP connection at
once, without waiting for the client's reply. A client still sending at that moment leaves bytes
unread on the server, so that close becomes a reset, and a reset makes the client's kernel drop
what it had not read yet: often the 1012 itself, so the client sees 1006 and cannot tell a restart
from a crash. Here shutdown leaves such a connection open until the client echoes the close (the
protocol then closes it, and uvicorn waits for that within --timeout-graceful-shutdown), or for
at most CLOSE_REPLY_SECONDS; a socket whose 1012 the app has not sent yet gets it from here, and
waits the same way. Start it with `uvicorn app:app --ws server.ws_protocol:WebSocketProtocol`.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

CLOSE_REPLY_SECONDS = 4.0


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def shutdown(self) -> None:
        if self.disconnected or self.transport.is_closing() or not (self.close_sent or self.handshake_complete):
            super().shutdown()
            return
        self.stop_keepalive()
        if not self.close_sent:  # the app's 1012 is not out yet (a busy worker): send it here, as uvicorn would
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1012})
            self.conn.send_close(1012)
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(CLOSE_REPLY_SECONDS, self.transport.close)
