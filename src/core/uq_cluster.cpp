// Semantic entropy: cosine distances, agglomerative clustering and the flat cut, following
// scipy step by step so that labels (not only the partition) are the seed's:
//  - linkage(): complete and average by the nearest-neighbour chain of scipy's nn_chain, then
//    a stable sort by distance and the relabelling of clusters n, n+1, ... in merge order
//    (smaller root first). Single linkage is scipy's mst_single_linkage (Prim's walk from
//    point 0), whose tree differs from the chain's when distances tie;
//  - fcluster(criterion="distance"): every node's largest merge distance below it, then a
//    depth-first walk from the root, left child first, numbering a subtree whose largest
//    distance is within the cut as one cluster and every other leaf as its own.

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "swarm/uq.hpp"
#include "uq_internal.hpp"

namespace swarm::uq {
namespace {

struct Merge {
  std::size_t left = 0;
  std::size_t right = 0;
  double distance = 0.0;
};

// Index of (i, j), i != j, in the condensed (upper-triangle, row-major) distance vector.
std::size_t condensed(std::size_t n, std::size_t i, std::size_t j) {
  if (i > j) std::swap(i, j);
  return n * i - (i * (i + 1)) / 2 + (j - i - 1);
}

double updated_distance(Linkage method, double d_xi, double d_yi, std::size_t nx,
                        std::size_t ny) {
  switch (method) {
    case Linkage::single:
      return std::min(d_xi, d_yi);
    case Linkage::complete:
      return std::max(d_xi, d_yi);
    case Linkage::average:
      break;
  }
  const auto fx = static_cast<double>(nx);
  const auto fy = static_cast<double>(ny);
  return (fx * d_xi + fy * d_yi) / (fx + fy);
}

// The nearest-neighbour chain; merges in the order found, clusters named by a member slot.
std::vector<Merge> nn_chain(std::vector<double> d, std::size_t n, Linkage method) {
  std::vector<std::size_t> size(n, 1);
  std::vector<std::size_t> chain;
  chain.reserve(n);
  std::vector<Merge> merges;
  merges.reserve(n - 1);
  std::size_t y = 0;
  for (std::size_t k = 0; k + 1 < n; ++k) {
    if (chain.empty()) {
      chain.push_back(static_cast<std::size_t>(
          std::find_if(size.begin(), size.end(), [](std::size_t s) { return s > 0; }) -
          size.begin()));
    }
    std::size_t x = 0;
    double current = 0.0;
    for (;;) {
      x = chain.back();
      // Prefer the previous chain element on ties, so the chain cannot cycle.
      if (chain.size() > 1) {
        y = chain[chain.size() - 2];
        current = d[condensed(n, x, y)];
      } else {
        current = std::numeric_limits<double>::infinity();
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (size[i] == 0 || i == x) continue;
        const double dist = d[condensed(n, x, i)];
        if (dist < current) {
          current = dist;
          y = i;
        }
      }
      if (chain.size() > 1 && y == chain[chain.size() - 2]) break;
      chain.push_back(y);
    }
    chain.resize(chain.size() - 2);
    if (x > y) std::swap(x, y);
    const std::size_t nx = size[x];
    const std::size_t ny = size[y];
    merges.push_back({x, y, current});
    size[x] = 0;
    size[y] = nx + ny;
    for (std::size_t i = 0; i < n; ++i) {
      if (size[i] == 0 || i == y) continue;
      d[condensed(n, i, y)] =
          updated_distance(method, d[condensed(n, i, x)], d[condensed(n, i, y)], nx, ny);
    }
  }
  return merges;
}

// scipy's mst_single_linkage: grow from point 0, each step joining the nearest outside point.
std::vector<Merge> mst_single(const std::vector<double>& d, std::size_t n) {
  std::vector<bool> merged(n, false);
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  std::vector<Merge> merges;
  merges.reserve(n - 1);
  std::size_t x = 0;
  std::size_t y = 0;
  for (std::size_t k = 0; k + 1 < n; ++k) {
    double current = std::numeric_limits<double>::infinity();
    merged[x] = true;
    for (std::size_t i = 0; i < n; ++i) {
      if (merged[i]) continue;
      nearest[i] = std::min(nearest[i], d[condensed(n, x, i)]);
      if (nearest[i] < current) {
        y = i;
        current = nearest[i];
      }
    }
    merges.push_back({x, y, current});
    x = y;
  }
  return merges;
}

// scipy's label(): after sorting, clusters are renamed n + row, found through a union-find.
void relabel(std::vector<Merge>& merges, std::size_t n) {
  std::vector<std::size_t> parent(2 * n - 1);
  std::iota(parent.begin(), parent.end(), std::size_t{0});
  const auto find = [&](std::size_t x) {
    std::size_t root = x;
    while (parent[root] != root) root = parent[root];
    while (parent[x] != root) x = std::exchange(parent[x], root);
    return root;
  };
  std::size_t next = n;
  for (Merge& m : merges) {
    const std::size_t a = find(m.left);
    const std::size_t b = find(m.right);
    m.left = std::min(a, b);
    m.right = std::max(a, b);
    parent[a] = next;
    parent[b] = next;
    ++next;
  }
}

std::vector<std::int64_t> cut_at(const std::vector<Merge>& z, std::size_t n, double cutoff) {
  std::vector<double> max_dist(n - 1);
  for (std::size_t i = 0; i < z.size(); ++i) {
    double m = z[i].distance;
    for (const std::size_t child : {z[i].left, z[i].right}) {
      if (child >= n) m = std::max(m, max_dist[child - n]);
    }
    max_dist[i] = m;
  }
  std::vector<std::int64_t> labels(n, 0);
  std::vector<bool> visited(2 * n - 1, false);
  std::vector<std::size_t> stack{2 * n - 2};
  std::int64_t clusters = 0;
  // The node whose subtree is the cluster being numbered; kNone outside one.
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::size_t leader = kNone;
  while (!stack.empty()) {
    const std::size_t node = stack.back() - n;
    if (leader == kNone && max_dist[node] <= cutoff) {
      leader = node;
      ++clusters;
    }
    // Both subtrees first (left, then right); a node's own leaves are numbered on the way back.
    const auto descend = [&](std::size_t child) {
      if (child < n || visited[child]) return false;
      visited[child] = true;
      stack.push_back(child);
      return true;
    };
    if (descend(z[node].left) || descend(z[node].right)) continue;
    for (const std::size_t child : {z[node].left, z[node].right}) {
      if (child >= n) continue;
      if (leader == kNone) ++clusters;  // a leaf alone
      labels[child] = clusters;
    }
    if (leader == node) leader = kNone;
    stack.pop_back();
  }
  return labels;
}

}  // namespace

std::vector<std::int64_t> cluster_embeddings(const Matrix& embeddings,
                                             double similarity_threshold, Linkage method) {
  const std::size_t n = embeddings.size();
  if (n == 0) return {};
  if (n == 1) return {1};
  const Matrix unit = detail::unit_rows(embeddings);
  std::vector<double> d;
  d.reserve(n * (n - 1) / 2);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const double dist = 1.0 - std::clamp(detail::dot(unit[i], unit[j]), -1.0, 1.0);
      // scipy's linkage refuses these; a NaN would make every comparison below false.
      if (!std::isfinite(dist)) {
        throw std::invalid_argument("cluster_embeddings: the embeddings hold non-finite values");
      }
      d.push_back(dist);
    }
  }
  std::vector<Merge> z = method == Linkage::single ? mst_single(d, n) : nn_chain(std::move(d), n, method);
  std::stable_sort(z.begin(), z.end(),
                   [](const Merge& a, const Merge& b) { return a.distance < b.distance; });
  relabel(z, n);
  return cut_at(z, n, 1.0 - similarity_threshold);
}

double entropy_of_labels(const std::vector<std::int64_t>& labels) {
  if (labels.size() <= 1) return 0.0;
  std::map<std::int64_t, std::size_t> counts;  // ordered, as np.unique sums them
  for (const std::int64_t label : labels) ++counts[label];
  const auto n = static_cast<double>(labels.size());
  double h = 0.0;
  for (const auto& [label, count] : counts) {
    const double p = std::max(static_cast<double>(count) / n, 1e-12);
    h -= p * std::log(p);
  }
  return h;
}

double semantic_entropy(const Matrix& embeddings, double similarity_threshold, Linkage method) {
  if (embeddings.size() <= 1) return 0.0;
  return entropy_of_labels(cluster_embeddings(embeddings, similarity_threshold, method));
}

}  // namespace swarm::uq
