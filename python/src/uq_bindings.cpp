// aswarm._core.uq: swarm::uq (semantic entropy, kernel language entropy, the linear probe) for
// Python. Matrices are sequences of rows (lists, tuples, or anything pybind11 turns into
// std::vector<std::vector<double>>); the names of the methods and kernels are the strings the
// seed's scipy and numpy calls take. A probe's metadata crosses as JSON text through Python's
// json module, so any JSON-shaped Python value round-trips.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "swarm/uq.hpp"

namespace py = pybind11;
namespace uq = swarm::uq;

namespace {

uq::Linkage linkage_of(const std::string& name) {
  if (name == "average") return uq::Linkage::average;
  if (name == "complete") return uq::Linkage::complete;
  if (name == "single") return uq::Linkage::single;
  throw py::value_error("method must be 'average', 'complete' or 'single', not '" + name + "'");
}

uq::Kernel kernel_of(const std::string& name) {
  if (name == "cosine") return uq::Kernel::cosine;
  if (name == "rbf") return uq::Kernel::rbf;
  throw py::value_error("kernel must be 'cosine' or 'rbf', not '" + name + "'");
}

py::object metadata_to_python(const nlohmann::json& metadata) {
  if (metadata.is_null()) return py::none();
  return py::module_::import("json").attr("loads")(metadata.dump());
}

nlohmann::json metadata_from_python(const py::object& metadata) {
  if (metadata.is_none()) return nullptr;
  const auto text = py::module_::import("json").attr("dumps")(metadata).cast<std::string>();
  return nlohmann::json::parse(text);
}

}  // namespace

void bind_uq(py::module_& parent) {
  auto m = parent.def_submodule("uq", "Semantic uncertainty of sampled answers (swarm::uq)");
  // std::invalid_argument (ragged rows, wrong lengths) arrives as ValueError: pybind11's rule.

  py::class_<uq::Probe>(m, "Probe", "A linear probe: predicted entropy = coef . x + intercept")
      .def(py::init([](std::vector<double> coef, double intercept, const py::object& metadata) {
             return uq::Probe{std::move(coef), intercept, metadata_from_python(metadata)};
           }),
           py::arg("coef"), py::arg("intercept") = 0.0, py::arg("metadata") = py::none())
      .def_readwrite("coef", &uq::Probe::coef)
      .def_readwrite("intercept", &uq::Probe::intercept)
      .def_property(
          "metadata", [](const uq::Probe& p) { return metadata_to_python(p.metadata); },
          [](uq::Probe& p, const py::object& v) { p.metadata = metadata_from_python(v); });

  m.def("cluster_embeddings",
        [](const uq::Matrix& e, double threshold, const std::string& method) {
          return uq::cluster_embeddings(e, threshold, linkage_of(method));
        },
        py::arg("embeddings"), py::arg("similarity_threshold") = 0.9,
        py::arg("method") = "average", "Flat cluster labels (1..C), scipy's fcluster numbering");
  m.def("semantic_entropy",
        [](const uq::Matrix& e, double threshold, const std::string& method) {
          return uq::semantic_entropy(e, threshold, linkage_of(method));
        },
        py::arg("embeddings"), py::arg("similarity_threshold") = 0.9,
        py::arg("method") = "average", "Entropy (nats) over clusters of the embeddings");
  m.def("entropy_of_labels", &uq::entropy_of_labels, py::arg("labels"));
  m.def("kernel_matrix",
        [](const uq::Matrix& e, const std::string& kernel, std::optional<double> gamma) {
          return uq::kernel_matrix(e, kernel_of(kernel), gamma);
        },
        py::arg("embeddings"), py::arg("kernel") = "cosine", py::arg("gamma") = py::none());
  m.def("density_matrix_from_kernel", &uq::density_matrix_from_kernel, py::arg("kernel"));
  m.def("von_neumann_entropy", &uq::von_neumann_entropy, py::arg("rho"), py::arg("eps") = 1e-10);
  m.def("kernel_language_entropy",
        [](const uq::Matrix& e, const std::string& kernel, std::optional<double> gamma) {
          return uq::kernel_language_entropy(e, kernel_of(kernel), gamma);
        },
        py::arg("embeddings"), py::arg("kernel") = "cosine", py::arg("gamma") = py::none());
  m.def("train_probe", &uq::train_probe, py::arg("hidden_states"), py::arg("target_entropy"),
        py::arg("ridge_alpha") = 1.0);
  m.def("predict_semantic_entropy", &uq::predict_semantic_entropy, py::arg("hidden_states"),
        py::arg("probe"));
  m.def("save_probe", &uq::save_probe, py::arg("path"), py::arg("probe"));
  m.def("load_probe", &uq::load_probe, py::arg("path"));
}
