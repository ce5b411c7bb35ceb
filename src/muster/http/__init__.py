"""The transport: the HTTP server and listeners, the cached-bytes fast path, the request-head deadline."""
