// swarm::mpi's pipeline and fan-out/fan-in for Python, with Python filters and transforms.
//
// Filters and transforms run on rank 0 inside the collective, where this thread has released
// the GIL: each call takes the GIL for itself, and a Python exception becomes a C++ exception,
// which run_pipeline turns into a failed stage on every rank (nobody is left waiting).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mpi_common.hpp"
#include "py_callable.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/swarm.hpp"

namespace py = pybind11;
using swarm::Response;

namespace aswarm_py {
namespace {

/// aswarm.Stage (the seed's fields) or any object with them, as a swarm::mpi::Stage.
swarm::mpi::Stage stage_of(const py::handle& s) {
  swarm::mpi::Stage st;
  st.name = s.attr("name").cast<std::string>();
  st.prompt_template = s.attr("prompt_template").cast<std::string>();
  st.n_agents = s.attr("n_agents").cast<std::size_t>();
  py::object filter = py::getattr(s, "output_filter", py::none());
  if (!filter.is_none()) {
    Callable fn(filter);
    st.filter = [fn](const Response& r) {
      return fn.call([](const py::object& keep) { return PyObject_IsTrue(keep.ptr()) == 1; }, r);
    };
  }
  py::object transform = py::getattr(s, "output_transform", py::none());
  if (!transform.is_none()) {
    Callable fn(transform);
    // The seed feeds str(output) to the next stage's {input}.
    st.transform = [fn](const std::vector<Response>& rs) {
      return fn.call([](const py::object& out) { return std::string(py::str(out)); }, rs);
    };
  }
  py::object deps = py::getattr(s, "depends_on", py::none());
  if (!deps.is_none()) st.depends_on = deps.cast<std::vector<std::string>>();
  py::object tag = py::getattr(s, "tag", py::none());  // (key, value): agents by tag
  if (!tag.is_none()) {
    auto kv = tag.cast<std::pair<std::string, std::string>>();
    st.tag_key = kv.first;
    st.tag_value = kv.second;
  }
  return st;
}

}  // namespace

void bind_pipeline(py::module_& m, py::class_<PySwarm>& c) {
  using swarm::mpi::PipelineResult;
  using swarm::mpi::StageResult;
  py::class_<StageResult>(m, "StageResult", "What one pipeline stage did.")
      .def_readonly("name", &StageResult::name)
      .def_readonly("ran", &StageResult::ran)
      .def_readonly("success", &StageResult::success)
      .def_readonly("error", &StageResult::error)
      .def_readonly("agents", &StageResult::agents, "Its agents (every rank).")
      .def_readonly("wave", &StageResult::wave)
      .def_readonly("prompt", &StageResult::prompt)
      .def_readonly("responses", &StageResult::responses, "Before the filter (rank 0).")
      .def_readonly("kept", &StageResult::kept, "Responses the filter kept (rank 0).")
      .def_readonly("output", &StageResult::output, "The transform's result (every rank).");
  py::class_<PipelineResult>(m, "PipelineResult", "run_pipeline's result (every rank).")
      .def_readonly("success", &PipelineResult::success)
      .def_readonly("error", &PipelineResult::error)
      .def_readonly("output", &PipelineResult::output)
      .def_readonly("stages", &PipelineResult::stages)
      .def_readonly("waves", &PipelineResult::waves)
      .def_readonly("seconds", &PipelineResult::seconds);

  c.def(
       "run_pipeline",
       [](PySwarm& s, const py::list& stages, const std::string& initial, bool reuse_agents,
          std::optional<std::int64_t> max_tokens) {
         std::vector<swarm::mpi::Stage> plan;
         for (const auto& st : stages) plan.push_back(stage_of(st));
         swarm::CallOptions call;
         call.max_tokens = max_tokens;
         auto result = collective(s, [&](swarm::mpi::Swarm& w) {
           return swarm::mpi::run_pipeline(w, plan, initial, reuse_agents, call);
         });
         return result;
       },
       py::arg("stages"), py::arg("initial_input"), py::arg("reuse_agents") = true,
       py::arg("max_tokens") = py::none())
      .def(
          "fan_out_fan_in",
          [](PySwarm& s, const std::string& prompt, const std::string& collect_prompt,
             std::optional<std::size_t> n_workers, std::optional<std::int64_t> max_tokens) {
            swarm::CallOptions call;
            call.max_tokens = max_tokens;
            return collective(s, [&](swarm::mpi::Swarm& w) {
              return swarm::mpi::fan_out_fan_in(w, prompt, collect_prompt, n_workers, call);
            });
          },
          py::arg("prompt"), py::arg("collect_prompt"), py::arg("n_workers") = py::none(),
          py::arg("max_tokens") = py::none());
}

}  // namespace aswarm_py
