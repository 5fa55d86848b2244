// Kernel language entropy: a kernel over the answers' embeddings, normalised to a density
// matrix, and its von Neumann entropy. Eigen's self-adjoint solver stands in for numpy's
// eigvalsh (LAPACK syevd); both read the lower triangle and agree to rounding.

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "swarm/uq.hpp"
#include "uq_internal.hpp"

namespace swarm::uq {
namespace {

Matrix cosine_kernel(const Matrix& embeddings) {
  const Matrix unit = detail::unit_rows(embeddings);
  const std::size_t n = unit.size();
  Matrix k(n, std::vector<double>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      k[i][j] = std::clamp(detail::dot(unit[i], unit[j]), -1.0, 1.0);
    }
  }
  return k;
}

Matrix rbf_kernel(const Matrix& embeddings, std::optional<double> gamma) {
  const std::size_t d = detail::columns_of(embeddings, "embeddings");
  const double g = gamma.value_or(d > 0 ? 1.0 / static_cast<double>(d) : 1.0);
  const std::size_t n = embeddings.size();
  std::vector<double> sq(n);
  for (std::size_t i = 0; i < n; ++i) sq[i] = detail::dot(embeddings[i], embeddings[i]);
  Matrix k(n, std::vector<double>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      // |a|^2 + |b|^2 - 2 a.b, as the seed computes it (rounding can make it negative).
      const double dist = std::max(sq[i] + sq[j] - 2.0 * detail::dot(embeddings[i], embeddings[j]),
                                   0.0);
      k[i][j] = std::exp(-g * dist);
    }
  }
  return k;
}

}  // namespace

Matrix kernel_matrix(const Matrix& embeddings, Kernel kernel, std::optional<double> gamma) {
  return kernel == Kernel::rbf ? rbf_kernel(embeddings, gamma) : cosine_kernel(embeddings);
}

Matrix density_matrix_from_kernel(const Matrix& kernel) {
  const std::size_t n = detail::columns_of(kernel, "kernel");
  if (n != kernel.size()) throw std::invalid_argument("kernel: the matrix is not square");
  double trace = 0.0;
  for (std::size_t i = 0; i < n; ++i) trace += kernel[i][i];
  if (trace <= 0.0) {
    trace = 0.0;
    for (const auto& row : kernel) {
      for (const double x : row) trace += x;
    }
  }
  if (trace <= 0.0) trace = 1.0;
  Matrix rho = kernel;
  for (auto& row : rho) {
    for (double& x : row) x /= trace;
  }
  return rho;
}

double von_neumann_entropy(const Matrix& rho, double eps) {
  const std::size_t n = detail::columns_of(rho, "rho");
  if (n != rho.size()) throw std::invalid_argument("rho: the matrix is not square");
  if (n == 0) return 0.0;
  Eigen::MatrixXd m(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rho[i][j];
    }
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(m, Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success) {
    throw std::invalid_argument("rho: the eigenvalues did not converge (non-finite entries?)");
  }
  Eigen::ArrayXd eigs = solver.eigenvalues().array().max(eps);
  eigs /= eigs.sum();
  eigs = eigs.max(eps);
  return -(eigs * eigs.log()).sum();
}

double kernel_language_entropy(const Matrix& embeddings, Kernel kernel,
                               std::optional<double> gamma) {
  if (embeddings.size() <= 1) return 0.0;
  return von_neumann_entropy(density_matrix_from_kernel(kernel_matrix(embeddings, kernel, gamma)));
}

}  // namespace swarm::uq
