"""What a request over HTTP and a frame over the WebSocket both do: checking and making a send."""
