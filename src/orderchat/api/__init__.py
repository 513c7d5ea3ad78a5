"""REST routes of SPEC 6."""
