"""What an operator watches: one log line per request and per WebSocket session, and metrics."""
