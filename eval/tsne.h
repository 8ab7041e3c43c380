// Barnes-Hut t-SNE (van der Maaten & Hinton 2008; van der Maaten 2014, "Accelerating t-SNE using
// tree-based algorithms"), as scikit-learn's TSNE(method='barnes_hut') runs it:
//   - input affinities: for each point its K = min(n-1, ⌊3·perplexity⌋) nearest neighbours (exact,
//     squared Euclidean), p_{j|i} ∝ exp(−β_i·d²_ij) with β_i found by bisection so that the
//     entropy is log(perplexity) (nats); P = (P_{j|i} + P_{i|j}) / Σ (symmetric, sums to 1);
//   - Student-t output kernel w_ij = 1/(1+‖y_i−y_j‖²), q_ij = w_ij / Z, Z = Σ_{k≠l} w_kl;
//   - gradient ∂KL/∂y_i = 4·[ Σ_j p_ij w_ij (y_i−y_j) − Σ_j w_ij² (y_i−y_j) / Z ], the second sum
//     and Z by a quadtree: a cell is used as one point at its centre of mass when
//     (cell width)/‖y_i − centre‖ < θ;
//   - PCA initialisation scaled so the first coordinate has standard deviation 1e-4;
//   - gradient descent with momentum 0.5 (first `exaggeration_iters` iterations, P multiplied by
//     `exaggeration`) then 0.8, and per-coordinate gains (+0.2 / ×0.8, at least 0.01);
//   - learning rate "auto": max(n / exaggeration / 4, 50).
// Deterministic: no random numbers (PCA init; a zero-variance input falls back to Philox normals,
// Purpose::tsne), quadtree built sequentially in point order, threads only split points.
// Internal arithmetic is float64: the embedding is small (n×2) and the gains are sensitive.
#pragma once
#include <cstdint>
#include <vector>

namespace cytocon::eval {

struct TsneOptions {
  double perplexity = 30;
  int iterations = 1000;
  int exaggeration_iters = 250;
  double exaggeration = 12;
  double theta = 0.5;           // Barnes-Hut accuracy; 0 = exact
  double learning_rate = 0;     // 0 = auto
  uint64_t seed = 0;            // only for the zero-variance fallback
  int log_every = 50;           // record the KL objective every this many iterations (0: never)
};

// Sparse symmetric joint probabilities P in CSR form (rows sorted by column).
struct SparseP {
  int64_t n = 0;
  std::vector<int64_t> row;  // n+1 offsets
  std::vector<int64_t> col;
  std::vector<double> val;
};

struct TsneResult {
  std::vector<double> y;                   // [n, 2]
  std::vector<std::pair<int, double>> kl;  // (iteration, KL(P‖Q)) every log_every iterations
  double perplexity = 0;                   // the perplexity used (clamped to (n-1)/3)
};

// The input affinities P of points x [n, d].
SparseP tsne_affinities(const float* x, int64_t n, int64_t d, double perplexity);
// The PCA initialisation of t-SNE: y [n,2], the first two principal components, the first
// coordinate scaled to standard deviation 1e-4 (and the second by the same factor).
std::vector<double> tsne_pca_init(const float* x, int64_t n, int64_t d, uint64_t seed);
// KL(P‖Q) of embedding y, with Z by the quadtree at accuracy theta (theta = 0: exact).
double tsne_kl(const SparseP& p, const std::vector<double>& y, double theta);
// ∂KL/∂y [n,2] with P multiplied by `exaggeration`, Barnes-Hut at accuracy theta.
std::vector<double> tsne_gradient(const SparseP& p, const std::vector<double>& y, double theta,
                                  double exaggeration = 1.0);
// The full optimisation: features x [n, d] → 2-D embedding.
TsneResult tsne(const float* x, int64_t n, int64_t d, const TsneOptions& opt = {});

}  // namespace cytocon::eval
