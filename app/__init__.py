"""Pulse: supervise Python worker processes and show their live data in a PyQt5 window."""

__version__ = "0.1.0"
__all__ = ["__version__"]
