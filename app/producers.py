"""Short import path for the built-in producers: ``target = "pulse_supervisor.producers:clock"``."""

from pulse_supervisor.core.worker.producers import (
    busy,
    chatty,
    clock,
    counter,
    crashy,
    flood,
    random_walk,
    sensors,
    sine,
    stubborn,
    ticker,
)

__all__ = [
    "busy",
    "chatty",
    "clock",
    "counter",
    "crashy",
    "flood",
    "random_walk",
    "sensors",
    "sine",
    "stubborn",
    "ticker",
]
