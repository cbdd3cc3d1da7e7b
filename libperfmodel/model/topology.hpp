#pragma once
// Derived figures of a network's fabric levels: per-rank injection bandwidth, bisection
// bandwidth and hop counts, in closed form for every topology kind the catalog has
// (switched, full mesh, two-tier Clos, torus, rail-optimised fat-tree). measure_graph() builds
// the level as an explicit graph (Boost.Graph) and finds the same figures by search (BFS from
// every rank, max flow across the split), to check the closed forms or a user-given shape.

#include <string>
#include <vector>

#include <libperfmodel/model/collectives.hpp>

namespace perfmodel::model {

struct TopologyMetrics {
  std::string level;     ///< "scale-up" or "scale-out"
  std::string name;      ///< e.g. "NVLink 4 (single-hop-switched)"
  std::string topology;  ///< fabric kind: single-hop-switched, full-mesh, two-tier-clos, torus-2d/3d, fat-tree
  int endpoints = 0;     ///< ranks in one instance of the level (scale-out: domains on one rail's tree)
  int instances = 1;     ///< parallel copies (scale-out: one tree per rail, i.e. per rank of a domain)
  double injection_bandwidth = 0;  ///< per rank, per direction [B/s]
  double bisection_bandwidth = 0;  ///< per direction from the first half of the ranks (in switch/ring order) to the rest, all instances [B/s]
  int diameter = 0;                ///< links on the longest shortest path between two ranks
  double mean_hops = 0;            ///< mean links between two distinct ranks
  int switch_tiers = 0;            ///< 0 for direct networks (mesh, torus)
  double oversubscription = 1.0;
  std::vector<int> shape;          ///< torus dimensions
};

/// Closed-form metrics of a level (one instance has `lv.ranks` endpoints).
TopologyMetrics describe(const FabricLevel& lv, bool scale_out = false, int instances = 1);
/// Both levels of a network (the scale-out one when present).
std::vector<TopologyMetrics> describe(const Network& net);

struct GraphMeasures {
  int vertices = 0;  ///< ranks plus (logical, collapsed) switches
  int edges = 0;     ///< links; a switch group is one vertex whose links carry the group's bandwidth
  bool connected = false;
  int diameter = 0;
  double mean_hops = 0;
  double bisection_bandwidth = 0;  ///< max flow from the first half of the ranks to the second, one instance
};

/// Builds one instance of the level as a graph and measures it. Throws InvalidArgument for
/// more than `max_ranks` endpoints (the search is quadratic in them).
GraphMeasures measure_graph(const FabricLevel& lv, bool scale_out = false, int max_ranks = 4096);

}  // namespace perfmodel::model
