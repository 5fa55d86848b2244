"""The seed's (Aurora Swarm's) Python API over aswarm: `import aswarm.compat as aurora_swarm`,
or put aswarm's build python/ directory on sys.path and keep `import aurora_swarm` (the shim
package there re-exports this module). Seed signatures and awaitable calls; the known
differences are listed in README.md ("Python quick start")."""

from __future__ import annotations

from typing import Sequence

from aswarm import aio as _aio
from aswarm import patterns as _patterns
from aswarm._core import (  # noqa: F401  (re-exported with the seed's names)
    AgentEndpoint,
    HostfileError,
    Response,
    best_of,
    concat,
    failure_report,
    majority_vote,
    parse_hostfile,
    structured_merge,
    top_k,
)
from aswarm._core import statistics as _statistics
from aswarm._run import in_thread
from aswarm.pool import AgentPool as _Pool


def statistics(responses, extract_fn=None, include_failures: bool = False) -> dict[str, float]:
    """The seed's five keys (aswarm.statistics also gives count and rejected)."""
    s = _statistics(responses, extract_fn, include_failures)
    return {k: s[k] for k in ("mean", "std", "median", "min", "max")}


class AgentPool:
    """The seed's AgentPool: POST /generate {"prompt"}, awaitable calls, no retries."""

    _protocol = "generate"

    def __init__(self, endpoints: Sequence, concurrency: int = 512, connector_limit: int = 1024,
                 timeout: float = 120.0, **options) -> None:
        # connector_limit (aiohttp's connection cap) has no equivalent: the engine opens at most
        # one connection per in-flight request and reuses it.
        del connector_limit
        options.setdefault("protocol", self._protocol)
        options.setdefault("retries", 0 if self._protocol == "generate" else 3)
        self._pool = _Pool(endpoints, concurrency=concurrency, timeout=timeout, **options)
        self._timeout = timeout

    def _sub(self, pool: _Pool) -> "AgentPool":
        child = self.__class__.__new__(self.__class__)
        child.__dict__.update(self.__dict__)
        child._pool = pool
        return child

    @property
    def size(self) -> int:
        return self._pool.size

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def endpoints(self) -> list[AgentEndpoint]:
        return self._pool.endpoints

    @property
    def _endpoints(self) -> list[AgentEndpoint]:  # read by seed code and tests
        return self._pool.endpoints

    @property
    def native(self) -> _Pool:
        """The aswarm.AgentPool underneath (blocking calls, all options)."""
        return self._pool

    def by_tag(self, key: str, value: str) -> "AgentPool":
        return self._sub(self._pool.by_tag(key, value))

    def sample(self, n: int) -> "AgentPool":
        return self._sub(self._pool.sample(n))

    def select(self, indices: Sequence[int]) -> "AgentPool":
        return self._sub(self._pool.select(indices))

    def slice(self, start: int, stop: int) -> "AgentPool":
        return self._sub(self._pool.slice(start, stop))

    async def post(self, agent_index: int, prompt: str, max_tokens: int | None = None) -> Response:
        return await self._pool.apost(agent_index, prompt, max_tokens)

    async def send_all(self, prompts: list[str]) -> list[Response]:
        return await self._pool.asend_all(prompts)

    async def send_all_batched(self, prompts: list[str], max_tokens: int | None = None):
        # The seed's base pool sends these one by one; its VLLMPool overrides this.
        return await self._pool.asend_all(prompts, max_tokens)

    async def broadcast_prompt(self, prompt: str) -> list[Response]:
        return await self._pool.abroadcast_prompt(prompt)

    async def close(self) -> None:
        self._pool.close()

    async def __aenter__(self) -> "AgentPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class VLLMPool(AgentPool):
    """The seed's VLLMPool: OpenAI chat completions, list batching through /v1/completions."""

    _protocol = "chat"

    def __init__(self, endpoints, model: str = "openai/gpt-oss-120b",
                 max_tokens: int | None = None, max_tokens_aggregation: int | None = None,
                 model_max_context: int | None = None, buffer: int = 512, use_batch: bool = True,
                 concurrency: int = 512, connector_limit: int = 1024, timeout: float = 300.0,
                 batch_concurrency: int = 256, timeout_per_sequence: float | None = None,
                 batch_timeout_cap: float | None = None) -> None:
        options = {"model": model, "context_buffer": buffer, "batch_concurrency": batch_concurrency}
        # None keeps the environment's value (AURORA_SWARM_*), as the seed does.
        for name, value in (("max_tokens", max_tokens),
                            ("max_tokens_aggregation", max_tokens_aggregation),
                            ("model_max_context", model_max_context),
                            ("timeout_per_sequence", timeout_per_sequence)):
            if value is not None:
                options[name] = value
        if batch_timeout_cap is not None:
            options["batch_timeout_cap"] = batch_timeout_cap
        super().__init__(endpoints, concurrency=concurrency, connector_limit=connector_limit,
                         timeout=timeout, **options)
        self._use_batch = use_batch
        self._model = model
        self._max_tokens = self._pool.options.max_tokens
        self._max_tokens_aggregation = self._pool.options.max_tokens_aggregation or \
            2 * self._max_tokens
        self._model_max_context = self._pool.options.model_max_context or None
        self._buffer = buffer

    async def post_batch(self, agent_index: int, prompts: list[str],
                         max_tokens: int | None = None) -> list[Response]:
        """All `prompts` to one agent in /v1/completions list requests."""
        if not prompts:
            return []
        return await self._pool.select([agent_index]).asend_all_batched(prompts, max_tokens)

    async def send_all_batched(self, prompts: list[str], max_tokens: int | None = None):
        if not self._use_batch:
            return await self._pool.asend_all(prompts, max_tokens)
        return await self._pool.asend_all_batched(prompts, max_tokens)


# -- the patterns, awaitable as the seed's ----------------------------------------------------
Stage = _patterns.Stage
BoardState = _patterns.BoardState


def _native(pool):
    return pool.native if isinstance(pool, AgentPool) else pool


async def broadcast(pool, prompt: str):
    return await _aio.broadcast(_native(pool), prompt)


async def broadcast_and_reduce(pool, prompt: str, reduce_prompt: str, reducer_agent_index: int = 0):
    return await _aio.broadcast_and_reduce(_native(pool), prompt, reduce_prompt, reducer_agent_index)


async def scatter_gather(pool, prompts: list[str]):
    # The seed calls pool.send_all_batched: batched on a VLLMPool, one by one otherwise.
    if isinstance(pool, AgentPool):
        return await pool.send_all_batched(prompts)
    return await _aio.scatter_gather(pool, prompts)


async def map_gather(pool, items, prompt_template: str):
    return await scatter_gather(pool, [prompt_template.replace("{item}", str(it)) for it in items])


async def tree_reduce(pool, prompt: str, reduce_prompt: str, fanin: int = 50, items=None):
    return await _aio.tree_reduce(_native(pool), prompt, reduce_prompt, fanin, items)


async def run_pipeline(pool, stages, initial_input, reuse_agents: bool = True):
    return await _aio.run_pipeline(_native(pool), stages, initial_input, reuse_agents)


async def fan_out_fan_in(pool, prompt: str, collect_prompt: str, n_workers: int | None = None):
    return await _aio.fan_out_fan_in(_native(pool), prompt, collect_prompt, n_workers)


class Blackboard(_patterns.Blackboard):
    """The seed's Blackboard: run() is awaitable."""

    async def run(self, pool, max_rounds: int = 10, convergence_fn=None):
        return await in_thread(_patterns.Blackboard.run, self, _native(pool), max_rounds,
                               convergence_fn)
