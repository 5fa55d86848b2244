"""Awaitable forms of aswarm.patterns, for asyncio code: each runs the blocking pattern in a
worker thread (the engine releases the GIL), so the event loop keeps running meanwhile.
Callbacks (prompt_fn, output_transform, ...) run in that worker thread."""

from __future__ import annotations

from typing import Any

from aswarm import patterns as _p
from aswarm._run import in_thread
from aswarm.patterns import Stage  # noqa: F401  (same dataclass for both forms)


async def broadcast(pool, prompt: str):
    return await in_thread(_p.broadcast, pool, prompt)


async def broadcast_and_reduce(pool, prompt: str, reduce_prompt: str,
                               reducer_agent_index: int = 0):
    return await in_thread(_p.broadcast_and_reduce, pool, prompt, reduce_prompt,
                           reducer_agent_index)


async def scatter_gather(pool, prompts: list[str]):
    return await in_thread(_p.scatter_gather, pool, prompts)


async def map_gather(pool, items: list[Any], prompt_template: str):
    return await in_thread(_p.map_gather, pool, items, prompt_template)


async def tree_reduce(pool, prompt: str, reduce_prompt: str, fanin: int = 50,
                      items: list[Any] | None = None):
    return await in_thread(_p.tree_reduce, pool, prompt, reduce_prompt, fanin, items)


async def run_pipeline(pool, stages, initial_input: Any, reuse_agents: bool = True):
    return await in_thread(_p.run_pipeline, pool, stages, initial_input, reuse_agents)


async def fan_out_fan_in(pool, prompt: str, collect_prompt: str, n_workers: int | None = None):
    return await in_thread(_p.fan_out_fan_in, pool, prompt, collect_prompt, n_workers)


class Blackboard(_p.Blackboard):
    """aswarm.patterns.Blackboard whose run() is awaitable."""

    async def run(self, pool, max_rounds: int = 10, convergence_fn=None):
        return await in_thread(super().run, pool, max_rounds, convergence_fn)
