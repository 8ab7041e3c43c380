#include "eval/tsne.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "engine/rng.h"
#include "engine/tensor.h"
#include "eval/lanes.h"
#include "eval/pca.h"

namespace cytocon::eval {

namespace {

// Below this many points loops run on one thread: a fork/join per iteration costs more than the
// work (and far more on a machine whose cores are busy).
constexpr int64_t kParallelPoints = 1024;

// p_{j|i} for one point: bisection on β so that the entropy H = log Σp + β·Σ d²p/Σp equals
// log(perplexity) (scikit-learn's _binary_search_perplexity: 100 steps, tolerance 1e-5).
void conditional_row(const double* d2, int64_t k, double perplexity, double* p) {
  const double target = std::log(perplexity);
  double beta = 1, lo = -INFINITY, hi = INFINITY;
  for (int step = 0; step < 100; ++step) {
    double sum = 0, dsum = 0;
    for (int64_t j = 0; j < k; ++j) {
      p[j] = std::exp(-d2[j] * beta);
      sum += p[j];
    }
    if (sum == 0) sum = 1e-8;
    for (int64_t j = 0; j < k; ++j) dsum += d2[j] * p[j];
    for (int64_t j = 0; j < k; ++j) p[j] /= sum;
    double diff = std::log(sum) + beta * dsum / sum - target;
    if (std::fabs(diff) <= 1e-5) break;
    if (diff > 0) {
      lo = beta;
      beta = hi == INFINITY ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = lo == -INFINITY ? beta / 2 : (beta + lo) / 2;
    }
  }
}

// The quadtree of Barnes-Hut: cells split into four; a leaf holds one point, or several that
// coincide (or sit at the depth limit), linked through `next`.
struct QuadTree {
  struct Node {
    double cx, cy, hw;          // cell centre and half width
    double sx = 0, sy = 0;      // sum of member positions; after construction the centre of mass
    int64_t count = 0;
    int64_t head = -1;          // leaf: first point; -1 when empty
    int32_t child = -1;         // first of four consecutive children, -1 for a leaf
  };
  std::vector<Node> nodes;
  std::vector<int64_t> next;
  const double* y;

  QuadTree(const std::vector<double>& pos, int64_t n) : next(n, -1), y(pos.data()) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int64_t i = 0; i < n; ++i)
      x0 = std::min(x0, y[2 * i]), x1 = std::max(x1, y[2 * i]), y0 = std::min(y0, y[2 * i + 1]),
      y1 = std::max(y1, y[2 * i + 1]);
    double hw = 0.5 * std::max(x1 - x0, y1 - y0) * (1 + 1e-6) + 1e-12;
    nodes.reserve(static_cast<size_t>(4 * n + 1));
    nodes.push_back(Node{0.5 * (x0 + x1), 0.5 * (y0 + y1), hw});
    for (int64_t i = 0; i < n; ++i) insert(i);
    for (Node& c : nodes)
      if (c.count > 0) c.sx /= c.count, c.sy /= c.count;
  }

  int quadrant(const Node& c, int64_t i) const {
    return (y[2 * i] >= c.cx ? 1 : 0) + (y[2 * i + 1] >= c.cy ? 2 : 0);
  }

  void split(int32_t node) {
    const Node c = nodes[node];
    nodes[node].child = static_cast<int32_t>(nodes.size());
    for (int q = 0; q < 4; ++q) {
      double h = 0.5 * c.hw;
      nodes.push_back(Node{c.cx + (q & 1 ? h : -h), c.cy + (q & 2 ? h : -h), h});
    }
    // The leaf's points coincide: they move together to one child.
    Node& ch = nodes[nodes[node].child + quadrant(c, c.head)];
    ch.head = c.head;
    for (int64_t j = c.head; j >= 0; j = next[j]) ch.sx += y[2 * j], ch.sy += y[2 * j + 1], ++ch.count;
    nodes[node].head = -1;
  }

  void insert(int64_t i) {
    int32_t node = 0;
    for (int depth = 0;; ++depth) {
      Node& c = nodes[node];
      if (c.child < 0) {
        const int64_t h = c.head;
        const bool same = h >= 0 && y[2 * h] == y[2 * i] && y[2 * h + 1] == y[2 * i + 1];
        if (h < 0 || same || depth >= 48) {
          c.sx += y[2 * i], c.sy += y[2 * i + 1], ++c.count;
          if (h < 0) {
            c.head = i;
          } else {
            int64_t t = h;
            while (next[t] >= 0) t = next[t];
            next[t] = i;
          }
          return;
        }
        split(node);
      }
      Node& p = nodes[node];
      p.sx += y[2 * i], p.sy += y[2 * i + 1], ++p.count;
      node = p.child + quadrant(p, i);
    }
  }

  // Repulsion on point i: Σ_j w_ij² (y_i − y_j) into (fx, fy) and Σ_j w_ij into z, j ≠ i, with
  // cells far enough away ((2·hw)/dist < θ) taken as their centre of mass.
  void repulsion(int64_t i, double theta, double& fx, double& fy, double& z,
                 std::vector<int32_t>& stack) const {
    fx = fy = z = 0;
    const double xi = y[2 * i], yi = y[2 * i + 1], theta2 = theta * theta;
    stack.assign(1, 0);
    while (!stack.empty()) {
      const Node& c = nodes[stack.back()];
      stack.pop_back();
      if (c.count == 0) continue;
      if (c.child < 0) {
        for (int64_t j = c.head; j >= 0; j = next[j]) {
          if (j == i) continue;
          double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
          double w = 1.0 / (1.0 + dx * dx + dy * dy);
          z += w, fx += w * w * dx, fy += w * w * dy;
        }
        continue;
      }
      double dx = xi - c.sx, dy = yi - c.sy, d2 = dx * dx + dy * dy;
      if (d2 > 0 && 4 * c.hw * c.hw < theta2 * d2) {  // width / distance < θ
        double w = 1.0 / (1.0 + d2), m = static_cast<double>(c.count);
        z += m * w, fx += m * w * w * dx, fy += m * w * w * dy;
        continue;
      }
      for (int q = 3; q >= 0; --q) stack.push_back(c.child + q);  // visits children 0..3
    }
  }
};

// Z = Σ_{k≠l} w_kl and each point's repulsion, points in parallel, Z summed in point order.
double repulsion_all(const std::vector<double>& y, int64_t n, double theta, std::vector<double>* rep) {
  QuadTree tree(y, n);
  std::vector<double> z(n);
  if (rep) rep->assign(2 * n, 0.0);
#pragma omp parallel if (n >= kParallelPoints)
  {
    std::vector<int32_t> stack;
#pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; ++i) {
      double fx, fy;
      tree.repulsion(i, theta, fx, fy, z[i], stack);
      if (rep) (*rep)[2 * i] = fx, (*rep)[2 * i + 1] = fy;
    }
  }
  double zs = 0;
  for (int64_t i = 0; i < n; ++i) zs += z[i];
  return zs;
}

}  // namespace

SparseP tsne_affinities(const float* x, int64_t n, int64_t d, double perplexity) {
  check(n >= 2, "t-SNE needs at least 2 points, got " + std::to_string(n));
  check(perplexity > 0, "t-SNE perplexity " + std::to_string(perplexity) + " must be > 0");
  const int64_t k = std::min<int64_t>(n - 1, static_cast<int64_t>(3 * perplexity));
  check(k >= 1, "t-SNE perplexity " + std::to_string(perplexity) + " gives no neighbours");
  // Exact k nearest neighbours by (distance, index). Rows go in blocks of kRowBlock that stay in
  // cache while every x_j streams past once (memory traffic / kRowBlock); each row keeps a
  // max-heap of its k best. The k smallest under this total order are unique, so the result is
  // independent of the order of visits and of threads.
  constexpr int64_t kRowBlock = 32;
  std::vector<int64_t> nn(n * k);
  std::vector<double> cond(n * k);
  using Cand = std::pair<float, int64_t>;
#pragma omp parallel if (n >= kParallelPoints)
  {
    std::vector<std::vector<Cand>> heap(kRowBlock);
    std::vector<double> d2(k);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
      const int64_t i1 = std::min(n, i0 + kRowBlock);
      for (auto& hp : heap) hp.clear();
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = i0; i < i1; ++i) {
          if (j == i) continue;
          std::vector<Cand>& hp = heap[i - i0];
          const Cand c{squared_distance(x + i * d, x + j * d, d), j};
          if (static_cast<int64_t>(hp.size()) < k) {
            hp.push_back(c);
            std::push_heap(hp.begin(), hp.end());
          } else if (c < hp.front()) {
            std::pop_heap(hp.begin(), hp.end());
            hp.back() = c;
            std::push_heap(hp.begin(), hp.end());
          }
        }
      for (int64_t i = i0; i < i1; ++i) {
        std::vector<Cand>& hp = heap[i - i0];
        std::sort_heap(hp.begin(), hp.end());
        for (int64_t j = 0; j < k; ++j) nn[i * k + j] = hp[j].second, d2[j] = hp[j].first;
        conditional_row(d2.data(), k, perplexity, &cond[i * k]);
      }
    }
  }
  // P = (P_{j|i} + P_{i|j}) / Σ: both triplets of every pair, sorted by (row, col), summed.
  struct Entry {
    int64_t r, c;
    double v;
  };
  std::vector<Entry> e;
  e.reserve(2 * n * k);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) {
      e.push_back({i, nn[i * k + j], cond[i * k + j]});
      e.push_back({nn[i * k + j], i, cond[i * k + j]});
    }
  std::stable_sort(e.begin(), e.end(),
                   [](const Entry& a, const Entry& b) { return a.r < b.r || (a.r == b.r && a.c < b.c); });
  SparseP p;
  p.n = n;
  p.row.assign(n + 1, 0);
  for (size_t t = 0; t < e.size(); ++t) {
    if (!p.col.empty() && t > 0 && e[t].r == e[t - 1].r && e[t].c == e[t - 1].c) {
      p.val.back() += e[t].v;
      continue;
    }
    p.col.push_back(e[t].c);
    p.val.push_back(e[t].v);
    ++p.row[e[t].r + 1];
  }
  for (int64_t i = 0; i < n; ++i) p.row[i + 1] += p.row[i];
  double total = 0;
  for (double v : p.val) total += v;
  for (double& v : p.val) v /= std::max(total, std::numeric_limits<double>::epsilon());
  return p;
}

std::vector<double> tsne_pca_init(const float* x, int64_t n, int64_t d, uint64_t seed) {
  const PrincipalAxes pa = principal_axes(x, n, d);
  const int64_t k = std::min<int64_t>(2, d);
  std::vector<double> y(2 * n, 0.0);
  for (int64_t i = 0; i < n; ++i) project(pa, x + i * d, k, &y[2 * i]);
  double m0 = 0, var = 0;
  for (int64_t i = 0; i < n; ++i) m0 += y[2 * i];
  m0 /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) var += (y[2 * i] - m0) * (y[2 * i] - m0);
  double sd = std::sqrt(var / static_cast<double>(n));
  if (!(sd > 0)) {  // no variance to project: Philox normals
    Rng rng(seed, Purpose::tsne);
    for (int64_t i = 0; i < 2 * n; ++i) y[i] = rng.normal(static_cast<uint32_t>(i));
    sd = 1;
  }
  for (double& t : y) t *= 1e-4 / sd;
  return y;
}

double tsne_kl(const SparseP& p, const std::vector<double>& y, double theta) {
  const double z = repulsion_all(y, p.n, theta, nullptr);
  std::vector<double> row(p.n, 0.0);
#pragma omp parallel for schedule(static) if (p.n >= kParallelPoints)
  for (int64_t i = 0; i < p.n; ++i)
    for (int64_t t = p.row[i]; t < p.row[i + 1]; ++t) {
      int64_t j = p.col[t];
      double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      double q = std::max(1.0 / (1.0 + dx * dx + dy * dy) / z, std::numeric_limits<double>::min());
      if (p.val[t] > 0) row[i] += p.val[t] * std::log(p.val[t] / q);
    }
  double kl = 0;
  for (double r : row) kl += r;
  return kl;
}

std::vector<double> tsne_gradient(const SparseP& p, const std::vector<double>& y, double theta,
                                  double exaggeration) {
  check(static_cast<int64_t>(y.size()) == 2 * p.n,
        "tsne_gradient: embedding has " + std::to_string(y.size()) + " values, expected 2 x " +
            std::to_string(p.n));
  std::vector<double> rep;
  const double z = repulsion_all(y, p.n, theta, &rep);
  std::vector<double> g(2 * p.n);
#pragma omp parallel for schedule(static) if (p.n >= kParallelPoints)
  for (int64_t i = 0; i < p.n; ++i) {
    double ax = 0, ay = 0;
    for (int64_t t = p.row[i]; t < p.row[i + 1]; ++t) {
      int64_t j = p.col[t];
      double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      double pw = p.val[t] / (1.0 + dx * dx + dy * dy);
      ax += pw * dx, ay += pw * dy;
    }
    g[2 * i] = 4 * (exaggeration * ax - rep[2 * i] / z);
    g[2 * i + 1] = 4 * (exaggeration * ay - rep[2 * i + 1] / z);
  }
  return g;
}

TsneResult tsne(const float* x, int64_t n, int64_t d, const TsneOptions& opt) {
  check(n >= 2, "t-SNE needs at least 2 points, got " + std::to_string(n));
  for (int64_t i = 0; i < n * d; ++i)
    if (!std::isfinite(x[i]))
      fail("t-SNE: feature " + std::to_string(i % d) + " of point " + std::to_string(i / d) +
           " is not finite (expected finite features)");
  TsneResult r;
  // K = 3·perplexity neighbours must exist: clamp the perplexity to (n-1)/3 for small sets.
  r.perplexity = std::min(opt.perplexity, static_cast<double>(n - 1) / 3.0);
  const SparseP p = tsne_affinities(x, n, d, r.perplexity);
  r.y = tsne_pca_init(x, n, d, opt.seed);
  const double lr = opt.learning_rate > 0 ? opt.learning_rate
                                          : std::max(static_cast<double>(n) / opt.exaggeration / 4.0, 50.0);
  std::vector<double> update(2 * n), gains(2 * n);
  for (int it = 0; it < opt.iterations; ++it) {
    const bool early = it < opt.exaggeration_iters;
    if (it == 0 || it == opt.exaggeration_iters) {
      // scikit-learn runs the two phases as two calls of its optimiser: both start afresh.
      std::fill(update.begin(), update.end(), 0.0);
      std::fill(gains.begin(), gains.end(), 1.0);
    }
    const double momentum = early ? 0.5 : 0.8;
    std::vector<double> g = tsne_gradient(p, r.y, opt.theta, early ? opt.exaggeration : 1.0);
    for (int64_t t = 0; t < 2 * n; ++t) {
      gains[t] = update[t] * g[t] < 0 ? gains[t] + 0.2 : gains[t] * 0.8;
      gains[t] = std::max(gains[t], 0.01);
      update[t] = momentum * update[t] - lr * gains[t] * g[t];
      r.y[t] += update[t];
    }
    if (opt.log_every > 0 && (it + 1) % opt.log_every == 0)
      r.kl.emplace_back(it + 1, tsne_kl(p, r.y, opt.theta));
  }
  return r;
}

}  // namespace cytocon::eval
