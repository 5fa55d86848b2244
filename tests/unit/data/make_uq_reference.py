#!/usr/bin/env python3
"""Writes uq_seed_reference.json: inputs and the Python seed's own answers for them.

Usage: make_uq_reference.py SEED_CHECKOUT > uq_seed_reference.json
SEED_CHECKOUT is a checkout of the Python seed (Aurora-Swarm); its aurora_swarm/uq modules are
loaded from their files (the package's __init__ needs the HTTP stack) and called on the inputs
of its tests/test_uq.py plus clustering and kernel cases with ties, zero rows and several cuts.
Needs numpy and scipy (Debian: python3-numpy python3-scipy). The C++ tests read only the JSON.
"""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np


def load(root, name):
    spec = importlib.util.spec_from_file_location(name, Path(root) / "aurora_swarm" / "uq" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(a):
    return [[float(x) for x in row] for row in np.asarray(a, dtype=np.float64)]


def main():
    root = sys.argv[1]
    se = load(root, "semantic_entropy")
    kle = load(root, "kle")
    probes = load(root, "probes")
    out = {"cluster": [], "kle": [], "von_neumann": [], "density": [], "probe": []}

    def cluster_case(name, emb, threshold, method="average"):
        labels = se.cluster_embeddings(emb, similarity_threshold=threshold, method=method)
        h = se.semantic_entropy(emb, similarity_threshold=threshold, linkage_method=method)
        out["cluster"].append({"name": name, "embeddings": rows(emb), "threshold": threshold,
                               "method": method, "labels": [int(x) for x in labels],
                               "entropy": float(h)})

    def kle_case(name, emb, kernel="cosine", gamma=None):
        kw = {} if gamma is None else {"gamma": gamma}
        h = kle.kernel_language_entropy(emb, kernel=kernel, **kw)
        k = kle.kernel_matrix(emb, kernel=kernel, **kw) if emb.shape[0] > 0 else np.zeros((0, 0))
        out["kle"].append({"name": name, "embeddings": rows(emb), "kernel": kernel,
                           "gamma": gamma, "kernel_matrix": rows(k), "entropy": float(h)})

    # test_uq.py's cases.
    np.random.seed(0)
    single = np.random.randn(1, 8)
    cluster_case("test_semantic_entropy_single_sample", single, 0.9)
    n, d = 10, 16
    c0 = np.zeros((n, d)); c0[:, 0] = 1.0
    c1 = np.zeros((n, d)); c1[:, 1] = 1.0
    two = np.vstack([c0, c1])
    cluster_case("test_semantic_entropy_two_equal_clusters/two", two, 0.5)
    cluster_case("test_semantic_entropy_two_equal_clusters/one", np.tile(two[:1], (2 * n, 1)), 0.99)
    cluster_case("test_cluster_embeddings_shape", np.random.randn(6, 4), 0.9)
    kle_case("test_kernel_language_entropy_single_sample", single)
    kle_case("test_kle_two_samples", np.eye(2))
    p = 0.3
    rho = np.diag([p, 1.0 - p])
    out["von_neumann"].append({"name": "test_von_neumann_entropy_known", "rho": rows(rho),
                               "entropy": float(kle.von_neumann_entropy(rho))})
    k = np.array([[1.0, 0.5], [0.5, 1.0]])
    out["density"].append({"name": "test_density_matrix_trace_one", "kernel": rows(k),
                           "rho": rows(kle.density_matrix_from_kernel(k))})

    np.random.seed(42)
    x = np.random.randn(20, 5)
    true_coef = np.random.randn(5)
    y = x @ true_coef + 1.5 + 0.01 * np.random.randn(20)
    coef, intercept = probes.train_probe(x, y, ridge_alpha=0.01)
    out["probe"].append({"name": "test_train_probe_linear", "x": rows(x), "y": [float(v) for v in y],
                         "alpha": 0.01, "coef": [float(c) for c in coef], "intercept": intercept,
                         "predictions": [float(v) for v in probes.predict_semantic_entropy(x, coef, intercept)]})
    xs = np.random.randn(4, 3)
    c = np.array([1.0, -0.5, 0.2])
    out["probe"].append({"name": "test_save_load_probe", "x": rows(xs), "coef": [float(v) for v in c],
                         "intercept": 0.3,
                         "predictions": [float(v) for v in probes.predict_semantic_entropy(xs, c, 0.3)]})
    # Beyond test_uq.py: noisy centres (cuts inside and between them), ties, zero rows.
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(4, 8))
    noisy = np.vstack([centres[i % 4] + 0.15 * rng.normal(size=8) for i in range(30)])
    for method in ("average", "complete", "single"):
        for t in (0.3, 0.8, 0.9, 0.97):
            cluster_case(f"noisy/{method}/{t}", noisy, t, method)
    dup = np.vstack([centres[[0, 1, 0, 2, 1, 0, 3, 3]]])
    for method in ("average", "complete", "single"):
        cluster_case(f"duplicates/{method}", dup, 0.9, method)
    zeros = np.vstack([np.zeros(4), np.zeros(4), [1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1, 0, 0]])
    cluster_case("zero_rows", zeros, 0.9)
    cluster_case("identical", np.tile(centres[:1], (5, 1)), 0.9)
    cluster_case("two_rows_apart", centres[:2], 0.9)
    cluster_case("negative_threshold", noisy[:9], -0.5)
    for name, emb in (("noisy", noisy[:12]), ("duplicates", dup), ("zero_rows", zeros),
                      ("identical", np.tile(centres[:1], (5, 1)))):
        kle_case(f"{name}/cosine", emb)
        kle_case(f"{name}/rbf", emb, "rbf")
        kle_case(f"{name}/rbf/0.5", emb, "rbf", 0.5)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
