# SPDX-License-Identifier: BSD-3-Clause
"""Imports packaging/spack/packages/aswarm/package.py with a minimal stand-in for Spack's recipe
API (Spack itself is not installed here) and checks its variants, dependencies and cmake_args.

The stand-in records what the directives declare, the way Spack's own directives do at class
definition time, and implements define/define_from_variant with Spack's output format."""
import contextlib
import importlib.util
import pathlib
import sys
import types
import unittest

RECIPE = pathlib.Path(__file__).resolve().parents[2] / "packaging/spack/packages/aswarm/package.py"

_declared = []  # (directive, args, kwargs, when) in order, harvested by CMakePackage subclasses
_when = []


def _directive(name):
    def record(*args, **kwargs):
        when = kwargs.pop("when", None) or (_when[-1] if _when else None)
        _declared.append((name, args, kwargs, when))
    return record


@contextlib.contextmanager
def when(spec):
    _when.append(spec)
    try:
        yield
    finally:
        _when.pop()


class Spec:
    """Only what the recipe asks of a spec: satisfies('+variant') / ('~variant')."""

    def __init__(self, variants):
        self.variants = variants

    def satisfies(self, text):
        sign, name = text[0], text[1:]
        assert sign in "+~" and name in self.variants, f"unexpected spec query {text!r}"
        return self.variants[name] == (sign == "+")


class CMakePackage:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.declared = list(_declared)
        _declared.clear()

    def __init__(self, variants, run_tests=False):
        self.spec = Spec(variants)
        self.run_tests = run_tests

    @staticmethod
    def define(name, value):
        if isinstance(value, bool):
            return f"-D{name}:BOOL={'ON' if value else 'OFF'}"
        return f"-D{name}:STRING={value}"

    def define_from_variant(self, name, variant):
        return self.define(name, self.spec.variants[variant])


def load_recipe():
    spack = types.ModuleType("spack")
    api = types.ModuleType("spack.package")
    api.CMakePackage = CMakePackage
    api.when = when
    for name in ("version", "variant", "depends_on", "conflicts", "license", "maintainers"):
        setattr(api, name, _directive(name))
    api.__all__ = [n for n in vars(api) if not n.startswith("_")]
    spack.package = api
    sys.modules.update({"spack": spack, "spack.package": api})
    spec = importlib.util.spec_from_file_location("aswarm_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Aswarm


class SpackRecipe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.Aswarm = load_recipe()
        cls.deps = {}
        for name, args, kwargs, cond in cls.Aswarm.declared:
            if name == "depends_on":
                cls.deps[args[0].split("@")[0]] = (args[0], kwargs.get("type"), cond)

    def test_is_a_cmake_package_from_this_checkout(self):
        self.assertTrue(issubclass(self.Aswarm, CMakePackage))
        self.assertEqual(self.Aswarm.git, "file://" + str(RECIPE.parents[4]))
        versions = [a[0] for n, a, k, w in self.Aswarm.declared if n == "version"]
        self.assertIn("main", versions)

    def test_variants(self):
        variants = {a[0]: k["default"] for n, a, k, w in self.Aswarm.declared if n == "variant"}
        self.assertEqual(variants, {"shared": True, "apps": True})

    def test_library_dependencies_always(self):
        for dep in ("mpi", "curl", "nlohmann-json", "fmt", "spdlog", "re2", "utf8proc", "mpfr"):
            self.assertIn(dep, self.deps)
            spec, dep_type, cond = self.deps[dep]
            self.assertIsNone(cond, f"{dep} is needed by the libraries, not only with a variant")
            self.assertIsNone(dep_type, f"{dep} is a link dependency")
        self.assertEqual(self.deps["nlohmann-json"][0], "nlohmann-json@3.10:")
        self.assertEqual(self.deps["cmake"][:2], ("cmake@3.25:", "build"))

    def test_app_dependencies_only_with_apps(self):
        for dep in ("cli11", "libevent", "xxhash"):
            self.assertEqual(self.deps[dep][2], "+apps", dep)

    def test_googletest_only_for_tests(self):
        self.assertEqual(self.deps["googletest"][1], "test")

    def test_cmake_args(self):
        args = self.Aswarm({"shared": True, "apps": False}, run_tests=True).cmake_args()
        self.assertIn("-DBUILD_SHARED_LIBS:BOOL=ON", args)
        self.assertIn("-DASWARM_BUILD_APPS:BOOL=OFF", args)
        self.assertIn("-DASWARM_BUILD_TESTS:BOOL=OFF", args)  # tests need the apps
        self.assertIn("-DASWARM_INSTALL:BOOL=ON", args)
        args = self.Aswarm({"shared": False, "apps": True}, run_tests=True).cmake_args()
        self.assertIn("-DBUILD_SHARED_LIBS:BOOL=OFF", args)
        self.assertIn("-DASWARM_BUILD_APPS:BOOL=ON", args)
        self.assertIn("-DASWARM_BUILD_TESTS:BOOL=ON", args)
        args = self.Aswarm({"shared": False, "apps": True}).cmake_args()
        self.assertIn("-DASWARM_BUILD_TESTS:BOOL=OFF", args)
        for option in ("ASWARM_BUILD_BENCH", "ASWARM_BUILD_EXAMPLES", "ASWARM_DOCS"):
            self.assertIn(f"-D{option}:BOOL=OFF", args)


if __name__ == "__main__":
    unittest.main()
