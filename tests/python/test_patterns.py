"""The patterns (blocking and awaitable) against the mock's echo agents."""

from __future__ import annotations

import asyncio

import aswarm
from aswarm import aio


def pool_of(hostfile, **options):
    return aswarm.AgentPool(aswarm.parse_hostfile(hostfile), retries=0, **options)


def test_broadcast_and_reduce(agents4):
    pool = pool_of(agents4)
    assert [r.text for r in aswarm.broadcast(pool, "hi")] == ["completion: hi"] * 4
    r = aswarm.broadcast_and_reduce(pool, "fact", "Sum:\n{responses}", reducer_agent_index=3)
    assert r.agent_index == 3
    assert r.text == "completion: Sum:\n" + "\n---\n".join(["completion: fact"] * 4)


def test_scatter_and_map_gather(agents4):
    pool = pool_of(agents4)
    assert [r.text for r in aswarm.scatter_gather(pool, ["a", "b"])] == \
        ["completion: a", "completion: b"]
    rs = aswarm.map_gather(pool_of(agents4, protocol="completions"), [1, 2, 3], "n={item}")
    assert [r.text for r in rs] == ["completion: n=1", "completion: n=2", "completion: n=3"]


def test_tree_reduce(agents4):
    pool = pool_of(agents4)
    r = aswarm.tree_reduce(pool, "leaf {item}", "L{level}:{responses}", fanin=2,
                           items=["x", "y", "z", "w"])
    # 4 leaves -> 2 supervisors at level 1 -> 1 at level 2.
    assert r.success and r.text.startswith("completion: L2:completion: L1:completion: leaf x")
    assert "leaf w" in r.text
    one = aswarm.tree_reduce(pool, "only", "R{responses}", fanin=50)
    assert one.text.startswith("completion: Rcompletion: only")


def test_blackboard_with_python_prompt_fn(agents4):
    seen = []

    def prompt_fn(role, board):
        seen.append((role, sum(len(v) for v in board.values())))
        return f"{role} sees {len(board['hypotheses'])}"

    bb = aswarm.Blackboard(["hypotheses", "critiques", "nobody"], prompt_fn)
    board = bb.run(pool_of(agents4), max_rounds=3, convergence_fn=lambda b: len(b["critiques"]) >= 4)
    assert bb.round == 2 and len(board["hypotheses"]) == 4 and len(board["critiques"]) == 4
    assert board["nobody"] == [] and seen[:2] == [("hypotheses", 0), ("critiques", 2)]
    assert bb.snapshot()["board"]["critiques"][0] == "completion: critiques sees 2"


def test_pipeline_and_fan_out_fan_in(agents4):
    pool = pool_of(agents4)
    stages = [
        aswarm.Stage("one", "A {input}", n_agents=2),
        aswarm.Stage("two", "B {input}", n_agents=1,
                     output_transform=lambda rs: [r.agent_index for r in rs]),
    ]
    assert aswarm.run_pipeline(pool, stages, "x") == [0]
    stages[0].output_filter = lambda r: r.agent_index == 3
    stages[0].n_agents = 4
    # Disjoint slices: stage one gets agents 0..3, stage two none left.
    assert aswarm.run_pipeline(pool, stages, "x", reuse_agents=False) == []
    r = aswarm.fan_out_fan_in(pool, "w", "C {responses}", n_workers=2)
    assert r.text == "completion: C completion: w\n---\ncompletion: w" and r.agent_index == 0


def test_awaitable_patterns(agents4):
    pool = pool_of(agents4)

    async def main():
        return await asyncio.gather(
            aio.broadcast(pool, "a"),
            aio.broadcast_and_reduce(pool, "b", "{responses}"),
            aio.scatter_gather(pool, ["c"]),
            aio.map_gather(pool, [1], "{item}"),
            aio.tree_reduce(pool, "d", "{responses}", fanin=2),
            aio.run_pipeline(pool, [aio.Stage("s", "{input}", 1)], "e"),
            aio.fan_out_fan_in(pool, "f", "{responses}"),
            aio.Blackboard(["critiques"], lambda role, b: role).run(pool, max_rounds=1),
        )

    b, red, sg, mg, tr, pl, ff, board = asyncio.run(main())
    assert len(b) == 4 and red.success and sg[0].text == "completion: c"
    assert mg[0].text == "completion: 1" and tr.success and pl == "completion: e"
    assert ff.success and board["critiques"] == ["completion: critiques"] * 2
