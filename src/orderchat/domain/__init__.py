"""Pure rules, no I/O: event validation, room state as a function of the events seen, messages."""
