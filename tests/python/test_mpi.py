"""aswarm.mpi against the mock, in one process (singleton MPI) or under `mpiexec -n N`, where
every rank runs this file: each test makes the same collective calls on every rank, then checks
the results on rank 0 and [] on the others. Under mpiexec the mocks come from mpi_run.py
(ASWARM_MPI_<NAME> hostfiles, shared by the ranks); a plain pytest starts its own (conftest.py).
ASWARM_TEST_RANKS (set by ctest) is the rank count the job must have. A failing assertion
between two collectives of a test can leave the ranks out of step; mpi_run.py then stops the
job after its timeout instead of letting it hang."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import aswarm
import aswarm.mpi as am

WORLD = am.COMM_WORLD
ROOT = WORLD.rank == 0


def _shared(name: str):
    @pytest.fixture(scope="session")
    def fixture(request):
        path = os.environ.get(f"ASWARM_MPI_{name.upper()}")
        if path:
            return Path(path)
        if WORLD.size > 1:
            pytest.fail("under mpiexec run this file through tests/python/mpi_run.py")
        return request.getfixturevalue(name)  # conftest.py's own mock
    return fixture


agents4 = _shared("agents4")
half_dead = _shared("half_dead")
slow4 = _shared("slow4")


def swarm_of(hostfile, comm=None, **options):
    return am.Swarm(hostfile, comm, retries=0, **options)


def texts(rs):
    return [r.text for r in rs]


def on_root(rs):
    """Rank 0's results as they are; elsewhere asserts they are [] and returns None."""
    if ROOT:
        return rs
    assert rs == []
    return None


def test_import_aswarm_alone_does_not_load_mpi():
    probe = ("import sys, {mod}; maps = open('/proc/self/maps').read(); "
             "sys.exit(0 if 'libmpi' in maps else 3)")
    plain = subprocess.run([sys.executable, "-c", probe.format(mod="aswarm")], timeout=60)
    assert plain.returncode == 3, "import aswarm loaded libmpi"
    # The same probe sees libmpi once aswarm.mpi is imported: the check above is a real one.
    with_mpi = subprocess.run([sys.executable, "-c", probe.format(mod="aswarm.mpi")], timeout=60)
    assert with_mpi.returncode == 0


def test_comm_world_rank_size_barrier():
    assert WORLD.size == int(os.environ.get("ASWARM_TEST_RANKS", WORLD.size))
    assert 0 <= WORLD.rank < WORLD.size
    assert am.initialized()
    assert am.owns_mpi()  # nobody else initialised MPI in this process
    WORLD.barrier()
    assert isinstance(WORLD.py2f(), int)
    assert not WORLD.owned


def test_split_owns_its_comm():
    # key reverses the order: the new ranks count down.
    sub = WORLD.split(0, key=WORLD.size - WORLD.rank)
    assert sub.owned and sub.size == WORLD.size and sub.rank == WORLD.size - 1 - WORLD.rank
    sub.barrier()
    assert sub.py2f() != WORLD.py2f()
    sub.free()
    with pytest.raises(RuntimeError, match="after free"):
        sub.barrier()
    assert WORLD.split(None) is None  # MPI_UNDEFINED: this rank is in no part


def test_swarm_shape(agents4):
    s = swarm_of(agents4)
    assert len(s) == 4 and s.size == WORLD.size and s.rank == WORLD.rank
    assert s.local_agents == [a for a in range(4) if s.owner_of(a) == s.rank]
    if WORLD.size == 2:
        assert s.local_agents == ([0, 1] if ROOT else [2, 3])
    ports = [e.port for e in aswarm.parse_hostfile(agents4)]
    assert [s.endpoint(i).port for i in range(4)] == ports
    assert s.endpoint(-1).port == ports[3]
    assert isinstance(s.endpoint(0), aswarm.AgentEndpoint)
    with pytest.raises(IndexError):
        s.endpoint(4)
    with pytest.raises(TypeError, match="no_such_option"):
        am.Swarm(agents4, no_such_option=1)
    with pytest.raises(ValueError):
        am.Swarm(agents4, concurrency=0)


def test_scatter_gather_static_in_input_order(agents4):
    s = swarm_of(agents4)
    prompts = [f"p{i}" for i in range(10)]
    rs = on_root(s.scatter_gather(prompts, schedule="static", max_tokens=8))
    if rs is not None:
        assert texts(rs) == [f"completion: p{i}" for i in range(10)]
        assert all(type(r) is aswarm.Response for r in rs)  # _core's type, not a second one
        assert [r.agent_index for r in rs] == [i % 4 for i in range(10)]


def test_scatter_gather_dynamic_uses_every_rank(agents4):
    s = swarm_of(agents4)
    prompts = [f"d{i}" for i in range(40)]
    rs = on_root(s.scatter_gather(prompts))  # dynamic is the default
    if rs is not None:
        assert texts(rs) == [f"completion: d{i}" for i in range(40)]
        assert all(r.success for r in rs)
        owners = {s.owner_of(r.agent_index) for r in rs}
        assert owners == set(range(WORLD.size)), "some rank drove no agent"
    with pytest.raises(ValueError, match="schedule"):
        s.scatter_gather(prompts, schedule="round-robin")


def test_map_gather(agents4):
    s = swarm_of(agents4)
    for schedule in ("static", "dynamic"):
        rs = on_root(s.map_gather(range(6), "item {item}", schedule=schedule))
        if rs is not None:
            assert texts(rs) == [f"completion: item {i}" for i in range(6)]


def test_broadcast(agents4):
    rs = on_root(swarm_of(agents4).broadcast("hello"))
    if rs is not None:
        assert texts(rs) == ["completion: hello"] * 4
        assert [r.agent_index for r in rs] == [0, 1, 2, 3]


def test_broadcast_and_reduce(agents4):
    s = swarm_of(agents4)
    out = s.broadcast_and_reduce("hi", "sum: {responses}", reducer=3)
    assert out.reduced.success and out.reduced.agent_index == 3  # every rank has it
    assert out.reduced.text == "completion: sum: " + "\n---\n".join(["completion: hi"] * 4)
    rs = on_root(out.responses)
    if rs is not None:
        assert texts(rs) == ["completion: hi"] * 4


def test_tree_reduce(agents4):
    s = swarm_of(agents4)
    out = s.tree_reduce("leaf", "L{level}: {responses}", fanin=2)
    # Every rank: 4 leaves, 2 groups at level 1, 1 at level 2.
    assert out.response.success and out.leaves_covered == 4
    assert [(lv.level, lv.inputs, lv.ok) for lv in out.levels] == [(0, 4, 4), (1, 4, 2), (2, 2, 1)]
    assert out.response.text.startswith("completion: L2: completion: L1: completion: leaf")
    items = s.tree_reduce("item {item}", "R: {responses}", fanin=3, items=range(5),
                          schedule="dynamic", max_response_chars=100)
    assert items.response.success and items.leaves_covered == 5
    assert "completion: item 4" in items.response.text
    with pytest.raises(ValueError, match="fanin"):
        s.tree_reduce("x", "y", fanin=1)


def test_views(agents4):
    s = swarm_of(agents4)
    ports = [e.port for e in aswarm.parse_hostfile(agents4)]
    critics = s.by_tag("role", "critiques")
    assert len(critics) == 2 and [critics.endpoint(i).port for i in range(2)] == ports[1::2]
    rs = on_root(critics.broadcast("c"))
    if rs is not None:
        assert texts(rs) == ["completion: c"] * 2 and [r.agent_index for r in rs] == [0, 1]
    # An agent keeps its rank in every view: agent 3 of the swarm is driven by its owner.
    assert critics.owner_of(1) == s.owner_of(3)
    tail = s.slice(-3, 4)
    assert [tail.endpoint(i).port for i in range(len(tail))] == ports[1:]
    picked = s.select([3, 0])
    assert [picked.endpoint(i).port for i in range(2)] == [ports[3], ports[0]]
    rs = on_root(picked.scatter_gather(["a", "b", "c"], schedule="static"))
    if rs is not None:
        assert texts(rs) == ["completion: a", "completion: b", "completion: c"]
    two = s.sample(2, seed=7)
    assert len(two) == 2
    assert [e.port for e in (two.endpoint(0), two.endpoint(1))] == \
        [e.port for e in (s.sample(2, seed=7).endpoint(0), s.sample(2, seed=7).endpoint(1))]


def test_failed_agent_is_a_failed_response(half_dead):
    s = swarm_of(half_dead)
    rs = on_root(s.broadcast("x"))
    if rs is not None:
        assert rs[0].success and rs[0].text == "completion: x"
        assert not rs[1].success and "503" in rs[1].error and rs[1].agent_index == 1


def test_bad_hostfile_raises_on_every_rank():
    # Only rank 0 reads the file; every rank must raise the same error, none may hang.
    bad = Path(os.environ.get("ASWARM_MPI_DIR") or tempfile.mkdtemp()) / "bad-hostfile.txt"
    if ROOT:
        bad.write_text("127.0.0.1:8000\nhost:99999\n")
    WORLD.barrier()
    with pytest.raises(aswarm.HostfileError) as err:
        am.Swarm(bad)
    assert str(err.value).startswith(f"{bad}:2: ")
    with pytest.raises(aswarm.HostfileError, match="missing.txt"):
        am.Swarm(bad.parent / "missing.txt")
    WORLD.barrier()
    if ROOT:
        bad.unlink()


class DuckComm:
    """What aswarm.mpi needs of an mpi4py communicator: py2f()."""

    def __init__(self, comm):
        self.comm = comm

    def py2f(self):
        return self.comm.py2f()


def test_comm_kinds_split_duck_typed_and_fortran(agents4):
    # One communicator per rank: each rank is rank 0 of its own swarm and gets every answer.
    solo = WORLD.split(WORLD.rank)
    s = swarm_of(agents4, DuckComm(solo))
    assert s.size == 1 and s.rank == 0 and s.local_agents == [0, 1, 2, 3]
    assert texts(s.broadcast("solo")) == ["completion: solo"] * 4
    by_handle = swarm_of(agents4, solo.py2f())
    assert by_handle.size == 1
    assert texts(by_handle.scatter_gather(["f"], schedule="static")) == ["completion: f"]
    assert swarm_of(agents4, WORLD).size == WORLD.size
    with pytest.raises(TypeError, match="py2f"):
        am.Swarm(agents4, comm="world")
    del s, by_handle
    solo.free()


def test_gil_released_during_a_collective(slow4):
    s = swarm_of(slow4)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.monotonic()
        rs = s.broadcast("slow")  # 300 ms per agent
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    during = [x for x in ticks if start < x < end]
    assert end - start >= 0.25
    assert len(during) >= 5, "the Python thread did not run while the collective did"
    if ROOT:
        assert texts(rs) == ["completion: slow"] * 4


def test_collective_from_another_thread_is_refused(agents4):
    s = swarm_of(agents4)
    errors = []

    def call():
        try:
            s.broadcast("x")
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=call)
    t.start()
    t.join(timeout=30)
    assert errors and "main thread" in errors[0]


@pytest.mark.skipif(WORLD.size > 1, reason="a fresh singleton process, not a rank of this job")
def test_mpi_initialised_by_someone_else_is_left_alone():
    # What mpi4py does when imported first: MPI_Init, then aswarm must neither re-init nor
    # finalize it.
    script = """
import ctypes, sys
mpi = ctypes.CDLL("libmpich.so.12", mode=ctypes.RTLD_GLOBAL)
assert mpi.MPI_Init(None, None) == 0
import aswarm.mpi as am
assert am.COMM_WORLD.size == 1 and not am.owns_mpi()
am._mpi.finalize()
flag = ctypes.c_int(1)
mpi.MPI_Finalized(ctypes.byref(flag))
assert flag.value == 0, "aswarm finalized MPI it did not initialise"
assert mpi.MPI_Finalize() == 0
"""
    done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr


def test_fan_out_fan_in(agents4):
    r = swarm_of(agents4).fan_out_fan_in("w", "C {responses}", n_workers=2)
    assert r.success and r.text == "completion: C completion: w\n---\ncompletion: w"  # every rank


def test_run_pipeline_with_python_filter_and_transform(agents4):
    s = swarm_of(agents4)
    seen = []

    def count(rs):
        seen.append(len(rs))
        return f"kept {len(rs)}: " + " | ".join(r.text for r in rs)

    stages = [
        aswarm.Stage("draft", "D {input}", 2),
        aswarm.Stage("judge", "J {input}", 2, output_transform=count,
                     output_filter=lambda r: r.success and r.text.endswith("x")),
    ]
    out = s.run_pipeline(stages, "x", reuse_agents=False)  # judge: agents 2 and 3 (rank 1's)
    assert out.success, out.error
    draft = "completion: D x\ncompletion: D x"
    assert out.stages[0].output == draft and out.stages[1].agents == [2, 3]
    assert out.output == f"kept 2: completion: J {draft} | completion: J {draft}"
    assert seen == ([2] if ROOT else [])  # callbacks run on rank 0 only
    rs = on_root(out.stages[1].responses)
    if rs is not None:
        assert texts(rs) == [f"completion: J {draft}"] * 2 and out.stages[1].kept == 2


def test_run_pipeline_python_exception_fails_the_stage_everywhere(agents4):
    def boom(rs):
        raise KeyError("no such field")

    stages = [aswarm.Stage("a", "A {input}", 1, output_transform=boom),
              aswarm.Stage("b", "B {input}", 1)]
    out = swarm_of(agents4).run_pipeline(stages, "x")
    assert not out.success and "'a'" in out.error and "no such field" in out.error
    assert out.stages[0].ran and not out.stages[1].ran


def test_swarm_options_are_checked_before_any_collective(agents4):
    # Every rank raises on its own, before from_hostfile's collective: no rank is left waiting.
    with pytest.raises(TypeError, match="unknown Swarm option.*bogus"):
        am.Swarm(agents4, bogus=1)
    with pytest.raises(ValueError, match="concurrency"):
        am.Swarm(agents4, concurrency=0)


def _propose_or_critique(section, board):
    assert list(board) == ["hypotheses", "critiques"]  # a dict in section order
    if section == "hypotheses":
        return f"propose {len(board['hypotheses']) // 2 + 1}"
    return "critique: " + " | ".join(board["hypotheses"])


def test_blackboard_rounds_sections_and_the_same_board_everywhere(agents4):
    # agents4's roles alternate: agents 0 and 2 write hypotheses, 1 and 3 critiques.
    swarm = swarm_of(agents4)
    bb = am.Blackboard(["hypotheses", "critiques"], _propose_or_critique)
    board = bb.run(swarm, max_rounds=2)  # every rank asserts the same exact board below
    assert bb.round == 2 and bb.answers_ok == 8 and bb.answers_failed == 0
    assert board["hypotheses"] == ["completion: propose 1"] * 2 + ["completion: propose 2"] * 2
    # In-round order: round 1's critics already see round 1's hypotheses.
    assert board["critiques"][0] == "completion: critique: " + " | ".join(["completion: propose 1"] * 2)
    assert len(board["critiques"]) == 4
    snap = bb.snapshot()
    assert snap == {"round": 2, "board": board}

    # A second run continues from the board as it stands (round 3 proposes "3").
    board = bb.run(swarm, max_rounds=1)
    assert bb.round == 3
    assert board["hypotheses"][-2:] == ["completion: propose 3"] * 2
    assert len(board["critiques"]) == 6


def test_blackboard_convergence_stops_on_every_rank(agents4):
    swarm = swarm_of(agents4)
    calls = []

    def converged(board):
        calls.append(len(board["critiques"]))
        return len(board["critiques"]) >= 2

    bb = am.Blackboard(["hypotheses", "critiques"], _propose_or_critique)
    board = bb.run(swarm, max_rounds=5, convergence_fn=converged)
    assert bb.round == 1 and len(board["hypotheses"]) == 2
    assert calls == ([2] if ROOT else [])  # evaluated on rank 0 only


def test_blackboard_prompt_function_that_raises_raises_on_every_rank(agents4):
    swarm = swarm_of(agents4)

    def prompt(section, board):
        if section == "critiques":
            raise KeyError("no critics today")
        return "propose"

    bb = am.Blackboard(["hypotheses", "critiques"], prompt)
    with pytest.raises(RuntimeError, match="no critics today"):
        bb.run(swarm, max_rounds=2)
    # The ranks are still in step: the next collective completes everywhere.
    assert texts(on_root(swarm.broadcast("after")) or []) == (
        ["completion: after"] * len(swarm) if ROOT else [])
