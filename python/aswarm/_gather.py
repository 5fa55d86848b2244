"""Gathers the apost() calls a pool family receives in one event-loop turn into one engine
call (CorePool.post_many), so `asyncio.gather(*(pool.apost(i, p) ...))` runs concurrently in
the engine, as the seed's gathered posts do, instead of one request at a time."""

from __future__ import annotations

import asyncio

from aswarm._run import in_thread


class PostGatherer:
    def __init__(self) -> None:
        self._pending: list = []
        self._scheduled = False

    async def post(self, core, agent: int, prompt: str, max_tokens, aggregation: bool):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending.append((core, agent, prompt, max_tokens, aggregation, fut))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(lambda: loop.create_task(self._flush()))
        return await fut

    async def _flush(self) -> None:
        batch, self._pending, self._scheduled = self._pending, [], False
        # One engine call per (sub-pool, per-call settings): their indices and options differ.
        groups: dict = {}
        for item in batch:
            groups.setdefault((id(item[0]), item[3], item[4]), []).append(item)
        for (_, max_tokens, aggregation), items in groups.items():
            try:
                results = await in_thread(items[0][0].post_many, [i[1] for i in items],
                                          [i[2] for i in items], max_tokens, aggregation)
            except BaseException as exc:  # e.g. KeyboardInterrupt: every waiter hears of it
                for i in items:
                    if not i[5].done():
                        i[5].set_exception(exc)
                continue
            for i, r in zip(items, results):
                if not i[5].done():
                    i[5].set_result(r)
