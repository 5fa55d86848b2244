// aswarm._mpi: swarm::mpi for Python (aswarm.mpi is the Python face). A separate extension module
// so that `import aswarm` never loads libmpi. This file: MPI initialisation and communicators;
// mpi_swarm_bindings.cpp: the Swarm and its collectives; mpi_pipeline_bindings.cpp: the pipeline
// and fan-out/fan-in, whose filters and transforms are Python.
//
// Response, AgentEndpoint, PoolOptions and HostfileError are aswarm._core's types: the module
// imports aswarm._core first, so pybind11 finds those registrations (they are global, not
// module-local) and a Response made here is the very type aswarm exports.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "mpi_common.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/mpi/environment.hpp"
#include "swarm/mpi/error.hpp"

namespace py = pybind11;
namespace aswarm_py {

void bind_swarm(py::module_& m);

namespace {

/// The Environment of this process, if the module made one: alive until finalize() (atexit in
/// aswarm.mpi). When MPI was initialised by someone else it owns nothing and finalize() is a
/// no-op, so mpi4py (or a host code) keeps its MPI.
std::unique_ptr<swarm::mpi::Environment>& environment() {
  static std::unique_ptr<swarm::mpi::Environment> env;
  return env;
}

int comm_rank(MPI_Comm c) {
  ensure_initialized();
  int r = 0;
  swarm::mpi::check(MPI_Comm_rank(c, &r), "MPI_Comm_rank");
  return r;
}

int comm_size(MPI_Comm c) {
  ensure_initialized();
  int n = 0;
  swarm::mpi::check(MPI_Comm_size(c, &n), "MPI_Comm_size");
  return n;
}

void bind_comm(py::module_& m) {
  py::class_<PyComm, std::shared_ptr<PyComm>>(
      m, "Comm", "An MPI communicator: world, a Fortran handle (not owned) or a split (owned).")
      .def_static(
          "world", [] { return std::make_shared<PyComm>(MPI_COMM_WORLD, false); },
          "MPI_COMM_WORLD (not owned).")
      .def_static(
          "from_fortran",
          [](std::int64_t handle) {
            ensure_initialized();
            MPI_Comm c = MPI_Comm_f2c(static_cast<MPI_Fint>(handle));
            if (c == MPI_COMM_NULL) throw py::value_error("Fortran handle is MPI_COMM_NULL");
            return std::make_shared<PyComm>(c, false);
          },
          py::arg("handle"), "A view of the communicator with this Fortran handle (not owned).")
      .def_property_readonly("rank", [](const PyComm& c) { return comm_rank(c.get()); })
      .def_property_readonly("size", [](const PyComm& c) { return comm_size(c.get()); })
      .def_property_readonly("owned", [](const PyComm& c) { return c.owned(); })
      .def("barrier",
           [](const PyComm& c) {
             require_mpi_thread();
             py::gil_scoped_release nogil;
             swarm::mpi::check(MPI_Barrier(c.get()), "MPI_Barrier");
           })
      .def(
          "split",
          [](const PyComm& c, std::optional<int> color, int key) -> std::shared_ptr<PyComm> {
            require_mpi_thread();
            MPI_Comm out = MPI_COMM_NULL;
            {
              py::gil_scoped_release nogil;
              swarm::mpi::check(MPI_Comm_split(c.get(), color.value_or(MPI_UNDEFINED), key, &out),
                                "MPI_Comm_split");
            }
            if (out == MPI_COMM_NULL) return nullptr;  // color None: this rank is in no part
            return std::make_shared<PyComm>(out, true);
          },
          py::arg("color"), py::arg("key") = 0,
          "Collective MPI_Comm_split; the new Comm owns its MPI_Comm (color None: returns None).")
      .def("free", &PyComm::free,
           "Frees an owned communicator now (else when the last reference goes; a Swarm keeps "
           "one, so free() only a Comm no Swarm still uses).")
      .def("py2f", [](const PyComm& c) { return std::int64_t{MPI_Comm_c2f(c.get())}; },
           "The Fortran handle (MPI_Comm_c2f), as mpi4py's Comm.py2f().")
      .def("__repr__", [](const PyComm& c) {
        return "<aswarm.mpi.Comm rank " + std::to_string(comm_rank(c.get())) + " of " +
               std::to_string(comm_size(c.get())) + (c.owned() ? ", owned>" : ">");
      });
}

}  // namespace

PyComm::~PyComm() { free(); }

void PyComm::free() {
  // After MPI_Finalize nothing may be freed (and the library has released it anyway).
  if (owned_ && comm_ != MPI_COMM_NULL && swarm::mpi::Environment::active()) {
    MPI_Comm_free(&comm_);
  }
  comm_ = MPI_COMM_NULL;
}

MPI_Comm PyComm::get() const {
  if (comm_ == MPI_COMM_NULL) throw std::logic_error("aswarm.mpi.Comm: used after free()");
  return comm_;
}

void ensure_initialized() {
  if (!environment() && !swarm::mpi::Environment::active()) {
    environment() = std::make_unique<swarm::mpi::Environment>();
  }
}

void require_mpi_thread() {
  ensure_initialized();
  int level = 0;
  int is_main = 0;
  swarm::mpi::check(MPI_Query_thread(&level), "MPI_Query_thread");
  swarm::mpi::check(MPI_Is_thread_main(&is_main), "MPI_Is_thread_main");
  // aswarm initialises MPI_THREAD_FUNNELED: MPI calls from any other thread are undefined.
  if (level < MPI_THREAD_SERIALIZED && is_main == 0) {
    throw std::runtime_error(
        "aswarm.mpi: MPI calls must come from the thread that initialised MPI (the main thread)");
  }
}

}  // namespace aswarm_py

PYBIND11_MODULE(_mpi, m) {
  namespace ap = aswarm_py;
  m.doc() = "aswarm's MPI engine (swarm::mpi) for Python; use it through aswarm.mpi";
  py::module_::import("aswarm._core");  // Response, AgentEndpoint, PoolOptions, HostfileError

  // swarm::mpi::Error (an MPI call failed) as RuntimeError with the MPI_Error_string.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const swarm::HostfileError& e) {
      // Raised as aswarm._core.HostfileError: one exception type for `except aswarm.HostfileError`.
      py::object cls = py::module_::import("aswarm._core").attr("HostfileError");
      PyErr_SetString(cls.ptr(), e.what());
    } catch (const swarm::mpi::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.def("init", &ap::ensure_initialized,
        "Initialises MPI (MPI_THREAD_FUNNELED) unless it is already initialised.");
  m.def(
      "finalize", [] { ap::environment().reset(); },
      "Finalises MPI if init() initialised it (else leaves MPI to its owner).");
  m.def("initialized", &swarm::mpi::Environment::active,
        "Whether MPI is initialised and not finalised.");
  m.def("owns_mpi", [] { return ap::environment() && ap::environment()->owns_mpi(); },
        "Whether aswarm initialised MPI (and will finalise it at exit).");
  m.def("thread_level", [] {
    ap::ensure_initialized();
    int level = 0;
    swarm::mpi::check(MPI_Query_thread(&level), "MPI_Query_thread");
    return level;
  });
  ap::bind_comm(m);
  ap::bind_swarm(m);
}
