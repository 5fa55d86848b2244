"""aswarm.uq: semantic uncertainty of sampled answers, computed in C++ (swarm::uq) with the
seed's numbers (scipy's linkage and fcluster, numpy's eigvalsh semantics, within rounding).

Matrices are sequences of rows (lists or tuples of floats; one row per answer's embedding or
per training prompt's hidden state). Ragged rows or mismatched lengths raise ValueError.
Entropies are in nats. Probes are saved as one JSON file (coef, intercept, metadata)."""

from aswarm._core import uq as _uq

Probe = _uq.Probe
cluster_embeddings = _uq.cluster_embeddings
semantic_entropy = _uq.semantic_entropy
entropy_of_labels = _uq.entropy_of_labels
kernel_matrix = _uq.kernel_matrix
density_matrix_from_kernel = _uq.density_matrix_from_kernel
von_neumann_entropy = _uq.von_neumann_entropy
kernel_language_entropy = _uq.kernel_language_entropy
train_probe = _uq.train_probe
predict_semantic_entropy = _uq.predict_semantic_entropy
save_probe = _uq.save_probe
load_probe = _uq.load_probe

__all__ = [
    "Probe", "cluster_embeddings", "density_matrix_from_kernel", "entropy_of_labels",
    "kernel_language_entropy", "kernel_matrix", "load_probe", "predict_semantic_entropy",
    "save_probe", "semantic_entropy", "train_probe", "von_neumann_entropy",
]
