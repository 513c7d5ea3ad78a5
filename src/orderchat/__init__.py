"""orderchat: one private chat room per order, opened and closed by the Order service's events."""

__version__ = "0.1.0"
