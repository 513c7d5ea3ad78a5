"""Real-time: WebSocket gateway, per-instance hub of rooms, and the cross-instance fan-out."""
