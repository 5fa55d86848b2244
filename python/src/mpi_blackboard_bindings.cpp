// swarm::mpi::Blackboard for Python (aswarm.mpi.Blackboard wraps this), with Python prompt and
// convergence functions. They run on rank 0 inside the collective, where this thread released
// the GIL: each call takes the GIL for itself, and a Python exception becomes a C++ exception,
// which the blackboard broadcasts, so run() raises on every rank (nobody is left waiting).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mpi_common.hpp"
#include "py_callable.hpp"
#include "swarm/mpi/blackboard.hpp"

namespace py = pybind11;

namespace aswarm_py {
namespace {

/// The board as the seed's prompt functions see it: (section, texts) in section order; the
/// Python side makes the dict (a dict must not be built without the GIL).
using Sections = std::vector<std::pair<std::string, std::vector<std::string>>>;

Sections sections_of(const swarm::mpi::BoardState& board) {
  Sections out;
  for (const auto& name : board.sections()) out.emplace_back(name, board.texts(name));
  return out;
}

/// What one run leaves on every rank.
struct BoardRun {
  Sections board;
  int rounds = 0;
  bool converged = false;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
};

}  // namespace

void bind_blackboard(py::class_<PySwarm>& c) {
  py::class_<BoardRun>(c, "BoardRun", "One blackboard run's result (every rank).")
      .def_readonly("board", &BoardRun::board)
      .def_readonly("rounds", &BoardRun::rounds)
      .def_readonly("converged", &BoardRun::converged)
      .def_readonly("ok", &BoardRun::ok)
      .def_readonly("failed", &BoardRun::failed);
  c.def(
      "blackboard",
      [](PySwarm& s, std::vector<std::string> sections, const py::object& prompt_fn,
         int max_rounds, const py::object& convergence_fn,
         const std::vector<std::pair<std::string, std::string>>& initial) {
        const Callable prompt(prompt_fn);
        swarm::mpi::ConvergenceFn converge;
        if (!convergence_fn.is_none()) {
          converge = [fn = Callable(convergence_fn)](const swarm::mpi::BoardState& b) {
            return fn.call([](const py::object& r) { return r.cast<bool>(); }, sections_of(b));
          };
        }
        return collective(s, [&](swarm::mpi::Swarm& w) {
          swarm::mpi::Blackboard board(
              w, std::move(sections),
              [&prompt](const std::string& section, const swarm::mpi::BoardState& b) {
                return prompt.call([](const py::object& r) { return r.cast<std::string>(); },
                                   section, sections_of(b));
              });
          board.seed(initial);
          const auto final_board = board.run(max_rounds, converge);
          return BoardRun{sections_of(final_board), board.round(),
                          board.stop_reason() == swarm::mpi::StopReason::converged,
                          board.answers_ok(), board.answers_failed()};
        });
      },
      py::arg("sections"), py::arg("prompt_fn"), py::arg("max_rounds"),
      py::arg("convergence_fn") = py::none(), py::arg("initial") = py::list());
}

}  // namespace aswarm_py
