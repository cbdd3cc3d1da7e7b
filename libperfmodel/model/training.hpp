#pragma once
// LLM training: one optimizer step of a decoder-only transformer on a cluster built from a
// catalog system (its scale-up domain, joined by its scale-out network), from the operator model
// (model/operators.hpp) and the collective model (model/collectives.hpp). Assumptions sit next
// to the code in src/training.cpp; the main ones:
//  - identical layers are timed once per micro-batch and multiplied; every op is a kernel;
//  - backward GEMMs are the two GEMMs of the same size (input and weight gradients); the flash
//    attention backward costs 2.5x its forward (five matmuls instead of two);
//  - ranks are ordered tp, cp, dp, pp (Megatron's default): tp is innermost, so each group's
//    placement over scale-up domains follows from the degrees inside it;
//  - pipeline: 1F1B (interleaved with virtual_stages > 1), bubble (pp - 1) / virtual_stages
//    micro-batch times; the slowest stage (the one with the LM head) sets the pace;
//  - overlap hides communication behind the compute it can run under: a hidden span of length
//    min(C, M) costs (1 - eta)·min(C, M), eta being the family's `overlap` fraction.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/model/collectives.hpp>
#include <libperfmodel/model/device.hpp>
#include <libperfmodel/model/power.hpp>
#include <libperfmodel/workload/model.hpp>

namespace perfmodel::model {

enum class Recompute {
  none,       ///< keep every activation
  selective,  ///< recompute core attention in the backward (Megatron's "selective")
  full,       ///< keep each layer's input, recompute the whole layer forward in the backward
};
std::string_view to_string(Recompute r);
Recompute recompute_from_string(std::string_view s);

/// Data-parallel sharding (ZeRO stages; FSDP is `parameters`).
enum class Sharding {
  none,        ///< replicated weights, gradients and optimizer state; gradients all-reduced
  optimizer,   ///< ZeRO-1 / Megatron distributed optimizer: optimizer state sharded
  gradients,   ///< ZeRO-2: and gradients
  parameters,  ///< ZeRO-3 / FSDP: and weights (gathered per micro-batch, forward and backward)
};
std::string_view to_string(Sharding s);
Sharding sharding_from_string(std::string_view s);

/// How MoE layers move routed tokens to their experts' ranks.
enum class MoeDispatcher {
  deepep,    ///< one copy per (token, rank), one per (token, node) across domains, forwarded in-domain (DeepEP, HybridEP)
  alltoall,  ///< one copy per (token, expert), sent directly (NCCL all-to-all; Megatron-Core's "alltoall")
};
std::string_view to_string(MoeDispatcher d);
MoeDispatcher moe_dispatcher_from_string(std::string_view s);

/// How context-parallel ranks share keys and values.
enum class CpComm {
  ring,       ///< K/V chunks passed around the CP ring under the attention kernels (Megatron-Core, Transformer Engine p2p)
  allgather,  ///< K/V all-gathered before attention and dK/dV reduce-scattered after it, on the critical path (Llama 3)
};
std::string_view to_string(CpComm c);
CpComm cp_comm_from_string(std::string_view s);

/// How layers map onto pipeline stages.
enum class StageLayout {
  even,          ///< layers / pp per stage (must divide)
  lighter_ends,  ///< one layer fewer on the first and last stage (Llama 3): (layers + 2) / pp in the middle
};

struct TrainingParallelism {
  int tp = 1;               ///< tensor parallel
  int cp = 1;               ///< context parallel (sequence split over ranks, ring attention)
  int dp = 1;               ///< data parallel replicas
  int pp = 1;               ///< pipeline stages
  int ep = 1;               ///< expert parallel, carved out of tp x cp x dp (MoE models)
  int virtual_stages = 1;   ///< model chunks per pipeline rank (interleaved 1F1B when > 1)
  bool sequence_parallel = true;  ///< shard norms/dropout over tp (all-gather + reduce-scatter instead of all-reduce)
  StageLayout layout = StageLayout::even;
  /// Layers per pipeline stage, first to last (Megatron's --num-layer-list); empty: `layout`
  /// decides. Non-empty needs pp entries of at least 1 summing to the model's layers, and v = 1.
  std::vector<int> stage_layers;
  /// Ranks per chip package: 2 where the software exposes each die as a device (CANN on the
  /// Ascend 910C); each rank then has half the chip's compute, HBM and capacity.
  int ranks_per_chip = 1;
  [[nodiscard]] std::int64_t ranks() const {
    return static_cast<std::int64_t>(tp) * cp * dp * pp;
  }
  /// Chip packages the ranks fill (ranks / ranks_per_chip; estimate_training checks it divides).
  [[nodiscard]] std::int64_t chips() const { return ranks() / std::max(1, ranks_per_chip); }
};

struct TrainingPlan {
  std::int64_t global_batch = 512;  ///< sequences per optimizer step
  std::int64_t micro_batch = 1;     ///< sequences per micro-batch
  std::int64_t seq_len = 2048;
  hw::Precision precision = hw::Precision::bf16;  ///< GEMM precision: bf16, fp16 or fp8
  TrainingParallelism parallel;
  Recompute recompute = Recompute::selective;
  Sharding sharding = Sharding::optimizer;
  bool overlap_dp = true;   ///< gradient reduce / parameter gather under backward / forward
  bool overlap_tp = false;  ///< tensor-parallel collectives under the adjacent GEMMs
  bool overlap_pp = true;   ///< pipeline sends/receives asynchronous
  bool flash_attention = true;  ///< fused attention; false: scores and probabilities materialised in HBM (pre-2022 Megatron)
  bool dropout = false;         ///< dropout on attention probabilities and on both residual branches (GPT-3 era)
  bool loss_fusion = true;      ///< fused cross-entropy; false: Megatron's fp32 multi-pass loss over the logits
  double grad_reduce_bytes = 4.0;  ///< bytes per gradient element in the data-parallel reduction (fp32)
  int bf16_layers = 0;             ///< fp8 plans: Transformer layers at each end of the model kept in bf16
  bool fp8_params = false;         ///< fp8 plans: weights held (and data-parallel gathered) in 8 bits
  double expert_imbalance = 1.0;   ///< skew of the busiest expert rank beyond random routing's (>= 1; 1: balanced routing, whose statistical excess the model adds)
  MoeDispatcher moe_dispatcher = MoeDispatcher::deepep;
  CpComm cp_comm = CpComm::ring;   ///< how CP ranks share K/V (no effect at cp 1, so a search may fix it over several cp)
  std::int64_t chips = 0;          ///< 0: tp x cp x dp x pp / ranks_per_chip; else must equal it
  double train_tokens = 0;         ///< tokens to train for time / chip-hours (0: not reported)
  bool check_memory = true;        ///< raise when the plan does not fit in HBM
};

/// Where step time goes. Compute parts are passes; communication parts carry the exposed part
/// (not hidden behind compute) separately.
enum class TrainPart {
  forward,
  backward,
  recompute,
  optimizer,
  bubble,   ///< pipeline fill and drain (idle time of the slowest stage)
  tp_comm,  ///< tensor/sequence-parallel all-reduce or all-gather + reduce-scatter
  cp_comm,  ///< context-parallel key/value exchange (ring or all-gather)
  ep_comm,  ///< MoE dispatch and combine
  pp_comm,  ///< activations and gradients between stages
  dp_comm,  ///< gradient reduction and parameter gathers
};
inline constexpr std::size_t kTrainParts = 10;
std::string_view to_string(TrainPart p);
constexpr bool is_communication(TrainPart p) noexcept { return p >= TrainPart::tp_comm; }

struct TrainPartTime {
  double time = 0;     ///< seconds per step on the slowest rank
  double exposed = 0;  ///< on the critical path (== time for compute parts)
  double flops = 0;    ///< per rank per step (compute parts)
  double bytes = 0;    ///< per rank per step: HBM bytes (compute parts) or bytes sent (communication parts)
};

/// Bytes per chip on the most loaded stage (with ranks_per_chip > 1: its ranks together).
struct TrainingMemory {
  double weights = 0;      ///< bytes per chip (the most loaded pipeline stage)
  double gradients = 0;
  double optimizer = 0;    ///< fp32 master weights + Adam moments
  double activations = 0;  ///< stored for the backward, all micro-batches in flight
  double buffers = 0;      ///< communication buckets and runtime reserve
  double capacity = 0;
  [[nodiscard]] double total() const { return weights + gradients + optimizer + activations + buffers; }
  [[nodiscard]] bool fits() const { return total() <= capacity; }
};

struct TrainingResult {
  std::string model;
  std::string system;
  std::string chip;
  TrainingPlan plan;
  std::int64_t chips = 0;            ///< chip packages (ranks / ranks_per_chip)
  std::int64_t ranks = 0;            ///< tp x cp x dp x pp
  double systems = 0;                ///< copies of the catalog system the chips fill
  std::int64_t micro_batches = 0;    ///< per pipeline per step
  std::array<TrainPartTime, kTrainParts> parts{};
  double step_time = 0;              ///< seconds per optimizer step
  double bubble_fraction = 0;        ///< bubble / step
  double tokens_per_step = 0;
  double tokens_per_second = 0;
  double tokens_per_second_per_chip = 0;
  double model_flops = 0;            ///< per step, whole cluster: 6·(matmul params)·tokens + attention (non-causal count)
  double hardware_flops = 0;         ///< executed: causal flash attention at half the scores, plus recomputation
  double model_flops_per_chip = 0;   ///< achieved model FLOP/s per chip
  double hardware_flops_per_chip = 0;
  /// Model FLOP/s over the dense peak at the plan's precision. Model FLOPs follow the reporting
  /// convention (PaLM, Megatron): attention counted whole, not causal. So with causal flash
  /// attention and no recompute MFU can exceed HFU (and pass 1 at very long sequences).
  double mfu = 0;
  double hfu = 0;                    ///< executed (hardware) FLOP/s over the same peak: causal halves, recompute counted
  TrainingMemory memory;
  double time_to_train = 0;          ///< seconds for plan.train_tokens (0 when not asked)
  double chip_hours = 0;
  std::string bottleneck;            ///< the part with the largest exposed time
  std::optional<EnergyEstimate> energy;  ///< per step, whole cluster; empty without energy data
  double joules_per_token = 0;       ///< trained tokens
  double tokens_per_joule = 0;
  double flops_per_watt = 0;         ///< model FLOP/s per all-in watt
  double energy_to_train = 0;        ///< joules for plan.train_tokens (0 when not asked)
  std::string energy_missing;        ///< why energy is empty
};

/// A catalog system prepared for repeated training estimates: one rank's Device (the chip, or
/// its share with ranks_per_chip > 1), the family's overlap fraction and a network spanning up to
/// 2^22 chips. Build once, estimate many plans with the same ranks_per_chip.
class TrainingSystem {
 public:
  /// Throws InvalidArgument for ranks_per_chip < 1.
  TrainingSystem(const catalog::Catalog& cat, std::string_view system, int ranks_per_chip = 1);
  [[nodiscard]] const hw::System& system() const { return *sys_; }
  // On a temporary TrainingSystem these return copies (a reference into it would dangle).
  [[nodiscard]] const Device& device() const& { return dev_; }
  [[nodiscard]] Device device() && { return std::move(dev_); }
  [[nodiscard]] const Network& network() const& { return *net_; }
  [[nodiscard]] Network network() && { return *net_; }
  [[nodiscard]] double overlap() const { return overlap_; }
  [[nodiscard]] int domain() const { return domain_; }  ///< ranks in one scale-up domain
  [[nodiscard]] int ranks_per_chip() const { return ranks_per_chip_; }
  [[nodiscard]] const SystemEnergy& energy() const& { return energy_; }
  [[nodiscard]] SystemEnergy energy() && { return std::move(energy_); }

 private:
  catalog::Catalog cat_;
  const hw::System* sys_;
  Device dev_;
  std::shared_ptr<const Network> net_;
  double overlap_ = 0.0;
  int domain_ = 1;
  int ranks_per_chip_ = 1;
  SystemEnergy energy_;
};

/// Throws InvalidArgument naming the constraint for degrees whose product is not the chip
/// count, layers that do not split into the stages, micro-batches that do not divide the batch,
/// heads/experts that do not divide, a precision the chip lacks, or (with check_memory) a plan
/// that does not fit in HBM (with the amount over).
[[nodiscard]] TrainingResult estimate_training(const workload::TransformerModel& model, const catalog::Catalog& cat,
                                 std::string_view system, const TrainingPlan& plan);
[[nodiscard]] TrainingResult estimate_training(const workload::TransformerModel& model, const TrainingSystem& system,
                                 const TrainingPlan& plan);
/// On the built-in catalog.
[[nodiscard]] TrainingResult estimate_training(const workload::TransformerModel& model, std::string_view system,
                                 const TrainingPlan& plan);

}  // namespace perfmodel::model
