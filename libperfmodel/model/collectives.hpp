#pragma once
// Collective communication on a system's fabrics, alpha-beta style:
//   time = steps × step latency + bytes on the busiest link / (link bandwidth × efficiency(size))
// with efficiency(size) = fraction × size / (size + min(size, half_size)): the bulk protocol's
// pipeline fill, or below half_size the low-latency protocols at half the bandwidth (in-network
// reduction has only the bulk protocol: size + half_size). Per-rank bandwidths are per
// direction. Levels: the scale-up domain (switched, full mesh, two-tier Clos, torus) and the
// scale-out network between domains (rail-optimised, non-blocking unless told otherwise).
// Reported bandwidths follow nccl-tests: algbw = size / time, busbw = algbw × factor(n).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libperfmodel/catalog/catalog.hpp>
#include <libperfmodel/hw/system.hpp>
#include <libperfmodel/units/quantity.hpp>

namespace perfmodel::model {

enum class Collective { all_reduce, reduce_scatter, all_gather, all_to_all, broadcast, send_recv };
enum class Algorithm { automatic, ring, tree, in_network, direct, hierarchical };
std::string_view to_string(Collective c);
std::string_view to_string(Algorithm a);
Collective collective_from_string(std::string_view s);
Algorithm algorithm_from_string(std::string_view s);

/// One level of the fabric hierarchy, resolved to numbers (SI units).
struct FabricLevel {
  std::string name;            ///< e.g. "NVLink 4 (single-hop-switched)"
  std::string fabric;          ///< key of its efficiency parameters ("full-mesh", "scale-out", ...)
  std::optional<hw::Topology> topology;  ///< empty for the scale-out network
  int ranks = 1;               ///< ranks in one group at this level
  double bandwidth = 0;        ///< per rank, per direction [B/s]
  int links = 1;               ///< links per rank (a full mesh gives each peer 1/links of it); 0: unknown
  std::string links_note;      ///< why links is unknown (a direct exchange, which needs it, says this)
  bool in_network = false;     ///< in-switch reduction (NVLS, SHARP)
  std::vector<int> torus_dims;  ///< torus shape (product = ranks)
  int group_ranks = 1;          ///< two-tier Clos: ranks under one L1 switch group (a node)
  // Scale-out fat-tree: switch ports, tiers, and the bandwidth taper above the leaf tier.
  int switch_radix = 0;
  int tiers = 1;
  double oversubscription = 1.0;
  int leaf_ranks = 1;           ///< scale-out: domains whose NICs share one leaf switch (per rail)

  [[nodiscard]] bool torus() const {
    return topology == hw::Topology::torus_2d || topology == hw::Topology::torus_3d;
  }
  /// Mean links from a rank to the others of the torus (per ring of k: k/4 if k is even, (k²-1)/4k if odd).
  [[nodiscard]] double torus_mean_hops() const;
  // Efficiency parameters of this fabric: data per chip family (efficiency/<family>.json
  // `fabrics`), which Network applies. Assumption: where a family's fabric entry omits
  // step_latency or a2a_latency the initialisers below stand (a switch hop plus synchronisation;
  // an all-to-all's setup, as measured on H800); the two efficiencies are always the family's.
  double efficiency = 0.7;             ///< achieved / link bandwidth for large ring or tree transfers
  double in_network_efficiency = 0.6;  ///< the same for in-switch reduction (NVLS, SHARP)
  double step_latency = 5e-6;          ///< [s] per algorithm step (hop plus synchronisation)
  double a2a_latency = 30e-6;          ///< [s] fixed cost of an all-to-all or MoE exchange
  double dispatch_overhead = 0;        ///< [s] per MoE dispatch/combine beyond the transfer
  double a2a_sync_latency = 0;         ///< [s] per log2(ranks) synchronisation round of a MoE exchange
  double half_size = 0;                ///< [B] message size at which half the bandwidth is reached (0: none)
};

/// How to build a Network beyond what the catalog says.
struct NetworkOptions {
  int nodes = 1;           ///< copies of the system joined by the scale-out network
  int ranks_per_chip = 1;  ///< > 1 when each die is a rank (CANN exposes each 910C die)
  std::vector<int> torus_shape;    ///< torus dimensions; default: the most balanced exact factorisation
  double oversubscription = 0;     ///< scale-out taper above the leaf tier; 0: catalog, else 1 (non-blocking)
  int switch_radix = 0;            ///< scale-out switch ports; 0: catalog, else 64
};

/// The fabrics of `nodes` copies of a catalog system; ranks are chips, or dies when
/// `ranks_per_chip` > 1 (CANN exposes each Ascend 910C die as a device).
class Network {
 public:
  /// Throws InvalidArgument naming the field when a needed figure is unknown (scale-up
  /// bandwidth or domain size), NotFound for an unknown system.
  Network(const catalog::Catalog& cat, std::string_view system, int nodes = 1, int ranks_per_chip = 1)
      : Network(cat, system, NetworkOptions{nodes, ranks_per_chip, {}, 0, 0}) {}
  Network(const catalog::Catalog& cat, std::string_view system, const NetworkOptions& options);

  // On a temporary Network these return copies (a reference into it would dangle).
  [[nodiscard]] const std::string& system() const& { return system_; }
  [[nodiscard]] std::string system() && { return std::move(system_); }
  [[nodiscard]] int ranks() const { return ranks_; }
  [[nodiscard]] const FabricLevel& scale_up() const& { return up_; }
  [[nodiscard]] FabricLevel scale_up() && { return std::move(up_); }
  /// Present when more than one scale-up domain exists and the chip's NIC bandwidth is known.
  [[nodiscard]] const std::optional<FabricLevel>& scale_out() const& { return out_; }
  [[nodiscard]] std::optional<FabricLevel> scale_out() && { return std::move(out_); }
  /// The scale-out level as seen by a group spanning `domains` scale-up domains: above one leaf
  /// switch an oversubscribed fabric gives each rank bandwidth / oversubscription.
  /// Throws InvalidArgument when the network has no scale-out level.
  [[nodiscard]] const FabricLevel& scale_out_for(int domains) const;

 private:
  std::string system_;
  int ranks_ = 0;
  FabricLevel up_;
  std::optional<FabricLevel> out_;
  std::optional<FabricLevel> out_wide_;  ///< out_ with the taper applied (only when oversubscribed)
};

struct CollectiveResult {
  Seconds time{};
  Bandwidth algbw{};
  Bandwidth busbw{};
  Algorithm algorithm = Algorithm::ring;
  Seconds latency{};   ///< the step-latency part of time
  /// The automatic choice ran a reduce-scatter, all-gather or broadcast as an all-reduce of the
  /// same buffer (keeping the shard or the root's data), with `algorithm`'s all-reduce: it was
  /// faster than each of the collective's own algorithms.
  bool as_all_reduce = false;
};

/// `size` is the nccl-tests message size (the whole buffer for all-reduce, the gathered
/// buffer for all-gather / reduce-scatter, a rank's send buffer for all-to-all). Throws
/// InvalidArgument naming the field for ranks outside [2, network ranks], a size <= 0 or not
/// finite, or an algorithm the topology does not support.
[[nodiscard]] CollectiveResult estimate(const Network& net, Collective kind, Bytes size, int ranks,
                          Algorithm algorithm = Algorithm::automatic);

/// A collective among `ranks` ranks of which `per_domain` share each scale-up domain (a group
/// strided over the domains, as data- and pipeline-parallel groups are when tensor parallelism
/// fills part of each domain). per_domain >= ranks: one domain; per_domain == 1: the scale-out
/// fabric alone, each rank on its own NIC; otherwise hierarchical over the two levels. Other
/// groups run concurrently on their own links (each rank has its own NIC share). Throws like
/// estimate() and for per_domain outside [1, domain size].
[[nodiscard]] CollectiveResult estimate_spread(const Network& net, Collective kind, Bytes size, int ranks, int per_domain);

/// MoE token exchange (expert parallelism): dispatch sends each token's hidden state to the
/// ranks holding its top-k experts, combine sends the results back.
/// One MoE dispatch or combine. The defaults describe DeepSeek-V3 prefill on one 8-GPU node
/// (4,096 tokens per rank, hidden 7,168, top-8 of 256 experts, 8-bit dispatch): set every field
/// for another model.
struct MoeExchange {
  enum class Phase { dispatch, combine };
  enum class Mode {
    normal,       ///< one copy per (token, rank); across domains one RDMA copy per (token, node), forwarded in-domain
    low_latency,  ///< one copy per (token, expert), sent directly
  };
  Phase phase = Phase::dispatch;
  Mode mode = Mode::normal;
  std::int64_t tokens = 4096;        ///< tokens per rank
  std::int64_t hidden = 7168;        ///< elements per token (the model's hidden size)
  int topk = 8;
  int experts = 256;                 ///< routed experts, spread evenly over the ranks
  double bytes_per_element = 1.0;   ///< fp8/int8 dispatch 1, bf16 combine 2
  double scale_bytes_per_token = 0;  ///< quantisation scales sent with each copy
  double imbalance = 1.0;            ///< busiest rank's load over the mean (>= 1)
  int ranks = 8;
};

struct MoeResult {
  Seconds time{};
  Bytes bytes_per_rank{};            ///< every copy a rank sends, including to itself
  Bytes remote_bytes_per_rank{};     ///< bytes on links (mean rank): a copy once per link it crosses (RDMA + forward)
  Bandwidth bandwidth{};             ///< bytes_per_rank / time (DeepEP's low-latency figure)
  Bandwidth remote_bandwidth{};      ///< bytes on the bottleneck fabric / time (DeepEP's "bottleneck bandwidth")
  Bandwidth node_bandwidth{};        ///< across domains: one copy per (token, node) incl. its own / time
  std::string bottleneck;            ///< "scale-up" or "scale-out"
};

/// Throws InvalidArgument for non-positive sizes, topk > experts, experts not divisible by the
/// ranks, imbalance < 1, or ranks beyond the network.
[[nodiscard]] MoeResult estimate(const Network& net, const MoeExchange& op);

}  // namespace perfmodel::model
