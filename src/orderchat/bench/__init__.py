"""`orderchat bench`: a load generator that measures the service from outside."""
