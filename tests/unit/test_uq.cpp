// swarm::uq against the Python seed: every case of its tests/test_uq.py (same inputs) and the
// extra clustering and kernel cases of data/make_uq_reference.py, compared with the numbers the
// seed's own functions gave (data/uq_seed_reference.json), plus degenerate inputs.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "swarm/file_error.hpp"
#include "swarm/uq.hpp"

namespace {

using nlohmann::json;
using swarm::uq::Kernel;
using swarm::uq::Linkage;
using swarm::uq::Matrix;

constexpr double kTol = 1e-9;

const json& reference() {
  static const json doc = [] {
    std::ifstream in(ASWARM_UQ_REFERENCE);
    return json::parse(in);
  }();
  return doc;
}

Matrix matrix(const json& rows) { return rows.get<Matrix>(); }

Linkage linkage(const std::string& name) {
  if (name == "single") return Linkage::single;
  if (name == "complete") return Linkage::complete;
  return Linkage::average;
}

void expect_near_matrix(const Matrix& got, const json& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size());
    for (std::size_t j = 0; j < got[i].size(); ++j) {
      EXPECT_NEAR(got[i][j], want[i][j].get<double>(), kTol) << i << "," << j;
    }
  }
}

TEST(UqSeed, ClusterLabelsAndEntropyMatchTheSeed) {
  ASSERT_GE(reference()["cluster"].size(), 20U);
  for (const json& c : reference()["cluster"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Matrix emb = matrix(c["embeddings"]);
    const double t = c["threshold"];
    const Linkage m = linkage(c["method"]);
    EXPECT_EQ(swarm::uq::cluster_embeddings(emb, t, m), c["labels"].get<std::vector<std::int64_t>>());
    EXPECT_NEAR(swarm::uq::semantic_entropy(emb, t, m), c["entropy"].get<double>(), kTol);
  }
}

TEST(UqSeed, TwoEqualClustersGiveLnTwo) {
  // test_semantic_entropy_two_equal_clusters's assertions, on top of the seed's numbers.
  Matrix two(20, std::vector<double>(16, 0.0));
  for (std::size_t i = 0; i < 20; ++i) two[i][i < 10 ? 0 : 1] = 1.0;
  const double h_two = swarm::uq::semantic_entropy(two, 0.5);
  const double h_one = swarm::uq::semantic_entropy(Matrix(20, two[0]), 0.99);
  EXPECT_GT(h_two, h_one);
  EXPECT_NEAR(h_two, std::log(2.0), kTol);
  EXPECT_EQ(h_one, 0.0);
}

TEST(UqSeed, KernelMatricesAndKleMatchTheSeed) {
  ASSERT_GE(reference()["kle"].size(), 10U);
  for (const json& c : reference()["kle"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const Matrix emb = matrix(c["embeddings"]);
    const Kernel k = c["kernel"] == "rbf" ? Kernel::rbf : Kernel::cosine;
    const std::optional<double> gamma =
        c["gamma"].is_null() ? std::nullopt : std::optional<double>(c["gamma"].get<double>());
    expect_near_matrix(swarm::uq::kernel_matrix(emb, k, gamma), c["kernel_matrix"]);
    EXPECT_NEAR(swarm::uq::kernel_language_entropy(emb, k, gamma), c["entropy"].get<double>(),
                kTol);
  }
}

TEST(UqSeed, VonNeumannAndDensityMatchTheSeed) {
  for (const json& c : reference()["von_neumann"]) {
    EXPECT_NEAR(swarm::uq::von_neumann_entropy(matrix(c["rho"])), c["entropy"].get<double>(),
                kTol);
  }
  const double p = 0.3;
  EXPECT_NEAR(swarm::uq::von_neumann_entropy({{p, 0.0}, {0.0, 1.0 - p}}),
              -p * std::log(p) - (1 - p) * std::log(1 - p), 1e-10);
  for (const json& c : reference()["density"]) {
    const Matrix rho = swarm::uq::density_matrix_from_kernel(matrix(c["kernel"]));
    expect_near_matrix(rho, c["rho"]);
    EXPECT_NEAR(rho[0][0] + rho[1][1], 1.0, 1e-10);
  }
}

TEST(UqSeed, ProbesMatchTheSeed) {
  for (const json& c : reference()["probe"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    swarm::uq::Probe probe{c["coef"].get<std::vector<double>>(), c["intercept"].get<double>(), {}};
    if (c.contains("y")) {
      probe = swarm::uq::train_probe(matrix(c["x"]), c["y"].get<std::vector<double>>(),
                                     c["alpha"].get<double>());
      ASSERT_EQ(probe.coef.size(), c["coef"].size());
      for (std::size_t i = 0; i < probe.coef.size(); ++i) {
        EXPECT_NEAR(probe.coef[i], c["coef"][i].get<double>(), kTol) << i;
      }
      EXPECT_NEAR(probe.intercept, c["intercept"].get<double>(), kTol);
    }
    const auto pred = swarm::uq::predict_semantic_entropy(matrix(c["x"]), probe);
    ASSERT_EQ(pred.size(), c["predictions"].size());
    for (std::size_t i = 0; i < pred.size(); ++i) {
      EXPECT_NEAR(pred[i], c["predictions"][i].get<double>(), kTol) << i;
    }
  }
}

TEST(UqProbe, ExactlySingularSystemFallsBackToMinimumNormLeastSquares) {
  // alpha 0 and an all-zero feature: A'A has a zero row, LU meets a zero pivot (numpy's solve
  // raises LinAlgError there and the seed calls lstsq), and the minimum-norm answer gives the
  // dead feature no weight.
  const Matrix x = {{1.0, 0.0}, {2.0, 0.0}, {3.0, 0.0}, {4.0, 0.0}};
  const auto probe = swarm::uq::train_probe(x, {3.0, 5.0, 7.0, 9.0}, 0.0);
  ASSERT_EQ(probe.coef.size(), 2U);
  EXPECT_NEAR(probe.coef[0], 2.0, kTol);
  EXPECT_NEAR(probe.coef[1], 0.0, kTol);
  EXPECT_NEAR(probe.intercept, 1.0, kTol);
}

TEST(UqSeed, PredictOneRow) {
  const auto out = swarm::uq::predict_semantic_entropy({{1.0, 2.0}}, {{0.1, 0.2}, 0.0, {}});
  ASSERT_EQ(out.size(), 1U);
  EXPECT_NEAR(out[0], 0.5, 1e-10);
  EXPECT_THROW((void)swarm::uq::predict_semantic_entropy({{1.0}}, {{0.1, 0.2}, 0.0, {}}),
               std::invalid_argument);
}

TEST(UqProbeFile, SaveLoadRoundTripsExactly) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("aswarm-uq-" + std::to_string(::getpid()));
  const auto path = dir / "sub" / "probe.json";
  const swarm::uq::Probe probe{{1.0, -0.5, 0.2, 1.0 / 3.0}, 0.3, json{{"version", 1}}};
  swarm::uq::save_probe(path, probe);
  const auto loaded = swarm::uq::load_probe(path);
  EXPECT_EQ(loaded.coef, probe.coef);  // bit for bit
  EXPECT_EQ(loaded.intercept, probe.intercept);
  EXPECT_EQ(loaded.metadata["version"], 1);
  std::ofstream(dir / "bad.json") << "{\"coef\": [1, \"x\"], \"intercept\": 0}";
  try {
    (void)swarm::uq::load_probe(dir / "bad.json");
    ADD_FAILURE() << "a probe with a non-number loaded";
  } catch (const swarm::FileError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json: \"coef\" holds a non-number"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)swarm::uq::load_probe(dir / "missing.json"), swarm::FileError);
  std::filesystem::remove_all(dir);
}

TEST(UqDegenerate, NoRowsOneRowIdenticalRowsZeroVectors) {
  EXPECT_TRUE(swarm::uq::cluster_embeddings({}).empty());
  EXPECT_EQ(swarm::uq::semantic_entropy({}), 0.0);
  EXPECT_EQ(swarm::uq::kernel_language_entropy({}), 0.0);
  EXPECT_EQ(swarm::uq::cluster_embeddings({{0.3, 0.4}}), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(swarm::uq::semantic_entropy({{0.3, 0.4}}), 0.0);
  EXPECT_EQ(swarm::uq::kernel_language_entropy({{0.3, 0.4}}), 0.0);
  const Matrix same(6, {0.3, -0.4, 1.0});
  EXPECT_EQ(swarm::uq::cluster_embeddings(same), std::vector<std::int64_t>(6, 1));
  EXPECT_EQ(swarm::uq::semantic_entropy(same), 0.0);
  // One eigenvalue 1, five clamped at 1e-10: the seed's ~1e-8, not an exact 0.
  EXPECT_LT(swarm::uq::kernel_language_entropy(same), 2e-8);
  EXPECT_GT(swarm::uq::kernel_language_entropy(same), 0.0);
  // Zero vectors are at distance 1 from everything, themselves included (scipy numbers these
  // 1, 2, 3: checked against it).
  const Matrix zeros(3, {0.0, 0.0});
  EXPECT_EQ(swarm::uq::cluster_embeddings(zeros), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_NEAR(swarm::uq::semantic_entropy(zeros), std::log(3.0), kTol);
  // Cosine kernel of zeros is all 0: trace and sum 0, rho = 0, eigenvalues all eps -> ln 3.
  EXPECT_NEAR(swarm::uq::kernel_language_entropy(zeros), std::log(3.0), kTol);
  // All-zero columns: rbf's gamma falls back to 1.
  EXPECT_EQ(swarm::uq::kernel_matrix({{}, {}}, Kernel::rbf), (Matrix{{1.0, 1.0}, {1.0, 1.0}}));
}

TEST(UqDegenerate, MisuseThrows) {
  EXPECT_THROW((void)swarm::uq::cluster_embeddings({{1.0, 0.0}, {1.0}}), std::invalid_argument);
  EXPECT_THROW((void)swarm::uq::cluster_embeddings({{1.0, NAN}, {1.0, 0.0}}),
               std::invalid_argument);
  EXPECT_THROW((void)swarm::uq::von_neumann_entropy({{1.0, 0.0}}), std::invalid_argument);
  EXPECT_THROW((void)swarm::uq::train_probe({{1.0}}, {1.0, 2.0}), std::invalid_argument);
}

TEST(UqLabels, EntropyOfLabelsCountsClusters) {
  EXPECT_EQ(swarm::uq::entropy_of_labels({3}), 0.0);
  EXPECT_NEAR(swarm::uq::entropy_of_labels({1, 2, 1, 2}), std::log(2.0), kTol);
  EXPECT_NEAR(swarm::uq::entropy_of_labels({1, 1, 2, 3}),
              -(0.5 * std::log(0.5) + 0.5 * std::log(0.25)), kTol);
}

}  // namespace
