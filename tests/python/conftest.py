"""Fixtures: real aswarm-mock-agent processes on 127.0.0.1 (OS-chosen ports, --hostfile-out),
started once per session and always stopped. ctest sets ASWARM_MOCK_AGENT and PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest


def start_mock(tmp: Path, name: str, *args: str):
    """Starts the mock, waits (bounded) for its ready line, returns (process, hostfile)."""
    mock = os.environ["ASWARM_MOCK_AGENT"]
    hostfile = tmp / f"{name}.txt"
    log = open(tmp / f"{name}.out", "w")
    proc = subprocess.Popen([mock, "--port-base", "0", "--hostfile-out", str(hostfile), *args],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):  # 30 s: the machine may be busy with other tests
        if "ready" in (tmp / f"{name}.out").read_text():
            return proc, hostfile
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"mock did not start: {(tmp / f'{name}.out').read_text()}")


@pytest.fixture(scope="session")
def mock_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mock")


def _mock_fixture(name, *args):
    @pytest.fixture(scope="session")
    def fixture(mock_dir):
        proc, hostfile = start_mock(mock_dir, name, *args)
        try:
            yield hostfile
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return fixture


# Four echo agents ("completion: <prompt>"), roles alternating a,b.
agents4 = _mock_fixture("agents4", "--count", "4", "--roles", "hypotheses,critiques")
# Two agents answering 503 to everything (agent 1 dead) next to a live one (agent 0).
half_dead = _mock_fixture("half_dead", "--count", "2", "--dead-agents", "1")
# Four agents answering after 300 ms each: concurrency shows in wall time.
slow4 = _mock_fixture("slow4", "--count", "4", "--latency", "fixed:300")
