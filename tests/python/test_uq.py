"""aswarm.uq against the numbers the seed's own uq functions computed on the same inputs
(tests/unit/data/uq_seed_reference.json, made by tests/unit/data/make_uq_reference.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import aswarm
from aswarm import uq

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "unit" / "data" / "uq_seed_reference.json").read_text())
TOL = 1e-9


def close(a, b):
    return math.isclose(a, b, rel_tol=0, abs_tol=TOL)


@pytest.mark.parametrize("case", REFERENCE["cluster"], ids=lambda c: c["name"])
def test_clusters_and_semantic_entropy_match_the_seed(case):
    labels = uq.cluster_embeddings(case["embeddings"], case["threshold"], method=case["method"])
    assert labels == case["labels"]
    assert close(uq.semantic_entropy(case["embeddings"], similarity_threshold=case["threshold"],
                                     method=case["method"]), case["entropy"])
    assert close(uq.entropy_of_labels(labels), case["entropy"])


@pytest.mark.parametrize("case", REFERENCE["kle"], ids=lambda c: c["name"])
def test_kernel_language_entropy_matches_the_seed(case):
    k = uq.kernel_matrix(case["embeddings"], kernel=case["kernel"], gamma=case["gamma"])
    assert len(k) == len(case["kernel_matrix"])
    for row, want in zip(k, case["kernel_matrix"]):
        assert all(close(a, b) for a, b in zip(row, want, strict=True))
    assert close(uq.kernel_language_entropy(case["embeddings"], case["kernel"], case["gamma"]),
                 case["entropy"])


def test_density_and_von_neumann_match_the_seed():
    d = REFERENCE["density"][0]
    rho = uq.density_matrix_from_kernel(d["kernel"])
    assert all(close(a, b) for r, w in zip(rho, d["rho"]) for a, b in zip(r, w, strict=True))
    v = REFERENCE["von_neumann"][0]
    assert close(uq.von_neumann_entropy(v["rho"]), v["entropy"])


def test_probe_trains_predicts_and_round_trips_through_a_file(tmp_path):
    train = next(c for c in REFERENCE["probe"] if "y" in c)
    probe = uq.train_probe(train["x"], train["y"], ridge_alpha=train["alpha"])
    assert all(close(a, b) for a, b in zip(probe.coef, train["coef"], strict=True))
    assert close(probe.intercept, train["intercept"])
    pred = uq.predict_semantic_entropy(train["x"], probe)
    assert all(close(a, b) for a, b in zip(pred, train["predictions"], strict=True))

    fixed = next(c for c in REFERENCE["probe"] if "y" not in c)
    made = uq.Probe(fixed["coef"], fixed["intercept"], metadata={"model": "m", "layer": [3, 4]})
    path = tmp_path / "sub" / "probe.json"
    uq.save_probe(path, made)
    loaded = uq.load_probe(str(path))
    assert loaded.coef == fixed["coef"] and loaded.intercept == fixed["intercept"]
    assert loaded.metadata == {"model": "m", "layer": [3, 4]}
    pred = uq.predict_semantic_entropy(fixed["x"], loaded)
    assert all(close(a, b) for a, b in zip(pred, fixed["predictions"], strict=True))


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="method"):
        uq.semantic_entropy([[1.0, 0.0]], method="ward")
    with pytest.raises(ValueError, match="kernel"):
        uq.kernel_language_entropy([[1.0, 0.0]], kernel="linear")
    with pytest.raises(ValueError):  # ragged rows
        uq.semantic_entropy([[1.0, 0.0], [1.0]])
    with pytest.raises(ValueError):  # a row of the wrong length for the probe
        uq.predict_semantic_entropy([[1.0]], uq.Probe([1.0, 2.0]))
    with pytest.raises(Exception, match="nothing.json"):
        uq.load_probe(tmp_path / "nothing.json")


def test_uq_is_reachable_from_aswarm():
    assert aswarm.uq.semantic_entropy is uq.semantic_entropy
