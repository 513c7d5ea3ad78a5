"""Order events in: HTTP bodies and SQS messages, parsed and applied through EventService."""
