"""The seed's API through aswarm.compat (the one-line import) and the aurora_swarm shim."""

from __future__ import annotations

import asyncio

import aswarm.compat as aurora_swarm


def test_compat_vllm_pool_against_mock(agents4):
    eps = aurora_swarm.parse_hostfile(agents4)

    async def main():
        async with aurora_swarm.VLLMPool(eps, model="mock-model", max_tokens=64) as pool:
            one = await pool.post(1, "a")
            many = await asyncio.gather(*(pool.post(i % 4, f"m{i}") for i in range(6)))
            batched = await pool.send_all_batched(["x", "y", "z"])
            post_batch = await pool.post_batch(2, ["p", "q"])
            red = await aurora_swarm.broadcast_and_reduce(pool, "f", "R {responses}")
            sg = await aurora_swarm.scatter_gather(pool.by_tag("role", "critiques"), ["s1", "s2"])
            return one, many, batched, post_batch, red, sg, pool._max_tokens_aggregation

    one, many, batched, post_batch, red, sg, agg = asyncio.run(main())
    assert one.text == "completion: a" and one.error is None
    assert [r.text for r in many] == [f"completion: m{i}" for i in range(6)]
    assert [r.text for r in batched] == ["completion: x", "completion: y", "completion: z"]
    assert [r.agent_index for r in post_batch] == [0, 0] and post_batch[1].text == "completion: q"
    assert red.text.startswith("completion: R completion: f\n---\n")
    assert [r.agent_index for r in sg] == [0, 1] and agg == 128


def test_compat_generate_pool_and_aggregators(agents4):
    eps = aurora_swarm.parse_hostfile(agents4)

    async def main():
        pool = aurora_swarm.AgentPool([(e.host, e.port) for e in eps], concurrency=8)
        return await pool.broadcast_prompt("g"), pool.timeout

    rs, timeout = asyncio.run(main())
    assert [r.text for r in rs] == ["completion: g"] * 4 and timeout == 120.0
    assert aurora_swarm.statistics([aurora_swarm.Response(True, "2")]) == \
        {"mean": 2.0, "std": 0.0, "median": 2.0, "min": 2.0, "max": 2.0}


def test_shim_package_names():
    import aurora_swarm as shim
    from aurora_swarm.patterns.pipeline import Stage, run_pipeline  # noqa: F401
    from aurora_swarm.patterns.tree_reduce import tree_reduce  # noqa: F401

    assert shim.AgentPool is aurora_swarm.AgentPool and shim.VLLMPool is aurora_swarm.VLLMPool
