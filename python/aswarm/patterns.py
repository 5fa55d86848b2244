"""The seed's communication patterns as blocking calls over aswarm.AgentPool (aswarm.aio has
the awaitable forms). Each follows the seed's semantics: names, defaults, placeholders
({responses}, {item}, {input}, {level}) and which failures are skipped."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from aswarm._core import Response
from aswarm.pool import AgentPool

_SEP = "\n---\n"  # the seed joins answers for a reducer with this


def _joined_ok(responses: list[Response]) -> str:
    return _SEP.join(r.text for r in responses if r.success)


# -- broadcast ----------------------------------------------------------------------------------
def broadcast(pool: AgentPool, prompt: str) -> list[Response]:
    """`prompt` to every agent; responses in agent order."""
    return pool.broadcast_prompt(prompt)


def broadcast_and_reduce(pool: AgentPool, prompt: str, reduce_prompt: str,
                         reducer_agent_index: int = 0) -> Response:
    """Broadcast, then agent `reducer_agent_index` answers `reduce_prompt` with {responses}
    replaced by the successful answers (aggregation max_tokens cap, as the seed's VLLMPool)."""
    filled = reduce_prompt.replace("{responses}", _joined_ok(pool.broadcast_prompt(prompt)))
    return pool.post(reducer_agent_index, filled, aggregation=True)


# -- scatter-gather -----------------------------------------------------------------------------
def scatter_gather(pool: AgentPool, prompts: list[str]) -> list[Response]:
    """prompts[i] -> agent i % size, in input order, batched for completions pools as the
    seed's VLLMPool does (a chat or generate pool sends one request per prompt)."""
    if pool.options.protocol == "completions":
        return pool.send_all_batched(prompts)
    return pool.send_all(prompts)


def map_gather(pool: AgentPool, items: list[Any], prompt_template: str) -> list[Response]:
    """scatter_gather of `prompt_template` with {item} replaced by str(item)."""
    return scatter_gather(pool, [prompt_template.replace("{item}", str(it)) for it in items])


# -- tree-reduce --------------------------------------------------------------------------------
def _has_content(text: str) -> bool:
    return bool((text or "").strip())


def tree_reduce(pool: AgentPool, prompt: str, reduce_prompt: str, fanin: int = 50,
                items: list[Any] | None = None) -> Response:
    """Leaves answer (items scattered, else `prompt` broadcast); groups of `fanin` answers go
    to supervisors ({responses}, {level}) until one answer remains."""
    if fanin < 2:
        raise ValueError(f"fanin must be at least 2, not {fanin}")  # 1 would never converge
    if items is not None:
        leaves = pool.send_all([prompt.replace("{item}", str(it)) for it in items])
    else:
        leaves = pool.broadcast_prompt(prompt)
    current = [r.text for r in leaves if r.success and _has_content(r.text)]
    level = 1
    while len(current) > 1:
        prompts = [
            reduce_prompt.replace("{responses}", _SEP.join(current[i:i + fanin]))
            .replace("{level}", str(level))
            for i in range(0, len(current), fanin)
        ]
        current = [r.text for r in pool.send_all(prompts) if r.success and _has_content(r.text)]
        level += 1
    if not current:
        return Response(success=False, text="", error="All agents failed during reduction")
    return Response(success=True, text=current[0])


# -- blackboard ---------------------------------------------------------------------------------
BoardState = dict[str, list[str]]


class Blackboard:
    """Named sections; each round, the agents tagged role=<section> answer
    prompt_fn(section, board) and their successful answers are appended to the section."""

    def __init__(self, sections: list[str], prompt_fn: Callable[[str, BoardState], str]) -> None:
        self._board: BoardState = {s: [] for s in sections}
        self._prompt_fn = prompt_fn
        self._round = 0

    @property
    def board(self) -> BoardState:
        return self._board

    @property
    def round(self) -> int:
        return self._round

    def snapshot(self) -> dict[str, Any]:
        return {"round": self._round, "board": copy.deepcopy(self._board)}

    def run(self, pool: AgentPool, max_rounds: int = 10,
            convergence_fn: Callable[[BoardState], bool] | None = None) -> BoardState:
        for _ in range(max_rounds):
            for section in list(self._board):
                sub = pool.by_tag("role", section)
                if sub.size == 0:
                    continue
                answers = sub.broadcast_prompt(self._prompt_fn(section, self._board))
                self._board[section].extend(r.text for r in answers if r.success)
            self._round += 1
            if convergence_fn is not None and convergence_fn(self._board):
                break
        return self._board


# -- pipeline -----------------------------------------------------------------------------------
@dataclass
class Stage:
    """One pipeline step: `prompt_template` with {input}, sent to `n_agents` agents."""

    name: str
    prompt_template: str
    n_agents: int
    output_transform: Callable[[list[Response]], Any] | None = None
    output_filter: Callable[[Response], bool] | None = None


def _default_transform(responses: list[Response]) -> str:
    return "\n".join(r.text for r in responses if r.success)


def run_pipeline(pool: AgentPool, stages: list[Stage], initial_input: Any,
                 reuse_agents: bool = True) -> Any:
    """Stages in order, each broadcasting its filled template to its agents (the first
    n_agents, or consecutive disjoint slices with reuse_agents=False); the transformed output
    feeds the next stage's {input}."""
    current, offset = initial_input, 0
    for stage in stages:
        if reuse_agents:
            stage_pool = pool.select(list(range(min(stage.n_agents, pool.size))))
        else:
            end = min(offset + stage.n_agents, pool.size)
            stage_pool = pool.slice(offset, end)
            offset = end
        responses = stage_pool.broadcast_prompt(
            stage.prompt_template.replace("{input}", str(current)))
        if stage.output_filter is not None:
            responses = [r for r in responses if stage.output_filter(r)]
        current = (stage.output_transform or _default_transform)(responses)
    return current


def fan_out_fan_in(pool: AgentPool, prompt: str, collect_prompt: str,
                   n_workers: int | None = None) -> Response:
    """Broadcast to the first `n_workers` (all by default), then agent 0 answers
    `collect_prompt` with {responses} filled."""
    workers = pool if n_workers is None else pool.select(list(range(min(n_workers, pool.size))))
    filled = collect_prompt.replace("{responses}", _joined_ok(workers.broadcast_prompt(prompt)))
    return pool.post(0, filled, aggregation=True)
