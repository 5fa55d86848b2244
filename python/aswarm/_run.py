"""Awaitable form of a blocking call: the call runs in a worker thread (the engine releases the
GIL), so the event loop keeps serving other tasks meanwhile."""

from __future__ import annotations

import asyncio
import functools


async def in_thread(fn, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
