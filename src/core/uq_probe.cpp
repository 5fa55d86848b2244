// The semantic entropy probe: ridge regression in closed form (numpy.linalg.solve is LU with
// partial pivoting, as Eigen's PartialPivLU; lstsq's minimum-norm answer is an SVD's), and its
// file.

#include <Eigen/Dense>
#include <Eigen/SVD>

#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "swarm/file_error.hpp"
#include "swarm/json_limits.hpp"
#include "swarm/uq.hpp"
#include "uq_internal.hpp"

namespace swarm::uq {

Probe train_probe(const Matrix& hidden_states, const std::vector<double>& target_entropy,
                  double ridge_alpha) {
  if (hidden_states.size() != target_entropy.size()) {
    throw std::invalid_argument("hidden_states and target_entropy must have same length");
  }
  const auto n = static_cast<Eigen::Index>(hidden_states.size());
  const auto d = static_cast<Eigen::Index>(detail::columns_of(hidden_states, "hidden_states"));
  Eigen::MatrixXd a(n, d + 1);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, 0) = 1.0;
    for (Eigen::Index j = 0; j < d; ++j) {
      a(i, j + 1) = hidden_states[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    }
    y(i) = target_entropy[static_cast<std::size_t>(i)];
  }
  Eigen::MatrixXd ata = a.transpose() * a;
  ata.diagonal().array() += ridge_alpha;
  const Eigen::VectorXd aty = a.transpose() * y;
  const Eigen::PartialPivLU<Eigen::MatrixXd> lu(ata);
  Eigen::VectorXd beta;
  // LAPACK's gesv fails (numpy raises LinAlgError) exactly when a pivot is zero.
  if ((lu.matrixLU().diagonal().array() == 0.0).any()) {
    Eigen::BDCSVD<Eigen::MatrixXd> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    // lstsq(rcond=None): singular values below eps * max(rows, columns) * the largest are 0.
    svd.setThreshold(std::numeric_limits<double>::epsilon() *
                     static_cast<double>(std::max(n, d + 1)));
    beta = svd.solve(y);
  } else {
    beta = lu.solve(aty);
  }
  Probe probe;
  probe.intercept = beta(0);
  probe.coef.assign(beta.data() + 1, beta.data() + beta.size());
  return probe;
}

std::vector<double> predict_semantic_entropy(const Matrix& hidden_states, const Probe& probe) {
  std::vector<double> out;
  out.reserve(hidden_states.size());
  for (const auto& row : hidden_states) {
    if (row.size() != probe.coef.size()) {
      throw std::invalid_argument(fmt::format(
          "predict_semantic_entropy: a row has {} features, the probe {}", row.size(),
          probe.coef.size()));
    }
    out.push_back(detail::dot(row, probe.coef) + probe.intercept);
  }
  return out;
}

void save_probe(const std::filesystem::path& path, const Probe& probe) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const nlohmann::json doc = {
      {"coef", probe.coef}, {"intercept", probe.intercept}, {"metadata", probe.metadata}};
  std::ofstream out(path, std::ios::trunc);
  // nlohmann writes each double in its shortest form that reads back as the same double.
  out << doc.dump(2) << '\n';
  out.close();
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write the probe", path.string()));
}

Probe load_probe(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw FileError(path.string(), 0, "cannot open the probe file");
  std::ostringstream text;
  text << in.rdbuf();
  JsonFault fault;
  const nlohmann::json doc = parse_json_limited(text.str(), fault);
  const auto bad = [&](const std::string& reason) { return FileError(path.string(), 0, reason); };
  if (doc.is_discarded() || !doc.is_object()) throw bad("not a JSON object");
  if (!doc.contains("coef") || !doc["coef"].is_array()) throw bad("\"coef\" must be a list");
  if (!doc.contains("intercept") || !doc["intercept"].is_number()) {
    throw bad("\"intercept\" must be a number");
  }
  Probe probe;
  for (const auto& x : doc["coef"]) {
    if (!x.is_number()) throw bad("\"coef\" holds a non-number");
    probe.coef.push_back(x.get<double>());
  }
  probe.intercept = doc["intercept"].get<double>();
  probe.metadata = doc.value("metadata", nlohmann::json());
  return probe;
}

}  // namespace swarm::uq
