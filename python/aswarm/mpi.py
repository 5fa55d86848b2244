"""aswarm.mpi: the swarm::mpi collectives from Python, in a plain ``python3`` (one rank) or under
``mpiexec -n N python3 script.py`` (each rank drives its block of the hostfile's agents).

MPI is initialised on first use (MPI_THREAD_FUNNELED) and finalised at interpreter exit, unless
something else (mpi4py, a host code) initialised it first: then aswarm neither re-initialises
nor finalises it. ``import aswarm`` alone never loads MPI; ``import aswarm.mpi`` does.

Every call of a Swarm is collective: every rank of its communicator makes the same calls in the
same order (selections too, which compute the same view everywhere without communicating).
They block on purpose: interleaved awaits could enter two collectives in different orders on
different ranks and deadlock. List results are on rank 0; other ranks get []. A failed agent is
a failed Response, never an exception; a bad hostfile raises aswarm.HostfileError
(``file:line: reason``) on every rank. Call from the main thread (the one MPI was initialised on).

Communicators: ``comm`` may be None (MPI_COMM_WORLD), an aswarm.mpi.Comm, an int Fortran
handle, or any object with a ``py2f()`` method: mpi4py's Comm has that, so an mpi4py
communicator (of an mpi4py built against the same MPI) works without aswarm depending on mpi4py.
The Fortran handle is the one representation every MPI binding can give and take
(MPI_Comm_c2f/MPI_Comm_f2c); the object passed is kept alive as long as the Swarm.
"""

from __future__ import annotations

import atexit
from typing import Any, Callable, Sequence

from aswarm import _core, _mpi
from aswarm._core import AgentEndpoint, Response
from aswarm.pool import pool_options
from aswarm._mpi import (BroadcastReduce, Comm, PipelineResult, StageResult, TreeLevel,
                         TreeReduceResult)

atexit.register(_mpi.finalize)  # a no-op unless aswarm initialised MPI

COMM_WORLD: Comm = Comm.world()

__all__ = [
    "COMM_WORLD", "Blackboard", "BroadcastReduce", "Comm", "PipelineResult", "StageResult", "Swarm",
    "TreeLevel", "TreeReduceResult",
    "initialized", "owns_mpi",
]


def initialized() -> bool:
    """Whether MPI is initialised (by aswarm or anyone else) and not finalised."""
    return _mpi.initialized()


def owns_mpi() -> bool:
    """Whether aswarm initialised MPI (and so finalises it at exit)."""
    return _mpi.owns_mpi()


def _as_comm(comm: Any) -> Comm:
    if comm is None:
        return COMM_WORLD
    if isinstance(comm, Comm):
        return comm
    if isinstance(comm, int) and not isinstance(comm, bool):
        return Comm.from_fortran(comm)
    py2f = getattr(comm, "py2f", None)
    if callable(py2f):
        return Comm.from_fortran(int(py2f()))
    raise TypeError(f"comm must be None, an aswarm.mpi.Comm, a Fortran handle (int) or have "
                    f"py2f(), not {type(comm).__name__}")


def _options(options: dict) -> _core.PoolOptions:
    return pool_options(options, "Swarm")  # the same keyword arguments as AgentPool


class Swarm:
    """All agents of a hostfile, sharded over the ranks of `comm` (collective to create: rank 0
    reads the file and broadcasts it). Keyword arguments are PoolOptions fields, as for
    aswarm.AgentPool: ``Swarm("agents.txt", concurrency=64, retries=0)``.

    ``rank``/``size`` are this process's rank and the number of ranks; ``len(swarm)`` is the
    number of agents (of this view). Agent indices are the view's, 0..len-1, on every rank."""

    def __init__(self, hostfile, comm: Any = None, **options) -> None:
        self._comm_ref = comm  # keeps an mpi4py (or other) communicator alive
        self._comm = _as_comm(comm)
        self._core = _mpi.CoreSwarm.from_hostfile(self._comm, str(hostfile), _options(options))

    @classmethod
    def _wrap(cls, core, parent: "Swarm") -> "Swarm":
        view = cls.__new__(cls)
        view._comm_ref, view._comm, view._core = parent._comm_ref, parent._comm, core
        return view

    # -- where things are (local, no MPI) -------------------------------------------------------
    @property
    def comm(self) -> Comm:
        return self._comm

    @property
    def rank(self) -> int:
        return self._core.rank

    @property
    def size(self) -> int:
        """Number of ranks (``len(swarm)`` is the number of agents)."""
        return self._core.ranks

    def __len__(self) -> int:
        return self._core.size

    @property
    def local_agents(self) -> list[int]:
        """The view's agents this rank drives, ascending."""
        return self._core.local_agents

    def _index(self, agent: int) -> int:
        n = len(self)
        if not -n <= agent < n:
            raise IndexError(f"agent index {agent} out of range for a swarm of {n}")
        return agent % n

    def endpoint(self, agent: int) -> AgentEndpoint:
        return self._core.endpoint(self._index(agent))

    def owner_of(self, agent: int) -> int:
        """The rank that drives `agent`."""
        return self._core.owner_of(self._index(agent))

    # -- views (every rank must make the same selections; agents stay on their ranks) ---------
    def by_tag(self, key: str, value: str) -> "Swarm":
        return self._wrap(self._core.by_tag(key, value), self)

    def slice(self, start: int, stop: int) -> "Swarm":
        start, stop, _ = slice(start, stop).indices(len(self))
        return self._wrap(self._core.slice(start, max(start, stop)), self)

    def select(self, agents: Sequence[int]) -> "Swarm":
        return self._wrap(self._core.select([self._index(a) for a in agents]), self)

    def sample(self, n: int, seed: int = 0) -> "Swarm":
        """min(n, len) agents chosen from `seed`, which must be the same on every rank (hence
        no random default, unlike AgentPool.sample)."""
        return self._wrap(self._core.sample(n, seed), self)

    # -- collectives (blocking; GIL released while they run) ----------------------------------
    def scatter_gather(self, prompts: Sequence[str], schedule: str = "dynamic",
                       max_tokens: int | None = None, window: int = 65536) -> list[Response]:
        """prompts (significant on rank 0) answered in input order on rank 0. ``"static"``:
        prompt i -> agent i % len (the seed's rule); ``"dynamic"``: each prompt to an agent with
        room, so slow agents and ranks get fewer (agent_index: who answered)."""
        return self._core.scatter_gather(list(prompts), max_tokens, schedule, window)

    def map_gather(self, items: Sequence[Any], template: str, schedule: str = "dynamic",
                   max_tokens: int | None = None, window: int = 65536) -> list[Response]:
        """scatter_gather of `template` with {item} replaced by str(item)."""
        return self._core.map_gather([str(it) for it in items], template, max_tokens, schedule,
                                     window)

    def broadcast(self, prompt: str, max_tokens: int | None = None) -> list[Response]:
        """`prompt` (rank 0's) to every agent; one Response per agent, agent order, on rank 0."""
        return self._core.broadcast(prompt, max_tokens)

    def broadcast_and_reduce(self, prompt: str, reduce_prompt: str, reducer: int = 0,
                             max_tokens: int | None = None) -> BroadcastReduce:
        """Broadcast, then agent `reducer` answers `reduce_prompt` with {responses} replaced by
        the successful answers. ``.responses`` on rank 0, ``.reduced`` on every rank."""
        return self._core.broadcast_and_reduce(prompt, reduce_prompt, self._index(reducer),
                                               max_tokens)

    def tree_reduce(self, prompt: str, reduce_prompt: str, fanin: int = 50,
                    items: Sequence[Any] | None = None, schedule: str = "static",
                    max_tokens: int | None = None, reduce_max_tokens: int | None = None,
                    group_budget: tuple[int, int] | None = None, max_response_chars: int = 0,
                    max_reduce_input_chars: int = 0) -> TreeReduceResult:
        """The seed's hierarchical reduction: leaves (every agent answers `prompt`, or item i
        goes to agent i % len) summarised in groups of `fanin` ({responses}, {level}) until one
        answer remains. ``.response`` is on every rank, ``.levels`` counts each level.
        group_budget=(per_member, contingency) sizes each supervisor's max_tokens by its group."""
        listed = None if items is None else [str(it) for it in items]
        return self._core.tree_reduce(prompt, reduce_prompt, fanin, listed, schedule, max_tokens,
                                      reduce_max_tokens, group_budget, max_response_chars,
                                      max_reduce_input_chars)

    def fan_out_fan_in(self, prompt: str, collect_prompt: str, n_workers: int | None = None,
                       max_tokens: int | None = None) -> Response:
        """The first `n_workers` agents (all by default) answer `prompt`; agent 0 answers
        `collect_prompt` with {responses} filled. Its answer on every rank."""
        return self._core.fan_out_fan_in(prompt, collect_prompt, n_workers, max_tokens)

    def run_pipeline(self, stages: Sequence[Any], initial_input: Any, reuse_agents: bool = True,
                     max_tokens: int | None = None) -> PipelineResult:
        """aswarm.Stage objects (name, prompt_template with {input}, n_agents, output_filter,
        output_transform; optional depends_on=[names] for a DAG and tag=(key, value) for agents
        by tag) run in order, each stage's str(transform output) filling the next {input}.
        Filters and transforms run on rank 0 only; one that raises fails its stage (and ends
        the pipeline) on every rank. ``.output`` and ``.success`` on every rank; each stage's
        ``responses`` on rank 0."""
        return self._core.run_pipeline(list(stages), str(initial_input), reuse_agents,
                                       max_tokens)

    def share_model(self) -> None:
        """Every rank learns the model name from whichever rank's agents answered /v1/models."""
        self._core.share_model()

    def __repr__(self) -> str:
        return f"<aswarm.mpi.Swarm {len(self)} agents, rank {self.rank} of {self.size}>"


class Blackboard:
    """The seed's Blackboard over MPI windows: named sections; each round, the agents of the
    swarm tagged role=<section> answer prompt_fn(section, board) (board: {section: [texts]}, in
    section order) and their successful answers are appended to the section. prompt_fn and
    convergence_fn run on rank 0 only (the prompt and the decision are broadcast); one that
    raises makes run() raise RuntimeError on every rank. Collective: every rank creates the
    Blackboard and calls run() with the same sections and max_rounds; the board is the same on
    every rank afterwards."""

    def __init__(self, sections: Sequence[str], prompt_fn: Callable[[str, dict], str]) -> None:
        self._board: dict[str, list[str]] = {s: [] for s in sections}
        self._prompt_fn = prompt_fn
        self._round = 0
        self.answers_ok = 0
        self.answers_failed = 0

    @property
    def board(self) -> dict[str, list[str]]:
        return self._board

    @property
    def round(self) -> int:
        return self._round

    def snapshot(self) -> dict[str, Any]:
        return {"round": self._round, "board": {s: list(t) for s, t in self._board.items()}}

    def run(self, swarm: Swarm, max_rounds: int = 10,
            convergence_fn: Callable[[dict], bool] | None = None) -> dict[str, list[str]]:
        """Runs up to max_rounds rounds (stopping when convergence_fn(board) is true after a
        round); a second run continues from the board as it stands."""
        prompt = self._prompt_fn
        converge = None if convergence_fn is None else (lambda pairs: convergence_fn(dict(pairs)))
        # What earlier runs wrote goes in as the new window's initial entries.
        initial = [(s, t) for s, texts in self._board.items() for t in texts]
        result = swarm._core.blackboard(list(self._board),
                                        lambda section, pairs: prompt(section, dict(pairs)),
                                        max_rounds, converge, initial)
        self._board = {s: list(t) for s, t in result.board}
        self._round += result.rounds
        self.answers_ok += result.ok
        self.answers_failed += result.failed
        return self._board
