"""Runs a command (e.g. `mpiexec -n 2 python3 -m pytest test_mpi.py`) with mock agents started
once for all of its ranks: under mpiexec every rank runs pytest, and the ranks of one Swarm must
share its agents. The hostfiles' paths go to the command in ASWARM_MPI_<NAME> variables
(test_mpi.py reads them); the mocks are stopped when the command ends, whatever its status.

usage: mpi_run.py <command> [args...]   (ASWARM_MOCK_AGENT names the mock, as for conftest.py)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import start_mock  # noqa: E402  (the fixtures' own start-up and ready wait)

# name -> mock arguments; the same agents as conftest.py's fixtures of those names.
MOCKS = {
    "agents4": ["--count", "4", "--roles", "hypotheses,critiques"],
    "half_dead": ["--count", "2", "--dead-agents", "1"],
    "slow4": ["--count", "4", "--latency", "fixed:300"],
}


# Below the ctest TIMEOUT, so that a hung rank is stopped here, mpiexec and mocks with it.
TIMEOUT = float(os.environ.get("ASWARM_MPI_RUN_TIMEOUT", "150"))


def run_bounded(argv: list[str], env: dict) -> int:
    cmd = subprocess.Popen(argv, env=env)
    try:
        return cmd.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"mpi_run.py: {argv[0]} still running after {TIMEOUT:.0f} s; stopping it",
              file=sys.stderr)
        cmd.terminate()  # mpiexec passes SIGTERM on to its ranks
        try:
            cmd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cmd.kill()
            cmd.wait()
        return 1


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="aswarm-mpi-") as tmp:
        env = dict(os.environ, ASWARM_MPI_DIR=tmp)
        procs = []
        try:
            for name, args in MOCKS.items():
                proc, hostfile = start_mock(Path(tmp), name, *args)
                procs.append(proc)
                env[f"ASWARM_MPI_{name.upper()}"] = str(hostfile)
            return run_bounded(argv, env)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
