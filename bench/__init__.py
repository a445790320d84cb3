"""Pulse's benchmarks: one script per figure, each beside the tutorial baseline measured in the same run."""
