#pragma once
// LLM serving: one prefill forward and one decode step of a decoder-only transformer on a
// catalog system, built from the operator model (model/operators.hpp) and the collective model
// (model/collectives.hpp). Assumptions are listed next to the code in src/inference.cpp; the
// main ones:
//  - identical layers are estimated once and multiplied; every op is a separate kernel;
//  - ranks are chips, or dies when ranks_per_chip > 1; a stage's tp × dp_attention ranks also
//    form its expert-parallel group (ep × moe_tp = tp × dp_attention);
//  - with overlap (two micro-batches) a layer takes max(compute, communication), else the sum;
//  - serving without disaggregation runs each batch as one prefill then output_len decode steps
//    at the mean KV length; with a prefill layout the chip split balances the two phases.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/power.hpp>
#include <libperfmodel/workload/model.hpp>

namespace perfmodel::model {

struct Parallelism {
  int tp = 1;            ///< tensor parallel degree of attention (and of dense FFNs unless dense_tp)
  int dp_attention = 1;  ///< attention data-parallel groups per stage (each of tp ranks)
  int pp = 1;            ///< pipeline stages
  int ep = 0;            ///< expert-parallel degree; 0 = all tp × dp_attention ranks of a stage
  int dense_tp = 0;      ///< tensor parallel degree of dense FFN layers; 0 = tp
  int ranks_per_chip = 1;      ///< 2 on Ascend 910C (CANN exposes each die as a device)
  int redundant_experts = 0;   ///< extra expert replicas for load balancing (EPLB)
  /// Under pure TP: reduce-scatter + all-gather instead of each all-reduce, with the token-wise
  /// work between them (RMSNorm, residual adds, MLA down-projections) on 1/tp of the tokens.
  bool sequence_parallel = false;

  [[nodiscard]] int stage_ranks() const { return tp * dp_attention; }
  [[nodiscard]] int ranks() const { return stage_ranks() * pp; }
  [[nodiscard]] int expert_parallel() const { return ep > 0 ? ep : stage_ranks(); }
  [[nodiscard]] int dense_tensor_parallel() const { return dense_tp > 0 ? dense_tp : tp; }
  [[nodiscard]] double chips() const { return static_cast<double>(ranks()) / ranks_per_chip; }
};

/// Storage and compute precisions. GEMMs run at the weight precision (W8A8 INT8, FP8 and FP4
/// quantize activations to match); attention runs at `attention`; other activations are bf16.
struct ServingPrecision {
  hw::Precision weights = hw::Precision::bf16;
  hw::Precision kv_cache = hw::Precision::bf16;
  hw::Precision attention = hw::Precision::bf16;
};

struct InferencePlan {
  enum class Mode {
    serve,    ///< requests end to end: prefill + output_len decode steps
    prefill,  ///< one prefill forward of `batch` sequences of input_len
    decode,   ///< one decode step of `batch` sequences at kv_len
  };
  Mode mode = Mode::serve;
  std::int64_t batch = 1;       ///< sequences in flight per (decode) instance
  std::int64_t input_len = 1024;
  std::int64_t output_len = 128;
  std::int64_t kv_len = 0;      ///< decode mode: cached tokens per sequence (0: input_len + output_len / 2)
  ServingPrecision precision;
  Parallelism parallel;
  std::optional<Parallelism> prefill_parallel;  ///< prefill/decode disaggregation: the prefill instance
  std::int64_t prefill_batch = 0;  ///< sequences per prefill forward (0: prefill mode: batch; serve: ~8192 tokens per attention group)
  bool overlap = false;            ///< two-micro-batch overlap of communication with compute
  bool prefill_overlap = true;     ///< the same for the prefill instance when disaggregated
  int mtp_tokens = 0;              ///< draft tokens per step (multi-token prediction / speculative)
  double mtp_acceptance = 0.7;     ///< probability each successive draft token is accepted
  double expert_imbalance = 1.0;   ///< skew of the busiest expert rank beyond random routing's (>= 1; 1: balanced routing, whose statistical excess the model adds)
  bool check_memory = true;        ///< raise when the plan does not fit in HBM
  int systems = 1;                 ///< copies of the system joined by its scale-out network
};

/// Where step time goes. Compute classes are operator groups; communication classes carry the
/// exposed part (not hidden behind compute) separately.
enum class StepPart {
  attention_proj,  ///< Q/K/V/O projections (MLA: down/up projections and absorbed matmuls)
  attention,       ///< the attention kernel (scores, softmax, PV)
  dense_ffn,
  moe_router,
  moe_experts,     ///< routed experts (grouped GEMMs + activation; prefill: the permutation into expert order and back)
  shared_experts,
  norm_elementwise,  ///< norms, residual adds, rope
  embedding,
  lm_head,
  mtp,             ///< multi-token-prediction modules (their own attention/FFN/head)
  tp_collectives,  ///< tensor-parallel all-reduce
  moe_dispatch,
  moe_combine,
  pp_transfer,     ///< activations between pipeline stages
};
inline constexpr std::size_t kStepParts = 14;
std::string_view to_string(StepPart p);
/// The communication parts: the last four, after every compute part.
constexpr bool is_communication(StepPart p) noexcept { return p >= StepPart::tp_collectives; }

struct StepPartTime {
  double time = 0;     ///< seconds per step, summed over layers
  double exposed = 0;  ///< communication not hidden behind compute (== time for compute parts)
  double flops = 0;    ///< model FLOPs: each token's work once (MFU, FLOP/s per watt)
  double executed_flops = 0;  ///< what the ranks run, with work every TP rank repeats (energy)
  double bytes = 0;    ///< HBM bytes (compute) or bytes sent per rank (communication)
};

/// Memory per chip, every field in bytes [B].
struct MemoryUse {
  double weights = 0;      ///< [B] per chip
  double kv_cache = 0;     ///< [B] per chip, the batch's cached keys and values
  double activations = 0;  ///< [B] per chip, one layer's working set (not kept across layers)
  double buffers = 0;      ///< [B] communication buffers and runtime reserve
  double capacity = 0;     ///< [B] usable HBM per chip (driver-reported where the catalog has it)
  [[nodiscard]] double total() const { return weights + kv_cache + activations + buffers; }
  [[nodiscard]] bool fits() const { return total() <= capacity; }
};

struct PhaseEstimate {
  double time = 0;             ///< one forward (prefill) or one step (decode) [s]
  double compute_time = 0;     ///< [s] compute parts summed
  double communication_time = 0;  ///< [s] communication summed (exposed + hidden)
  double exposed_communication = 0;  ///< [s] communication not hidden behind compute
  double tokens = 0;           ///< tokens processed per instance (prefill: prompt tokens; decode: accepted)
  double chips = 0;            ///< chips per instance
  double flops = 0;            ///< model FLOPs per step, summed over ranks of the instance
  std::array<StepPartTime, kStepParts> parts{};  ///< one rank of the slowest stage (what sets the time)
  std::array<StepPartTime, kStepParts> mean_parts{};  ///< one rank's share of the whole model's work (energy)
  MemoryUse memory;
  std::int64_t max_batch = 0;  ///< largest batch (sequences per instance) that fits in memory
  double memory_per_group = 0;  ///< [B] per chip, what one more sequence per attention-DP group adds
  double drain_ratio = 1;  ///< the last micro-batch's stage time over the mean's (prompt chunks: > 1)
  std::optional<EnergyEstimate> energy;  ///< per step (forward), whole instance; empty without energy data
  [[nodiscard]] double tokens_per_second_per_chip() const { return time > 0 ? tokens / time / chips : 0; }
};

/// Energy of serving: averaged over what the chips do (prefill and decode by chip-time share).
struct ServingEnergy {
  double chip_watts = 0;               ///< average draw per chip, chip only
  double watts_per_chip = 0;           ///< all-in share per chip (CPUs, switches, optics, losses, cooling)
  double joules_per_input_token = 0;   ///< prefill energy per prompt token (0 without a prefill phase)
  double joules_per_output_token = 0;  ///< decode energy per accepted token (0 without a decode phase)
  double output_tokens_per_joule = 0;  ///< output tokens over all serving energy (prefill included in serve mode)
  double flops_per_watt = 0;           ///< useful FLOP/s per all-in watt
  bool capped = false;                 ///< a phase's draw hit the chip maximum
  std::string basis;                   ///< "system" or "chips only: <reason>"
};

struct InferenceResult {
  std::string model;
  std::string system;
  std::string chip;
  InferencePlan plan;
  std::optional<PhaseEstimate> prefill;  ///< one prefill forward of prefill_batch sequences
  std::optional<PhaseEstimate> decode;   ///< one decode step of batch sequences
  double ttft = 0;               ///< time to first token [s]: the prefill forward through the pipeline (x (mb + pp - 1) / mb)
  double tpot = 0;               ///< time per output token [s]: decode step / accepted tokens (serve mode: per delivered token, the last step's unused drafts included)
  double accepted_tokens_per_step = 1;
  double output_tokens_per_second_per_chip = 0;
  double input_tokens_per_second_per_chip = 0;
  double output_tokens_per_second_per_instance = 0;  ///< the decode instance's output rate
  double chips_per_instance = 0;     ///< decode instance (prefill instance in prefill mode)
  double prefill_chip_share = 0;     ///< serve mode: fraction of chips doing prefill
  double system_chips = 0;
  /// Whole instances one system holds (72 chips hold one 48-chip instance), or the share of an
  /// instance that spans systems (1/9 of a 72-GPU instance per 8-GPU node). Disaggregated plans
  /// (prefill_parallel, serve mode): the system's chips over a decode instance's plus its share of
  /// prefill chips (chips_per_instance / (1 - prefill_chip_share)), the mix assumed to fill it.
  double instances_per_system = 0;
  /// Chips of one system the plan's instances keep busy (instances x chips per instance, and
  /// disaggregated their prefill share); the rest idle under this plan.
  double busy_chips_per_system = 0;
  double output_tokens_per_second_per_system = 0;
  double input_tokens_per_second_per_system = 0;
  double model_flops_utilization = 0;  ///< useful FLOP/s over the chips' dense peak at the fastest format the plan runs
  std::string bottleneck;              ///< the step part with the largest exposed time
  std::optional<ServingEnergy> energy;  ///< empty when the chip family has no energy data
  std::string energy_missing;           ///< why energy is empty
};

/// A catalog system prepared for repeated serving estimates: the chip resolved into a Device
/// (split per rank when ranks_per_chip > 1) and the family's overlap fraction. Build once,
/// estimate many plans with the same ranks_per_chip (what searches do).
class ServingSystem {
 public:
  ServingSystem(const catalog::Catalog& cat, std::string_view system, int ranks_per_chip = 1);
  [[nodiscard]] const catalog::Catalog& catalog() const { return cat_; }
  [[nodiscard]] const hw::System& system() const { return *sys_; }
  [[nodiscard]] const Device& device() const& { return dev_; }
  [[nodiscard]] Device device() && { return std::move(dev_); }  // a temporary's: a copy, not a dangling reference
  [[nodiscard]] int ranks_per_chip() const { return ranks_per_chip_; }
  [[nodiscard]] double overlap() const { return overlap_; }
  /// The whole chip's energy model (empty when its family has none) and the system overhead.
  [[nodiscard]] const SystemEnergy& energy() const& { return energy_; }
  [[nodiscard]] SystemEnergy energy() && { return std::move(energy_); }
  /// The prepared fabrics of one system at this ranks_per_chip, or nullptr for other shapes
  /// (or when the catalog lacks what a Network needs; building one then reports why).
  [[nodiscard]] const Network* network(int nodes, int ranks_per_chip) const {
    return nodes == 1 && ranks_per_chip == ranks_per_chip_ && network_ ? &*network_ : nullptr;
  }

 private:
  catalog::Catalog cat_;  // shares the catalog data; keeps it alive
  const hw::System* sys_;
  Device dev_;
  int ranks_per_chip_;
  double overlap_ = 0.0;
  SystemEnergy energy_;
  std::optional<Network> network_;
};

/// Throws InvalidArgument naming the constraint (and by how much) for zero lengths or batches,
/// degrees that do not divide heads/experts/layers/batch or exceed the system, a precision the
/// chip lacks, or (with check_memory) a plan that does not fit in HBM.
[[nodiscard]] InferenceResult estimate_inference(const workload::TransformerModel& model, const catalog::Catalog& cat,
                                   std::string_view system, const InferencePlan& plan);
/// With a prepared system (fast path: no catalog lookups).
[[nodiscard]] InferenceResult estimate_inference(const workload::TransformerModel& model, const ServingSystem& system,
                                   const InferencePlan& plan);
/// On the built-in catalog.
[[nodiscard]] InferenceResult estimate_inference(const workload::TransformerModel& model, std::string_view system,
                                   const InferencePlan& plan);

}  // namespace perfmodel::model
