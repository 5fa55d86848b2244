# SPDX-License-Identifier: BSD-3-Clause
"""Spack recipe of aswarm, kept in aswarm's own repository (packaging/spack).

    spack repo add <checkout>/packaging/spack
    spack install aswarm            # the checkout's main branch; +apps +shared by default
"""
import os

from spack.package import *  # noqa: F401,F403 (Spack's recipe API: CMakePackage, directives)

# The checkout this recipe lives in (packaging/spack/packages/aswarm/package.py): Spack clones
# it, so `spack install aswarm` builds what the repository holds, with no download.
_CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4))


class Aswarm(CMakePackage):
    """Drive thousands of LLM agents (vLLM and other OpenAI-compatible servers) from an MPI
    job: swarm::core (libcurl engine) and swarm::mpi (patterns over MPI), plus the aswarm-mpi
    CLI, the aswarm-health gate, aswarm-stage and a mock agent."""

    git = "file://" + _CHECKOUT
    license("BSD-3-Clause")

    version("main", branch="main")

    variant("shared", default=True, description="Build swarm::core and swarm::mpi as shared libraries")
    variant("apps", default=True,
            description="Build aswarm-mpi, aswarm-health, aswarm-stage and aswarm-mock-agent")

    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")
    depends_on("mpi")
    depends_on("curl")
    depends_on("nlohmann-json@3.10:")
    depends_on("fmt@9:")
    depends_on("spdlog@1.10:")
    depends_on("re2")
    depends_on("utf8proc")
    depends_on("mpfr")
    depends_on("eigen@3.3:", type="build")
    with when("+apps"):
        depends_on("cli11@2:")
        depends_on("libevent")
        depends_on("xxhash")
    depends_on("googletest", type="test")

    def cmake_args(self):
        apps = self.spec.satisfies("+apps")
        return [
            self.define_from_variant("BUILD_SHARED_LIBS", "shared"),
            self.define_from_variant("ASWARM_BUILD_APPS", "apps"),
            # The tests drive the apps (the mock agent above all): only with +apps.
            self.define("ASWARM_BUILD_TESTS", self.run_tests and apps),
            self.define("ASWARM_BUILD_BENCH", False),
            self.define("ASWARM_BUILD_EXAMPLES", False),
            self.define("ASWARM_DOCS", False),
            self.define("ASWARM_INSTALL", True),
        ]
