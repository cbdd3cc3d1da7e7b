// LLM training estimate: one micro-batch of one layer on one rank, timed with the operator and
// collective models, multiplied by layers, micro-batches and the pipeline schedule.
// Assumptions sit next to the code.

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <vector>

#include <libperfmodel/detail/enum_check.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/model/operators.hpp>
#include <libperfmodel/model/training.hpp>
#include <libperfmodel/workload/ops.hpp>

namespace perfmodel::model {

namespace {

using hw::Precision;
using workload::Attention;
using workload::Elementwise;
using workload::Gemm;
using workload::TransformerModel;

constexpr std::array<std::string_view, kTrainParts> kPartNames{
    "forward", "backward", "recompute", "optimizer", "bubble", "tp_comm", "cp_comm", "ep_comm", "pp_comm", "dp_comm"};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// Assumption: runtime reserve per chip (CUDA/CANN context, NCCL/HCCL buffers, allocator
// fragmentation): 2 GiB plus 4 % of HBM, as in the serving model.
constexpr double kReserveFixed = 2.0 * kGiB;
constexpr double kReserveFraction = 0.04;
// Assumption: the flash-attention backward does 2.5x its forward's FLOPs: it recomputes QK^T and
// runs dV, dP, dQ, dK (five matmuls against two), at the family's attention_backward share of
// the forward's rate.
constexpr double kAttentionBackward = 2.5;
// Assumption: an elementwise backward reads the output gradient and the saved input and
// writes the input gradient: twice the forward's traffic.
constexpr double kElementwiseBackward = 2.0;
// Assumption: Adam with fp32 master weights moves 30 bytes per parameter: reads the fp32
// gradient, master weight and two moments (16 B), writes them back (12 B) and the bf16 copy (2 B);
// gradient-norm clipping (Megatron's and Meta's default) reads the fp32 gradients once more (4 B).
constexpr double kAdamBytesPerParam = 34.0;
// Assumption: fp16 training with loss scaling also copies the fp16 gradients into fp32 (2 B read,
// 4 B written) and unscales them with an inf/NaN check (8 B) before the step.
constexpr double kFp16OptimizerBytesPerParam = 14.0;
constexpr std::int64_t kMaxChips = std::int64_t{1} << 22;

std::string fmt(double v, int prec = 4) {
  std::ostringstream s;
  s.precision(prec);
  s << v;
  return s.str();
}
std::string num(std::int64_t v) { return std::to_string(v); }

[[noreturn]] void bad(const std::string& field, const std::string& what) { throw InvalidArgument(field + ": " + what); }

/// Time of one pass of one layer (or the head) on one rank for one micro-batch.
struct Pass {
  double fwd = 0, bwd = 0;       // compute
  double gemm_fwd = 0, gemm_bwd = 0;  // the GEMM part (what TP communication can hide under)
  double attn_fwd = 0;           // the attention kernel (selective recompute; CP hides under it)
  double fwd_flops = 0, bwd_flops = 0, attn_flops = 0;
  double fwd_bytes = 0, bwd_bytes = 0;  // HBM traffic
  double tp_fwd = 0, tp_bwd = 0, tp_bytes_fwd = 0, tp_bytes_bwd = 0;  // tensor-parallel collectives
  double cp_fwd = 0, cp_bwd = 0, cp_bytes_fwd = 0, cp_bytes_bwd = 0;  // context-parallel K/V exchange
  double ep_fwd = 0, ep_bytes_fwd = 0;  // MoE dispatch + combine
  double ep_bwd = 0, ep_bytes_bwd = 0;  // their gradients, both ways in 16 bits
  double expert_fwd_flops = 0, expert_mean = 1;  // the routed experts' forward, and the mean rank's share of it
};

struct Ctx {
  const TransformerModel& m;
  const TrainingSystem& sys;
  const TrainingPlan& plan;
  const TrainingParallelism& par;
  std::int64_t T = 0;    // tokens per rank in a micro-batch (GEMM rows)
  std::int64_t Tsp = 0;  // tokens per rank outside the TP region (norms, residuals)
  int heads_r = 0, kv_heads_r = 0;
  int domain = 1;
  bool accumulate_grads = true;  // several micro-batches add into one full gradient buffer (not ZeRO-2/3)
  Precision grad_precision = Precision::fp32;  // the gradient buffer's width (grad_reduce_bytes)
  double attn_bwd = kAttentionBackward;        // flash-attention backward time over its forward's
};

template <class Op>
OpEstimate est(const Ctx& c, const Op& op) {
  return estimate(c.sys.device(), op);
}

/// A weight GEMM: forward m×n×k; backward the input gradient (m×k×n) and the weight gradient (k×n×m).
void gemm(const Ctx& c, Pass& p, std::int64_t m, std::int64_t n, std::int64_t k, int groups = 1,
          Precision prec = Precision::bf16) {
  // Assumption: weight gradients accumulate over micro-batches in a buffer of the DP reduction's
  // width (fp32 unless grad_reduce_bytes = 2): the weight-gradient GEMM reads and writes it
  // (Megatron-Core's gradient-accumulation fusion into main_grad).
  const auto [f, di, dw] =
      estimate_training_gemms(c.sys.device(), Gemm::grouped_experts(m, n, k, prec, groups), c.grad_precision,
                              c.accumulate_grads);
  p.fwd += f.time.value();
  p.gemm_fwd += f.time.value();
  p.fwd_flops += f.flops.value();
  p.bwd += di.time.value() + dw.time.value();
  p.gemm_bwd += di.time.value() + dw.time.value();
  p.bwd_flops += di.flops.value() + dw.flops.value();
  p.fwd_bytes += f.hbm_bytes.value();
  p.bwd_bytes += di.hbm_bytes.value() + dw.hbm_bytes.value();
  if (workload::bytes_per_element(prec) < 2.0) {
    // Assumption: 8-bit training (Transformer Engine and the like) casts each GEMM's 16-bit
    // activation input (forward) and output gradient (backward) to 8 bits, row- and column-major
    // for the two backward GEMMs; weights are cast once per step and not counted.
    const OpEstimate x = est(c, Elementwise{Elementwise::Kind::cast_transpose, m * k * groups, prec});
    const OpEstimate dy = est(c, Elementwise{Elementwise::Kind::cast_transpose, m * n * groups, prec});
    p.fwd += x.time.value();
    p.bwd += dy.time.value();
    p.fwd_bytes += x.hbm_bytes.value();
    p.bwd_bytes += dy.hbm_bytes.value();
  }
}

void elementwise(const Ctx& c, Pass& p, Elementwise::Kind kind, std::int64_t elements) {
  const OpEstimate e = est(c, Elementwise{kind, std::max<std::int64_t>(1, elements), Precision::bf16});
  p.fwd += e.time.value();
  p.bwd += kElementwiseBackward * e.time.value();
  p.fwd_bytes += e.hbm_bytes.value();
  p.bwd_bytes += kElementwiseBackward * e.hbm_bytes.value();
}

/// Collective time inside a group of `ranks` ranks whose members sit `stride` ranks apart.
double group_collective(const Ctx& c, Collective kind, double bytes, int ranks, std::int64_t stride) {
  if (ranks <= 1 || bytes <= 0) return 0.0;
  const Network& net = c.sys.network();
  if (stride == 1) return estimate(net, kind, Bytes{bytes}, ranks).time.value();
  const std::int64_t per = std::clamp<std::int64_t>(c.domain / stride, 1, ranks);
  return estimate_spread(net, kind, Bytes{bytes}, ranks, static_cast<int>(per)).time.value();
}

/// One hop between neighbours `stride` ranks apart along a chain of `span` ranks (pipeline
/// stages, the CP ring). The hops run in lock step, so the slowest sets the pace: a chain that
/// does not fit in one scale-up domain has hops over the scale-out network even when its stride
/// is below the domain (TP4 stages on 8-GPU nodes: stage 1 -> 2 crosses nodes).
double neighbour_send(const Ctx& c, double bytes, std::int64_t stride, std::int64_t span) {
  if (bytes <= 0) return 0.0;
  const Network& net = c.sys.network();
  // Chains tile the ranks in blocks of `span`: inside one domain when a block fits and blocks do
  // not straddle domains (the whole instance, for the pipeline, starts at rank 0).
  const bool inside = stride < c.domain && span <= c.domain && (c.domain % span == 0 || span == c.par.ranks());
  if (inside) return estimate(net, Collective::send_recv, Bytes{bytes}, 2).time.value();
  return estimate_spread(net, Collective::send_recv, Bytes{bytes}, 2, 1).time.value();
}

void tp_collectives(const Ctx& c, Pass& p, int count) {
  const int tp = c.par.tp;
  if (tp <= 1) return;
  const double bytes = static_cast<double>(c.T) * c.m.hidden * 2.0;  // bf16 activations, gathered size
  const double frac = (tp - 1.0) / tp;
  if (c.par.sequence_parallel) {
    // Sequence parallel: each all-reduce becomes an all-gather (into the block) and a reduce-scatter
    // (out of it); the backward mirrors them and gathers the block's input once more for the
    // weight gradient (Megatron saves only its sequence shard): two all-gathers and a reduce-scatter.
    const double ag = group_collective(c, Collective::all_gather, bytes, tp, 1);
    const double rs = group_collective(c, Collective::reduce_scatter, bytes, tp, 1);
    p.tp_fwd += count * (ag + rs);
    p.tp_bwd += count * (2.0 * ag + rs);
    p.tp_bytes_fwd += count * 2.0 * frac * bytes;
    p.tp_bytes_bwd += count * 3.0 * frac * bytes;
  } else {
    // Backward mirrors the forward: one all-reduce of the input gradient per block.
    const double t = group_collective(c, Collective::all_reduce, bytes, tp, 1);
    p.tp_fwd += count * t;
    p.tp_bwd += count * t;
    p.tp_bytes_fwd += count * 2.0 * frac * bytes;
    p.tp_bytes_bwd += count * 2.0 * frac * bytes;
  }
}

/// K and V elements per token on one TP rank, as context parallelism exchanges them: MLA's
/// expanded per-head K and V (not the latent), or the GQA rank's K/V heads.
std::int64_t cp_kv_elements(const Ctx& c) {
  const auto& m = c.m;
  if (m.mla) return static_cast<std::int64_t>(c.heads_r) * (m.mla->nope_dim + m.mla->rope_dim + m.mla->v_head_dim);
  return 2 * static_cast<std::int64_t>(c.kv_heads_r) * m.head_dim;
}

void attention_block(const Ctx& c, Pass& p) {
  const auto& m = c.m;
  const Precision w = c.plan.precision;
  const bool gated = m.activation == workload::FfnActivation::swiglu;
  const auto norm = gated ? Elementwise::Kind::rmsnorm : Elementwise::Kind::layernorm;
  const std::int64_t T = c.T, h = m.hidden, hr = c.heads_r;
  const std::int64_t mb = c.plan.micro_batch;
  const std::int64_t q_len = c.plan.seq_len / c.par.cp;
  // Assumption: CP gives each rank two of 2·cp equal chunks (i and 2cp - 1 - i), so causal masking
  // leaves every rank q_len·seq/2 score pairs: a query block of q_len against (seq + q_len)/2 keys
  // counts the same (the last chunk alone, against all seq keys, would count up to twice that).
  const std::int64_t kv_len = c.par.cp > 1 ? (c.plan.seq_len + q_len + 1) / 2 : c.plan.seq_len;
  elementwise(c, p, norm, c.Tsp * h);
  Attention at{};
  if (m.mla) {
    const auto& a = *m.mla;
    if (a.q_lora_rank > 0) {
      gemm(c, p, T, a.q_lora_rank, h, 1, w);
      elementwise(c, p, Elementwise::Kind::rmsnorm, T * a.q_lora_rank);
      gemm(c, p, T, hr * (a.nope_dim + a.rope_dim), a.q_lora_rank, 1, w);
    } else {
      gemm(c, p, T, hr * (a.nope_dim + a.rope_dim), h, 1, w);
    }
    gemm(c, p, T, a.kv_lora_rank + a.rope_dim, h, 1, w);
    elementwise(c, p, Elementwise::Kind::rmsnorm, T * a.kv_lora_rank);
    gemm(c, p, T, hr * (a.nope_dim + a.v_head_dim), a.kv_lora_rank, 1, w);
    elementwise(c, p, Elementwise::Kind::rope, T * (hr + 1) * a.rope_dim);
    at = Attention::mla(Attention::Phase::prefill, mb, q_len, kv_len, hr, a.kv_lora_rank, a.rope_dim, a.nope_dim,
                        a.v_head_dim);
    gemm(c, p, T, h, hr * a.v_head_dim, 1, w);
  } else {
    const std::int64_t d = m.head_dim, kvr = c.kv_heads_r;
    gemm(c, p, T, (hr + 2 * kvr) * d, h, 1, w);
    if (gated) elementwise(c, p, Elementwise::Kind::rope, T * (hr + kvr) * d);
    at = Attention::gqa(Attention::Phase::prefill, mb, q_len, kv_len, hr, kvr, d);
    gemm(c, p, T, h, hr * d, 1, w);
  }
  at.compute = Precision::bf16;  // Assumption: attention stays bf16 in FP8 training too.
  at.kv_cache = Precision::bf16;
  if (c.plan.flash_attention) {
    const OpEstimate ae = est(c, at);
    p.fwd += ae.time.value();
    p.attn_fwd += ae.time.value();
    p.fwd_flops += ae.flops.value();
    p.attn_flops += ae.flops.value();
    p.bwd += c.attn_bwd * ae.time.value();
    p.bwd_flops += kAttentionBackward * ae.flops.value();
    p.fwd_bytes += ae.hbm_bytes.value();
    p.bwd_bytes += kAttentionBackward * ae.hbm_bytes.value();
  } else {
    // Unfused attention: batched QK^T and PV GEMMs per head with the full (non-causal) score
    // matrix written to HBM, a fused scale-mask-softmax pass over it, optional dropout.
    Pass core;
    const std::int64_t groups = mb * hr;
    const std::int64_t scores = groups * q_len * c.plan.seq_len;
    gemm(c, core, q_len, c.plan.seq_len, at.head_dim_qk, static_cast<int>(groups));
    elementwise(c, core, Elementwise::Kind::softmax, scores);
    if (c.plan.dropout) elementwise(c, core, Elementwise::Kind::scale, scores);
    gemm(c, core, q_len, at.head_dim_v, c.plan.seq_len, static_cast<int>(groups));
    p.fwd += core.fwd;
    p.attn_fwd += core.fwd;
    p.gemm_fwd += core.gemm_fwd;
    p.gemm_bwd += core.gemm_bwd;
    p.fwd_flops += core.fwd_flops;
    p.attn_flops += core.fwd_flops;
    p.bwd += core.bwd;
    p.bwd_flops += core.bwd_flops;
    p.fwd_bytes += core.fwd_bytes;
    p.bwd_bytes += core.bwd_bytes;
  }
  if (c.plan.dropout) elementwise(c, p, Elementwise::Kind::scale, c.Tsp * h);
  elementwise(c, p, Elementwise::Kind::add, c.Tsp * h);
  tp_collectives(c, p, 1);
  if (c.par.cp > 1) {
    const double bytes = static_cast<double>(c.T) * cp_kv_elements(c) * 2.0;  // this rank's K/V chunk, bf16
    if (c.plan.cp_comm == CpComm::ring) {
      // Ring attention: each rank passes its K/V chunk cp - 1 times; the backward passes K/V and
      // returns dK/dV, twice the forward.
      const double hop = neighbour_send(c, bytes, c.par.tp, static_cast<std::int64_t>(c.par.tp) * c.par.cp);
      p.cp_fwd += (c.par.cp - 1) * hop;
      p.cp_bwd += 2.0 * (c.par.cp - 1) * hop;
      p.cp_bytes_fwd += (c.par.cp - 1) * bytes;
      p.cp_bytes_bwd += 2.0 * (c.par.cp - 1) * bytes;
    } else {
      // Llama 3's CP: all-gather the whole sequence's K/V, attend the local queries, reduce-scatter
      // dK/dV in the backward. Assumption: the gathered K/V are kept for the backward (GQA keeps
      // them small), so the backward does not gather again.
      const double whole = bytes * c.par.cp;
      p.cp_fwd += group_collective(c, Collective::all_gather, whole, c.par.cp, c.par.tp);
      p.cp_bwd += group_collective(c, Collective::reduce_scatter, whole, c.par.cp, c.par.tp);
      p.cp_bytes_fwd += (c.par.cp - 1) * bytes;
      p.cp_bytes_bwd += (c.par.cp - 1) * bytes;
    }
  }
}

void ffn(const Ctx& c, Pass& p, std::int64_t rows, std::int64_t inter, int groups) {
  const auto& m = c.m;
  const bool gated = m.activation == workload::FfnActivation::swiglu;
  gemm(c, p, rows, (gated ? 2 : 1) * inter, m.hidden, groups, c.plan.precision);
  elementwise(c, p, gated ? Elementwise::Kind::gated : Elementwise::Kind::activation, rows * inter * groups);
  gemm(c, p, rows, m.hidden, inter, groups, c.plan.precision);
  if (c.plan.dropout) elementwise(c, p, Elementwise::Kind::scale, c.Tsp * m.hidden);
}

void dense_block(const Ctx& c, Pass& p) {
  const auto& m = c.m;
  const auto norm = m.activation == workload::FfnActivation::swiglu ? Elementwise::Kind::rmsnorm : Elementwise::Kind::layernorm;
  elementwise(c, p, norm, c.Tsp * m.hidden);
  ffn(c, p, c.T, m.ffn / c.par.tp, 1);
  elementwise(c, p, Elementwise::Kind::add, c.Tsp * m.hidden);
  tp_collectives(c, p, 1);
}

void moe_block(const Ctx& c, Pass& p) {
  const auto& m = c.m;
  const auto& e = *m.moe;
  const int ep = c.par.ep;
  elementwise(c, p, Elementwise::Kind::rmsnorm, c.Tsp * m.hidden);
  // Assumption: experts are not tensor-split; the TP group's tokens are split over its ranks
  // (sequence parallel), each rank routes Tsp tokens to the ep ranks of its expert group.
  gemm(c, p, c.Tsp, e.routed_experts, m.hidden, 1, Precision::bf16);
  const int experts_r = e.routed_experts / ep;
  const double mean_rows = static_cast<double>(c.Tsp) * e.top_k * ep / e.routed_experts;
  // Busiest rank: the plan's imbalance times the statistical excess of random routing.
  const double mu = mean_rows * experts_r;
  const double imbalance = c.plan.expert_imbalance * (ep > 1 ? 1.0 + std::sqrt(2.0 * std::log(static_cast<double>(ep)) / mu) : 1.0);
  const auto rows = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(mean_rows * imbalance)));
  // Assumption: the routed copies are permuted into expert order before the grouped GEMMs and
  // back (gate-weighted) after them: two 16-bit copies of the rank's routed rows (Megatron-Core).
  elementwise(c, p, Elementwise::Kind::copy, rows * experts_r * m.hidden);
  const double before = p.fwd_flops;
  ffn(c, p, rows, e.expert_ffn, experts_r);
  p.expert_fwd_flops += p.fwd_flops - before;
  p.expert_mean = std::min(1.0, mean_rows / static_cast<double>(rows));
  elementwise(c, p, Elementwise::Kind::copy, rows * experts_r * m.hidden);
  if (e.shared_experts > 0) ffn(c, p, c.Tsp, e.expert_ffn * e.shared_experts, 1);
  elementwise(c, p, Elementwise::Kind::add, c.Tsp * m.hidden);
  if (ep > 1) {
    MoeExchange x;
    // NCCL all-to-all sends each routed copy to its expert's rank: the collective model's
    // per-(token, expert) exchange; DeepEP-style dispatchers send one copy per rank and node.
    x.mode = c.plan.moe_dispatcher == MoeDispatcher::alltoall ? MoeExchange::Mode::low_latency : MoeExchange::Mode::normal;
    x.tokens = c.Tsp;
    x.hidden = m.hidden;
    x.topk = e.top_k;
    x.experts = e.routed_experts;
    x.ranks = ep;
    x.imbalance = imbalance;
    x.bytes_per_element = workload::bytes_per_element(c.plan.precision) <= 1.0 ? 1.0 : 2.0;
    x.phase = MoeExchange::Phase::dispatch;
    // Assumption: the expert group is placed contiguously (ep ranks of consecutive domains).
    const MoeResult d = estimate(c.sys.network(), x);
    x.bytes_per_element = 2.0;
    x.phase = MoeExchange::Phase::combine;
    const MoeResult k = estimate(c.sys.network(), x);
    p.ep_fwd += d.time.value() + k.time.value();
    p.ep_bytes_fwd += d.bytes_per_rank.value() + k.bytes_per_rank.value();
    // Backward: the combine's gradient goes to the experts and the dispatch's comes back, both
    // 16-bit (an fp8 plan quantizes the forward dispatch only).
    x.phase = MoeExchange::Phase::dispatch;
    const bool narrow = workload::bytes_per_element(c.plan.precision) <= 1.0;
    const MoeResult d16 = narrow ? estimate(c.sys.network(), x) : d;
    p.ep_bwd += d16.time.value() + k.time.value();
    p.ep_bytes_bwd += d16.bytes_per_rank.value() + k.bytes_per_rank.value();
  }
  // The layer's tokens are already split over the TP group (sequence parallelism, which MoE at
  // tp > 1 requires), so the unsplit experts need no TP collective.
}

/// Embedding lookup (first stage) and LM head with the cross-entropy loss (last stage).
Pass head_pass(const Ctx& c) {
  Pass p;
  const auto& m = c.m;
  elementwise(c, p, Elementwise::Kind::copy, c.Tsp * m.hidden);
  elementwise(c, p, Elementwise::Kind::rmsnorm, c.Tsp * m.hidden);
  const std::int64_t v = (m.vocab + c.par.tp - 1) / c.par.tp;  // vocabulary-parallel over TP
  gemm(c, p, c.T, v, m.hidden, 1, Precision::bf16);  // Assumption: the LM head stays bf16 in FP8 training.
  if (c.plan.loss_fusion) {
    elementwise(c, p, Elementwise::Kind::softmax, c.T * v);  // one fused pass over the logits
  } else {
    // Megatron's unfused vocabulary-parallel loss on logits.float(): forward cast (2 B read, 4 B
    // written), max (4), in-place subtract (8), exp (8), sum (4) and divide (8) = 38 bytes per logit;
    // backward scales the saved softmax in place (8) and casts the gradient back (6) = 14.
    const double n = static_cast<double>(c.T) * v;
    const OpEstimate f = est(c, Elementwise{Elementwise::Kind::copy, static_cast<std::int64_t>(n * 38.0 / 8.0), Precision::fp32});
    const OpEstimate b = est(c, Elementwise{Elementwise::Kind::copy, static_cast<std::int64_t>(n * 14.0 / 8.0), Precision::fp32});
    p.fwd += f.time.value();
    p.bwd += b.time.value();
    p.fwd_bytes += f.hbm_bytes.value();
    p.bwd_bytes += b.hbm_bytes.value();
  }
  tp_collectives(c, p, 1);
  return p;
}

/// Model FLOPs per token (forward + backward = 3x forward), attention counted non-causal as
/// Megatron, PaLM and Llama 3 report it; and the forward FLOPs per token of the layers alone
/// (what full recomputation repeats) and of core attention (what selective repeats).
struct FlopCount {
  double model_per_token = 0;
  double layer_fwd_per_token = 0;
  double attention_fwd_per_token = 0;
};

FlopCount flop_count(const TransformerModel& m, std::int64_t seq) {
  double dqk = 0, dv = 0;
  if (m.mla) {
    dqk = static_cast<double>(m.mla->nope_dim + m.mla->rope_dim);
    dv = static_cast<double>(m.mla->v_head_dim);
  } else {
    dqk = dv = static_cast<double>(m.head_dim);
  }
  const double attn = 2.0 * static_cast<double>(seq) * m.heads * (dqk + dv) * m.layers;
  // Active parameters count the LM head but not the embedding lookup (a gather) nor MTP modules.
  const double head = m.embedding_parameters();
  const double matmul = m.active_parameters();
  FlopCount f;
  f.model_per_token = 6.0 * matmul + 3.0 * attn;
  f.layer_fwd_per_token = 2.0 * (matmul - head) + attn;
  f.attention_fwd_per_token = attn;
  return f;
}

/// Overlap of communication M under compute C: time max(C, M) + (1 - eta)·min(C, M); returns
/// the part beyond C (the exposed communication).
double exposed_beyond(double compute, double comm, double eta) {
  if (comm <= 0) return 0.0;
  return std::max(compute, comm) + (1.0 - eta) * std::min(compute, comm) - compute;
}

/// One layer on one rank for one micro-batch: dense and MoE layers mixed in the model's
/// proportion (assumption: they are spread over the stages alike), with what is exposed of its
/// tensor-, context- and expert-parallel communication.
struct LayerCost {
  Pass dense, moe;
  double f_moe = 0;
  double fwd = 0, bwd = 0, attn = 0, recompute = 0;
  double tp = 0, tp_exposed = 0, cp = 0, cp_exposed = 0, ep = 0;
  double tp_bytes = 0, cp_bytes = 0, ep_bytes = 0;  // per rank, every pass
  double flops = 0;       // forward + backward + recompute
  double mean_flops = 0;  // the same for the mean expert rank (the busiest carries the imbalance)
  double attn_flops = 0;  // the attention kernels' share of it
  [[nodiscard]] double mix(double Pass::*field) const { return (1.0 - f_moe) * dense.*field + f_moe * moe.*field; }
  /// Critical-path time of the layer for one micro-batch.
  [[nodiscard]] double time() const { return fwd + bwd + recompute + tp_exposed + cp_exposed + ep; }
};

LayerCost layer_cost(const Ctx& c, double eta) {
  const auto& m = c.m;
  const auto& plan = c.plan;
  const bool full = plan.recompute == Recompute::full;
  LayerCost l;
  attention_block(c, l.dense);
  if (m.moe) {
    l.moe = l.dense;
    moe_block(c, l.moe);
  }
  if (m.dense_layers() > 0) dense_block(c, l.dense);
  l.f_moe = static_cast<double>(m.moe_layers()) / m.layers;
  l.fwd = l.mix(&Pass::fwd);
  l.bwd = l.mix(&Pass::bwd);
  l.attn = l.mix(&Pass::attn_fwd);
  double recompute_tp = 0;
  if (full) {
    l.recompute = l.fwd;  // the whole layer forward again, with its TP collectives
    recompute_tp = l.mix(&Pass::tp_fwd);
  } else if (plan.recompute == Recompute::selective) {
    l.recompute = l.attn;
  }
  // Tensor-parallel collectives: exposed unless overlapped with the layer's GEMMs.
  l.tp = l.mix(&Pass::tp_fwd) + l.mix(&Pass::tp_bwd) + recompute_tp;
  l.tp_bytes = l.mix(&Pass::tp_bytes_fwd) * (full ? 2.0 : 1.0) + l.mix(&Pass::tp_bytes_bwd);
  const double gemm = l.mix(&Pass::gemm_fwd) + l.mix(&Pass::gemm_bwd) + (full ? l.mix(&Pass::gemm_fwd) : 0.0);
  l.tp_exposed = plan.overlap_tp ? exposed_beyond(gemm, l.tp, eta) : l.tp;
  // CP exchange: forward, backward and, with any recomputation, the recomputed attention's forward.
  // The ring runs under the attention kernels; the all-gather and reduce-scatter sit before and
  // after them, exposed (Llama 3 says so of its all-gather).
  const bool attn_again = plan.recompute != Recompute::none;
  const double again = attn_again ? 1.0 : 0.0;
  l.cp = (1.0 + again) * l.mix(&Pass::cp_fwd) + l.mix(&Pass::cp_bwd);
  l.cp_bytes = (1.0 + again) * l.mix(&Pass::cp_bytes_fwd) + l.mix(&Pass::cp_bytes_bwd);
  l.cp_exposed = plan.cp_comm == CpComm::ring ? exposed_beyond(l.attn * (1.0 + c.attn_bwd + again), l.cp, eta) : l.cp;
  // MoE dispatch/combine in forward and backward (and the recomputed forward), not overlapped.
  l.ep = l.mix(&Pass::ep_fwd) * (full ? 2.0 : 1.0) + l.mix(&Pass::ep_bwd);
  l.ep_bytes = l.mix(&Pass::ep_bytes_fwd) * (full ? 2.0 : 1.0) + l.mix(&Pass::ep_bytes_bwd);
  const double rec_flops = full ? l.mix(&Pass::fwd_flops)
                           : plan.recompute == Recompute::selective ? l.mix(&Pass::attn_flops) : 0.0;
  l.flops = l.mix(&Pass::fwd_flops) + l.mix(&Pass::bwd_flops) + rec_flops;
  // Expert GEMMs: forward, two backward GEMMs, and the forward again under full recompute.
  l.mean_flops = l.flops - l.f_moe * l.moe.expert_fwd_flops * (3.0 + (full ? 1.0 : 0.0)) * (1.0 - l.moe.expert_mean);
  l.attn_flops = l.mix(&Pass::attn_flops) * (1.0 + kAttentionBackward + (plan.recompute == Recompute::none ? 0.0 : 1.0));
  return l;
}

/// Layers one pipeline stage holds: all of them, and those kept in bf16 (bf16_layers).
struct StageLayers {
  int layers = 0;
  int bf16 = 0;
};

/// Layer count per stage: the model's layers in order over pp·v chunks, chunk j on stage j mod pp;
/// with lighter_ends the embedding and the LM head take one slot each of the end chunks. The
/// first and last `bf16_layers` layers are the bf16 ones.
std::vector<StageLayers> layers_per_stage(const TransformerModel& m, const TrainingParallelism& par, int bf16_layers) {
  if (!par.stage_layers.empty()) {  // an explicit split (v = 1): layer i sits on the stage its running sum reaches
    std::vector<StageLayers> st;
    for (int n : par.stage_layers) st.push_back(StageLayers{n, 0});
    auto mark = [&](int i) {
      for (auto& s : st) {
        if (i < s.layers) {
          ++s.bf16;
          return;
        }
        i -= s.layers;
      }
    };
    for (int i = 0; i < bf16_layers; ++i) {
      mark(i);
      mark(m.layers - 1 - i);
    }
    return st;
  }
  const int pp = par.pp, v = par.virtual_stages;
  const bool lighter = par.layout == StageLayout::lighter_ends;
  const int slots = (lighter ? m.layers + 2 : m.layers) / (pp * v);  // per chunk
  std::vector<StageLayers> st(static_cast<std::size_t>(pp), StageLayers{v * slots, 0});
  if (lighter) {
    --st.front().layers;  // the embedding's slot
    --st.back().layers;   // the LM head's slot
  }
  // Layer i fills slot i (+1 past the embedding's), so it sits in chunk slot / slots.
  auto mark = [&](int i) { ++st[static_cast<std::size_t>(((i + (lighter ? 1 : 0)) / slots) % pp)].bf16; };
  for (int i = 0; i < bf16_layers; ++i) {
    mark(i);
    mark(m.layers - 1 - i);
  }
  return st;
}

void check(const TransformerModel& m, const TrainingSystem& sys, const TrainingPlan& plan) {
  const auto& p = plan.parallel;
  detail::check_enum(plan.recompute, Recompute::none, Recompute::full, "recompute", "Recompute");
  detail::check_enum(plan.sharding, Sharding::none, Sharding::parameters, "sharding", "Sharding");
  detail::check_enum(plan.moe_dispatcher, MoeDispatcher::deepep, MoeDispatcher::alltoall, "moe_dispatcher", "MoeDispatcher");
  detail::check_enum(plan.cp_comm, CpComm::ring, CpComm::allgather, "cp_comm", "CpComm");
  detail::check_enum(p.layout, StageLayout::even, StageLayout::lighter_ends, "parallel.layout", "StageLayout");
  if (!hw::is_valid(plan.precision)) {
    bad("precision", "not a hw::Precision value (" + std::to_string(static_cast<int>(plan.precision)) + ")");
  }
  auto pos = [](std::int64_t v, const char* f) {
    if (v < 1) bad(f, "must be >= 1, got " + num(v));
  };
  pos(p.tp, "parallel.tp");
  pos(p.cp, "parallel.cp");
  pos(p.dp, "parallel.dp");
  pos(p.pp, "parallel.pp");
  pos(p.ep, "parallel.ep");
  pos(p.virtual_stages, "parallel.virtual_stages");
  pos(plan.global_batch, "global_batch");
  pos(plan.micro_batch, "micro_batch");
  pos(plan.seq_len, "seq_len");
  // Token counts (batch x sequence x width) must stay inside 64 bits, as in serving.
  constexpr std::int64_t kMaxCount = std::int64_t{1} << 31;
  for (const auto& [v, f] : {std::pair{plan.global_batch, "global_batch"}, {plan.micro_batch, "micro_batch"},
                             {plan.seq_len, "seq_len"}}) {
    if (v > kMaxCount) bad(f, "must be at most 2^31, got " + num(v));
  }
  // Attention counts seq_len^2 score pairs per head: 2^24 tokens (past any trained context) keeps
  // them, times heads and batch, in 64 bits (1e9 overflowed inside the attention estimate).
  if (plan.seq_len > (std::int64_t{1} << 24)) bad("seq_len", "must be at most 2^24 (16,777,216) tokens, got " + num(plan.seq_len));
  pos(p.ranks_per_chip, "parallel.ranks_per_chip");
  const int rpc = p.ranks_per_chip;
  if (rpc != sys.ranks_per_chip()) {
    bad("parallel.ranks_per_chip", "the plan has " + num(rpc) + " ranks per chip but the prepared system " +
                                       sys.system().id + " has " + num(sys.ranks_per_chip()) +
                                       " (prepare it with the plan's ranks_per_chip)");
  }
  if (plan.chips < 0) bad("chips", "must be >= 0 (0: tp x cp x dp x pp), got " + num(plan.chips));
  // The product in floating point first: ranks() in 64 bits wraps for degrees near 2^31.
  if (const double product = static_cast<double>(p.tp) * p.cp * p.dp * p.pp; product > 64.0 * kMaxChips) {
    bad("parallel", "tp x cp x dp x pp = " + num(p.tp) + " x " + num(p.cp) + " x " + num(p.dp) + " x " + num(p.pp) +
                        " = " + fmt(product, 4) + " ranks exceed the supported " + num(64 * kMaxChips));
  }
  const std::int64_t ranks = p.ranks();
  // With one rank per chip the messages speak of chips; with several, of ranks.
  const std::string unit = rpc > 1 ? " ranks" : " chips";
  if (ranks % rpc != 0) {
    bad("parallel.ranks_per_chip", "tp x cp x dp x pp = " + num(ranks) + " ranks do not fill whole chips of " + num(rpc) +
                                       " ranks (remainder " + num(ranks % rpc) + ")");
  }
  const std::int64_t chips = p.chips();
  if (plan.chips > 0 && plan.chips != chips) {
    bad("chips", "tp x cp x dp x pp = " + num(p.tp) + " x " + num(p.cp) + " x " + num(p.dp) + " x " + num(p.pp) + " = " +
                     num(ranks) + " ranks" + (rpc > 1 ? " = " + num(chips) + " chips at " + num(rpc) + " ranks each" : "") +
                     ", not the " + num(plan.chips) + " chips asked (off by " + num(chips - plan.chips) + ")");
  }
  if (chips > kMaxChips) bad("chips", num(chips) + " chips exceed the supported " + num(kMaxChips));
  const int domain = sys.domain();  // ranks in one scale-up domain
  if (ranks > domain && !sys.network().scale_out()) {
    bad("chips", num(ranks) + unit + " span several " + sys.system().id + " scale-up domains of " + num(domain) +
                     " but the chip's scale_out bandwidth is unknown: the domains are not connected");
  }
  // A stage's tp x cp x dp ranks run the data-parallel collectives; spread over several domains
  // they must fill whole ones (the collective model spreads a group evenly over domains).
  if (const std::int64_t stage = static_cast<std::int64_t>(p.tp) * p.cp * p.dp; stage > domain && stage % domain != 0) {
    bad("parallel", "tp x cp x dp = " + num(p.tp) + " x " + num(p.cp) + " x " + num(p.dp) + " = " + num(stage) +
                        " ranks per pipeline stage span several " + sys.system().id + " scale-up domains of " + num(domain) +
                        " without filling whole ones (remainder " + num(stage % domain) + "); choose degrees whose product is a multiple of " +
                        num(domain));
  }
  if (ranks > domain && ranks % domain != 0 && p.tp * p.cp * p.dp > domain) {
    bad("chips", num(ranks) + unit + " do not fill whole " + sys.system().id + " domains of " + num(domain));
  }
  if (m.heads % p.tp != 0) {
    bad("parallel.tp", "tp=" + num(p.tp) + " does not divide the " + num(m.heads) + " attention heads of " + m.id + " (" +
                           fmt(static_cast<double>(m.heads) / p.tp) + " per rank)");
  }
  if (!m.mla && m.kv_heads >= p.tp && m.kv_heads % p.tp != 0) {
    bad("parallel.tp", "tp=" + num(p.tp) + " does not divide the " + num(m.kv_heads) + " key-value heads of " + m.id);
  }
  if (m.ffn % p.tp != 0 && m.dense_layers() > 0) {
    bad("parallel.tp", "tp=" + num(p.tp) + " does not divide the FFN size " + num(m.ffn) + " of " + m.id);
  }
  if (p.tp > domain) {
    bad("parallel.tp", "tp=" + num(p.tp) + " exceeds the scale-up domain of " + sys.system().id + " (" + num(domain) + unit +
                           "); tensor parallelism across the scale-out network is not modelled");
  }
  if (plan.seq_len % p.cp != 0) {
    bad("parallel.cp", "cp=" + num(p.cp) + " does not divide the sequence length " + num(plan.seq_len));
  }
  const std::int64_t per_replica = static_cast<std::int64_t>(p.dp) * plan.micro_batch;
  if (plan.global_batch % per_replica != 0) {
    bad("micro_batch", "dp x micro_batch = " + num(p.dp) + " x " + num(plan.micro_batch) + " = " + num(per_replica) +
                           " does not divide the global batch of " + num(plan.global_batch) + " sequences (remainder " +
                           num(plan.global_batch % per_replica) + ")");
  }
  if (!p.stage_layers.empty()) {
    std::int64_t sum = 0;
    for (int n : p.stage_layers) {
      if (n < 1) bad("parallel.stage_layers", "every stage needs at least 1 layer, got " + num(n));
      sum += n;
    }
    if (static_cast<std::int64_t>(p.stage_layers.size()) != p.pp) {
      bad("parallel.stage_layers", num(static_cast<std::int64_t>(p.stage_layers.size())) + " entries for pp=" + num(p.pp) +
                                       " stages");
    }
    if (sum != m.layers) {
      bad("parallel.stage_layers", "the stages hold " + num(sum) + " layers, " + m.id + " has " + num(m.layers) +
                                       " (off by " + num(sum - m.layers) + ")");
    }
    if (p.virtual_stages != 1) bad("parallel.stage_layers", "an explicit split needs virtual_stages=1, got " + num(p.virtual_stages));
  } else if (p.layout == StageLayout::even) {
    if (m.layers % p.pp != 0) {
      // Point at lighter_ends only where it would work (layers + 2 divisible by pp).
      const bool lighter_fits = p.pp >= 2 && (m.layers + 2) % p.pp == 0 && (m.layers + 2) / p.pp >= 2;
      bad("parallel.pp", "pp=" + num(p.pp) + " does not divide the " + num(m.layers) + " layers of " + m.id + " (" +
                             fmt(static_cast<double>(m.layers) / p.pp) + " per stage" +
                             (lighter_fits ? std::string("; layout \"lighter_ends\" takes the ") + num(m.layers + 2) +
                                                 " layers + 2 over pp=" + num(p.pp) + ")"
                                           : std::string("; layers per stage can be given as a list: layout=[...])")));
    }
  } else {
    if (p.pp < 2 || (m.layers + 2) % p.pp != 0 || (m.layers + 2) / p.pp < 2) {
      bad("parallel.layout", "\"lighter_ends\" needs pp >= 2 dividing layers + 2 = " + num(m.layers + 2) + ", got pp=" + num(p.pp));
    }
  }
  const int stage_layers = p.layout == StageLayout::even ? m.layers / p.pp : (m.layers + 2) / p.pp;
  // With lighter_ends the embedding and the LM head take the chunk slots the end stages give up.
  if (p.stage_layers.empty() && p.virtual_stages > 1 && (p.pp < 2 || stage_layers % p.virtual_stages != 0)) {
    bad("parallel.virtual_stages", "virtual_stages=" + num(p.virtual_stages) + " needs pp >= 2 and must divide the " +
                                       num(stage_layers) + " layers of a stage");
  }
  if (m.moe) {
    // The expert group is carved from tp x cp x dp (Megatron-Core's MoE parallel folding; experts
    // are not tensor-split).
    const std::int64_t dcp = static_cast<std::int64_t>(p.dp) * p.cp;
    if (p.tp > 1 && !p.sequence_parallel) {  // every TP rank would run every token through its experts
      bad("parallel.sequence_parallel", m.id + " at tp=" + num(p.tp) + " needs sequence parallelism: its unsplit experts "
                                        "take the TP group's split tokens (Megatron-Core requires it with MoE)");
    }
    if ((dcp * p.tp) % p.ep != 0) {
      bad("parallel.ep", "ep=" + num(p.ep) + " must divide tp x cp x dp = " + num(dcp * p.tp));
    }
    if (m.moe->routed_experts % p.ep != 0) {
      bad("parallel.ep", "ep=" + num(p.ep) + " does not divide the " + num(m.moe->routed_experts) + " routed experts of " + m.id);
    }
  } else if (p.ep != 1) {
    bad("parallel.ep", m.id + " has no experts; ep must be 1, got " + num(p.ep));
  }
  if (!(plan.grad_reduce_bytes == 2.0 || plan.grad_reduce_bytes == 4.0)) {
    bad("grad_reduce_bytes", "must be 2 (bf16) or 4 (fp32), got " + fmt(plan.grad_reduce_bytes));
  }
  const bool eight_bit = workload::bytes_per_element(plan.precision) < 2.0;
  if (plan.bf16_layers < 0 || 2 * static_cast<std::int64_t>(plan.bf16_layers) > m.layers) {
    bad("bf16_layers", "must be between 0 and half the " + num(m.layers) + " layers of " + m.id + ", got " +
                           num(plan.bf16_layers));
  }
  if (plan.bf16_layers > 0 && !eight_bit) {
    bad("bf16_layers", "keeps end layers in bf16 within an fp8 plan; precision is " +
                           std::string(hw::to_string(plan.precision)));
  }
  if (plan.fp8_params && !eight_bit) {
    bad("fp8_params", "holds weights in 8 bits for an fp8 plan; precision is " + std::string(hw::to_string(plan.precision)));
  }
  // A busiest rank takes at most every routed token, ep x the mean; 2^20 bounds any expert group
  // (1e300 overflowed to inf activations).
  constexpr double kMaxImbalance = 1 << 20;
  if (!(plan.expert_imbalance >= 1.0 && plan.expert_imbalance <= kMaxImbalance)) {
    bad("expert_imbalance", "must be in [1, 2^20] (the busiest expert rank's load over what random routing gives it), got " + fmt(plan.expert_imbalance));
  }
  if (plan.expert_imbalance != 1.0 && !m.moe) {  // ignored otherwise, as if modelled
    bad("expert_imbalance", m.id + " has no experts; must be 1, got " + fmt(plan.expert_imbalance));
  }
  if (plan.moe_dispatcher != MoeDispatcher::deepep && !m.moe) {  // the same: it would change nothing
    bad("moe_dispatcher", m.id + " has no experts to dispatch to; leave it at its default (deepep)");
  }
  // Whole tokens, up to 1e18 (a thousand times today's largest runs; 1e308 gave inf energy).
  if (plan.train_tokens != 0.0 &&
      !(plan.train_tokens >= 1.0 && plan.train_tokens <= 1e18 && std::floor(plan.train_tokens) == plan.train_tokens)) {
    bad("train_tokens", "must be 0 (not reported) or a whole count in [1, 1e18], got " + fmt(plan.train_tokens));
  }
  const Precision pr = plan.precision;
  if (pr != Precision::bf16 && pr != Precision::fp16 && pr != Precision::fp8) {
    bad("precision", "training runs GEMMs in bf16, fp16 or fp8, got " + std::string(hw::to_string(pr)));
  }
  if (!sys.device().supports(pr)) {
    bad("precision", sys.device().chip().id + " has no known dense matrix throughput at " + std::string(hw::to_string(pr)));
  }
  if (!sys.device().supports(Precision::bf16)) {
    bad("precision", sys.device().chip().id + " has no known bf16 matrix throughput (attention and the LM head run in bf16)");
  }
}

std::string gb(double bytes) { return fmt(bytes / 1e9, 4) + " GB"; }

}  // namespace

std::string_view to_string(TrainPart p) { return detail::enum_name(p, kPartNames); }

std::string_view to_string(Recompute r) {
  switch (r) {
    case Recompute::none: return "none";
    case Recompute::selective: return "selective";
    case Recompute::full: return "full";
  }
  return "?";
}
Recompute recompute_from_string(std::string_view s) {
  if (s == "none") return Recompute::none;
  if (s == "selective") return Recompute::selective;
  if (s == "full") return Recompute::full;
  bad("recompute", "expected none, selective or full, got '" + std::string(s) + "'");
}
std::string_view to_string(Sharding s) {
  switch (s) {
    case Sharding::none: return "none";
    case Sharding::optimizer: return "optimizer";
    case Sharding::gradients: return "gradients";
    case Sharding::parameters: return "parameters";
  }
  return "?";
}
Sharding sharding_from_string(std::string_view s) {
  if (s == "none" || s == "zero0") return Sharding::none;
  if (s == "optimizer" || s == "zero1") return Sharding::optimizer;
  if (s == "gradients" || s == "zero2") return Sharding::gradients;
  if (s == "parameters" || s == "zero3" || s == "fsdp") return Sharding::parameters;
  bad("sharding", "expected none/zero0, optimizer/zero1, gradients/zero2 or parameters/zero3/fsdp, got '" + std::string(s) + "'");
}

std::string_view to_string(CpComm c) { return c == CpComm::allgather ? "allgather" : "ring"; }
CpComm cp_comm_from_string(std::string_view s) {
  if (s == "ring") return CpComm::ring;
  if (s == "allgather") return CpComm::allgather;
  bad("cp_comm", "expected ring or allgather, got '" + std::string(s) + "'");
}
std::string_view to_string(MoeDispatcher d) { return d == MoeDispatcher::alltoall ? "alltoall" : "deepep"; }
MoeDispatcher moe_dispatcher_from_string(std::string_view s) {
  if (s == "deepep") return MoeDispatcher::deepep;
  if (s == "alltoall") return MoeDispatcher::alltoall;
  bad("moe_dispatcher", "expected deepep or alltoall, got '" + std::string(s) + "'");
}

TrainingSystem::TrainingSystem(const catalog::Catalog& cat, std::string_view system, int ranks_per_chip)
    : cat_(cat),
      sys_(&cat_.system(system)),
      dev_([&] {
        if (ranks_per_chip < 1 || ranks_per_chip > 64) bad("parallel.ranks_per_chip", "must be in [1, 64], got " + num(ranks_per_chip));
        const hw::Chip& chip = cat_.chip(sys_->chip);
        return Device(per_rank_chip(chip, ranks_per_chip), cat_.efficiency(chip.family));
      }()),
      ranks_per_chip_(ranks_per_chip) {
  const int per_system = sys_->chip_count();
  // Enough copies of the system for the largest cluster a plan may ask for; the network's
  // figures do not depend on the count.
  net_ = std::make_shared<const Network>(cat_, system, static_cast<int>((kMaxChips + per_system - 1) / per_system),
                                         ranks_per_chip);
  domain_ = net_->scale_up().ranks;
  const hw::Figure<double>& own = dev_.policy().overlap;
  overlap_ = own.known() ? own.require("") : cat_.efficiency("default").overlap.value_or(0.0);
  // Energy data describe the whole package; estimate_training scales one rank's activity by ranks_per_chip.
  const hw::Chip& whole = cat_.chip(sys_->chip);
  energy_ = system_energy(whole, dev_.policy(), *sys_);
}

TrainingResult estimate_training(const TransformerModel& model, const catalog::Catalog& cat, std::string_view system,
                                 const TrainingPlan& plan) {
  return estimate_training(model, TrainingSystem(cat, system, plan.parallel.ranks_per_chip), plan);
}

TrainingResult estimate_training(const TransformerModel& model, std::string_view system, const TrainingPlan& plan) {
  return estimate_training(model, catalog::Catalog::builtin(), system, plan);
}

TrainingResult estimate_training(const TransformerModel& m, const TrainingSystem& sys, const TrainingPlan& plan) {
  m.validate(m.source_file.empty() ? m.id : m.source_file);
  check(m, sys, plan);
  const TrainingParallelism& par = plan.parallel;
  const double eta = sys.overlap();
  Ctx c{m, sys, plan, par};
  c.T = plan.micro_batch * plan.seq_len / par.cp;
  c.Tsp = par.sequence_parallel ? std::max<std::int64_t>(1, c.T / par.tp) : c.T;
  // ZeRO-2/3 reduce-scatter each micro-batch's gradients and keep only their shard: the weight-gradient
  // GEMMs write a fresh buffer, and only one-step plans of the other stages write rather than add.
  c.accumulate_grads = plan.global_batch > static_cast<std::int64_t>(par.dp) * plan.micro_batch &&
                       plan.sharding < Sharding::gradients;
  c.grad_precision = plan.grad_reduce_bytes == 2.0 ? Precision::bf16 : Precision::fp32;
  c.attn_bwd = kAttentionBackward / sys.device().fractions().attention_backward;
  c.heads_r = m.heads / par.tp;
  c.kv_heads_r = std::max(1, m.kv_heads / par.tp);
  c.domain = sys.domain();

  // --- one micro-batch of each layer kind on one rank -----------------------------------
  const LayerCost lc = layer_cost(c, eta);
  // Assumption: bf16_layers end layers of an fp8 plan run their GEMMs in bf16 (Megatron-Bridge's
  // FP8 current-scaling recipe keeps the first and last Transformer layer in bf16); all else alike.
  const LayerCost lc16 = plan.bf16_layers > 0 ? [&] {
    TrainingPlan plan16 = plan;
    plan16.precision = Precision::bf16;
    const Ctx c16{m, sys, plan16, par, c.T, c.Tsp, c.heads_r, c.kv_heads_r, c.domain, c.accumulate_grads,
                  c.grad_precision, c.attn_bwd};
    return layer_cost(c16, eta);
  }() : lc;
  const Pass head = head_pass(c);
  const double h_tp = head.tp_fwd + head.tp_bwd;
  const double f_moe = lc.f_moe;

  // --- pipeline schedule --------------------------------------------------------------
  const int pp = par.pp, v = par.virtual_stages;
  const std::int64_t micro = plan.global_batch / (static_cast<std::int64_t>(par.dp) * plan.micro_batch);
  const int mid_layers = par.layout == StageLayout::even ? m.layers / pp : (m.layers + 2) / pp;
  const double head_time = head.fwd + head.bwd + h_tp;
  // The slowest stage sets the pace (ties go to the last one, which also runs the LM head).
  const std::vector<StageLayers> stages = layers_per_stage(m, par, plan.bf16_layers);
  auto stage_time = [&](std::size_t s) {
    return (stages[s].layers - stages[s].bf16) * lc.time() + stages[s].bf16 * lc16.time() +
           (s + 1 == stages.size() ? head_time : 0.0);
  };
  std::size_t slow = 0;
  for (std::size_t s = 1; s < stages.size(); ++s) {
    if (stage_time(s) >= stage_time(slow)) slow = s;
  }
  const double L16 = stages[slow].bf16, L8 = stages[slow].layers - L16;
  const double H = slow + 1 == stages.size() ? 1.0 : 0.0;
  // Pipeline sends: each of the v chunks sends its activations forward and its gradients back
  // once per micro-batch (scattered over TP with sequence parallelism).
  double p2p = 0, p2p_bytes = 0;
  if (pp > 1) {
    // Assumption: the scatter/gather optimisation (Narayanan et al. 2021, Sec. 4.1): each TP rank
    // sends 1/tp of the activations and the receivers all-gather over the scale-up fabric.
    const double bytes = static_cast<double>(c.T) * m.hidden * 2.0 / par.tp;
    const std::int64_t stride = static_cast<std::int64_t>(par.tp) * par.cp * par.dp;
    p2p = 2.0 * v * neighbour_send(c, bytes, stride, stride * pp);
    p2p_bytes = 2.0 * v * bytes;
  }
  // Assumption: asynchronous sends run under the other micro-batches' compute; only the
  // interleaved schedule has that compute to run them under (1F1B waits for each send).
  const double mb_compute = stage_time(slow);
  const double p2p_exposed = plan.overlap_pp && v > 1 ? exposed_beyond(mb_compute, p2p, eta) : p2p;
  const double t_mb = mb_compute + p2p_exposed;
  const double steady = static_cast<double>(micro) * t_mb;
  // Fill and drain: the schedule takes max(m, pp) + (min(m, pp) - 1)/v micro-batch slots, so the
  // bubble is (pp - 1)/v for m >= pp (1F1B: v = 1). With fewer micro-batches than stages a
  // micro-batch still crosses all pp·v chunks in turn, and stages wait for it.
  const double m_d = static_cast<double>(micro);
  const double bubble = pp > 1 ? (std::max<double>(m_d, pp) + (std::min<double>(m_d, pp) - 1.0) / v - m_d) * t_mb : 0.0;

  // --- data parallel: gradients and parameters -------------------------------------------
  const double attn_p = m.attention_parameters() / par.tp;
  double layer_params_dense = attn_p + (m.dense_layers() > 0 ? m.ffn_parameters(m.ffn) / par.tp : 0.0);
  double layer_params_moe = 0, layer_experts = 0;
  if (m.moe) {
    const auto& e = *m.moe;
    layer_experts = static_cast<double>(e.routed_experts) / par.ep * m.ffn_parameters(e.expert_ffn);
    layer_params_moe = attn_p + e.shared_experts * m.ffn_parameters(e.expert_ffn) + static_cast<double>(m.hidden) * e.routed_experts;
  }
  const double stage_first = par.layout == StageLayout::even ? mid_layers : mid_layers - 1;
  const double emb_r = m.embedding_parameters() / par.tp;
  // Parameters per rank on the most loaded stage (layers + embedding; with pp = 1 also the head).
  double layers_here = std::max<double>(stage_first, mid_layers);
  if (!par.stage_layers.empty()) layers_here = *std::max_element(par.stage_layers.begin(), par.stage_layers.end());
  const double dense_params = layers_here * ((1.0 - f_moe) * layer_params_dense + f_moe * layer_params_moe) + emb_r +
                              (pp == 1 && !m.tied_embeddings ? emb_r : 0.0);
  const double expert_params = layers_here * f_moe * layer_experts;
  const double params_r = dense_params + expert_params;
  const int dp_group = par.dp * par.cp;
  const std::int64_t dp_stride = par.tp;
  // Experts are replicated over the expert-data-parallel group, tp x cp x dp / ep ranks (each
  // expert lives on one rank of every EP group; Megatron-Core's expert_data_parallel_size), not
  // over dp x cp: their gradients reduce, and their state shards, over that group.
  const int edp_group = m.moe ? par.tp * par.cp * par.dp / par.ep : 1;
  const std::int64_t edp_stride = par.ep;
  double dp_time = 0, dp_exposed = 0, dp_bytes = 0;
  const double bwd_window = L8 * (lc.bwd + lc.recompute) + L16 * (lc16.bwd + lc16.recompute);
  const double fwd_window = L8 * lc.fwd + L16 * lc16.fwd;
  // Assumption: fp8_params keeps the weights in 8 bits, so the parameter all-gathers move 1 byte
  // per weight (Megatron's fp8_param_gather); bf16 end layers are not told apart.
  const double w_bytes = plan.fp8_params ? 1.0 : 2.0;
  // One group's reduction (dense weights over dp x cp, experts over their own group), added up:
  // the buckets share the links.
  auto reduce = [&](double params, int group, std::int64_t stride) {
    if (group <= 1 || params <= 0) return;
    const double gbytes = plan.grad_reduce_bytes * params;
    const double pbytes = w_bytes * params;
    const double frac = (group - 1.0) / group;
    if (plan.sharding == Sharding::none) {
      const double t = group_collective(c, Collective::all_reduce, gbytes, group, stride);
      dp_time += t;
      dp_bytes += 2.0 * frac * gbytes;
      dp_exposed += plan.overlap_dp ? exposed_beyond(bwd_window, t, eta) : t;
      return;
    }
    const double rs = group_collective(c, Collective::reduce_scatter, gbytes, group, stride);
    const double ag = group_collective(c, Collective::all_gather, pbytes, group, stride);
    // ZeRO-1 accumulates every micro-batch into a full gradient buffer and reduce-scatters it once,
    // under the last backward; ZeRO-2/3 hold only their shard of the gradients, so each
    // micro-batch's backward reduce-scatters its own (DeepSpeed, FSDP without deferred sync).
    // Assumption: at grad_reduce_bytes (fp32 by default, as FSDP's reduce_dtype; DeepSpeed
    // reduces in the model's 16 bits: pass grad_reduce_bytes=2).
    const double rs_count = plan.sharding >= Sharding::gradients ? static_cast<double>(micro) : 1.0;
    const double rs_exposed = plan.overlap_dp ? exposed_beyond(bwd_window, rs, eta) : rs;
    if (plan.sharding == Sharding::parameters) {
      // FSDP / ZeRO-3: parameters gathered for every micro-batch's forward and backward.
      const double per_mb = 2.0 * ag;
      dp_time += static_cast<double>(micro) * (rs + per_mb);
      dp_bytes += static_cast<double>(micro) * frac * (gbytes + 2.0 * pbytes);
      dp_exposed += static_cast<double>(micro) * (plan.overlap_dp ? rs_exposed + exposed_beyond(fwd_window + bwd_window, per_mb, eta)
                                                                  : rs + per_mb);
    } else {
      // ZeRO-1/2 (distributed optimizer): the gradient reduce-scatter(s), then the updated
      // parameters all-gathered under the next forward.
      dp_time += rs_count * rs + ag;
      dp_bytes += frac * (rs_count * gbytes + pbytes);
      dp_exposed += rs_count * rs_exposed + (plan.overlap_dp ? exposed_beyond(fwd_window, ag, eta) : ag);
    }
  };
  reduce(dense_params, dp_group, dp_stride);
  reduce(expert_params, edp_group, edp_stride);
  // Optimizer: Adam over this rank's (sharded) parameters, bound by HBM bandwidth.
  const double opt_params = plan.sharding == Sharding::none ? params_r : dense_params / dp_group + expert_params / edp_group;
  const Device& dev = sys.device();
  // ZeRO-2/3 add each later micro-batch's reduce-scattered gradient into the shard's accumulator
  // (read both, write one, at the reduction's width); the weight-gradient GEMMs wrote it fresh.
  const double shard_adds = plan.sharding >= Sharding::gradients && micro > 1
                                ? (static_cast<double>(micro) - 1.0) * 3.0 * plan.grad_reduce_bytes *
                                      (dense_params / dp_group + expert_params / edp_group)
                                : 0.0;
  const double opt_bytes =
      (kAdamBytesPerParam + (plan.precision == Precision::fp16 ? kFp16OptimizerBytesPerParam : 0.0)) * opt_params +
      shard_adds;
  const double opt_time = opt_bytes / (dev.hbm_bandwidth() * dev.fractions().memory);

  // --- assemble ------------------------------------------------------------------------------
  TrainingResult r;
  r.model = m.id;
  r.system = sys.system().id;
  r.chip = dev.chip().id;
  r.plan = plan;
  r.chips = par.chips();
  r.ranks = par.ranks();
  r.systems = static_cast<double>(r.chips) / sys.system().chip_count();
  r.micro_batches = micro;
  const double mbs = static_cast<double>(micro);
  auto set = [&](TrainPart p, double time, double exposed, double flops, double bytes) {
    auto& x = r.parts[static_cast<std::size_t>(p)];
    x.time = time;
    x.exposed = exposed;
    x.flops = flops;
    x.bytes = bytes;
  };
  // Per-step sums over the slowest stage's layers: L8 at the plan's precision, L16 in bf16.
  auto layers = [&](auto&& of) { return mbs * (L8 * of(lc) + L16 * of(lc16)); };
  auto field = [](double Pass::*f) { return [f](const LayerCost& l) { return l.mix(f); }; };
  const double fwd_t = layers([](const LayerCost& l) { return l.fwd; }) + mbs * H * head.fwd;
  const double bwd_t = layers([](const LayerCost& l) { return l.bwd; }) + mbs * H * head.bwd;
  set(TrainPart::forward, fwd_t, fwd_t, layers(field(&Pass::fwd_flops)) + mbs * H * head.fwd_flops,
      layers(field(&Pass::fwd_bytes)) + mbs * H * head.fwd_bytes);
  set(TrainPart::backward, bwd_t, bwd_t, layers(field(&Pass::bwd_flops)) + mbs * H * head.bwd_flops,
      layers(field(&Pass::bwd_bytes)) + mbs * H * head.bwd_bytes);
  const double rec_flops = plan.recompute == Recompute::full ? layers(field(&Pass::fwd_flops))
                           : plan.recompute == Recompute::selective ? layers(field(&Pass::attn_flops)) : 0.0;
  const double rec_t = layers([](const LayerCost& l) { return l.recompute; });
  // Selective recompute's HBM traffic is not tracked separately (attention re-reads its Q/K/V: small).
  set(TrainPart::recompute, rec_t, rec_t, rec_flops,
      plan.recompute == Recompute::full ? layers(field(&Pass::fwd_bytes)) : 0.0);
  set(TrainPart::optimizer, opt_time, opt_time, 0, opt_bytes);
  set(TrainPart::bubble, bubble, bubble, 0, 0);
  // The bf16 end layers (L16) exchange 16-bit activations: every communication sum takes them
  // from their own layer cost, as the step time does.
  const double ep_t = layers([](const LayerCost& l) { return l.ep; });
  set(TrainPart::tp_comm, layers([](const LayerCost& l) { return l.tp; }) + mbs * H * h_tp,
      layers([](const LayerCost& l) { return l.tp_exposed; }) + mbs * H * h_tp, 0,
      layers([](const LayerCost& l) { return l.tp_bytes; }) + mbs * H * (head.tp_bytes_fwd + head.tp_bytes_bwd));
  set(TrainPart::cp_comm, layers([](const LayerCost& l) { return l.cp; }), layers([](const LayerCost& l) { return l.cp_exposed; }),
      0, layers([](const LayerCost& l) { return l.cp_bytes; }));
  set(TrainPart::ep_comm, ep_t, ep_t, 0, layers([](const LayerCost& l) { return l.ep_bytes; }));
  set(TrainPart::pp_comm, mbs * p2p, mbs * p2p_exposed, 0, mbs * p2p_bytes);
  set(TrainPart::dp_comm, dp_time, dp_exposed, 0, dp_bytes);
  // Each overlapped class hides up to eta x the compute it runs under, but the classes share that
  // compute: together they hide at most eta x the step's compute (else a faster chip, with less
  // compute to hide under, could lengthen the step). The excess is exposed, split by what each hid.
  double cap_excess = 0;
  {
    constexpr std::array kHidden{TrainPart::tp_comm, TrainPart::cp_comm, TrainPart::pp_comm, TrainPart::dp_comm};
    const double compute = fwd_t + bwd_t + rec_t;
    auto hid = [&](TrainPart k) {
      const auto& x = r.parts[static_cast<std::size_t>(k)];
      return std::max(0.0, x.time - x.exposed);
    };
    double hidden = 0;
    for (TrainPart k : kHidden) hidden += hid(k);
    if (hidden > eta * compute && hidden > 0) {
      cap_excess = hidden - eta * compute;
      for (TrainPart k : kHidden) r.parts[static_cast<std::size_t>(k)].exposed += cap_excess * hid(k) / hidden;
    }
  }
  r.step_time = steady + bubble + dp_exposed + opt_time + cap_excess;
  r.bubble_fraction = bubble / r.step_time;
  r.tokens_per_step = static_cast<double>(plan.global_batch) * static_cast<double>(plan.seq_len);
  r.tokens_per_second = r.tokens_per_step / r.step_time;
  r.tokens_per_second_per_chip = r.tokens_per_second / static_cast<double>(r.chips);
  const FlopCount fc = flop_count(m, plan.seq_len);
  r.model_flops = fc.model_per_token * r.tokens_per_step;
  // Hardware FLOPs are what the kernels execute: a causal flash kernel skips the masked half of
  // the scores (the unfused path computes them all), and recomputation repeats a forward. Model
  // FLOPs keep the reporting convention (non-causal), so MFU can pass 1 at long sequences.
  // A flash backward recomputes the scores: 2.5x its forward (five matrix products to two).
  const double attn = fc.attention_fwd_per_token;
  const double attn_run = plan.flash_attention ? attn / 2.0 : attn;
  const double attn_steps = plan.flash_attention ? 1.0 + kAttentionBackward : 3.0;
  const double extra = plan.recompute == Recompute::full       ? fc.layer_fwd_per_token - attn + attn_run
                       : plan.recompute == Recompute::selective ? attn_run
                                                                : 0.0;
  r.hardware_flops = (fc.model_per_token - 3.0 * attn + attn_steps * attn_run + extra) * r.tokens_per_step;
  r.model_flops_per_chip = r.model_flops / r.step_time / static_cast<double>(r.chips);
  r.hardware_flops_per_chip = r.hardware_flops / r.step_time / static_cast<double>(r.chips);
  const double peak = dev.matrix_rate(plan.precision) * par.ranks_per_chip;  // per chip package
  r.mfu = r.model_flops_per_chip / peak;
  r.hfu = r.hardware_flops_per_chip / peak;
  if (plan.train_tokens > 0) {
    r.time_to_train = plan.train_tokens / r.tokens_per_second;
    r.chip_hours = r.time_to_train * static_cast<double>(r.chips) / 3600.0;
  }
  if (sys.energy().chip) {
    // Energy: the mean rank's work over the step (ranks that wait for the slowest stage or expert
    // rank draw idle power for the wait, not dynamic).
    Activity a;
    a.seconds = r.step_time;
    const auto& P = r.parts;
    // The mean stage's work: the model's layers and head over pp stages, its experts at the mean
    // rank's rows; its plan-precision GEMMs are those of the layers outside attention and the
    // bf16 end layers, the rest (attention, the LM head, bf16 layers) is bf16.
    const double b16 = std::min<double>(m.layers, 2.0 * plan.bf16_layers);
    const double low = mbs * (m.layers - b16) * std::max(0.0, lc.mean_flops - lc.attn_flops) / pp;
    const double mean_stage =
        mbs * ((m.layers - b16) * lc.mean_flops + b16 * lc16.mean_flops + head.fwd_flops + head.bwd_flops) / pp;
    a.matrix_flops[static_cast<std::size_t>(Precision::bf16)] += std::max(0.0, mean_stage - low);
    a.matrix_flops[static_cast<std::size_t>(plan.precision)] += low;
    // Bytes: the layers' traffic and per-layer exchanges (TP, CP, EP) follow the mean stage's share
    // of the slowest's; the optimizer step and DP and pipeline traffic are every rank's in full.
    const double all = P[0].flops + P[1].flops + P[2].flops;
    const double work = all > 0 ? std::min(1.0, mean_stage / all) : 1.0;
    for (std::size_t i = 0; i < kTrainParts; ++i) {
      const auto part = static_cast<TrainPart>(i);
      const bool per_layer = part == TrainPart::forward || part == TrainPart::backward || part == TrainPart::recompute ||
                             part == TrainPart::tp_comm || part == TrainPart::cp_comm || part == TrainPart::ep_comm;
      const double bytes = P[i].bytes * (per_layer ? work : 1.0);
      if (is_communication(part)) a.scale_up_bytes += bytes;
      else a.hbm_bytes += bytes;
    }
    // One rank's work; a chip runs ranks_per_chip of them.
    {
      const double k = par.ranks_per_chip;
      for (auto& f : a.matrix_flops) f *= k;
      a.hbm_bytes *= k;
      a.scale_up_bytes *= k;
    }
    r.energy = energy_of(*sys.energy().chip, sys.energy().overhead, a, static_cast<double>(r.chips));
    r.joules_per_token = r.energy->joules / r.tokens_per_step;
    r.tokens_per_joule = 1.0 / r.joules_per_token;
    r.flops_per_watt = r.model_flops_per_chip / r.energy->watts_per_chip;
    if (plan.train_tokens > 0) r.energy_to_train = r.joules_per_token * plan.train_tokens;
  } else {
    r.energy_missing = sys.energy().missing;
  }
  std::size_t worst = 0;
  for (std::size_t i = 1; i < kTrainParts; ++i) {
    if (r.parts[i].exposed > r.parts[worst].exposed) worst = i;
  }
  r.bottleneck = std::string(kPartNames[worst]);

  // --- memory per chip: every stage's own layers, embedding or head, and micro-batches in flight
  // (1F1B: stage s holds min(mbs, pp - s)); the fullest stage is reported and checked ---
  TrainingMemory& u = r.memory;
  const double shard = dp_group;
  const double per_layer = (1.0 - f_moe) * layer_params_dense + f_moe * layer_params_moe;  // sharded over dp x cp
  const double per_layer_experts = f_moe * layer_experts;  // sharded over the expert group (edp_group)
  // Stored activations per token per layer (bf16), following Korthikanti et al. 2022 without the
  // attention-score term (flash attention keeps no s x s matrix): the two norm inputs and the QKV
  // and FC1 inputs (4h, sharded by sequence parallelism; a residual add keeps nothing for its
  // backward), Q/K/V and the attention output (sharded by TP), the FFN's activation input and
  // output (sharded by TP): 32 sbh for GPT without dropout, 34 with, as the paper's Table 2.
  const double h = static_cast<double>(m.hidden);
  const double sp_div = par.sequence_parallel ? par.tp : 1.0;
  double qkv = 0;
  if (m.mla) {
    const auto& a = *m.mla;
    qkv = static_cast<double>(c.heads_r) * (2.0 * (a.nope_dim + a.rope_dim) + a.v_head_dim) + a.kv_lora_rank + a.q_lora_rank;
  } else {
    qkv = static_cast<double>(c.heads_r + 2 * c.kv_heads_r) * m.head_dim;
  }
  const double attn_out = static_cast<double>(c.heads_r) * (m.mla ? m.mla->v_head_dim : m.head_dim);
  const bool gated = m.activation == workload::FfnActivation::swiglu;
  double inter = static_cast<double>(m.ffn) / par.tp;
  if (m.moe) {
    const double moe_inter = static_cast<double>(m.moe->expert_ffn) * (m.moe->top_k + m.moe->shared_experts) / sp_div *
                             plan.expert_imbalance;
    inter = (1.0 - f_moe) * inter + f_moe * moe_inter;
  }
  // MoE layers also keep each token's top_k dispatched copies (the experts' FC1 inputs) and the
  // experts' outputs (the router probabilities' gradient at the combine), on the busiest rank.
  // Assumption: the busiest rank at the plan's imbalance alone (the time model adds random
  // routing's excess, about 2 % at these token counts).
  const double routed_in = m.moe ? f_moe * static_cast<double>(m.moe->top_k) * h / sp_div * plan.expert_imbalance : 0.0;
  double per_token_full = 2.0 * (4.0 * h / sp_div + qkv + attn_out + (gated ? 3.0 : 2.0) * inter + 2.0 * routed_in);
  if (plan.dropout) per_token_full += 2.0 * h / sp_div;  // two 1-byte residual dropout masks
  if (!plan.flash_attention && plan.recompute == Recompute::none) {
    // Unfused attention keeps the softmax output (2 B per score) and with dropout its mask and output (3 B).
    per_token_full += static_cast<double>(c.heads_r) * plan.seq_len * (plan.dropout ? 5.0 : 2.0);
  }
  if (par.cp > 1 && plan.cp_comm == CpComm::allgather && plan.recompute == Recompute::none) {
    // The all-gathered K/V of the other cp - 1 ranks, kept for the backward (see attention_block);
    // recomputed attention gathers them again instead.
    per_token_full += 2.0 * (par.cp - 1) * static_cast<double>(cp_kv_elements(c));
  }
  // Assumption: an fp8 layer keeps its GEMM inputs for the weight gradients in 8 bits (Transformer
  // Engine saves the cast input): the QKV and FC1 inputs (h each, top_k copies in MoE), the projection's and FC2's.
  const double per_token_bf16 = per_token_full;
  if (workload::bytes_per_element(plan.precision) < 2.0) per_token_full -= 2.0 * h / sp_div + attn_out + inter + routed_in;
  const double per_token_input = 2.0 * h / sp_div;
  const double tokens_mb = static_cast<double>(c.T);
  u.capacity = dev.chip().usable_memory().value();
  u.buffers = kReserveFixed + kReserveFraction * u.capacity;
  double fullest = -1.0;
  for (std::size_t si = 0; si < stages.size(); ++si) {
    const double st = static_cast<double>(si);
    const bool first = si == 0, last = si + 1 == stages.size();
    // Parameters: the stage's layers, the embedding on the first stage, the LM head on the last
    // (a tied head is a copy of the embedding there when the stages differ).
    const double params = stages[si].layers * per_layer + (first ? emb_r : 0.0) +
                          (last && (pp > 1 || !m.tied_embeddings) ? emb_r : 0.0);
    const double experts = stages[si].layers * per_layer_experts;
    // State of `bytes` per parameter, sharded from `level` on: dense over dp x cp, experts over theirs.
    auto state = [&](double bytes, Sharding level) {
      return plan.sharding >= level ? bytes * (params / shard + experts / edp_group) : bytes * (params + experts);
    };
    // Micro-batches' worth of this stage's layers held at once. 1F1B: min(m, pp - s). Interleaved:
    // Megatron's warm-up, 2(pp - s - 1) + (v - 1)pp forward chunks plus the one in flight, each
    // 1/v of the stage, and never more chunks than the step has (m v).
    const double in_flight = pp <= 1 ? 1.0
                             : v > 1 ? std::min(mbs * v, 2.0 * (pp - st - 1.0) + (v - 1.0) * pp + 1.0) / v
                                     : std::min<double>(mbs, pp - st);
    const double l16 = stages[si].bf16, l8 = stages[si].layers - l16;
    double act = 0;
    if (plan.recompute == Recompute::full) {
      // + one layer being recomputed
      act = tokens_mb * (per_token_input * (l8 + l16) * in_flight + (l16 > 0 ? per_token_bf16 : per_token_full));
    } else {
      act = tokens_mb * (per_token_full * l8 + per_token_bf16 * l16) * in_flight;
    }
    if (last) act += tokens_mb * (static_cast<double>(m.vocab) / par.tp) * 4.0;  // fp32 logits for the loss
    // Weights in bf16 (an fp8 plan casts them per GEMM) unless fp8_params keeps them in 8 bits.
    TrainingMemory here = u;
    here.weights = state(w_bytes, Sharding::parameters);
    here.gradients = state(plan.grad_reduce_bytes, Sharding::gradients);
    here.optimizer = state(12.0, Sharding::optimizer);
    here.activations = act;
    if (here.total() > fullest) {
      fullest = here.total();
      u = here;
    }
  }
  if (par.ranks_per_chip > 1) {
    // Reported per chip package, as serving does: its ranks hold the same shards (the most
    // loaded rank's figures times ranks_per_chip), each with its own runtime reserve.
    const double k = par.ranks_per_chip;
    for (double* f : {&u.weights, &u.gradients, &u.optimizer, &u.activations, &u.buffers, &u.capacity}) *f *= k;
  }
  if (plan.check_memory && !u.fits()) {
    // Only the remedies the plan has not used up (sharding at dp x cp = 1, or full recompute, free nothing).
    std::string fixes = "raise tp or pp";
    if (plan.sharding != Sharding::parameters && (dp_group > 1 || edp_group > 1)) fixes += ", shard more (sharding)";
    if (plan.recompute != Recompute::full) fixes += ", recompute more";
    if (plan.micro_batch > 1) fixes += ", lower micro_batch";
    bad("memory", "training plan (" + m.id + ", tp " + std::to_string(par.tp) + " pp " + std::to_string(par.pp) + " cp " +
                      std::to_string(par.cp) + " dp " + std::to_string(par.dp) + " ep " + std::to_string(par.ep) +
                      ") needs " + gb(u.total()) + " per chip (weights " + gb(u.weights) + ", gradients " +
                      gb(u.gradients) + ", optimizer " + gb(u.optimizer) + ", activations " + gb(u.activations) +
                      ", buffers " + gb(u.buffers) + ") but " + dev.chip().id + " has " + gb(u.capacity) + ": over by " +
                      gb(u.total() - u.capacity) + "; " + fixes);
  }
  return r;
}

}  // namespace perfmodel::model
