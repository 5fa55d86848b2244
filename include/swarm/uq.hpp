#pragma once
/// @file uq.hpp
/// Semantic uncertainty of a set of sampled answers (the seed's `aurora_swarm.uq`): semantic
/// entropy over clusters of their embeddings, kernel language entropy (von Neumann entropy of
/// a kernel's density matrix) and a linear probe (ridge regression) that predicts semantic
/// entropy from one hidden state. Every function gives the seed's numbers on the same inputs
/// (numpy / scipy semantics, within rounding); tests/unit/test_uq.cpp checks them against
/// values the seed computed (tests/unit/data/uq_seed_reference.json).
///
/// Matrices are row-major vectors of rows: one row per answer (or per training prompt). Rows of
/// different lengths, and non-finite distances where the seed's scipy refuses them, throw
/// std::invalid_argument. Entropies are in nats.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::uq {

/// Rows of doubles: one embedding per row, or a square kernel or density matrix.
using Matrix = std::vector<std::vector<double>>;

/// How two clusters' distance follows from their members' (scipy's linkage methods).
enum class Linkage : std::uint8_t { single, complete, average };

/// Flat cluster label per row (1..C) by agglomerative clustering of cosine distances
/// (1 - cosine similarity, a zero vector being at distance 1 from everything), cut where the
/// distance exceeds 1 - similarity_threshold: scipy's `fcluster(linkage(d, method), t,
/// "distance")`, including its numbering (clusters numbered in the tree's depth-first order).
/// No rows: no labels; one row: {1}.
std::vector<std::int64_t> cluster_embeddings(const Matrix& embeddings,
                                             double similarity_threshold = 0.9,
                                             Linkage method = Linkage::average);

/// -sum_c p_c log p_c over those clusters (p_c = cluster size / rows); 0 for at most one row.
double semantic_entropy(const Matrix& embeddings, double similarity_threshold = 0.9,
                        Linkage method = Linkage::average);

/// The entropy semantic_entropy() gives for these labels (each p clamped at 1e-12 as the seed
/// does); for callers that already clustered. 0 for at most one label.
double entropy_of_labels(const std::vector<std::int64_t>& labels);

/// The similarity behind kernel language entropy: cosine similarity or a Gaussian (RBF).
enum class Kernel : std::uint8_t { cosine, rbf };

/// The n x n kernel: cosine similarities clipped to [-1, 1] (zero rows stay zero), or
/// exp(-gamma * squared distance) with gamma = 1 / columns by default (1 for zero columns).
Matrix kernel_matrix(const Matrix& embeddings, Kernel kernel = Kernel::cosine,
                     std::optional<double> gamma = std::nullopt);

/// K / trace(K); by the sum of K when the trace is not positive, and K itself when neither is.
Matrix density_matrix_from_kernel(const Matrix& kernel);

/// -sum l log l over the eigenvalues l of the symmetric `rho` (its lower triangle is read, as
/// numpy's eigvalsh does), clamped at `eps`, renormalised and clamped again. Throws
/// std::invalid_argument for a non-square matrix.
double von_neumann_entropy(const Matrix& rho, double eps = 1e-10);

/// von_neumann_entropy(density_matrix_from_kernel(kernel_matrix(...))); 0 for at most one row.
double kernel_language_entropy(const Matrix& embeddings, Kernel kernel = Kernel::cosine,
                               std::optional<double> gamma = std::nullopt);

/// A linear probe: predicted entropy = coef . x + intercept.
struct Probe {
  std::vector<double> coef;  ///< One weight per feature.
  double intercept = 0.0;    ///< Added to coef . x.
  nlohmann::json metadata;   ///< null when none was saved
};

/// Ridge regression with an intercept column, closed form: (A'A + alpha I)^-1 A'y with
/// A = [1 | X] (the intercept is regularised too, as in the seed); least squares (minimum norm)
/// when that system is exactly singular. Throws std::invalid_argument when X and y differ in
/// length.
Probe train_probe(const Matrix& hidden_states, const std::vector<double>& target_entropy,
                  double ridge_alpha = 1.0);

/// One prediction per row. Throws std::invalid_argument when a row's length is not coef's.
std::vector<double> predict_semantic_entropy(const Matrix& hidden_states, const Probe& probe);

/// Writes the probe as JSON {"coef": [...], "intercept": x, "metadata": ...} (the seed writes
/// an .npz plus a sidecar .json; one JSON file needs no zip reader), creating the parent
/// directory. Throws std::runtime_error naming the path.
void save_probe(const std::filesystem::path& path, const Probe& probe);

/// Reads save_probe()'s file. Throws swarm::FileError (path and reason) for a missing file or
/// a malformed probe.
Probe load_probe(const std::filesystem::path& path);

}  // namespace swarm::uq
