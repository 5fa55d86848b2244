"""AgentPool: the seed's pool vocabulary over aswarm's C++ engine (swarm::AgentPool).

Every call has a blocking form (post, send_all, ...) and an awaitable one with an ``a`` prefix
(apost, asend_all, ...). Calls on one pool family (a pool and its sub-pools) run one at a time:
for concurrency hand the engine many prompts in one call (send_all), not many calls at once.
"""

from __future__ import annotations

import random
from typing import Iterable, Sequence

from aswarm import _core
from aswarm._core import AgentEndpoint, Response
from aswarm._gather import PostGatherer
from aswarm._run import in_thread

# PoolOptions attributes AgentPool accepts as keyword arguments.
_OPTION_NAMES = {
    name for name in dir(_core.PoolOptions) if not name.startswith("_") and name != "validate"
}


def _endpoints(endpoints: Iterable) -> list[AgentEndpoint]:
    out = []
    for ep in endpoints:
        if isinstance(ep, AgentEndpoint):
            out.append(ep)
        else:
            host, port = ep  # the seed also takes (host, port) tuples
            out.append(AgentEndpoint(host, int(port)))
    return out


def pool_options(options: dict, owner: str) -> _core.PoolOptions:
    """PoolOptions from keyword arguments (for AgentPool and aswarm.mpi.Swarm): an unknown name
    is a TypeError naming `owner`, a bad value a ValueError naming the setting."""
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"unknown {owner} option(s): {', '.join(sorted(unknown))}")
    opts = _core.PoolOptions()
    for name, value in options.items():
        setattr(opts, name, value)
    try:
        opts.validate()
    except Exception as exc:  # the engine's std::invalid_argument names the setting
        raise ValueError(str(exc)) from None
    return opts


class AgentPool:
    """A pool of agent endpoints. Keyword arguments are PoolOptions fields, e.g.
    ``AgentPool(eps, concurrency=64, protocol="completions", timeout=30.0)``."""

    def __init__(self, endpoints: Sequence, **options) -> None:
        opts = pool_options(options, "AgentPool")
        self._core = _core.CorePool(_endpoints(endpoints), opts)
        self._options = opts
        self._gatherer = PostGatherer()  # shared by the family, as its engine is

    @classmethod
    def _wrap(cls, core, parent: "AgentPool") -> "AgentPool":
        pool = cls.__new__(cls)
        pool._core = core
        pool._options = parent._options
        pool._gatherer = parent._gatherer
        return pool

    # -- properties ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of agents in the pool."""
        return self._core.size

    def __len__(self) -> int:
        return self._core.size

    @property
    def endpoints(self) -> list[AgentEndpoint]:
        return [self._core.endpoint(i) for i in range(self._core.size)]

    @property
    def options(self):
        return self._options

    def model(self) -> str:
        """The model name sent (configured, else read from /v1/models)."""
        return self._core.model()

    # -- sub-pools (share the engine, its caps and connections) -------------------------------
    def by_tag(self, key: str, value: str) -> "AgentPool":
        return self._wrap(self._core.by_tag(key, value), self)

    def select(self, indices: Sequence[int]) -> "AgentPool":
        n = self.size
        for i in indices:
            if not -n <= i < n:
                raise IndexError(f"agent index {i} out of range for a pool of {n}")
        return self._wrap(self._core.select([i % n for i in indices]), self)

    def slice(self, start: int, stop: int) -> "AgentPool":
        # Python's slice rules, negative indices included, as the seed's list slicing.
        start, stop, _ = slice(start, stop).indices(self.size)
        return self._wrap(self._core.slice(start, max(start, stop)), self)

    def sample(self, n: int, seed: int | None = None) -> "AgentPool":
        """min(n, size) distinct agents; reproducible when `seed` is given."""
        if seed is None:
            seed = random.getrandbits(64)
        return self._wrap(self._core.sample(n, seed), self)

    # -- blocking calls -------------------------------------------------------------------------
    def _index(self, agent_index: int) -> int:
        n = self.size
        if not -n <= agent_index < n:
            raise IndexError(f"agent index {agent_index} out of range for a pool of {n}")
        return agent_index % n

    def post(self, agent_index: int, prompt: str, max_tokens: int | None = None,
             aggregation: bool = False) -> Response:
        """One prompt to one agent; a failure is a failed Response."""
        return self._core.post(self._index(agent_index), prompt, max_tokens, aggregation)

    def send_all(self, prompts: list[str], max_tokens: int | None = None) -> list[Response]:
        """prompts[i] -> agent i % size; results in input order."""
        if self.size == 0:
            raise ValueError("send_all on an empty pool")
        return self._core.send_all(list(prompts), max_tokens)

    def broadcast_prompt(self, prompt: str, max_tokens: int | None = None) -> list[Response]:
        """The same prompt to every agent; result k is agent k's."""
        return self._core.broadcast_prompt(prompt, max_tokens)

    def send_all_batched(self, prompts: list[str], max_tokens: int | None = None,
                         batch_size: int = 1024) -> list[Response]:
        """Like send_all, each agent's prompts in /v1/completions list requests."""
        if self.size == 0:
            raise ValueError("send_all_batched on an empty pool")
        return self._core.send_all_batched(list(prompts), batch_size, max_tokens)

    def embed_all(self, texts: list[str], batch_size: int = 1024):
        """texts[i] embedded by agent i % size via /v1/embeddings; list of Embedding."""
        if self.size == 0:
            raise ValueError("embed_all on an empty pool")
        return self._core.embed_all(list(texts), batch_size)

    def get_all(self, path: str = "/health", timeout: float = 2.0) -> list[Response]:
        """GET `path` on every agent (text: the body)."""
        return self._core.get_all(path, timeout)

    # -- awaitable forms ------------------------------------------------------------------------
    async def apost(self, agent_index: int, prompt: str, max_tokens: int | None = None,
                    aggregation: bool = False) -> Response:
        """Awaitable post; concurrent apost() calls on a pool family share one engine call."""
        return await self._gatherer.post(self._core, self._index(agent_index), prompt, max_tokens,
                                         aggregation)

    async def asend_all(self, prompts: list[str], max_tokens: int | None = None) -> list[Response]:
        return await in_thread(self.send_all, prompts, max_tokens)

    async def abroadcast_prompt(self, prompt: str, max_tokens: int | None = None) -> list[Response]:
        return await in_thread(self.broadcast_prompt, prompt, max_tokens)

    async def asend_all_batched(self, prompts: list[str], max_tokens: int | None = None,
                                batch_size: int = 1024) -> list[Response]:
        return await in_thread(self.send_all_batched, prompts, max_tokens, batch_size)

    async def aembed_all(self, texts: list[str], batch_size: int = 1024):
        return await in_thread(self.embed_all, texts, batch_size)

    # -- context manager (the engine closes its connections when the last view goes) ----------
    def close(self) -> None:
        """Nothing to release early: connections close with the last pool of the family."""

    def __enter__(self) -> "AgentPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> "AgentPool":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()
