// aswarm._core: the pybind11 module over swarm::core. Endpoints, hostfile, Response, pool
// options and the pool live in pool_bindings.cpp; the aggregators in aggregator_bindings.cpp; swarm::uq
// (the submodule uq) in uq_bindings.cpp.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_pool(py::module_& m);
void bind_aggregators(py::module_& m);
void bind_uq(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "aswarm's C++ engine (swarm::core) for Python";
  bind_pool(m);
  bind_aggregators(m);
  bind_uq(m);
}
