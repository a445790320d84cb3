"""Short import path for the built-in producers: ``target = "app.producers:clock"``."""

from app.core.producers import (
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
