"""aswarm's core bindings against the mock: hostfile, Response, AgentPool calls and sub-pools."""

from __future__ import annotations

import asyncio

import pytest

import aswarm


def pool_of(hostfile, **options):
    return aswarm.AgentPool(aswarm.parse_hostfile(hostfile), retries=0, **options)


def test_parse_hostfile(agents4):
    eps = aswarm.parse_hostfile(agents4)
    assert len(eps) == 4
    assert eps[0].host == "127.0.0.1"
    assert eps[0].tags == {"role": "hypotheses"} and eps[1].tags == {"role": "critiques"}
    assert eps[0].url.startswith("http://127.0.0.1:")
    assert aswarm.parse_hostfile_text("h1\t9000\tnode=x\n")[0].port == 9000


def test_bad_hostfile_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("127.0.0.1:8000\nhost:99999\n")
    with pytest.raises(aswarm.HostfileError) as err:
        aswarm.parse_hostfile(bad)
    assert isinstance(err.value, ValueError)
    assert str(err.value).startswith(f"{bad}:2: ")
    with pytest.raises(ValueError, match="missing.txt"):
        aswarm.parse_hostfile(tmp_path / "missing.txt")


def test_endpoint_and_tuple_inputs(agents4):
    eps = aswarm.parse_hostfile(agents4)
    pool = aswarm.AgentPool([(e.host, e.port) for e in eps], retries=0)
    assert pool.size == 4 and len(pool) == 4
    assert [e.port for e in pool.endpoints] == [e.port for e in eps]
    with pytest.raises(TypeError, match="no_such_option"):
        aswarm.AgentPool(eps, no_such_option=1)
    with pytest.raises(ValueError):
        aswarm.AgentPool(eps, concurrency=0)


def test_post_and_response_fields(agents4):
    pool = pool_of(agents4)
    r = pool.post(2, "hello")
    assert r.success and r.text == "completion: hello"
    assert r.error is None and r.agent_index == 2 and r.http_status == 200
    assert r.kind == "none" and r.attempts == 1 and r.latency > 0
    assert r.usage["completion_tokens"] > 0
    assert pool.model() == "mock-model"
    with pytest.raises(IndexError):
        pool.post(4, "x")


def test_send_all_broadcast_batched(agents4):
    pool = pool_of(agents4)
    prompts = [f"p{i}" for i in range(10)]
    rs = pool.send_all(prompts)
    assert [r.text for r in rs] == [f"completion: p{i}" for i in range(10)]
    assert [r.agent_index for r in rs] == [i % 4 for i in range(10)]
    b = pool.broadcast_prompt("same")
    assert [r.agent_index for r in b] == [0, 1, 2, 3] and all(r.text == "completion: same" for r in b)
    batched = pool.send_all_batched(prompts, batch_size=3)
    assert [r.text for r in batched] == [f"completion: p{i}" for i in range(10)]


def test_embed_all(agents4):
    pool = pool_of(agents4)
    es = pool.embed_all(["a", "b", "c"])
    assert len(es) == 3 and all(e.success for e in es)
    assert all(len(e.vector) == 16 for e in es)  # the mock's default dimension
    assert [e.response.agent_index for e in es] == [0, 1, 2]


def test_sub_pools(agents4):
    pool = pool_of(agents4)
    crit = pool.by_tag("role", "critiques")
    assert crit.size == 2
    assert [e.port for e in crit.endpoints] == [pool.endpoints[i].port for i in (1, 3)]
    assert crit.broadcast_prompt("x")[1].agent_index == 1  # index within the sub-pool
    sel = pool.select([3, 0])
    assert [e.port for e in sel.endpoints] == [pool.endpoints[i].port for i in (3, 0)]
    assert pool.slice(1, 3).size == 2 and pool.slice(-1, 10).size == 1
    assert pool.sample(3, seed=7).size == 3 and pool.sample(10).size == 4
    assert {e.port for e in pool.sample(2, seed=5).endpoints} == \
        {e.port for e in pool.sample(2, seed=5).endpoints}
    with pytest.raises(IndexError):
        pool.select([4])


def test_failed_agent_is_a_failed_response(half_dead):
    pool = pool_of(half_dead)
    rs = pool.broadcast_prompt("hi")
    assert rs[0].success
    assert not rs[1].success and rs[1].http_status == 503 and rs[1].kind == "http_status"
    assert rs[1].error and rs[1].text == ""
    report = aswarm.failure_report(rs)
    assert report["failure_count"] == 1 and report["failures"][0]["agent_index"] == 1


def test_awaitable_forms_run_beside_the_loop(agents4):
    pool = pool_of(agents4)

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        r = await pool.apost(0, "a")
        rs = await pool.asend_all(["x", "y"])
        b = await pool.abroadcast_prompt("z")
        bb = await pool.asend_all_batched(["u", "v"])
        e = await pool.aembed_all(["w"])
        t.cancel()
        return r, rs, b, bb, e, ticks

    r, rs, b, bb, e, _ = asyncio.run(main())
    assert r.text == "completion: a"
    assert [x.text for x in rs] == ["completion: x", "completion: y"]
    assert len(b) == 4 and [x.text for x in bb] == ["completion: u", "completion: v"]
    assert e[0].success


def test_gil_released_during_calls(agents4):
    # A Python thread keeps counting while the engine waits on slow agents.
    import threading
    import time

    pool = pool_of(agents4)
    count, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    th = threading.Thread(target=spin)
    th.start()
    t0 = time.monotonic()
    pool.send_all([f"q{i}" for i in range(200)])
    stop.set()
    th.join()
    assert count[0] > 1000, (count[0], time.monotonic() - t0)


def test_gathered_aposts_run_concurrently(slow4):
    import time

    pool = pool_of(slow4)
    sub = pool.slice(2, 4)

    async def main():
        return await asyncio.gather(*(pool.apost(i % 4, f"g{i}") for i in range(8)),
                                    sub.apost(1, "sub"))

    t0 = time.monotonic()
    rs = asyncio.run(main())
    elapsed = time.monotonic() - t0
    assert [r.text for r in rs[:8]] == [f"completion: g{i}" for i in range(8)]
    assert rs[8].text == "completion: sub" and rs[8].agent_index == 1
    # One at a time this is 9 x 0.3 s; gathered, the pool's 8 run at once, then the sub-pool's.
    assert elapsed < 1.5, elapsed


def test_options_are_checked_by_name_and_value(agents4):
    eps = aswarm.parse_hostfile(str(agents4))
    with pytest.raises(TypeError, match="unknown AgentPool option.*bogus"):
        aswarm.AgentPool(eps, bogus=1)
    with pytest.raises(ValueError, match="timeout"):
        aswarm.AgentPool(eps, timeout=float("nan"))
