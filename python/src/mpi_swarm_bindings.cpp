// swarm::mpi::Swarm and its collectives for Python (aswarm.mpi.Swarm wraps this).
//
// Every collective releases the GIL while it runs (other Python threads go on; this one is in
// MPI and curl) and then takes the swarm family's mutex: a swarm and its views share one rank
// pool (one engine), which must be driven by one call at a time. They are blocking on purpose:
// every rank must enter the collectives in the same order, which interleaved awaits would not
// guarantee.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mpi_common.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/mpi/tree_reduce.hpp"

namespace py = pybind11;
using swarm::Response;
using swarm::mpi::Swarm;

namespace aswarm_py {
namespace {

using MaxTokens = std::optional<std::int64_t>;

swarm::CallOptions call_options(MaxTokens max_tokens, bool aggregation = false) {
  swarm::CallOptions c;
  c.max_tokens = max_tokens;
  c.aggregation = aggregation;
  return c;
}

swarm::mpi::Schedule schedule_of(const std::string& name) {
  if (name == "static") return swarm::mpi::Schedule::fixed;
  if (name == "dynamic") return swarm::mpi::Schedule::dynamic;
  throw py::value_error("schedule must be 'static' or 'dynamic', not '" + name + "'");
}

void check_agent(const PySwarm& s, std::size_t agent) {
  if (agent >= s.swarm.size()) throw py::index_error("agent index out of range");
}

void bind_results(py::module_& m) {
  py::class_<swarm::mpi::BroadcastReduce>(m, "BroadcastReduce",
                                          "broadcast_and_reduce's result.")
      .def_readonly("responses", &swarm::mpi::BroadcastReduce::responses,
                    "Every agent's answer, agent order (rank 0; [] elsewhere).")
      .def_readonly("reduced", &swarm::mpi::BroadcastReduce::reduced,
                    "The reducer's answer (every rank).");
  py::class_<swarm::mpi::TreeLevel>(m, "TreeLevel", "One level of a tree reduction (all ranks).")
      .def_readonly("level", &swarm::mpi::TreeLevel::level)
      .def_readonly("inputs", &swarm::mpi::TreeLevel::inputs)
      .def_readonly("calls", &swarm::mpi::TreeLevel::calls)
      .def_readonly("ok", &swarm::mpi::TreeLevel::ok)
      .def_readonly("failed", &swarm::mpi::TreeLevel::failed)
      .def_readonly("blank", &swarm::mpi::TreeLevel::blank)
      .def("__repr__", [](const swarm::mpi::TreeLevel& l) {
        return "TreeLevel(level=" + std::to_string(l.level) + ", inputs=" +
               std::to_string(l.inputs) + ", ok=" + std::to_string(l.ok) + ")";
      });
  py::class_<swarm::mpi::TreeReduceResult>(m, "TreeReduceResult", "tree_reduce's result.")
      .def_readonly("response", &swarm::mpi::TreeReduceResult::response,
                    "The final answer, or a failed Response (every rank).")
      .def_readonly("levels", &swarm::mpi::TreeReduceResult::levels)
      .def_readonly("leaves_covered", &swarm::mpi::TreeReduceResult::leaves_covered);
}

void bind_views(py::class_<PySwarm>& c) {
  c.def("by_tag",
        [](const PySwarm& s, const std::string& k, const std::string& v) {
          return PySwarm{s.mu, s.swarm.by_tag(k, v)};
        })
      .def("slice",
           [](const PySwarm& s, std::size_t start, std::size_t stop) {
             return PySwarm{s.mu, s.swarm.slice(start, stop)};
           })
      .def("select",
           [](const PySwarm& s, const std::vector<std::size_t>& agents) {
             for (auto a : agents) check_agent(s, a);
             return PySwarm{s.mu, s.swarm.select(agents)};
           })
      .def("sample", [](const PySwarm& s, std::size_t n, std::uint64_t seed) {
        return PySwarm{s.mu, s.swarm.sample(n, seed)};
      });
}

void bind_collectives(py::class_<PySwarm>& c) {
  c.def(
       "scatter_gather",
       [](PySwarm& s, const std::vector<std::string>& prompts, MaxTokens mt,
          const std::string& schedule, std::size_t window) {
         const auto sched = schedule_of(schedule);
         return collective(s, [&](Swarm& w) {
           return swarm::mpi::scatter_gather(w, prompts, call_options(mt), window, sched);
         });
       },
       py::arg("prompts"), py::arg("max_tokens") = py::none(), py::arg("schedule") = "dynamic",
       py::arg("window") = swarm::mpi::kDefaultWindow)
      .def(
          "map_gather",
          [](PySwarm& s, const std::vector<std::string>& items, const std::string& tmpl,
             MaxTokens mt, const std::string& schedule, std::size_t window) {
            const auto sched = schedule_of(schedule);
            return collective(s, [&](Swarm& w) {
              return swarm::mpi::map_gather(w, items, tmpl, call_options(mt), window, sched);
            });
          },
          py::arg("items"), py::arg("template"), py::arg("max_tokens") = py::none(),
          py::arg("schedule") = "dynamic", py::arg("window") = swarm::mpi::kDefaultWindow)
      .def(
          "broadcast",
          [](PySwarm& s, const std::string& prompt, MaxTokens mt) {
            return collective(
                s, [&](Swarm& w) { return swarm::mpi::broadcast(w, prompt, call_options(mt)); });
          },
          py::arg("prompt"), py::arg("max_tokens") = py::none())
      .def(
          "broadcast_and_reduce",
          [](PySwarm& s, const std::string& prompt, const std::string& reduce_prompt,
             std::size_t reducer, MaxTokens mt) {
            check_agent(s, reducer);
            return collective(s, [&](Swarm& w) {
              return swarm::mpi::broadcast_and_reduce(w, prompt, reduce_prompt, reducer,
                                                      call_options(mt));
            });
          },
          py::arg("prompt"), py::arg("reduce_prompt"), py::arg("reducer") = 0,
          py::arg("max_tokens") = py::none())
      .def(
          "tree_reduce",
          [](PySwarm& s, const std::string& prompt, const std::string& reduce_prompt,
             std::size_t fanin, std::optional<std::vector<std::string>> items,
             const std::string& schedule, MaxTokens leaf_max_tokens, MaxTokens reduce_max_tokens,
             std::optional<std::pair<std::int64_t, std::int64_t>> group_budget,
             std::size_t max_response_chars, std::size_t max_reduce_input_chars) {
            if (fanin < 2) throw py::value_error("fanin must be at least 2");
            swarm::mpi::TreeReduceOptions o;
            o.fanin = fanin;
            if (items) o.items = std::span<const std::string>(*items);
            o.schedule = schedule_of(schedule);
            o.leaf_call = call_options(leaf_max_tokens);
            o.reduce_call = call_options(reduce_max_tokens, true);
            if (group_budget) {
              o.group_budget = swarm::mpi::GroupBudget{group_budget->first, group_budget->second};
            }
            o.max_response_chars = max_response_chars;
            o.max_reduce_input_chars = max_reduce_input_chars;
            return collective(s, [&](Swarm& w) {
              return swarm::mpi::tree_reduce(w, prompt, reduce_prompt, o);
            });
          },
          py::arg("prompt"), py::arg("reduce_prompt"), py::arg("fanin") = 50,
          py::arg("items") = py::none(), py::arg("schedule") = "static",
          py::arg("max_tokens") = py::none(), py::arg("reduce_max_tokens") = py::none(),
          py::arg("group_budget") = py::none(), py::arg("max_response_chars") = 0,
          py::arg("max_reduce_input_chars") = 0)
      .def("share_model", [](PySwarm& s) { collective(s, [](Swarm& w) { w.share_model(); }); });
}

}  // namespace

void bind_pipeline(py::module_& m, py::class_<PySwarm>& c);
void bind_blackboard(py::class_<PySwarm>& c);

void bind_swarm(py::module_& m) {
  bind_results(m);
  py::class_<PySwarm> c(m, "CoreSwarm", "swarm::mpi::Swarm (see aswarm.mpi.Swarm).");
  c.def_static(
       "from_hostfile",
       [](const std::shared_ptr<PyComm>& comm, const std::filesystem::path& hostfile,
          const swarm::PoolOptions& options) {
         require_mpi_thread();
         py::gil_scoped_release nogil;
         return PySwarm{std::make_shared<std::mutex>(),
                        Swarm::from_hostfile(swarm::mpi::Communicator(comm->get()), hostfile,
                                             options)};
       },
       py::arg("comm"), py::arg("hostfile"), py::arg("options"))
      .def_property_readonly("rank",
                             [](const PySwarm& s) { return s.swarm.communicator().rank(); })
      .def_property_readonly("ranks",
                             [](const PySwarm& s) { return s.swarm.communicator().size(); })
      .def_property_readonly("size", [](const PySwarm& s) { return s.swarm.size(); })
      .def_property_readonly("local_agents",
                             [](const PySwarm& s) { return s.swarm.local_agents(); })
      .def("endpoint",
           [](const PySwarm& s, std::size_t agent) {
             check_agent(s, agent);
             return s.swarm.endpoint(agent);
           })
      .def("owner_of", [](const PySwarm& s, std::size_t agent) {
        check_agent(s, agent);
        return s.swarm.owner_of(agent);
      });
  bind_views(c);
  bind_collectives(c);
  bind_pipeline(m, c);
  bind_blackboard(c);
}

}  // namespace aswarm_py
