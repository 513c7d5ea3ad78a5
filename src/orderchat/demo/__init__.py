"""`orderchat demo`: a whole order played by three simulated clients."""
