#pragma once
// Internal to the uq sources: row helpers shared by the clustering and the kernels.

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "swarm/uq.hpp"

namespace swarm::uq::detail {

/// Throws std::invalid_argument unless every row has the first row's length.
inline std::size_t columns_of(const Matrix& m, const char* what) {
  const std::size_t d = m.empty() ? 0 : m.front().size();
  for (const auto& row : m) {
    if (row.size() != d) {
      throw std::invalid_argument(std::string(what) + ": rows of different lengths");
    }
  }
  return d;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

/// Each row divided by its Euclidean norm; zero rows are kept (the seed divides them by 1).
inline Matrix unit_rows(const Matrix& m) {
  columns_of(m, "embeddings");
  Matrix out = m;
  for (auto& row : out) {
    const double norm = std::sqrt(dot(row, row));
    if (norm == 0.0) continue;
    for (double& x : row) x /= norm;
  }
  return out;
}

}  // namespace swarm::uq::detail
