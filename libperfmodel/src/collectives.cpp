// Collective communication and MoE token exchange on a system's fabrics.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <libperfmodel/detail/enum_check.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/hw/chip.hpp>
#include <libperfmodel/hw/efficiency.hpp>
#include <libperfmodel/model/collectives.hpp>

namespace perfmodel::model {

namespace {

constexpr std::array<std::string_view, 6> kCollectiveNames{"all_reduce", "reduce_scatter", "all_gather",
                                                           "all_to_all", "broadcast", "send_recv"};
constexpr std::array<std::string_view, 6> kAlgorithmNames{"auto", "ring", "tree", "in_network", "direct",
                                                          "hierarchical"};

/// A collective spans 2 to all of the network's ranks; more need more copies of the system.
void check_ranks(const Network& net, std::int64_t ranks) {
  if (ranks < 2 || ranks > net.ranks()) {
    throw InvalidArgument("ranks: must be in [2, " + std::to_string(net.ranks()) + "] for " + net.system() + ", got " +
                          std::to_string(ranks) +
                          (ranks > net.ranks() ? "; more ranks need more copies of the system (nodes)" : ""));
  }
}

template <std::size_t N>
std::size_t lookup(const std::array<std::string_view, N>& names, std::string_view s, const char* what) {
  std::string all;
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return i;
    all += (i ? ", " : "") + std::string(names[i]);
  }
  throw InvalidArgument(std::string(what) + ": got '" + std::string(s) + "', expected one of " + all);
}

/// Fills the efficiency fields of `lv` from the chip family's policy, else the default policy.
void apply_policy(FabricLevel& lv, const catalog::Catalog& cat, const std::string& family) {
  const hw::FabricEfficiency* fe = cat.efficiency(family).fabric(lv.fabric);
  if (fe == nullptr) fe = cat.efficiency("default").fabric(lv.fabric);
  if (fe == nullptr) {
    throw InvalidArgument("no efficiency parameters for fabric '" + lv.fabric + "' in the policy of family '" +
                          family + "' or in the default policy");
  }
  lv.efficiency = fe->bandwidth.require("efficiency policy of " + family);
  lv.in_network_efficiency = fe->in_network.value_or(lv.efficiency);
  lv.step_latency = fe->step_latency.value_or(Seconds{lv.step_latency}).value();
  lv.a2a_latency = fe->a2a_latency.value_or(Seconds{lv.a2a_latency}).value();
  lv.dispatch_overhead = fe->dispatch_overhead.value_or(Seconds{0.0}).value();
  lv.a2a_sync_latency = fe->a2a_sync_latency.value_or(Seconds{0.0}).value();
  lv.half_size = fe->half_size.value_or(Bytes{0.0}).value();
}

/// The `d` factors of n (ascending) closest to equal: largest / smallest is minimal.
std::vector<int> balanced_shape(int n, int d) {
  if (d == 2) {
    int a = static_cast<int>(std::sqrt(static_cast<double>(n)));
    while (n % a != 0) --a;
    return {a, n / a};
  }
  std::vector<int> best{1, 1, n};
  for (int a = 1; static_cast<long>(a) * a * a <= n; ++a) {
    if (n % a != 0) continue;
    const int m = n / a;
    for (int b = a; static_cast<long>(b) * b <= m; ++b) {
      if (m % b == 0 && static_cast<double>(m / b) / a < static_cast<double>(best[2]) / best[0]) best = {a, b, m / b};
    }
  }
  return best;
}

int log2_ceil(int n) {
  int s = 0;
  while ((1 << s) < n) ++s;
  return s;
}

// --- single-level algorithms ---------------------------------------------------------------

struct Timing {
  double time = std::numeric_limits<double>::infinity();
  double latency = 0;
};

/// Effective per-rank bandwidth for a transfer of `bytes` at fraction `frac` of `bw`.
/// Assumption: large messages pay a pipeline fill worth half_size bytes; a smaller message goes
/// through the low-latency protocols (NCCL LL/LL128: data and flag share each line), which skip
/// the fill but move about half the bandwidth, so the fill is min(bytes, half_size). In-network
/// reduction (NVLS, SHARP) runs only the bulk protocol (`bulk_only`) and always pays the fill.
double eff_bw(const FabricLevel& lv, double bw, double frac, double bytes, bool bulk_only = false) {
  if (!(lv.half_size > 0) || !(bytes > 0)) return bw * frac;
  // Divided through by bytes: bw x bytes overflowed to inf near 1e297 B and read as no time at all.
  return bw * frac / (1.0 + (bulk_only ? lv.half_size : std::min(bytes, lv.half_size)) / bytes);
}

/// Links a rank posts direct-exchange messages over at once; unknown (0) is an error here, where
/// it matters, rather than when the network is built.
double wave_links(const FabricLevel& lv) {
  if (lv.links >= 1) return lv.links;
  throw InvalidArgument((lv.links_note.empty() ? lv.name + ": links per rank are unknown" : lv.links_note) +
                        "; a direct exchange (all-to-all) posts its messages that many at a time: give the link count "
                        "(a what-if part can set it)");
}

/// Bandwidth a rank reaches when sending to all n-1 peers at once: the whole injection
/// bandwidth, except on a full mesh where each peer link carries 1/links of it.
double fanout_bw(const FabricLevel& lv, int n) {
  if (lv.topology == hw::Topology::full_mesh) return lv.bandwidth * std::min(1.0, (n - 1.0) / lv.links);
  return lv.bandwidth;
}
/// Bandwidth between one pair of ranks (ring neighbours, point-to-point).
double pair_bw(const FabricLevel& lv) {
  if (lv.topology == hw::Topology::full_mesh) return lv.bandwidth / lv.links;
  if (lv.torus()) return lv.bandwidth / static_cast<double>(2 * lv.torus_dims.size());
  return lv.bandwidth;
}
/// Bandwidth of a ring: on a torus, bidirectional rings in every dimension use all links.
double ring_bw(const FabricLevel& lv) {
  if (lv.torus()) return lv.bandwidth;
  return pair_bw(lv);
}

double hop_factor(const FabricLevel& lv) {
  // A two-tier Clos crosses L1, L2, L1 switches (3 hops) between racks; one switch elsewhere.
  return lv.topology == hw::Topology::two_tier_clos ? 3.0 : 1.0;
}

Timing one_level(const FabricLevel& lv, Collective kind, double s, int n, Algorithm alg) {
  const double a = lv.step_latency * hop_factor(lv);
  const double nn = n;
  const double frac = (nn - 1.0) / nn;
  Timing t;
  auto set = [&](double steps, double bytes, double bw) {
    t.latency = steps * a;
    t.time = t.latency + (bytes > 0 ? bytes / bw : 0.0);
  };
  const double e = lv.efficiency;
  switch (alg) {
    case Algorithm::ring: {
      const double bw = eff_bw(lv, ring_bw(lv), e, s);
      // On a torus the rings run dimension by dimension (the bandwidth of ring_bw): a phase takes
      // sum(k - 1) neighbour steps over the dimensions k, not n - 1.
      double steps = nn - 1;
      if (lv.torus()) {
        steps = 0;
        for (int k : lv.torus_dims) steps += k - 1;
      }
      switch (kind) {
        case Collective::all_reduce: set(2.0 * steps, 2.0 * frac * s, bw); break;
        case Collective::reduce_scatter:
        case Collective::all_gather: set(steps, frac * s, bw); break;
        case Collective::broadcast: set(steps, s, bw); break;  // pipelined chain
        case Collective::all_to_all: set(steps, frac * s, bw); break;  // shifted pairwise exchange
        case Collective::send_recv: set(1, s, eff_bw(lv, pair_bw(lv), e, s)); break;
      }
      break;
    }
    case Algorithm::tree: {
      // Double binary tree: log2(n) steps each way, every byte crosses a rank's link twice.
      const double bw = eff_bw(lv, pair_bw(lv), e, s);
      const double d = log2_ceil(n);
      switch (kind) {
        case Collective::all_reduce: set(2.0 * d, 2.0 * s, bw); break;
        case Collective::broadcast: set(d, s, bw); break;
        default: return t;  // not a tree collective
      }
      break;
    }
    case Algorithm::in_network: {
      // Each rank pushes its data into the switch once and receives the result once.
      const double bw = eff_bw(lv, lv.bandwidth, lv.in_network_efficiency, s, true);
      switch (kind) {
        case Collective::all_reduce: set(2, s, bw); break;
        case Collective::reduce_scatter:
        case Collective::all_gather: set(1, frac * s, bw); break;
        case Collective::broadcast: set(1, s, bw); break;
        default: return t;
      }
      break;
    }
    case Algorithm::direct: {
      // One shot to every peer at once (reduce-scatter + all-gather for all-reduce). Assumption: a
      // rank's links carry its n - 1 messages `links` at a time, each wave one step latency (one
      // wave on a switch or full mesh of a node; n - 1 waves through a single NIC).
      const double bw = eff_bw(lv, fanout_bw(lv, n), e, s);
      const double hops = lv.torus() ? std::max(1.0, lv.torus_mean_hops()) : 1.0;
      const double waves = std::ceil((nn - 1.0) / wave_links(lv));
      switch (kind) {
        case Collective::all_reduce: set(2 * waves, 2.0 * frac * s * hops, bw); break;
        case Collective::reduce_scatter:
        case Collective::all_gather:
        case Collective::all_to_all: set(waves, frac * s * hops, bw); break;
        case Collective::broadcast: set(waves, frac * s * nn * hops, bw); break;  // the root sends n-1 copies
        case Collective::send_recv: set(1, s, eff_bw(lv, pair_bw(lv), e, s)); break;
      }
      break;
    }
    default: break;
  }
  return t;
}

bool supports(const FabricLevel& lv, Collective kind, Algorithm alg) {
  switch (alg) {
    case Algorithm::ring: return true;
    case Algorithm::tree: return kind == Collective::all_reduce || kind == Collective::broadcast;
    case Algorithm::in_network:
      return lv.in_network && (kind == Collective::all_reduce || kind == Collective::reduce_scatter ||
                               kind == Collective::all_gather || kind == Collective::broadcast);
    case Algorithm::direct: return true;
    default: return false;
  }
}

/// Reduce-scatter, all-gather and broadcast each move no more than an all-reduce of the same
/// buffer (run as one and keep the shard, with zero-filled buffers, or as scatter + all-gather):
/// an automatic choice never costs more than the all-reduce.
bool bounded_by_all_reduce(Collective kind) {
  return kind == Collective::reduce_scatter || kind == Collective::all_gather || kind == Collective::broadcast;
}

/// The fastest algorithm on one level; `chosen` (when given) records it, and whether it is the
/// all-reduce of the same buffer that bounds reduce-scatter, all-gather and broadcast.
Timing best_one_level(const FabricLevel& lv, Collective kind, double s, int n, CollectiveResult* chosen) {
  // With the link count unknown an all-to-all (a direct exchange by nature) says so; the others
  // choose among the algorithms that do not need it (the result names the one chosen).
  if (kind == Collective::all_to_all) (void)wave_links(lv);
  Timing best;
  for (Algorithm alg : {Algorithm::ring, Algorithm::tree, Algorithm::in_network, Algorithm::direct}) {
    if (!supports(lv, kind, alg) || (alg == Algorithm::direct && lv.links < 1)) continue;  // links unknown
    const Timing t = one_level(lv, kind, s, n, alg);
    if (t.time < best.time) {
      best = t;
      if (chosen) chosen->algorithm = alg;
    }
  }
  if (bounded_by_all_reduce(kind)) {
    CollectiveResult via;
    const Timing ar = best_one_level(lv, Collective::all_reduce, s, n, &via);
    if (ar.time < best.time) {
      best = ar;
      if (chosen) {
        chosen->algorithm = via.algorithm;
        chosen->as_all_reduce = true;
      }
    }
  }
  return best;
}

std::string algorithm_error(const Network& net, const FabricLevel& lv, Collective kind, Algorithm alg) {
  std::string why;
  if (alg == Algorithm::in_network && !lv.in_network) why = "its scale-up fabric has no in-network reduction";
  else if (alg == Algorithm::tree) why = "tree is implemented for all_reduce and broadcast only";
  else if (alg == Algorithm::hierarchical) why = "hierarchical needs ranks spanning more than one scale-up domain";
  else why = "the topology does not support it";
  return "algorithm: '" + std::string(to_string(alg)) + "' cannot run " + std::string(to_string(kind)) + " on " +
         net.system() + " (" + lv.name + "): " + why;
}

double bus_factor(Collective kind, int n) {
  const double nn = n;
  switch (kind) {
    case Collective::all_reduce: return 2.0 * (nn - 1) / nn;
    case Collective::reduce_scatter:
    case Collective::all_gather:
    case Collective::all_to_all: return (nn - 1) / nn;
    case Collective::broadcast:
    case Collective::send_recv: return 1.0;
  }
  return 1.0;
}

/// P(a given group of `e` of the `experts` experts receives none of a token's top-k picks).
double miss_probability(int experts, int per_group, int topk) {
  double p = 1.0;
  for (int i = 0; i < topk; ++i) p *= static_cast<double>(experts - per_group - i) / (experts - i);
  return std::max(0.0, p);
}

}  // namespace

std::string_view to_string(Collective c) { return detail::enum_name(c, kCollectiveNames); }
std::string_view to_string(Algorithm a) { return detail::enum_name(a, kAlgorithmNames); }
Collective collective_from_string(std::string_view s) {
  return static_cast<Collective>(lookup(kCollectiveNames, s, "collective"));
}
Algorithm algorithm_from_string(std::string_view s) {
  return static_cast<Algorithm>(lookup(kAlgorithmNames, s, "algorithm"));
}

double FabricLevel::torus_mean_hops() const {
  double h = 0, n = 1;
  for (int k : torus_dims) {
    h += k % 2 == 0 ? k / 4.0 : (k * k - 1.0) / (4.0 * k);
    n *= k;
  }
  return n > 1 ? h * n / (n - 1.0) : 0.0;
}

// --- Network -------------------------------------------------------------------------------

const FabricLevel& Network::scale_out_for(int domains) const {
  if (!out_) {
    throw InvalidArgument("scale_out: " + system_ + " has no scale-out level (one scale-up domain, or its chip's "
                          "scale_out.bandwidth_per_direction is unknown); " + std::to_string(domains) + " domains asked");
  }
  return domains > out_->leaf_ranks && out_wide_ ? *out_wide_ : *out_;
}

Network::Network(const catalog::Catalog& cat, std::string_view system, const NetworkOptions& options) {
  const int nodes = options.nodes;
  const int ranks_per_chip = options.ranks_per_chip;
  const hw::System& sys = cat.system(system);
  const hw::Chip& chip = cat.chip(sys.chip);
  system_ = sys.id;
  if (nodes < 1) throw InvalidArgument("nodes: must be >= 1, got " + std::to_string(nodes));
  // Ranks per chip are the devices a chip's software addresses (2 on a 910C); 64 bounds any part.
  if (ranks_per_chip < 1 || ranks_per_chip > 64) {
    throw InvalidArgument("ranks_per_chip: must be in [1, 64], got " + std::to_string(ranks_per_chip));
  }
  // 0 means "the catalog's"; anything else must be a real fabric (-2 or NaN read as the default).
  // Built fabrics taper by 1:1 to about 1:8; 1000 bounds a what-if (1e308 gave inf times).
  if (options.oversubscription != 0.0 && !(options.oversubscription >= 1.0 && options.oversubscription <= 1000.0)) {
    throw InvalidArgument("oversubscription: must be 0 (the catalog's) or a number in [1, 1000] (1 is non-blocking), got " +
                          std::to_string(options.oversubscription));
  }
  if (options.switch_radix != 0 && (options.switch_radix < 4 || options.switch_radix > 65536)) {
    throw InvalidArgument("switch_radix: must be 0 (the catalog's) or 4 to 65536 ports, got " + std::to_string(options.switch_radix));
  }
  const int chips = sys.chip_count();
  const std::int64_t ranks = std::int64_t{chips} * nodes * ranks_per_chip;
  if (ranks > std::numeric_limits<int>::max()) {
    throw InvalidArgument("ranks: " + std::to_string(chips) + " chips x " + std::to_string(nodes) + " nodes x " +
                          std::to_string(ranks_per_chip) + " ranks per chip = " + std::to_string(ranks) +
                          " ranks; at most 2^31 - 1 are modelled");
  }
  ranks_ = static_cast<int>(ranks);
  const int domain = static_cast<int>(sys.scale_up_domain.require(sys.id));
  if (!sys.topology) {
    throw InvalidArgument(sys.id + ": scale_up.topology is not given; collectives need it");
  }
  up_.topology = sys.topology;
  up_.fabric = std::string(hw::to_string(*sys.topology));
  up_.name = (chip.scale_up.protocol.empty() ? "scale-up" : chip.scale_up.protocol) + " (" + up_.fabric + ")";
  up_.ranks = domain * ranks_per_chip;
  up_.bandwidth = chip.scale_up.bandwidth_per_direction.require(chip.id).value() / ranks_per_chip;
  const auto& links = chip.scale_up.links;
  if (links.known()) {
    up_.links = static_cast<int>(links.require(chip.id));
  } else if (up_.torus()) {
    up_.links = up_.topology == hw::Topology::torus_3d ? 6 : 4;  // a torus has two links per dimension
  } else {
    const std::string why = chip.id + ": scale_up.links is " + (links.absent() ? "not given" : "unknown") +
                            (links.provenance().note.empty() ? "" : " (" + links.provenance().note + ")");
    // A mesh's bandwidth per peer needs it now; on a switch only direct exchanges (all-to-all)
    // do, and they say so. Assumption: a switched chip that lists no links posts one at a time.
    if (up_.topology == hw::Topology::full_mesh) {
      throw InvalidArgument(why + "; " + sys.id + "'s full mesh needs the chip's link count (a what-if part can set it)");
    }
    up_.links = links.absent() ? 1 : 0;
    up_.links_note = links.absent() ? std::string() : why;
  }
  up_.in_network = sys.in_network_reduction;
  if (up_.topology == hw::Topology::full_mesh && up_.links < up_.ranks - 1) {
    // With several ranks per chip the option, not the catalog, is what to change.
    throw InvalidArgument((ranks_per_chip > 1 ? "ranks_per_chip: " + std::to_string(ranks_per_chip) + " ranks on each of " +
                                                    std::to_string(domain) + " chips of " + sys.id + " make "
                                              : sys.id + ": ") +
                          "a full mesh of " + std::to_string(up_.ranks) + " ranks, which needs " +
                          std::to_string(up_.ranks - 1) + " links per chip; scale_up.links gives " +
                          std::to_string(up_.links) + ": the links do not connect all ranks");
  }
  up_.group_ranks = std::min(up_.ranks, sys.chips_per_node.value_or(domain) * ranks_per_chip);
  if (up_.torus()) {
    const int d = up_.topology == hw::Topology::torus_3d ? 3 : 2;
    if (options.torus_shape.empty()) {
      // Assumption: without a given shape, the most balanced torus whose size is the domain.
      up_.torus_dims = balanced_shape(up_.ranks, d);
    } else {
      long product = 1;
      for (int k : options.torus_shape) {
        if (k < 1) throw InvalidArgument("torus_shape: every dimension must be >= 1, got " + std::to_string(k));
        product *= k;
      }
      if (static_cast<int>(options.torus_shape.size()) != d || product != up_.ranks) {
        throw InvalidArgument("torus_shape: " + sys.id + " is a " + std::to_string(d) + "D torus of " +
                              std::to_string(up_.ranks) + " ranks; the shape has " +
                              std::to_string(options.torus_shape.size()) + " dimensions and " +
                              std::to_string(product) + " ranks");
      }
      up_.torus_dims = options.torus_shape;
    }
  } else if (!options.torus_shape.empty()) {
    throw InvalidArgument("torus_shape: " + sys.id + "'s scale-up fabric is " + up_.fabric + ", not a torus");
  }
  apply_policy(up_, cat, chip.family);
  // Without ranks past the scale-up domain there is no scale-out network for these to shape.
  if (ranks_ <= up_.ranks && (options.oversubscription != 0.0 || options.switch_radix != 0)) {
    throw InvalidArgument(std::string(options.oversubscription != 0.0 ? "oversubscription" : "switch_radix") +
                          ": shapes the scale-out network between scale-up domains; " + sys.id + " x " +
                          std::to_string(nodes) + " is one domain (give nodes > 1)");
  }
  if (ranks_ > up_.ranks && chip.scale_out.bandwidth_per_direction.known()) {
    FabricLevel o;
    o.fabric = "scale-out";
    o.name = (chip.scale_out.protocol.empty() ? "scale-out" : chip.scale_out.protocol) + " (" +
             (sys.scale_out_topology.empty() ? std::string("fat-tree") : sys.scale_out_topology) + ")";
    o.ranks = ranks_ / up_.ranks;
    o.bandwidth = chip.scale_out.bandwidth_per_direction.value_or(Bandwidth{}).value() / ranks_per_chip;
    // Assumption: 10 us per step across the scale-out network (NIC, switch hops, RDMA completion)
    // where the family's scale-out entry gives no step_latency.
    o.step_latency = 10e-6;
    apply_policy(o, cat, chip.family);
    // Assumption: 64-port switches (InfiniBand NDR Quantum-2) when the catalog gives no radix,
    // and a non-blocking fabric when it gives no oversubscription.
    o.switch_radix = options.switch_radix > 0 ? options.switch_radix
                                                : static_cast<int>(sys.scale_out_radix.value_or(64.0));
    o.oversubscription = options.oversubscription > 0 ? options.oversubscription
                                                        : sys.scale_out_oversubscription.value_or(1.0);
    // A tier of a fat tree splits each switch's ports between down- and up-links: below 4 ports a
    // tier adds no endpoints (radix / 2 = 1) and the tree never grows.
    if (o.switch_radix < 4) throw InvalidArgument("switch_radix: must be >= 4, got " + std::to_string(o.switch_radix));
    if (!(o.oversubscription >= 1.0 && std::isfinite(o.oversubscription))) {
      throw InvalidArgument("oversubscription: must be >= 1 (1 is non-blocking), got " + std::to_string(o.oversubscription));
    }
    // Rail-optimised fat-tree: each rank's NIC sits on its rail's tree, whose endpoints are the
    // domains. One switch holds `radix` endpoints; each added tier multiplies that by radix / 2.
    o.tiers = 1;
    double capacity = o.switch_radix;
    while (capacity < o.ranks) {
      capacity *= o.switch_radix / 2.0;
      ++o.tiers;
    }
    o.leaf_ranks = o.tiers == 1 ? o.ranks : o.switch_radix / 2;
    out_ = o;
    if (o.oversubscription > 1.0 && o.tiers > 1) {
      FabricLevel wide = o;
      wide.bandwidth = o.bandwidth / o.oversubscription;
      out_wide_ = wide;
    }
  }
}

// --- collectives -----------------------------------------------------------------------------

CollectiveResult estimate(const Network& net, Collective kind, Bytes size, int ranks, Algorithm algorithm) {
  detail::check_enum(kind, Collective::all_reduce, Collective::send_recv, "kind", "Collective");
  detail::check_enum(algorithm, Algorithm::automatic, Algorithm::hierarchical, "algorithm", "Algorithm");
  const double s = size.value();
  if (!(std::isfinite(s) && s > 0.0)) {
    throw InvalidArgument("size: must be a positive number of bytes, got " + std::to_string(s));
  }
  check_ranks(net, ranks);
  const FabricLevel& up = net.scale_up();
  CollectiveResult r;
  Timing t;
  if (ranks <= up.ranks) {
    if (algorithm == Algorithm::automatic) {
      t = best_one_level(up, kind, s, ranks, &r);
    } else {
      if (!supports(up, kind, algorithm)) throw InvalidArgument(algorithm_error(net, up, kind, algorithm));
      t = one_level(up, kind, s, ranks, algorithm);
      r.algorithm = algorithm;
    }
  } else {
    if (!net.scale_out()) {
      throw InvalidArgument("ranks: " + std::to_string(ranks) + " span more than one scale-up domain of " +
                            std::to_string(up.ranks) + " on " + net.system() +
                            ", but the chip's scale_out bandwidth is unknown: the links do not connect all ranks");
    }
    if (ranks % up.ranks != 0) {
      throw InvalidArgument("ranks: " + std::to_string(ranks) + " must be a multiple of the scale-up domain (" +
                            std::to_string(up.ranks) + ") when it spans several domains");
    }
    const int n_out = ranks / up.ranks;
    const FabricLevel& out = net.scale_out_for(n_out);
    const Algorithm alg = algorithm == Algorithm::automatic ? Algorithm::hierarchical : algorithm;
    if (alg == Algorithm::hierarchical) {
      // Reduce-scatter inside the domain, the collective across domains on 1/n_up of the data,
      // all-gather inside the domain (all-reduce); other collectives split alike.
      Timing a, b, c;
      const double part = s / up.ranks;
      switch (kind) {
        case Collective::all_reduce:
          a = best_one_level(up, Collective::reduce_scatter, s, up.ranks, nullptr);
          b = best_one_level(out, Collective::all_reduce, part, n_out, nullptr);
          c = a;
          break;
        case Collective::reduce_scatter:
        case Collective::all_gather:
          a = best_one_level(up, kind, s, up.ranks, nullptr);
          b = best_one_level(out, kind, part, n_out, nullptr);
          c.time = 0;
          break;
        case Collective::broadcast: {
          // The whole buffer through the root's NIC, then inside every domain; or scattered over
          // the root's domain, each part broadcast over its own NIC, and all-gathered (same traffic
          // as a reduce-scatter without the reduction): whichever is faster.
          const Timing a1 = best_one_level(out, kind, s, n_out, nullptr);
          const Timing b1 = best_one_level(up, kind, s, up.ranks, nullptr);
          const Timing a2 = best_one_level(up, Collective::reduce_scatter, s, up.ranks, nullptr);
          const Timing b2 = best_one_level(out, kind, part, n_out, nullptr);
          const Timing c2 = best_one_level(up, Collective::all_gather, s, up.ranks, nullptr);
          if (a1.time + b1.time <= a2.time + b2.time + c2.time) {
            a = a1, b = b1, c.time = 0;
          } else {
            a = a2, b = b2, c = c2;
          }
          break;
        }
        case Collective::all_to_all: {
          // Remote share over the NICs, local share over scale-up, concurrently. As a direct
          // exchange, each side posts its messages `links` at a time, one step latency per wave
          // (a flat ~10 us at any rank count made spanning more nodes look faster than one).
          const double remote = s * (ranks - up.ranks) / ranks;
          const double local = s * (up.ranks - 1.0) / ranks;
          a.latency = out.step_latency * std::ceil((ranks - up.ranks) / wave_links(out));
          a.time = a.latency + remote / eff_bw(out, out.bandwidth, out.efficiency, remote);
          b.latency = up.step_latency * hop_factor(up) * std::ceil((up.ranks - 1.0) / wave_links(up));
          b.time = b.latency + (local > 0 ? local / eff_bw(up, up.bandwidth, up.efficiency, local) : 0.0);
          t.latency = std::max(a.latency, b.latency);
          t.time = std::max(a.time, b.time);
          break;
        }
        case Collective::send_recv:
          a = one_level(out, kind, s, 2, Algorithm::ring);
          b.time = 0;
          c.time = 0;
          break;
      }
      if (kind != Collective::all_to_all) {
        t.time = a.time + b.time + c.time;
        t.latency = a.latency + b.latency + c.latency;
      }
      r.algorithm = Algorithm::hierarchical;
    } else if (alg == Algorithm::ring) {
      // A flat ring over all ranks is paced by its slowest hop, the NIC.
      t = one_level(out, kind, s, ranks, Algorithm::ring);
      r.algorithm = Algorithm::ring;
    } else {
      throw InvalidArgument(algorithm_error(net, up, kind, alg) +
                            " across several scale-up domains (use ring or hierarchical)");
    }
    // Automatic: a flat ring over every rank (paced by the NIC) where it beats the hierarchy.
    if (algorithm == Algorithm::automatic) {
      const Timing flat = one_level(out, kind, s, ranks, Algorithm::ring);
      if (flat.time < t.time) {
        t = flat;
        r.algorithm = Algorithm::ring;
      }
    }
  }
  if (algorithm == Algorithm::automatic && ranks > up.ranks && bounded_by_all_reduce(kind)) {
    const CollectiveResult ar = estimate(net, Collective::all_reduce, size, ranks, Algorithm::automatic);
    if (ar.time.value() < t.time) {
      t.time = ar.time.value();
      t.latency = ar.latency.value();
      r.algorithm = ar.algorithm;
      r.as_all_reduce = true;
    }
  }
  r.time = Seconds{t.time};
  r.latency = Seconds{t.latency};
  r.algbw = Bandwidth{s / t.time};
  r.busbw = Bandwidth{s / t.time * bus_factor(kind, ranks)};
  return r;
}

CollectiveResult estimate_spread(const Network& net, Collective kind, Bytes size, int ranks, int per_domain) {
  detail::check_enum(kind, Collective::all_reduce, Collective::send_recv, "kind", "Collective");
  const FabricLevel& up = net.scale_up();
  if (per_domain < 1 || per_domain > up.ranks) {
    throw InvalidArgument("per_domain: must be in [1, " + std::to_string(up.ranks) + "] (the scale-up domain of " +
                          net.system() + "), got " + std::to_string(per_domain));
  }
  if (per_domain >= ranks || (ranks <= up.ranks && per_domain == up.ranks)) return estimate(net, kind, size, ranks);
  const double s = size.value();
  if (!(std::isfinite(s) && s > 0.0)) {
    throw InvalidArgument("size: must be a positive number of bytes, got " + std::to_string(s));
  }
  check_ranks(net, ranks);
  if (!net.scale_out()) {
    throw InvalidArgument("ranks: a group spread over several scale-up domains of " + net.system() +
                          " needs the chip's scale_out bandwidth, which is unknown");
  }
  if (ranks % per_domain != 0) {
    throw InvalidArgument("per_domain: " + std::to_string(per_domain) + " does not divide the " + std::to_string(ranks) +
                          " ranks of the group");
  }
  const int n_out = ranks / per_domain;
  if (n_out > net.scale_out()->ranks) {
    throw InvalidArgument("ranks: " + std::to_string(ranks) + " ranks at " + std::to_string(per_domain) +
                          " per scale-up domain need " + std::to_string(n_out) + " domains; the network of " + net.system() +
                          " has " + std::to_string(net.scale_out()->ranks));
  }
  const FabricLevel& out = net.scale_out_for(n_out);
  Timing t;
  CollectiveResult r;
  r.algorithm = Algorithm::hierarchical;
  if (per_domain == 1) {
    t = best_one_level(out, kind, s, n_out, &r);
  } else {
    // Two levels as in estimate(): in-domain phase over per_domain ranks, cross-domain phase on
    // 1/per_domain of the data (all-reduce: reduce-scatter, all-reduce, all-gather).
    const double part = s / per_domain;
    Timing a, b, c;
    c.time = 0;
    if (kind == Collective::all_reduce) {
      a = best_one_level(up, Collective::reduce_scatter, s, per_domain, nullptr);
      b = best_one_level(out, Collective::all_reduce, part, n_out, nullptr);
      c = a;
    } else if (kind == Collective::send_recv) {
      a = one_level(out, kind, s, 2, Algorithm::ring);
      b.time = 0;
    } else {
      a = best_one_level(up, kind, s, per_domain, nullptr);
      b = best_one_level(out, kind, kind == Collective::broadcast ? s : part, n_out, nullptr);
    }
    t.time = a.time + b.time + c.time;
    t.latency = a.latency + b.latency + c.latency;
  }
  r.time = Seconds{t.time};
  r.latency = Seconds{t.latency};
  r.algbw = Bandwidth{s / t.time};
  r.busbw = Bandwidth{s / t.time * bus_factor(kind, ranks)};
  return r;
}

// --- MoE exchange ----------------------------------------------------------------------------

MoeResult estimate(const Network& net, const MoeExchange& op) {
  detail::check_enum(op.phase, MoeExchange::Phase::dispatch, MoeExchange::Phase::combine, "phase", "MoeExchange::Phase");
  detail::check_enum(op.mode, MoeExchange::Mode::normal, MoeExchange::Mode::low_latency, "mode", "MoeExchange::Mode");
  if (op.tokens <= 0) throw InvalidArgument("tokens: must be positive, got " + std::to_string(op.tokens));
  if (op.hidden <= 0) throw InvalidArgument("hidden: must be positive, got " + std::to_string(op.hidden));
  if (op.topk <= 0 || op.topk > op.experts) {
    throw InvalidArgument("topk: must be in [1, experts=" + std::to_string(op.experts) + "], got " + std::to_string(op.topk));
  }
  check_ranks(net, op.ranks);
  if (op.experts % op.ranks != 0) {
    throw InvalidArgument("experts: " + std::to_string(op.experts) + " routed experts do not divide evenly over " +
                          std::to_string(op.ranks) + " ranks");
  }
  if (!(op.imbalance >= 1.0 && std::isfinite(op.imbalance))) {
    throw InvalidArgument("imbalance: must be >= 1 (busiest rank over the mean), got " + std::to_string(op.imbalance));
  }
  if (!(op.bytes_per_element > 0 && std::isfinite(op.bytes_per_element) && op.scale_bytes_per_token >= 0 &&
        std::isfinite(op.scale_bytes_per_token))) {
    throw InvalidArgument("bytes_per_element: must be a positive, finite number (and scale_bytes_per_token finite >= 0)");
  }
  // Assumption: MoE kernels stream whole token batches without NCCL's chunked pipeline, so the
  // fabric's half_size does not apply; the fixed a2a latency carries the small-batch cost.
  const FabricLevel& up = net.scale_up();
  const double n = op.ranks;
  const double t_tokens = static_cast<double>(op.tokens);
  const double copy = static_cast<double>(op.hidden) * op.bytes_per_element + op.scale_bytes_per_token;
  const double per_rank = op.experts / op.ranks;
  // Distinct ranks a token reaches (normal mode) under uniform routing without replacement.
  const double ranks_hit = n * (1.0 - miss_probability(op.experts, static_cast<int>(per_rank), op.topk));
  const double copies = op.mode == MoeExchange::Mode::normal ? ranks_hit : static_cast<double>(op.topk);
  // Assumption: completion needs a barrier-like exchange of arrival flags among the EP ranks,
  // log2(ranks) rounds (a dissemination barrier); a2a_sync_latency is the cost of one round.
  const double latency = up.a2a_latency + (op.phase == MoeExchange::Phase::dispatch ? up.dispatch_overhead : 0.0) +
                         up.a2a_sync_latency * std::log2(n);
  MoeResult r;
  r.bytes_per_rank = Bytes{t_tokens * copies * copy};
  if (op.ranks <= up.ranks) {
    const double remote = t_tokens * copies * (n - 1.0) / n * copy;
    const double t = latency + remote * op.imbalance / (up.bandwidth * up.efficiency);
    r.time = Seconds{t};
    r.remote_bytes_per_rank = Bytes{remote};
    r.remote_bandwidth = Bandwidth{remote / t};
    r.bottleneck = "scale-up";
  } else {
    if (!net.scale_out()) {
      throw InvalidArgument("ranks: " + std::to_string(op.ranks) + " span several scale-up domains of " + net.system() +
                            " but the chip's scale_out bandwidth is unknown");
    }
    if (op.ranks % up.ranks != 0) {
      throw InvalidArgument("ranks: " + std::to_string(op.ranks) + " must be a multiple of the scale-up domain (" +
                            std::to_string(up.ranks) + ")");
    }
    const double domains = n / up.ranks;
    const FabricLevel& out = net.scale_out_for(static_cast<int>(domains));
    const int per_domain = static_cast<int>(per_rank) * up.ranks;
    const double p_domain = 1.0 - miss_probability(op.experts, per_domain, op.topk);
    double rdma = 0, nvl = 0;
    if (op.mode == MoeExchange::Mode::normal) {
      // One RDMA copy per (token, remote domain), forwarded inside the domain to each rank hit.
      rdma = t_tokens * (domains - 1.0) * p_domain * copy;
      nvl = t_tokens * ranks_hit * (up.ranks - 1.0) / up.ranks * copy;
    } else {
      rdma = t_tokens * op.topk * (n - up.ranks) / n * copy;
      nvl = t_tokens * op.topk * (up.ranks - 1.0) / n * copy;
    }
    const double t_rdma = rdma * op.imbalance / (out.bandwidth * out.efficiency);
    const double t_nvl = nvl * op.imbalance / (up.bandwidth * up.efficiency);
    const double t = std::max(latency, out.a2a_latency) + std::max(t_rdma, t_nvl);
    r.time = Seconds{t};
    r.bottleneck = t_rdma >= t_nvl ? "scale-out" : "scale-up";
    r.remote_bytes_per_rank = Bytes{rdma + nvl};
    r.remote_bandwidth = Bandwidth{(t_rdma >= t_nvl ? rdma : nvl) / t};
    r.node_bandwidth = Bandwidth{t_tokens * domains * p_domain * copy / t};
  }
  r.bandwidth = Bandwidth{r.bytes_per_rank.value() / r.time.value()};
  return r;
}

}  // namespace perfmodel::model
