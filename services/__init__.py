"""One package per party: each a nameko service with its own database and HTTP API."""
