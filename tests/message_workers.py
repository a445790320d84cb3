"""Workers that read the messages Pulse sends them (importable by worker processes)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any


def echo_ctx(ctx: Any) -> None:
    """Say it is ready, then send back every message as ("got", value) until stopped."""
    ctx.emit("ready")
    for value in ctx.messages():
        print("got", repr(value), flush=True)
        ctx.emit(("got", value))


def receive_timeout(ctx: Any) -> None:
    """Report what receive() gives when nothing comes: the default, then the TimeoutError."""
    ctx.emit(("default", ctx.receive(0.05, default="nothing")))
    try:
        ctx.receive(0.05)
    except TimeoutError as exc:
        ctx.emit(("timeout", str(exc)))
    ctx.emit(("got", ctx.receive()))


def echo_generator(interval: float = 0.01) -> Iterator[Any]:
    """Yield "tick" until a message comes in by `send`; then yield ("got", value) for it."""
    value = None
    while True:
        value = yield "tick" if value is None else ("got", value)
        time.sleep(interval)


async def echo_async(ctx: Any) -> None:
    """Send back every message, awaited with ctx.areceive()."""
    ctx.emit("ready")
    while True:
        ctx.emit(("got", await ctx.areceive()))


async def echo_async_generator(interval: float = 0.01) -> AsyncIterator[Any]:
    """The async generator form of `echo_generator` (``asend``)."""
    import asyncio

    value = None
    while True:
        value = yield "tick" if value is None else ("got", value)
        await asyncio.sleep(interval)


def deaf(ctx: Any) -> None:
    """Never read a message: run until stopped."""
    ctx.emit("ready")
    while ctx.sleep(0.05):
        pass
