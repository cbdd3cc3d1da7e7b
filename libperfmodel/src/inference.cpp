// LLM serving estimate: per-layer operator lists on one rank, timed with the operator and
// collective models, multiplied by layer counts. Assumptions sit next to the code.

#include <algorithm>
#include <cmath>
#include <sstream>

#include <libperfmodel/detail/enum_check.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/inference.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/workload/ops.hpp>

namespace perfmodel::model {

namespace {

using hw::Precision;
using workload::Attention;
using workload::Elementwise;
using workload::Gemm;
using workload::TransformerModel;

constexpr std::array<std::string_view, kStepParts> kPartNames{
    "attention_proj", "attention", "dense_ffn",  "moe_router",   "moe_experts", "shared_experts", "norm_elementwise",
    "embedding",      "lm_head",   "mtp",        "tp_collectives", "moe_dispatch", "moe_combine", "pp_transfer"};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// Assumption: runtime reserve per chip (framework context, allocator slack, graphs): 2 GiB plus
// 4 % of HBM, the order of vLLM/SGLang's default memory fraction headroom.
constexpr double kReserveFixed = 2.0 * kGiB;
constexpr double kReserveFraction = 0.04;

std::string fmt(double v, int prec = 3) {
  std::ostringstream s;
  s.precision(prec);
  s << v;
  return s.str();
}

[[noreturn]] void bad(const std::string& field, const std::string& what) { throw InvalidArgument(field + ": " + what); }

/// `e` with its FLOPs scaled by `mean` (time unchanged): the mean rank's share of the busiest
/// rank's work (rows the imbalance adds there are missing elsewhere), so step FLOPs times ranks
/// is the instance's work.
OpEstimate mean_rank(OpEstimate e, double mean) {
  e.flops = e.flops * std::min(1.0, mean);
  return e;
}

constexpr std::size_t kFirstComm = static_cast<std::size_t>(StepPart::tp_collectives);
static_assert(kFirstComm + 4 == kStepParts, "the four communication parts come last");

/// Accumulates op estimates into step parts for one layer kind (times per layer).
struct Layer {
  std::array<StepPartTime, kStepParts> parts{};
  /// `own_launch` false: the op runs inside another kernel (fused into it), so it keeps its
  /// compute and traffic but not its launch overhead.
  /// `model_share`: the share of the op's FLOPs that is model work (below 1 for work every TP rank
  /// repeats: it is run, and drawn for, but counts once in MFU).
  void add(StepPart p, const OpEstimate& e, double count = 1.0, bool own_launch = true, double model_share = 1.0) {
    auto& x = parts[static_cast<std::size_t>(p)];
    const double t = (own_launch ? e.time.value() : e.time.value() - e.overhead.value()) * count;
    x.time += t;
    x.exposed += t;
    x.flops += e.flops.value() * count * std::min(1.0, model_share);
    x.executed_flops += e.flops.value() * count;
    x.bytes += e.hbm_bytes.value() * count;
  }
  void add_comm(StepPart p, double time, double bytes) {
    auto& x = parts[static_cast<std::size_t>(p)];
    x.time += time;
    x.exposed += time;
    x.bytes += bytes;
  }
  [[nodiscard]] double sum_time(std::size_t from, std::size_t to) const {
    double s = 0;
    for (std::size_t i = from; i < to; ++i) s += parts[i].time;
    return s;
  }
  [[nodiscard]] double compute() const { return sum_time(0, kFirstComm); }
  [[nodiscard]] double comm() const { return sum_time(kFirstComm, kStepParts); }
  /// Scales the work (FLOPs and bytes) but not the time: micro-batches no sequence occupies.
  void scale_work(double k) {
    for (auto& x : parts) {
      x.flops *= k;
      x.executed_flops *= k;
      x.bytes *= k;
    }
  }
  /// Scales every part by k (two micro-batches: twice the half-batch layer).
  void scale(double k) {
    for (auto& x : parts) {
      x.time *= k;
      x.exposed *= k;
      x.flops *= k;
      x.executed_flops *= k;
      x.bytes *= k;
    }
  }
  /// Two-micro-batch overlap: a layer takes max(C, M) + (1 - eta)·min(C, M), eta being the
  /// family's overlap fraction (SM/core sharing and stage dependencies lose the rest). The
  /// exposed time is charged to the communication parts in proportion to their time.
  void overlap(double eta) {
    const double c = compute(), m = comm();
    if (m <= 0) return;
    const double total = std::max(c, m) + (1.0 - eta) * std::min(c, m);
    const double share = std::max(0.0, total - c) / m;
    for (std::size_t i = kFirstComm; i < kStepParts; ++i) parts[i].exposed = parts[i].time * share;
  }
  void accumulate(const Layer& l, double count) {
    for (std::size_t i = 0; i < kStepParts; ++i) {
      parts[i].time += l.parts[i].time * count;
      parts[i].exposed += l.parts[i].exposed * count;
      parts[i].flops += l.parts[i].flops * count;
      parts[i].executed_flops += l.parts[i].executed_flops * count;
      parts[i].bytes += l.parts[i].bytes * count;
    }
  }
  /// Exposed time: compute plus exposed communication.
  [[nodiscard]] double time() const {
    double s = 0;
    for (std::size_t i = 0; i < kStepParts; ++i) s += parts[i].exposed;
    return s;
  }
};

enum class Phase { prefill, decode };

/// Everything fixed for one instance layout.
struct Setup {
  const TransformerModel& m;
  const Device& dev;
  const Network* net;  // null when the instance has a single rank
  const InferencePlan& plan;
  const Parallelism& par;
  double weight_bytes;  // per element
  double act_bytes = 2.0;  // bf16 activations between GEMMs
  int heads_r;
  int kv_heads_r;
  int ep;
  int moe_tp;
  int slots;      // routed experts + redundant replicas
  int experts_r;  // expert slots per rank
  double overlap = 0.5;  // family's overlap fraction (EfficiencyPolicy::overlap)
};

double a2a_element_bytes(Precision w) {
  // Assumption: dispatch sends tokens quantized to the GEMM's 8-bit type (fp8/int8; fp4 models
  // still dispatch 8-bit, as DeepEP does); bf16 models dispatch bf16. Combine is always bf16.
  return workload::bytes_per_element(w) <= 1.0 ? 1.0 : 2.0;
}

class PhaseModel {
 public:
  explicit PhaseModel(const Setup& s) : s_(s) {}

  /// One attention block on `tokens` tokens of `seqs` sequences (q_len new tokens each).
  void attention(Layer& L, Phase ph, double seqs, std::int64_t q_len, std::int64_t kv_len) const {
    const auto& m = s_.m;
    const Precision w = s_.plan.precision.weights;
    const std::int64_t T = static_cast<std::int64_t>(std::ceil(seqs * q_len));
    const std::int64_t b = static_cast<std::int64_t>(std::ceil(seqs));
    const std::int64_t h = m.hidden;
    const std::int64_t hr = s_.heads_r;
    const std::int64_t Ts = seq_share(T);
    L.add(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rmsnorm, Ts * h, Precision::bf16}));
    if (m.mla) {
      const auto& a = *m.mla;
      // Assumption: the low-rank down projections (q_a, kv_a) are replicated over TP ranks (on
      // 1/tp of the tokens under sequence parallelism) and run as one GEMM on the concatenated
      // weights (SGLang's fused_qkv_a_proj_with_mqa, vLLM's fused_qkv_a_proj, CANN's MlaProlog all do).
      // The prologue after it (latent RMSNorms, q up projection, RoPE, decode key absorption)
      // is one kernel where the family's stack fuses it (fused_mla_prologue: CANN's
      // aclnnMlaPrologV2): each piece keeps its compute and traffic, without launches of its own.
      const bool separate = !s_.dev.fractions().fused_mla_prologue;
      auto prologue = [&](StepPart part, const OpEstimate& e) { L.add(part, e, 1.0, separate); };
      if (a.q_lora_rank > 0) {
        // Sequence parallel: the latent output is all-gathered (SGLang's reduce-scatter/all-gather TP path).
        const std::int64_t latent = a.q_lora_rank + a.kv_lora_rank + a.rope_dim;
        // Without sequence parallelism every TP rank projects all T tokens: one rank's work is model work.
        const double replicated = static_cast<double>(T) / (static_cast<double>(Ts) * s_.par.tp);
        L.add(StepPart::attention_proj, est(Gemm::of(Ts, latent, h, w)), 1.0, true, replicated);
        tp_allgather(L, T, latent);
        prologue(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rmsnorm, T * a.q_lora_rank, Precision::bf16}));
        prologue(StepPart::attention_proj, est(Gemm::of(T, hr * (a.nope_dim + a.rope_dim), a.q_lora_rank, w)));
      } else {
        tp_allgather(L, T, h);
        L.add(StepPart::attention_proj, est(Gemm::of(T, hr * (a.nope_dim + a.rope_dim), h, w)));
        prologue(StepPart::attention_proj, est(Gemm::of(T, a.kv_lora_rank + a.rope_dim, h, w)));
      }
      prologue(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rmsnorm, T * a.kv_lora_rank, Precision::bf16}));
      prologue(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rope, T * (hr + 1) * a.rope_dim, Precision::bf16}));
      const Precision ap = s_.plan.precision.attention;
      if (ph == Phase::decode) {
        // Absorbed MLA: queries move into the latent space per head and outputs back out
        // (batched bf16 matmuls), attention runs over the shared latent cache.
        prologue(StepPart::attention_proj, est(Gemm::of(T, a.kv_lora_rank, a.nope_dim, ap, hr)));
        Attention at = Attention::mla(Attention::Phase::decode, b, q_len, kv_len, hr, a.kv_lora_rank, a.rope_dim,
                                      a.nope_dim, a.v_head_dim);
        at.compute = ap;
        at.kv_cache = s_.plan.precision.kv_cache;
        L.add(StepPart::attention, est(at));
        L.add(StepPart::attention_proj, est(Gemm::of(T, a.v_head_dim, a.kv_lora_rank, ap, hr)));
      } else {
        L.add(StepPart::attention_proj, est(Gemm::of(T, hr * (a.nope_dim + a.v_head_dim), a.kv_lora_rank, w)));
        Attention at = Attention::mla(Attention::Phase::prefill, b, q_len, kv_len, hr, a.kv_lora_rank, a.rope_dim,
                                      a.nope_dim, a.v_head_dim);
        at.compute = ap;
        at.kv_cache = s_.plan.precision.kv_cache;
        L.add(StepPart::attention, est(at));
      }
      L.add(StepPart::attention_proj, est(Gemm::of(T, h, hr * a.v_head_dim, w)));
    } else {
      const std::int64_t d = m.head_dim;
      const std::int64_t kvr = s_.kv_heads_r;
      tp_allgather(L, T, h);
      // Past kv_heads TP ranks each project a whole K/V head that others repeat: not model work.
      const double kv_model = static_cast<double>(s_.m.kv_heads) / s_.par.tp;
      L.add(StepPart::attention_proj, est(Gemm::of(T, (hr + 2 * kvr) * d, h, w)), 1.0, true,
            (hr + 2.0 * std::min<double>(kvr, kv_model)) / static_cast<double>(hr + 2 * kvr));
      L.add(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rope, T * (hr + kvr) * d, Precision::bf16}));
      Attention at = Attention::gqa(ph == Phase::decode ? Attention::Phase::decode : Attention::Phase::prefill, b, q_len,
                                    kv_len, hr, kvr, d);
      at.compute = s_.plan.precision.attention;
      at.kv_cache = s_.plan.precision.kv_cache;
      L.add(StepPart::attention, est(at));
      L.add(StepPart::attention_proj, est(Gemm::of(T, h, hr * d, w)));
    }
    residual_add(L, Ts);
    tp_allreduce(L, T);
  }

  /// Dense FFN on the T tokens of a rank (dense_tp shards; with dense_tp < tp each rank takes
  /// T·dense_tp/tp of the tokens after a reduce-scatter).
  void dense_ffn(Layer& L, std::int64_t T, StepPart part) const {
    const auto& m = s_.m;
    const int dtp = s_.par.dense_tensor_parallel();
    const std::int64_t Tf = std::max<std::int64_t>(1, T * dtp / s_.par.tp);
    const std::int64_t f = m.ffn / dtp;
    const std::int64_t Ts = seq_share(T);
    L.add(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rmsnorm, Ts * m.hidden, Precision::bf16}));
    tp_allgather(L, T, m.hidden);
    ffn_block(L, part, Tf, f, 1);
    residual_add(L, Ts);
    tp_allreduce(L, T);
  }

  /// MoE FFN. `T` tokens per rank (replicated over the rank's TP group).
  void moe(Layer& L, Phase ph, std::int64_t T, StepPart expert_part, StepPart shared_part) const {
    const auto& m = s_.m;
    const auto& e = *m.moe;
    const Precision w = s_.plan.precision.weights;
    const int tp = s_.par.tp;
    const int dp = s_.par.dp_attention;
    const bool a2a = dp > 1 && s_.ep > 1;
    // DP attention without EP: the experts are tensor-parallel over all tp x dp ranks, which
    // gather the stage's tokens before them and reduce-scatter the outputs after (SGLang's
    // dp-attention with a TP MoE).
    const bool dp_gather = dp > 1 && !a2a;
    // Tokens a rank routes: with DP attention the TP group splits its tokens (reduce-scatter);
    // with pure TP every rank holds all tokens.
    const std::int64_t Tm = a2a ? std::max<std::int64_t>(1, (T + tp - 1) / tp) : T;  // the busiest rank: ceil
    const double distinct = static_cast<double>(T) * dp;  // distinct tokens in the stage
    // Busiest rank: the plan's imbalance (skew of real routing after EPLB) times the
    // statistical excess of random routing, max over ep ranks of ~Poisson(mu) loads:
    // 1 + sqrt(2 ln(ep) / mu) (the Gaussian tail bound).
    const double mu = distinct * e.top_k / s_.slots * s_.experts_r;
    const double imbalance =
        s_.plan.expert_imbalance * (s_.ep > 1 ? 1.0 + std::sqrt(2.0 * std::log(static_cast<double>(s_.ep)) / mu) : 1.0);
    // At small batches most expert slots receive no token, and grouped GEMMs skip empty groups:
    // their weights are not read. A slot is hit unless every token's top-k misses it; the busy
    // slots then hold the routed rows between them.
    const double hit = 1.0 - std::pow(1.0 - std::min(1.0, static_cast<double>(e.top_k) / s_.slots), distinct);
    const int active = std::clamp(static_cast<int>(std::ceil(s_.experts_r * hit - 1e-9)), 1, s_.experts_r);
    // A token takes a slot at most once: a slot holds at most the stage's distinct tokens (the
    // tail bound above overshoots at a few tokens per rank).
    const double rows_per_slot = std::min(distinct, distinct * e.top_k / s_.slots * imbalance / hit);
    const std::int64_t Ts = seq_share(T);
    L.add(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rmsnorm, Ts * m.hidden, Precision::bf16}));
    // With expert-parallel exchanges a rank routes its own 1/tp of its group's (replicated) tokens: a slice.
    if (dp_gather) dp_collective(L, Collective::all_gather, distinct);
    else if (!a2a) tp_allgather(L, T, m.hidden);
    // Under pure TP every rank routes all T tokens (replicated); with DP attention it routes its share.
    L.add(moe_router_part(expert_part), est(Gemm::of(Tm, e.routed_experts, m.hidden, Precision::bf16)), 1.0, true,
          static_cast<double>(T) / (static_cast<double>(Tm) * tp));
    const std::int64_t rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(rows_per_slot)));
    // Assumption: a normal-mode (prefill) exchange delivers tokens in arrival order; they are copied
    // into expert order at the dispatch width before the grouped GEMMs and gathered back, gate-weighted,
    // at 16 bits after them (SGLang/vLLM ep_scatter and ep_gather, CANN MoeInitRouting and
    // MoeFinalizeRouting). Low-latency (decode) exchanges write the expert layout directly.
    const bool permute = a2a && ph == Phase::prefill;
    const std::int64_t routed = rows * active * m.hidden;
    if (permute) {
      const Precision carried = a2a_element_bytes(w) < 2.0 ? Precision::fp8 : Precision::bf16;
      L.add(expert_part, est(Elementwise{Elementwise::Kind::copy, routed, carried}));
    }
    // Useful work is the mean rank's routed rows; the busiest rank's extra rows (imbalance, whole
    // rows per slot) cost time but are not model FLOPs (MFU, FLOP/s per watt).
    const double useful = distinct * e.top_k * s_.experts_r / s_.slots / (static_cast<double>(rows) * active);
    ffn_block(L, expert_part, rows, e.expert_ffn / s_.moe_tp, active, useful, true);
    if (permute) L.add(expert_part, est(Elementwise{Elementwise::Kind::copy, routed, Precision::bf16}));
    if (e.shared_experts > 0) {
      // Assumption: with expert-parallel exchanges (DP attention) shared experts are replicated and
      // run on the rank's own tokens (SGLang with DeepEP); under pure TP every rank holds all the
      // tokens and the shared experts are tensor-parallel like a dense FFN.
      ffn_block(L, shared_part, Tm, e.expert_ffn * e.shared_experts / (a2a ? 1 : tp), 1);
    }
    residual_add(L, Ts);
    if (a2a) {
      MoeExchange x;
      x.mode = ph == Phase::decode ? MoeExchange::Mode::low_latency : MoeExchange::Mode::normal;
      x.tokens = Tm;
      x.hidden = m.hidden;
      x.topk = e.top_k;
      x.experts = s_.slots;
      // The busiest rank sends the larger of its whole-token share (ceil) and the mean share times
      // the imbalance; either alone could shrink as the batch grows.
      x.imbalance = std::max(1.0, imbalance * static_cast<double>(T) / (static_cast<double>(tp) * Tm));
      x.ranks = s_.ep;
      x.phase = MoeExchange::Phase::dispatch;
      x.bytes_per_element = a2a_element_bytes(w);
      // Assumption: 8-bit dispatch carries one fp32 scale per 128 elements (DeepSeek's block scaling).
      x.scale_bytes_per_token = x.bytes_per_element < 2.0 ? static_cast<double>(m.hidden) / 128.0 * 4.0 : 0.0;
      const MoeResult d = estimate(*s_.net, x);
      L.add_comm(StepPart::moe_dispatch, d.time.value(), d.bytes_per_rank.value());
      x.phase = MoeExchange::Phase::combine;
      x.bytes_per_element = 2.0;
      x.scale_bytes_per_token = 0.0;
      const MoeResult c = estimate(*s_.net, x);
      L.add_comm(StepPart::moe_combine, c.time.value(), c.bytes_per_rank.value());
      // Each rank holds its 1/tp of the outputs: gathered back to every TP rank (DP attention
      // runs without sequence parallelism).
      if (tp > 1) tp_gather(L, T);
    } else if (dp_gather) {
      dp_collective(L, Collective::reduce_scatter, distinct);  // each rank keeps its 1/tp of its group's tokens
      if (tp > 1) tp_gather(L, T);
    } else {
      tp_allreduce(L, T);
    }
  }

  /// The residual add closing a block. Assumption: serving stacks fuse it into the next block's
  /// RMSNorm (vLLM and SGLang fused_add_rmsnorm, CANN AddRmsNorm): its traffic, no launch.
  void residual_add(Layer& L, std::int64_t T) const {
    L.add(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::add, T * s_.m.hidden, Precision::bf16}), 1.0, false);
  }

  void lm_head(Layer& L, StepPart part, std::int64_t tokens) const {
    const std::int64_t v = (s_.m.vocab + s_.par.tp - 1) / s_.par.tp;  // vocabulary-parallel over TP
    L.add(StepPart::norm_elementwise, est(Elementwise{Elementwise::Kind::rmsnorm, tokens * s_.m.hidden, Precision::bf16}));
    // Assumption: the LM head stays bf16 in every quantized deployment.
    L.add(part, est(Gemm::of(tokens, v, s_.m.hidden, Precision::bf16)));
  }

  void embedding(Layer& L, std::int64_t tokens) const {
    L.add(StepPart::embedding, est(workload::embedding(tokens, s_.m.hidden, Precision::bf16)));
  }

  void pp_transfer(Layer& L, std::int64_t T) const {
    if (s_.par.pp <= 1) return;
    const double bytes = static_cast<double>(T) * s_.m.hidden * s_.act_bytes;
    const CollectiveResult r = estimate(*s_.net, Collective::send_recv, Bytes{bytes}, 2);
    L.add_comm(StepPart::pp_transfer, r.time.value(), bytes);
  }

 private:
  static StepPart moe_router_part(StepPart expert_part) {
    return expert_part == StepPart::mtp ? StepPart::mtp : StepPart::moe_router;
  }

  /// Gate/up GEMM, activation, down GEMM for `groups` experts of `rows` tokens and
  /// intermediate size `inter`: the MoE layer's grouped kernel for routed experts (`routed`),
  /// else a library GEMM (grouped when groups > 1).
  /// `useful`: the mean rank's share of these rows (FLOPs only; the time is the busiest rank's).
  void ffn_block(Layer& L, StepPart part, std::int64_t rows, std::int64_t inter, int groups, double useful = 1.0,
                 bool routed = false) const {
    const auto& m = s_.m;
    const Precision w = s_.plan.precision.weights;
    const bool gated = m.activation == workload::FfnActivation::swiglu;
    auto gemm = [&](std::int64_t n, std::int64_t k) {
      return routed ? Gemm::routed_experts(rows, n, k, w, groups) : Gemm::grouped_experts(rows, n, k, w, groups);
    };
    L.add(part, mean_rank(est(gemm((gated ? 2 : 1) * inter, m.hidden)), useful));
    L.add(part, mean_rank(est(Elementwise{gated ? Elementwise::Kind::gated : Elementwise::Kind::activation,
                                       rows * inter * groups, Precision::bf16}), useful));
    L.add(part, mean_rank(est(gemm(m.hidden, inter)), useful));
  }

  /// All-reduce closing a TP block; under sequence parallelism its reduce-scatter half (the
  /// all-gather half opens the next block, tp_allgather).
  void tp_allreduce(Layer& L, std::int64_t T) const {
    if (s_.par.tp <= 1) return;
    collective(L, sequence_parallel() ? Collective::reduce_scatter : Collective::all_reduce, static_cast<double>(T),
               s_.m.hidden, s_.par.tp);
  }

  /// All-gather of the T tokens' hidden states over the TP group (each rank holds 1/tp of them).
  void tp_gather(Layer& L, std::int64_t T) const {
    collective(L, Collective::all_gather, static_cast<double>(T), s_.m.hidden, s_.par.tp);
  }

  /// A collective of the stage's `tokens` hidden states over all tp x dp_attention ranks.
  void dp_collective(Layer& L, Collective kind, double tokens) const {
    collective(L, kind, tokens, s_.m.hidden, s_.par.tp * s_.par.dp_attention);
  }

  /// Sequence parallel only: all-gather of the T tokens' `width` activations over the TP group.
  void tp_allgather(Layer& L, std::int64_t T, std::int64_t width) const {
    if (sequence_parallel()) collective(L, Collective::all_gather, static_cast<double>(T), width, s_.par.tp);
  }

  /// `kind` over `ranks` ranks of `tokens` tokens' `width` 16-bit activations, charged to TP collectives.
  void collective(Layer& L, Collective kind, double tokens, std::int64_t width, int ranks) const {
    const double bytes = tokens * static_cast<double>(width) * s_.act_bytes;
    const CollectiveResult r = estimate(*s_.net, kind, Bytes{bytes}, ranks);
    L.add_comm(StepPart::tp_collectives, r.time.value(), bytes);
  }

  [[nodiscard]] bool sequence_parallel() const { return s_.par.sequence_parallel && s_.par.tp > 1; }

  /// Tokens a rank's token-wise work covers: all T, or its 1/tp share under sequence parallelism.
  [[nodiscard]] std::int64_t seq_share(std::int64_t T) const {
    return sequence_parallel() ? std::max<std::int64_t>(1, (T + s_.par.tp - 1) / s_.par.tp) : T;
  }

  template <class Op>
  OpEstimate est(const Op& op) const {
    return estimate(s_.dev, op);
  }

  const Setup& s_;
};

struct PhaseInput {
  Phase phase;
  std::int64_t seqs;     // sequences per instance
  std::int64_t q_len;    // new tokens per sequence in this forward
  std::int64_t kv_len;   // attended tokens (prefill: q_len)
  std::int64_t kv_max;   // cached tokens per sequence at the end (memory)
  bool overlap;
};

/// Memory per chip for `seqs` sequences per instance.
MemoryUse memory_use(const Setup& s, const PhaseInput& in, std::int64_t seqs) {
  const auto& m = s.m;
  const auto& par = s.par;
  MemoryUse u;
  const double wb = s.weight_bytes;
  const int lps = m.layers / par.pp;
  // Weights as the step holds them: the attention projections every TP rank repeats (MLA's down
  // projections; GQA's K/V once tp passes kv_heads) whole, the rest split; the embedding, LM
  // head and router in bf16 whatever the weight format, as lm_head(), embedding() and the
  // router GEMM run them.
  const double h = static_cast<double>(m.hidden);
  double attn = 0;
  if (m.mla) {
    const double repeated = (m.mla->q_lora_rank > 0 ? h * static_cast<double>(m.mla->q_lora_rank) : 0.0) +
                            h * static_cast<double>(m.mla->kv_lora_rank + m.mla->rope_dim);
    attn = repeated + (m.attention_parameters() - repeated) / par.tp;
  } else {
    const double d = static_cast<double>(m.head_dim);
    attn = 2.0 * h * d * m.heads / par.tp + 2.0 * h * d * s.kv_heads_r;
  }
  const double dense_ffn = m.ffn_parameters(m.ffn) / par.dense_tensor_parallel();
  double moe_ffn = 0, router = 0;
  if (m.moe) {
    const bool a2a = par.dp_attention > 1 && s.ep > 1;  // replicated shared experts, as in moe()
    moe_ffn = s.experts_r * m.ffn_parameters(m.moe->expert_ffn) / s.moe_tp +
              m.moe->shared_experts * m.ffn_parameters(m.moe->expert_ffn) / (a2a ? 1 : par.tp);
    router = h * m.moe->routed_experts;
  }
  const double emb = m.embedding_parameters() / par.tp;
  const bool mtp = s.plan.mtp_tokens > 0 && m.mtp_layers > 0;
  const int mtp_used = std::min(s.plan.mtp_tokens, m.mtp_layers);  // draft i runs module i: the modules the drafts use
  // The fullest pipeline stage: dense layers come first, the embedding sits on the first stage,
  // the LM head (and MTP modules) on the last (a stage held both FFN kinds' counts before).
  double heaviest = 0;
  for (int st = 0; st < par.pp; ++st) {
    const int first = st * lps;
    const int dense_here = std::clamp(m.dense_layers() - first, 0, lps);
    const int moe_here = lps - dense_here;
    double w = lps * attn + dense_here * dense_ffn + moe_here * moe_ffn;
    double w16 = moe_here * router;
    if (st == 0) w16 += emb;
    if (st == par.pp - 1) {
      if (!(m.tied_embeddings && par.pp == 1)) w16 += emb;
      if (mtp) {
        w += mtp_used * (attn + (m.moe ? moe_ffn : dense_ffn) + 2.0 * h * h);
        w16 += m.moe ? mtp_used * router : 0.0;
      }
    }
    heaviest = std::max(heaviest, w * wb + w16 * 2.0);
  }
  const double rpc = par.ranks_per_chip;
  u.weights = heaviest * rpc;
  // KV cache: MLA latents are replicated over TP ranks; GQA heads split until tp > kv_heads.
  const double seqs_rank = static_cast<double>(seqs) / par.dp_attention;
  double kv_elems = m.kv_elements_per_token();
  if (!m.mla) kv_elems *= static_cast<double>(s.kv_heads_r) / m.kv_heads;
  const int kv_layers = lps + mtp_used;
  u.kv_cache = seqs_rank * static_cast<double>(in.kv_max) * kv_elems * workload::bytes_per_element(s.plan.precision.kv_cache) *
               kv_layers * rpc;
  // Activations: the rank's tokens through one layer (hidden states, the widest FFN
  // intermediate, logits), not kept across layers at inference. Assumption: six hidden-wide
  // tensors live at once (residual, normed input, attention output, Q/K/V-sized projections), three
  // FFN-wide ones (gate, up, their product), all bf16, and fp32 logits (4 B) on the vocabulary shard.
  const double T = seqs_rank * static_cast<double>(in.q_len) / (in.overlap ? 2.0 : 1.0);
  double widest = static_cast<double>(m.ffn) / par.dense_tensor_parallel();
  if (m.moe) {
    const double rows = T * par.dp_attention * m.moe->top_k / s.slots * s.experts_r;
    widest = std::max(widest, rows / std::max(T, 1.0) * m.moe->expert_ffn);
  }
  const double logits_tokens = in.phase == Phase::prefill ? seqs_rank : T;
  u.activations = (T * (6.0 * m.hidden + 3.0 * widest) * s.act_bytes + logits_tokens * m.vocab / par.tp * 4.0) * rpc;
  // Buffers: all-to-all send/receive buffers (8-bit dispatch + bf16 combine, double-buffered)
  // plus the runtime reserve.
  double a2a = 0;
  if (m.moe && par.dp_attention > 1 && s.ep > 1) {
    a2a = 2.0 * T / par.tp * m.moe->top_k * m.hidden * (a2a_element_bytes(s.plan.precision.weights) + 2.0);
  }
  u.capacity = s.dev.chip().usable_memory().value() * rpc;
  u.buffers = a2a * rpc + kReserveFixed + kReserveFraction * u.capacity;
  return u;
}

PhaseEstimate run_phase(const Setup& s, const PhaseInput& in) {
  const auto& m = s.m;
  const auto& par = s.par;
  PhaseModel pm(s);
  // Sequences one rank's attention holds, split into pp pipeline micro-batches (each stage
  // works on pp of them per step) and into two when overlapping. Assumption: engines split a
  // batch for overlap only where a layer has communication to hide, and a decode batch only
  // when each half holds a sequence.
  const double seqs_rank = static_cast<double>(in.seqs) / par.dp_attention;
  const bool layer_comm = par.tp > 1 || (m.moe && par.dp_attention > 1);
  const bool overlap = in.overlap && layer_comm && (in.phase == Phase::prefill || seqs_rank >= 2.0 * par.pp);
  const double mb_count = par.pp * (overlap ? 2.0 : 1.0);
  const double seqs_mb = seqs_rank / mb_count;

  // One micro-batch of each layer kind for `seqs` sequences of q_len new tokens attending kv_len.
  struct Kinds {
    Layer dense, moe, head, mtp;
  };
  auto build = [&](double seqs, std::int64_t q_len, std::int64_t kv_len) {
    Kinds k;
    const std::int64_t T = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(seqs * q_len)));
    const std::int64_t seqs_i = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(seqs)));
    pm.attention(k.dense, in.phase, seqs, q_len, kv_len);
    k.moe = k.dense;
    if (m.dense_layers() > 0) pm.dense_ffn(k.dense, T, StepPart::dense_ffn);
    if (m.moe) pm.moe(k.moe, in.phase, T, StepPart::moe_experts, StepPart::shared_experts);
    pm.embedding(k.head, T);
    pm.lm_head(k.head, StepPart::lm_head, in.phase == Phase::prefill ? seqs_i : T);
    pm.pp_transfer(k.head, T);
    // Multi-token prediction: each draft token runs an MTP module (a layer with the model's
    // FFN kind, a 2h→h projection and the shared LM head) on one token per sequence.
    if (in.phase == Phase::decode && s.plan.mtp_tokens > 0) {
      Layer& mtp = k.mtp;
      const std::int64_t t1 = seqs_i;
      pm.attention(mtp, Phase::decode, seqs, 1, in.kv_len);
      if (m.moe) pm.moe(mtp, Phase::decode, t1, StepPart::mtp, StepPart::mtp);
      else pm.dense_ffn(mtp, t1, StepPart::mtp);
      // Every TP rank projects its sequences' [embedding; hidden] whole: 1/tp of it is model work.
      mtp.add(StepPart::mtp, estimate(s.dev, Gemm::of(t1, m.hidden, 2 * m.hidden, s.plan.precision.weights)), 1.0, true,
              1.0 / par.tp);
      pm.lm_head(mtp, StepPart::mtp, t1);
      // Move the MTP layer's compute parts under "mtp"; its communication stays in its classes.
      for (std::size_t i = 0; i < kStepParts; ++i) {
        const auto p = static_cast<StepPart>(i);
        if (is_communication(p) || p == StepPart::mtp) continue;
        auto& dst = mtp.parts[static_cast<std::size_t>(StepPart::mtp)];
        dst.time += mtp.parts[i].time;
        dst.exposed += mtp.parts[i].exposed;
        dst.flops += mtp.parts[i].flops;
        dst.executed_flops += mtp.parts[i].executed_flops;
        dst.bytes += mtp.parts[i].bytes;
        mtp.parts[i] = StepPartTime{};
      }
    }
    return k;
  };
  // One micro-batch through the slowest stage (the first, with any dense layers, or the last,
  // with the LM head), without overlap: what sets a pipeline slot.
  const int lps = m.layers / par.pp;
  const int dense_first = std::min(m.dense_layers(), lps);
  const int moe_last = std::min(m.moe_layers(), lps);
  auto stage = [&](const Layer& dense, const Layer& moe, const Layer& head, bool first_stage) {
    Layer x;
    const int n_dense = first_stage ? dense_first : lps - moe_last;
    x.accumulate(dense, n_dense);
    x.accumulate(moe, lps - n_dense);
    x.accumulate(head, 1.0);
    return x;
  };
  auto stage_time = [&](const Kinds& x) {
    return std::max(stage(x.dense, x.moe, x.head, true).time(), stage(x.dense, x.moe, x.head, false).time());
  };
  // Work the charged micro-batches carry that no sequence does (FLOPs and bytes, not time).
  double real_share = 1.0;
  double drain_ratio = 1.0;  // the last micro-batch's stage time over the mean one's
  Kinds k;
  if (seqs_mb < 1.0 && in.phase == Phase::prefill) {
    // A micro-batch is a chunk of a prompt (chunked over the pipeline): its q_c queries attend on
    // average to half the prompt before them plus themselves, (kv_len + q_c)/2 keys, so the chunks
    // together do the prompt's causal work once.
    const auto qc = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(seqs_mb * static_cast<double>(in.q_len))));
    k = build(1.0, qc, (in.kv_len + qc + 1) / 2);
    real_share = std::min(1.0, seqs_rank * static_cast<double>(in.q_len) / (mb_count * static_cast<double>(qc)));
    // The last chunk attends to the whole prompt: it drains through the stages slower than the mean.
    drain_ratio = stage_time(build(1.0, qc, in.kv_len)) / stage_time(k);
  } else if (seqs_mb < 1.0) {
    // Fewer sequences than micro-batches: a token still crosses every stage slot in turn (the
    // step's time), but only seqs_rank of the micro-batches hold one.
    k = build(1.0, in.q_len, in.kv_len);
    real_share = seqs_mb;
  } else if (const double lo = std::floor(seqs_mb); seqs_mb - lo > 1e-9) {
    // Whole sequences per micro-batch: some hold floor, some ceil (3 over 2: 2 and 1), and the
    // stage runs them all: the mix of the two sizes.
    const double f = seqs_mb - lo;
    const Kinds a = build(lo, in.q_len, in.kv_len), b = build(lo + 1.0, in.q_len, in.kv_len);
    for (auto [dst, x, y] : {std::tuple{&k.dense, &a.dense, &b.dense}, {&k.moe, &a.moe, &b.moe},
                             {&k.head, &a.head, &b.head}, {&k.mtp, &a.mtp, &b.mtp}}) {
      dst->accumulate(*x, 1.0 - f);
      dst->accumulate(*y, f);
    }
  } else {
    k = build(seqs_mb, in.q_len, in.kv_len);
  }
  Layer &dense = k.dense, &moe = k.moe, &head = k.head, &mtp = k.mtp;
  for (Layer* l : {&dense, &moe, &head, &mtp}) {
    l->scale(mb_count);
    l->scale_work(real_share);
  }
  if (overlap) {
    dense.overlap(s.overlap);
    moe.overlap(s.overlap);
    mtp.overlap(s.overlap);
  }
  // A step runs every micro-batch through every stage; the stages work in parallel, so the step
  // takes as long as the slowest stage's layers times its micro-batches: the first stage (which
  // holds any dense layers) or the last (the LM head and its MoE layers). FLOPs count every stage.
  const Layer first = stage(dense, moe, head, true);
  Layer last = stage(dense, moe, head, false), whole;
  whole.accumulate(dense, m.dense_layers());
  whole.accumulate(moe, m.moe_layers());
  whole.accumulate(head, 1.0);
  if (in.phase == Phase::decode && s.plan.mtp_tokens > 0) {
    // Assumption: the MTP modules sit on the last stage, after the LM head; draft i runs module
    // i (DeepSeek's chained MTP), reusing the last when there are more drafts than modules.
    last.accumulate(mtp, s.plan.mtp_tokens);
    whole.accumulate(mtp, s.plan.mtp_tokens);
  }
  const Layer& total = par.pp == 1 || last.time() >= first.time() ? last : first;

  PhaseEstimate r;
  r.parts = total.parts;
  r.drain_ratio = drain_ratio;
  // The mean rank holds 1/pp of the whole model's layers (the slowest stage waits less) and sends
  // (pp - 1)/pp of a micro-batch's activations (the last stage sends none).
  auto& sends = whole.parts[static_cast<std::size_t>(StepPart::pp_transfer)];
  sends.bytes *= par.pp - 1;
  whole.scale(1.0 / par.pp);
  r.mean_parts = whole.parts;
  r.time = total.time();
  r.compute_time = total.compute();
  r.communication_time = total.comm();
  for (std::size_t i = 0; i < kStepParts; ++i) {
    if (is_communication(static_cast<StepPart>(i))) r.exposed_communication += total.parts[i].exposed;
    else r.flops += r.mean_parts[i].flops;
  }
  r.flops *= par.ranks();  // every rank's share of the whole model's work
  r.chips = par.chips();
  PhaseInput as_run = in;  // activations of one overlap half when the batch is split for overlap
  as_run.overlap = overlap;
  r.memory = memory_use(s, as_run, in.seqs);
  // Largest batch: memory is affine in the batch; step by whole attention-DP groups.
  const MemoryUse more = memory_use(s, as_run, in.seqs + par.dp_attention);
  const double per_group = more.total() - r.memory.total();
  r.memory_per_group = per_group;
  const double fixed = r.memory.total() - per_group * (static_cast<double>(in.seqs) / par.dp_attention);
  // Capped where a plan's batch is (2^31 sequences): a larger figure could not be asked for.
  const double groups = per_group > 0 && fixed < more.capacity ? std::floor((more.capacity - fixed) / per_group) : 0.0;
  r.max_batch = static_cast<std::int64_t>(std::min(groups * par.dp_attention, 2147483648.0 / par.dp_attention * par.dp_attention));
  return r;
}

void check_parallel(const TransformerModel& m, const Parallelism& p, const std::string& where) {
  auto pos = [&](int v, const char* f) {
    if (v < 1) bad(where + f, "must be >= 1, got " + std::to_string(v));
  };
  pos(p.tp, "tp");
  pos(p.dp_attention, "dp_attention");
  pos(p.pp, "pp");
  pos(p.ranks_per_chip, "ranks_per_chip");
  // Rank counts are 32-bit: bound each degree and their product (2^22 ranks, as training's chips)
  // before anything multiplies them.
  constexpr std::int64_t kMaxRanks = std::int64_t{1} << 22;
  for (const auto& [v, f] : {std::pair{p.tp, "tp"}, {p.dp_attention, "dp_attention"}, {p.pp, "pp"},
                             {p.ranks_per_chip, "ranks_per_chip"}, {p.ep, "ep"}, {p.dense_tp, "dense_tp"}}) {
    if (v > kMaxRanks) bad(where + f, "must be <= 2^22 (" + std::to_string(kMaxRanks) + "), got " + std::to_string(v));
  }
  if (const std::int64_t ranks = std::int64_t{p.tp} * p.dp_attention * p.pp; ranks > kMaxRanks) {
    bad(where + "ranks", "tp x dp_attention x pp = " + std::to_string(ranks) + " ranks exceed the supported 2^22 (" +
                             std::to_string(kMaxRanks) + ")");
  }
  if (p.ep < 0) bad(where + "ep", "must be >= 0 (0: all ranks of a stage), got " + std::to_string(p.ep));
  if (p.dense_tp < 0) bad(where + "dense_tp", "must be >= 0 (0: tp), got " + std::to_string(p.dense_tp));
  if (p.redundant_experts < 0 || p.redundant_experts > (1 << 20)) {  // slots are counted in 32 bits
    bad(where + "redundant_experts", "must be in [0, 2^20], got " + std::to_string(p.redundant_experts));
  }
  if (p.sequence_parallel && p.tp == 1 && p.dp_attention == 1) {  // it would change nothing
    bad(where + "sequence_parallel", "splits token-wise work over the TP group; at tp=1 there is none");
  }
  if (p.sequence_parallel && p.dp_attention > 1) {
    bad(where + "sequence_parallel", "applies to pure tensor parallelism (dp_attention=1), got dp_attention=" +
                                         std::to_string(p.dp_attention));
  }
  if (p.sequence_parallel && p.dense_tensor_parallel() != p.tp) {
    bad(where + "sequence_parallel", "needs dense_tp equal to tp (" + std::to_string(p.tp) + "), got " +
                                         std::to_string(p.dense_tensor_parallel()));
  }
  if (m.heads % p.tp != 0) {
    bad(where + "tp", "tp=" + std::to_string(p.tp) + " does not divide the " + std::to_string(m.heads) + " attention heads of " +
                          m.id + " (" + fmt(static_cast<double>(m.heads) / p.tp) + " heads per rank)");
  }
  // K/V heads split over TP ranks, or each replicated over tp / kv_heads of them: a tp that is
  // neither (8 KV heads at tp=3) leaves ranks with parts of heads no kernel runs.
  if (!m.mla && m.kv_heads % p.tp != 0 && p.tp % m.kv_heads != 0) {
    bad(where + "tp", "tp=" + std::to_string(p.tp) + " neither divides nor is a multiple of the " +
                          std::to_string(m.kv_heads) + " KV heads of " + m.id);
  }
  if (m.layers % p.pp != 0) {
    bad(where + "pp", "pp=" + std::to_string(p.pp) + " does not divide the " + std::to_string(m.layers) + " layers of " +
                          m.id + " (" + fmt(static_cast<double>(m.layers) / p.pp) + " per stage)");
  }
  if (p.tp % p.dense_tensor_parallel() != 0) {
    bad(where + "dense_tp", "dense_tp=" + std::to_string(p.dense_tensor_parallel()) + " must divide tp=" + std::to_string(p.tp));
  }
  if (m.dense_layers() > 0 && m.ffn % p.dense_tensor_parallel() != 0) {
    bad(where + "dense_tp", "dense_tp=" + std::to_string(p.dense_tensor_parallel()) + " does not divide the FFN size " +
                                std::to_string(m.ffn));
  }
  if (p.ranks() % p.ranks_per_chip != 0) {
    bad(where + "ranks_per_chip", std::to_string(p.ranks()) + " ranks are not a whole number of chips at " +
                                      std::to_string(p.ranks_per_chip) + " ranks per chip");
  }
  if (m.moe) {
    const int ep = p.expert_parallel();
    const int slots = m.moe->routed_experts + p.redundant_experts;
    if (p.stage_ranks() % ep != 0) {
      bad(where + "ep", "ep=" + std::to_string(ep) + " must divide the " + std::to_string(p.stage_ranks()) +
                            " ranks of a stage (tp x dp_attention)");
    }
    if (slots % ep != 0) {
      bad(where + "ep", "ep=" + std::to_string(ep) + " does not divide the " + std::to_string(slots) +
                            " expert slots (routed + redundant) of " + m.id + " (" + fmt(static_cast<double>(slots) / ep) +
                            " per rank)");
    }
    if (p.dp_attention > 1 && ep > 1 && ep != p.stage_ranks()) {
      bad(where + "ep", "with dp_attention > 1 the expert-parallel group must span the stage: ep=" + std::to_string(ep) +
                            ", tp x dp_attention=" + std::to_string(p.stage_ranks()));
    }
    const int moe_tp = p.stage_ranks() / ep;
    if (m.moe->expert_ffn % moe_tp != 0) {
      bad(where + "ep", "the expert FFN size " + std::to_string(m.moe->expert_ffn) + " does not split over " +
                            std::to_string(moe_tp) + " ranks (tp x dp_attention / ep)");
    }
    const std::int64_t shared_ffn = std::int64_t{m.moe->expert_ffn} * m.moe->shared_experts;
    if (shared_ffn > 0 && !(p.dp_attention > 1 && ep > 1) && shared_ffn % p.tp != 0) {
      bad(where + "tp", "tp=" + std::to_string(p.tp) + " does not divide the shared experts' FFN size " +
                            std::to_string(shared_ffn) + " (tensor-parallel without expert-parallel exchanges)");
    }
  } else if (p.ep > 1) {
    bad(where + "ep", m.id + " has no experts; ep must be 0 or 1, got " + std::to_string(p.ep));
  } else if (p.redundant_experts > 0) {
    bad(where + "redundant_experts", m.id + " has no experts to replicate; must be 0, got " + std::to_string(p.redundant_experts));
  }
}

void check_precision(const Device& dev, Precision p, const char* field) {
  if (!hw::is_valid(p)) bad(std::string("precision.") + field, "not a hw::Precision value (" + std::to_string(static_cast<int>(p)) + ")");
  if (!dev.supports(p)) {
    bad(std::string("precision.") + field, dev.chip().id + " has no known dense matrix throughput at " +
                                               std::string(hw::to_string(p)) + " (it lacks the precision or the figure is unknown)");
  }
}

Setup make_setup(const TransformerModel& m, const Device& dev, const Network* net, const InferencePlan& plan,
                 const Parallelism& par, double overlap) {
  Setup s{m, dev, net, plan, par, workload::bytes_per_element(plan.precision.weights), 2.0, m.heads / par.tp,
          std::max(1, m.kv_heads / par.tp), 1, 1, 0, 0, overlap};
  if (m.moe) {
    s.ep = par.expert_parallel();
    s.moe_tp = par.stage_ranks() / s.ep;
    s.slots = m.moe->routed_experts + par.redundant_experts;
    s.experts_r = s.slots / s.ep;
  }
  return s;
}

std::string gb(double bytes) { return fmt(bytes / 1e9, 4) + " GB"; }

/// `phase` names what is checked ("decode plan", "prefill chunk of 8 prompts"); `field` and
/// `asked` the plan field the largest fitting value `max_batch` is for.
void check_memory(const PhaseEstimate& e, const std::string& chip, const std::string& phase, const char* field,
                  std::int64_t asked, std::int64_t max_batch) {
  const MemoryUse& u = e.memory;
  if (u.fits()) return;
  const double over = u.total() - u.capacity;
  std::string msg = phase + " needs " + gb(u.total()) + " per chip (weights " + gb(u.weights) + ", KV cache " +
                    gb(u.kv_cache) + ", activations " + gb(u.activations) + ", buffers " + gb(u.buffers) + ") but " + chip +
                    " has " + gb(u.capacity) + ": over by " + gb(over);
  if (max_batch > 0) {
    msg += "; the largest " + std::string(field) + " that fits is " + std::to_string(max_batch) + " (asked " +
           std::to_string(asked) + ")";
  } else if (u.weights + u.buffers >= u.capacity) {
    msg += "; the weights do not fit at any batch: raise tp, ep or pp";
  } else {
    // The weights fit; one sequence's KV cache and activations do not.
    msg += "; not even one sequence fits beside the weights (" + gb(u.capacity - u.weights - u.buffers) +
           " free for KV cache and activations): shorten the sequence, quantize the KV cache, or raise tp or pp";
  }
  bad("memory", msg);
}

std::string bottleneck_of(const PhaseEstimate& e) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < kStepParts; ++i) {
    if (e.parts[i].exposed > e.parts[best].exposed) best = i;
  }
  return std::string(kPartNames[best]);
}

}  // namespace

std::string_view to_string(StepPart p) { return detail::enum_name(p, kPartNames); }

ServingSystem::ServingSystem(const catalog::Catalog& cat, std::string_view system, int ranks_per_chip)
    : cat_(cat),
      sys_(&cat_.system(system)),
      dev_([&] {
        if (ranks_per_chip < 1) bad("parallel.ranks_per_chip", "must be >= 1, got " + std::to_string(ranks_per_chip));
        const hw::Chip& whole = cat_.chip(sys_->chip);
        return Device(per_rank_chip(whole, ranks_per_chip), cat_.efficiency(whole.family));
      }()),
      ranks_per_chip_(ranks_per_chip) {
  const hw::Figure<double>& own = dev_.policy().overlap;
  overlap_ = own.known() ? own.require("") : cat_.efficiency("default").overlap.value_or(0.0);
  const hw::Chip& whole = cat_.chip(sys_->chip);
  energy_ = system_energy(whole, cat_.efficiency(whole.family), *sys_);
  try {
    network_.emplace(cat_, sys_->id, 1, ranks_per_chip);
  } catch (const Error&) {
    // Not every system can form a Network (e.g. no scale-up topology); plans that need one
    // build it per call and get the error that names the missing figure.
  }
}

namespace {

/// Average draw of a phase: the instance's work spread evenly over its chips.
std::optional<EnergyEstimate> phase_energy(const ServingSystem& ctx, const InferencePlan& plan, const Parallelism& par,
                                           const PhaseEstimate& e) {
  if (!ctx.energy().chip || !(e.time > 0.0)) return std::nullopt;
  Activity a;
  a.seconds = e.time;
  // Mean parts are one rank's share of the whole model's work (ranks of a faster stage wait at
  // idle draw), so a chip runs ranks_per_chip of them.
  const double k = par.ranks() / e.chips;
  for (std::size_t i = 0; i < kStepParts; ++i) {
    const auto p = static_cast<StepPart>(i);
    const StepPartTime& x = e.mean_parts[i];
    if (is_communication(p)) {
      a.scale_up_bytes += x.bytes * k;
      continue;
    }
    a.hbm_bytes += x.bytes * k;
    // Energy follows what the ranks run, work every TP rank repeats included.
    if (p == StepPart::norm_elementwise) {
      a.vector_flops += x.executed_flops * k;
    } else {
      // The LM head and router run in bf16 whatever the weight format (lm_head(), moe()).
      const Precision prec = p == StepPart::attention                                   ? plan.precision.attention
                             : p == StepPart::lm_head || p == StepPart::moe_router ? Precision::bf16
                                                                                     : plan.precision.weights;
      a.matrix_flops[static_cast<std::size_t>(prec)] += x.executed_flops * k;
    }
  }
  return energy_of(*ctx.energy().chip, ctx.energy().overhead, a, e.chips);
}

}  // namespace

InferenceResult estimate_inference(const TransformerModel& model, const catalog::Catalog& cat, std::string_view system,
                                   const InferencePlan& plan) {
  return estimate_inference(model, ServingSystem(cat, system, plan.parallel.ranks_per_chip), plan);
}

InferenceResult estimate_inference(const TransformerModel& model, const ServingSystem& ctx, const InferencePlan& plan) {
  model.validate(model.source_file.empty() ? model.id : model.source_file);
  const catalog::Catalog& cat = ctx.catalog();
  const hw::System& sys = ctx.system();
  if (plan.parallel.ranks_per_chip != ctx.ranks_per_chip()) {
    bad("parallel.ranks_per_chip", "the plan has " + std::to_string(plan.parallel.ranks_per_chip) +
                                       " ranks per chip but the ServingSystem was prepared for " +
                                       std::to_string(ctx.ranks_per_chip()));
  }
  if (plan.prefill_parallel && plan.prefill_parallel->ranks_per_chip != plan.parallel.ranks_per_chip) {
    bad("prefill_parallel.ranks_per_chip", "must equal parallel.ranks_per_chip (one device view per system)");
  }
  const Device& dev = ctx.device();
  const double eta = ctx.overlap();
  const bool want_prefill = plan.mode != InferencePlan::Mode::decode;
  const bool want_decode = plan.mode != InferencePlan::Mode::prefill;

  detail::check_enum(plan.mode, InferencePlan::Mode::serve, InferencePlan::Mode::decode, "mode", "InferencePlan::Mode");
  // Upper bounds keep token and element counts (batch x lengths x widths) inside 64 bits.
  constexpr std::int64_t kMaxCount = std::int64_t{1} << 31;
  if (plan.batch < 1 || plan.batch > kMaxCount) bad("batch", "must be in [1, 2^31] sequences, got " + std::to_string(plan.batch));
  for (const auto& [v, f] : {std::pair{plan.input_len, "input_len"}, {plan.output_len, "output_len"}, {plan.kv_len, "kv_len"},
                             {plan.prefill_batch, "prefill_batch"}}) {
    if (v > kMaxCount) bad(f, "must be at most 2^31, got " + std::to_string(v));
  }
  if (want_prefill && plan.input_len < 1) bad("input_len", "must be >= 1 token, got " + std::to_string(plan.input_len));
  // Checked in every mode, also where the mode does not use them: a negative length is never meant.
  if (plan.output_len < 1) bad("output_len", "must be >= 1 token, got " + std::to_string(plan.output_len));
  if (plan.kv_len < 0) bad("kv_len", "must be >= 0 tokens (0: input_len + output_len / 2), got " + std::to_string(plan.kv_len));
  if (plan.kv_len > 0 && plan.mode != InferencePlan::Mode::decode) {
    bad("kv_len", "is read in decode mode only (a step at that cache length); " +
                      std::string(plan.mode == InferencePlan::Mode::serve ? "serve" : "prefill") +
                      " mode takes input_len and output_len, got kv_len " + std::to_string(plan.kv_len));
  }
  if (plan.mode == InferencePlan::Mode::decode && plan.kv_len < 1 && plan.input_len < 1) {
    bad("kv_len", "must be >= 1 token in decode mode, got " + std::to_string(plan.kv_len));
  }
  if (model.max_context > 0) {  // beyond the released context the model is not what was measured
    // A decode step at cache length kv_len writes position kv_len and the MTP drafts after it.
    const bool dec_kv = plan.mode == InferencePlan::Mode::decode && plan.kv_len > 0;
    // Serve: the prompt and its outputs (drafts past the last output are discarded, an engine
    // stops drafting at the limit).
    const std::int64_t drafts = std::max(plan.mtp_tokens, 0);
    const std::int64_t context = dec_kv ? plan.kv_len + 1 + drafts
                             : plan.mode == InferencePlan::Mode::prefill ? plan.input_len
                                                                          : plan.input_len + plan.output_len;
    if (context > model.max_context) {
      const std::string what = dec_kv ? std::to_string(plan.kv_len) + " cached + " + std::to_string(context - plan.kv_len) +
                                            " new tokens"
                                      : std::to_string(context) + " tokens";
      bad(dec_kv ? "kv_len" : plan.mode == InferencePlan::Mode::prefill ? "input_len" : "input_len + output_len",
          what + " exceed the " + std::to_string(model.max_context) + "-token context of " + model.id + " (max_context)");
    }
  }
  if (plan.prefill_batch < 0) bad("prefill_batch", "must be >= 0 (0: the default, about 8,192 prompt tokens per attention group in serve mode, the batch otherwise)");
  // Deployed MTP chains draft 1 to 4 tokens; 64 bounds the chained modules a step runs.
  if (plan.mtp_tokens < 0 || plan.mtp_tokens > 64) bad("mtp_tokens", "must be in [0, 64], got " + std::to_string(plan.mtp_tokens));
  if (plan.mtp_tokens > 0 && model.mtp_layers == 0) {
    bad("mtp_tokens", model.id + " has no multi-token-prediction modules; set mtp_tokens=0");
  }
  if (!(plan.mtp_acceptance >= 0.0 && plan.mtp_acceptance <= 1.0)) {
    bad("mtp_acceptance", "must be in [0, 1], got " + fmt(plan.mtp_acceptance));
  }
  // A busiest rank takes at most every routed token, ep x the mean; 2^20 bounds any expert group
  // (1e300 overflowed to inf activations).
  constexpr double kMaxImbalance = 1 << 20;
  if (!(plan.expert_imbalance >= 1.0 && plan.expert_imbalance <= kMaxImbalance)) {
    bad("expert_imbalance", "must be in [1, 2^20] (the busiest expert rank's load over what random routing gives it), got " + fmt(plan.expert_imbalance));
  }
  if (plan.expert_imbalance != 1.0 && !model.moe) {  // silently ignored, it read as a modelled imbalance
    bad("expert_imbalance", model.id + " has no experts; must be 1, got " + fmt(plan.expert_imbalance));
  }
  if (plan.systems < 1 || plan.systems > (1 << 22)) bad("systems", "must be in [1, 2^22], got " + std::to_string(plan.systems));
  check_precision(dev, plan.precision.weights, "weights");
  check_precision(dev, plan.precision.attention, "attention");
  if (!dev.supports(Precision::bf16)) {  // said here, not as an op's "gemm: precision: ..." deep in the step
    bad("precision", dev.chip().id + " has no known bf16 matrix throughput (the MoE router and the LM head run in bf16)");
  }
  if (!hw::is_valid(plan.precision.kv_cache) || plan.precision.kv_cache == Precision::fp32 ||
      plan.precision.kv_cache == Precision::fp64 || plan.precision.kv_cache == Precision::tf32) {
    bad("precision.kv_cache", "expected bf16, fp16, fp8, int8, fp4 or int4");
  }

  const double cluster_chips = static_cast<double>(sys.chip_count()) * plan.systems;
  auto network_for = [&](const Parallelism& par, std::optional<Network>& slot, const char* where) -> const Network* {
    check_parallel(model, par, where);
    if (par.chips() > cluster_chips) {
      bad(std::string(where) + "ranks", "the instance needs " + fmt(par.chips()) + " chips (" + std::to_string(par.ranks()) +
                                            " ranks at " + std::to_string(par.ranks_per_chip) + " per chip) but " +
                                            std::to_string(plan.systems) + " x " + sys.id + " has " + fmt(cluster_chips) +
                                            "; raise systems or lower the degrees");
    }
    if (par.ranks() == 1) return nullptr;
    const int per_system = sys.chip_count();
    const int nodes = static_cast<int>(std::ceil(par.chips() / per_system));
    if (const Network* prepared = ctx.network(nodes, par.ranks_per_chip)) return prepared;
    slot.emplace(cat, sys.id, nodes, par.ranks_per_chip);
    return &*slot;
  };

  InferenceResult res;
  res.model = model.id;
  res.system = sys.id;
  res.chip = sys.chip;
  res.plan = plan;
  res.system_chips = sys.chip_count();

  std::optional<Network> net_d, net_p;
  const Parallelism& pd = plan.parallel;
  const Parallelism& pp = plan.prefill_parallel ? *plan.prefill_parallel : plan.parallel;
  // Assumption: serving prefills in chunks of about 8192 prompt tokens per attention group
  // (vLLM/SGLang chunked-prefill defaults) unless told; prefill mode runs the whole batch.
  std::int64_t pbatch = plan.prefill_batch > 0 ? plan.prefill_batch : plan.batch;
  std::int64_t chunk = 0;  // serve mode's prompts per prefill forward, when not given
  if (plan.prefill_batch == 0 && plan.mode == InferencePlan::Mode::serve) {
    const std::int64_t per_group = std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(1, plan.input_len));
    chunk = per_group * pp.dp_attention;
    pbatch = std::min(plan.batch, chunk);
  }
  // Accepted tokens per step: 1 + a + a^2 + ... + a^k for k chained drafts.
  double accepted = 1.0, pw = 1.0;
  for (int i = 0; i < plan.mtp_tokens; ++i) accepted += (pw *= plan.mtp_acceptance);
  res.accepted_tokens_per_step = accepted;

  if (want_prefill) {
    const char* where = plan.prefill_parallel ? "prefill_parallel." : "parallel.";
    const Network* net = network_for(pp, net_p, where);
    if (pbatch % pp.dp_attention != 0) {
      bad("prefill_batch", std::to_string(pbatch) + " sequences do not divide over dp_attention=" +
                               std::to_string(pp.dp_attention) + " (" + fmt(static_cast<double>(pbatch) / pp.dp_attention) +
                               " per group)");
    }
    const Setup s = make_setup(model, dev, net, plan, pp, eta);
    const bool ov = plan.prefill_parallel ? plan.prefill_overlap : plan.overlap;
    const PhaseInput in{Phase::prefill, pbatch, plan.input_len, plan.input_len, plan.input_len, ov};
    PhaseEstimate e = run_phase(s, in);
    e.tokens = static_cast<double>(pbatch) * plan.input_len;
    res.prefill = e;
    // Assumption: the forward's time is the pipeline's steady state (micro-batches x the slowest
    // stage), what throughput is priced at; its first token waits for the last micro-batch to
    // leave the last stage, through the fill and drain: pp steady stage slots and pp - 1 more for
    // the last micro-batch (a chunked prompt's last chunk attends to all of it: slower slots).
    // Overlapped halves run a layer together, so a pair is the stage slot: pp slots either way.
    res.ttft = e.time * (1.0 + (pp.pp - 1.0) / pp.pp * e.drain_ratio);
  }
  if (want_decode) {
    const Network* net = network_for(pd, net_d, "parallel.");
    if (plan.batch % pd.dp_attention != 0) {
      bad("batch", std::to_string(plan.batch) + " sequences do not divide over dp_attention=" + std::to_string(pd.dp_attention) +
                       " (" + fmt(static_cast<double>(plan.batch) / pd.dp_attention) + " per group)");
    }
    const std::int64_t kv = plan.mode == InferencePlan::Mode::decode && plan.kv_len > 0 ? plan.kv_len
                                                                                        : plan.input_len + plan.output_len / 2;
    const std::int64_t kv_max = plan.mode == InferencePlan::Mode::decode && plan.kv_len > 0 ? plan.kv_len
                                                                                            : plan.input_len + plan.output_len;
    const Setup s = make_setup(model, dev, net, plan, pd, eta);
    const PhaseInput in{Phase::decode, plan.batch, 1 + plan.mtp_tokens, kv + plan.mtp_tokens, kv_max, plan.overlap};
    PhaseEstimate e = run_phase(s, in);
    e.tokens = static_cast<double>(plan.batch) * accepted;
    res.decode = e;
    res.tpot = e.time / accepted;
  }
  // Serving without disaggregation prefills its chunks on the decode instance's chips: a batch
  // fits when its chunk (min(batch, chunk) prompts) fits and the decode step holds the chunk's
  // activations beside the whole batch's KV cache, so a chunk that grows with the batch caps it.
  const bool chunked = plan.mode == InferencePlan::Mode::serve && !plan.prefill_parallel;
  if (chunked && res.decode->memory_per_group > 0) {
    // The prefill chunk runs beside the whole batch's KV cache: the chips hold the larger of the
    // two phases' activations (engines reserve the chunk's before sizing the cache).
    // Both grow with the batch: the decode step's linearly, the chunk's up to `chunk` prompts
    // (a given prefill_batch is fixed), so the largest batch is walked down group by group.
    auto& d = *res.decode;
    const double pb = static_cast<double>(pbatch), b0 = static_cast<double>(plan.batch);
    const double act_p = res.prefill->memory.activations, act_d = d.memory.activations;
    auto extra_at = [&](double b) {
      const double prompts = chunk > 0 ? std::min(b, static_cast<double>(chunk)) : pb;
      return std::max(0.0, act_p * prompts / pb - act_d * b / b0);
    };
    const int dpa = pd.dp_attention;
    // Memory at b sequences: the decode step's affine total plus the chunk's extra.
    const double fixed = d.memory.total() - d.memory_per_group * b0 / dpa;
    auto total_at = [&](double b) { return fixed + d.memory_per_group * b / dpa + extra_at(b); };
    d.memory.activations += extra_at(b0);
    std::int64_t b = d.max_batch;
    while (b > 0 && total_at(static_cast<double>(b)) > d.memory.capacity) b -= dpa;
    d.max_batch = b;
  }
  if (chunked) {
    const std::int64_t cap = chunk > 0 ? (res.prefill->max_batch >= chunk ? res.decode->max_batch : res.prefill->max_batch)
                             : res.prefill->memory.fits() ? res.decode->max_batch
                                                          : 0;
    res.decode->max_batch = std::min(res.decode->max_batch, cap);
  } else if (chunk > 0 && res.prefill->max_batch < chunk) {
    // Disaggregated, with the chunk left to the batch: the prefill instance takes min(batch, chunk)
    // prompts at a time, so a batch past what it holds fails there too.
    res.decode->max_batch = std::min(res.decode->max_batch, res.prefill->max_batch);
  }
  if (plan.check_memory && res.prefill) {
    const std::string what = chunk > 0 ? "prefill chunk of " + std::to_string(pbatch) + " prompts (the batch, up to " +
                                             std::to_string(chunk) + " per chunk: about 8,192 prompt tokens per attention group)"
                             : chunked ? "prefill chunk of " + std::to_string(pbatch) + " prompts (prefill_batch)"
                                       : "prefill plan";
    if (chunked && chunk == 0) {
      // prefill_batch given: it is the figure to lower (the batch's cap would read 0).
      check_memory(*res.prefill, dev.chip().id, what, "prefill_batch", pbatch, res.prefill->max_batch);
    } else if (chunked || chunk > 0) {
      check_memory(*res.prefill, dev.chip().id, what, "batch", plan.batch, res.decode->max_batch);
    } else {
      check_memory(*res.prefill, dev.chip().id, what, plan.mode == InferencePlan::Mode::prefill ? "batch" : "prefill_batch",
                   pbatch, res.prefill->max_batch);
    }
  }
  if (plan.check_memory && res.decode) {
    check_memory(*res.decode, dev.chip().id, "decode plan", "batch", plan.batch, res.decode->max_batch);
  }

  // MFU's denominator, per chip: the dense peak of the fastest format the plan runs (weights,
  // attention; bf16 for the router and LM head), so no mix of formats reads above 1 (INT8
  // weights with BF16 attention on a GB300, whose INT8 peak is a fifteenth of its BF16, read 2.2).
  double fastest = dev.matrix_rate(plan.precision.weights);
  for (const Precision p : {plan.precision.attention, Precision::bf16}) {
    if (dev.supports(p)) fastest = std::max(fastest, dev.matrix_rate(p));
  }
  const double peak = fastest * plan.parallel.ranks_per_chip;
  // Chips one instance occupies: disaggregated, the decode instance with its share of prefill
  // chips is the unit that fills a system (set below); otherwise chips_per_instance.
  double unit = 0;
  if (plan.mode == InferencePlan::Mode::prefill) {
    const auto& e = *res.prefill;
    res.chips_per_instance = e.chips;
    res.input_tokens_per_second_per_chip = e.tokens / e.time / e.chips;
    res.model_flops_utilization = e.flops / e.time / (e.chips * peak);
    res.bottleneck = bottleneck_of(e);
  } else if (plan.mode == InferencePlan::Mode::decode) {
    const auto& e = *res.decode;
    res.chips_per_instance = e.chips;
    res.output_tokens_per_second_per_instance = e.tokens / e.time;
    res.output_tokens_per_second_per_chip = e.tokens / e.time / e.chips;
    res.model_flops_utilization = e.flops / e.time / (e.chips * peak);
    res.bottleneck = bottleneck_of(e);
  } else {
    // Chip-seconds per request. Without disaggregation one instance alternates: a prefill of
    // the whole batch, then ceil(output_len / accepted) decode steps.
    const auto& p = *res.prefill;
    const auto& d = *res.decode;
    const double steps = std::ceil(static_cast<double>(plan.output_len) / accepted);
    double per_request = 0, prefill_part = 0;
    if (plan.prefill_parallel) {
      prefill_part = p.chips * p.time / static_cast<double>(pbatch);
      per_request = prefill_part + d.chips * d.time * steps / static_cast<double>(plan.batch);
    } else {
      prefill_part = d.chips * p.time / static_cast<double>(pbatch);  // chunked: pbatch prompts per forward
      per_request = prefill_part + d.chips * d.time * steps / static_cast<double>(plan.batch);
    }
    // Per delivered token, as the throughput counts them: the last step's unused drafts included
    // (3 drafts, 1 output token: one whole step for it, not a quarter).
    res.tpot = d.time * steps / static_cast<double>(plan.output_len);
    res.chips_per_instance = d.chips;
    res.prefill_chip_share = prefill_part / per_request;
    res.output_tokens_per_second_per_chip = static_cast<double>(plan.output_len) / per_request;
    res.input_tokens_per_second_per_chip = static_cast<double>(plan.input_len) / per_request;
    if (plan.prefill_parallel) unit = d.chips / (1.0 - res.prefill_chip_share);
    // Per instance: the decode instance's own rate (its unit's output).
    res.output_tokens_per_second_per_instance = res.output_tokens_per_second_per_chip * (unit > 0 ? unit : d.chips);
    res.model_flops_utilization =
        (p.flops / static_cast<double>(pbatch) + d.flops * steps / static_cast<double>(plan.batch)) / per_request / peak;
    res.bottleneck = bottleneck_of(d);
  }
  // Per system, whole instances only: chips left over when the instance does not divide the
  // system serve nothing under this plan; an instance spanning systems occupies whole systems.
  const bool disaggregated = unit > 0;
  const double ic = disaggregated ? unit : res.chips_per_instance;
  res.instances_per_system = disaggregated ? res.system_chips / ic
                             : ic <= res.system_chips ? std::floor(res.system_chips / ic)
                                                      : 1.0 / std::ceil(ic / res.system_chips);
  const double used = res.instances_per_system * ic;
  res.busy_chips_per_system = used;
  res.output_tokens_per_second_per_system = res.output_tokens_per_second_per_chip * used;
  res.input_tokens_per_second_per_system = res.input_tokens_per_second_per_chip * used;

  // Energy: each phase's average draw; serve mode weights them by the chip-time share.
  if (!ctx.energy().chip) {
    res.energy_missing = ctx.energy().missing;
    return res;
  }
  if (res.prefill) res.prefill->energy = phase_energy(ctx, plan, pp, *res.prefill);
  if (res.decode) res.decode->energy = phase_energy(ctx, plan, pd, *res.decode);
  ServingEnergy se;
  const double share = plan.mode == InferencePlan::Mode::prefill ? 1.0
                       : plan.mode == InferencePlan::Mode::decode ? 0.0
                                                                   : res.prefill_chip_share;
  if (res.prefill && res.prefill->energy) {
    const EnergyEstimate& pe = *res.prefill->energy;
    se.joules_per_input_token = pe.joules / res.prefill->tokens;
    se.chip_watts += share * pe.chip_watts;
    se.watts_per_chip += share * pe.watts_per_chip;
    se.capped = se.capped || pe.capped;
    se.basis = pe.basis;
  }
  if (res.decode && res.decode->energy) {
    const EnergyEstimate& de = *res.decode->energy;
    // Serve mode: per delivered token (ceil(output_len / accepted) steps per request), as tpot.
    se.joules_per_output_token =
        plan.mode == InferencePlan::Mode::serve
            ? de.joules * std::ceil(static_cast<double>(plan.output_len) / accepted) /
                  (static_cast<double>(plan.batch) * static_cast<double>(plan.output_len))
            : de.joules / res.decode->tokens;
    se.chip_watts += (1.0 - share) * de.chip_watts;
    se.watts_per_chip += (1.0 - share) * de.watts_per_chip;
    se.capped = se.capped || de.capped;
    se.basis = de.basis;
  }
  if (se.watts_per_chip > 0.0) {
    se.output_tokens_per_joule = res.output_tokens_per_second_per_chip / se.watts_per_chip;
    se.flops_per_watt = res.model_flops_utilization * peak / se.watts_per_chip;
  }
  res.energy = se;
  return res;
}

InferenceResult estimate_inference(const TransformerModel& model, std::string_view system, const InferencePlan& plan) {
  return estimate_inference(model, catalog::Catalog::builtin(), system, plan);
}

}  // namespace perfmodel::model
