// The aggregators of swarm/aggregators.hpp for Python, returning the seed's shapes (tuples,
// lists, dicts). Score and extract functions are Python callables, called with the GIL held.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "swarm/aggregators.hpp"

namespace py = pybind11;
using swarm::Response;

namespace {

py::list issues(const std::vector<swarm::AgentIssue>& v) {
  py::list out;
  for (const auto& i : v) {
    py::dict d;
    d["agent_index"] = i.agent_index;
    d["error"] = i.error;
    out.append(d);
  }
  return out;
}

swarm::ScoreFn score_of(const py::function& fn) {
  return [fn](const Response& r) { return fn(r).cast<double>(); };
}

}  // namespace

void bind_aggregators(py::module_& m) {
  m.def(
      "majority_vote",
      [](const std::vector<Response>& rs, bool include_failures) {
        auto v = swarm::majority_vote(rs, include_failures);
        return py::make_tuple(v.winner, v.confidence);
      },
      py::arg("responses"), py::arg("include_failures") = false);
  m.def(
      "concat",
      [](const std::vector<Response>& rs, const std::string& sep, bool include_failures) {
        return swarm::concat(rs, sep, include_failures);
      },
      py::arg("responses"), py::arg("separator") = "\n", py::arg("include_failures") = false);
  m.def(
      "best_of",
      [](const std::vector<Response>& rs, const py::function& score, bool include_failures) {
        return swarm::best_of(rs, score_of(score), include_failures);
      },
      py::arg("responses"), py::arg("score_fn"), py::arg("include_failures") = false);
  m.def(
      "top_k",
      [](const std::vector<Response>& rs, std::size_t k, const py::function& score,
         bool include_failures) { return swarm::top_k(rs, k, score_of(score), include_failures); },
      py::arg("responses"), py::arg("k"), py::arg("score_fn"), py::arg("include_failures") = false);
  m.def(
      "structured_merge",
      [](const std::vector<Response>& rs, bool include_failures) {
        auto r = swarm::structured_merge(rs, include_failures);
        // Python's own json reads the merged text, so values come back as json.loads gives them.
        py::object merged = py::module_::import("json").attr("loads")(r.merged);
        return py::make_tuple(merged, issues(r.errors));
      },
      py::arg("responses"), py::arg("include_failures") = false);
  m.def(
      "statistics",
      [](const std::vector<Response>& rs, std::optional<py::function> extract,
         bool include_failures) {
        swarm::ExtractFn fn;
        if (extract) {
          fn = [f = *extract](const Response& r) -> std::optional<double> {
            py::object v = f(r);
            if (v.is_none()) return std::nullopt;
            return v.cast<double>();
          };
        }
        auto s = swarm::statistics(rs, fn, include_failures);
        py::dict d;
        d["mean"] = s.mean;
        d["std"] = s.stddev;
        d["median"] = s.median;
        d["min"] = s.min;
        d["max"] = s.max;
        d["count"] = s.count;
        d["rejected"] = issues(s.rejected);
        return d;
      },
      py::arg("responses"), py::arg("extract_fn") = py::none(),
      py::arg("include_failures") = false);
  m.def(
      "failure_report",
      [](const std::vector<Response>& rs) {
        auto f = swarm::failure_report(rs);
        py::dict d;
        d["total"] = f.total;
        d["success_count"] = f.success_count;
        d["failure_count"] = f.failure_count;
        d["failures"] = issues(f.failures);
        return d;
      },
      py::arg("responses"));
}
