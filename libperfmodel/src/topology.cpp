// Topology metrics: closed forms, and the same figures found by search on an explicit graph.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <boost/graph/visitors.hpp>

#include <libperfmodel/error.hpp>
#include <libperfmodel/model/topology.hpp>

namespace perfmodel::model {

namespace {

/// Nested switch groups, smallest first; the last is the whole level. Two ranks whose smallest
/// shared group is tier i (1-based) are 2i links apart (up i switches, down i).
std::vector<long> switch_groups(const FabricLevel& lv, bool scale_out) {
  const long n = lv.ranks;
  if (scale_out) {
    std::vector<long> g;
    long size = lv.switch_radix;
    for (int t = 1; t < lv.tiers; ++t) {
      // Capped at the level's ranks before growing, so deep trees of wide switches cannot overflow.
      size = t == 1 ? lv.switch_radix / 2 : std::min(size, n) * (lv.switch_radix / 2);
      g.push_back(std::min(size, n));
    }
    g.push_back(n);
    return g;
  }
  if (lv.topology == hw::Topology::two_tier_clos) return {std::max(1, lv.group_ranks), n};
  return {n};
}

/// Ordered pairs of distinct ranks sharing a group when n ranks fill groups of `size` in order.
double pairs_within(long n, long size) {
  const long full = n / size, rest = n % size;
  return static_cast<double>(full) * size * (size - 1) + static_cast<double>(rest) * (rest - 1);
}

int per_dim_links(const FabricLevel& lv) { return 2 * static_cast<int>(lv.torus_dims.size()); }

/// Min cut between the first `h` ranks and the rest of a switch hierarchy (ranks fill groups in
/// order; a group's uplink carries its members' bandwidth, / oversubscription above a scale-out
/// leaf). Per group, the cheapest cut below it with its switch on the first side (a) or the
/// second (b); a leaf split by the cut keeps its local pairs at full bandwidth, so a split that
/// is not leaf-aligned exceeds h x bandwidth / oversubscription.
double tree_cut(const FabricLevel& lv, const std::vector<long>& groups, bool scale_out, long h) {
  const long n = lv.ranks;
  const double b = lv.bandwidth;
  struct Cost {
    double a = 0, b = 0;
    long first = 0, members = 0;
  };
  std::vector<Cost> level;
  for (long lo = 0; lo < n; lo += groups[0]) {  // leaf switches: cut the links to ranks on the other side
    const long members = std::min(groups[0], n - lo), in_a = std::clamp(h - lo, 0L, members);
    level.push_back({static_cast<double>(members - in_a) * b, static_cast<double>(in_a) * b, lo, members});
  }
  for (std::size_t t = 1; t < groups.size(); ++t) {
    const double taper = scale_out ? lv.oversubscription : 1.0;
    std::vector<Cost> up(static_cast<std::size_t>((n + groups[t] - 1) / groups[t]));
    for (std::size_t g = 0; g < up.size(); ++g) up[g].first = static_cast<long>(g) * groups[t];
    for (const Cost& c : level) {
      Cost& p = up[static_cast<std::size_t>(c.first / groups[t])];
      const double link = static_cast<double>(c.members) * b / taper;
      p.a += std::min(c.a, c.b + link);
      p.b += std::min(c.b, c.a + link);
      p.members += c.members;
    }
    level = std::move(up);
  }
  return std::min(level.front().a, level.front().b);
}

// --- explicit graph --------------------------------------------------------------------------

struct Link {
  int a, b;
  double capacity;  ///< per direction [B/s]
};

struct EdgeList {
  int vertices = 0;
  std::vector<Link> links;
};

EdgeList build(const FabricLevel& lv, bool scale_out) {
  EdgeList el;
  const int n = lv.ranks;
  const double b = lv.bandwidth;
  el.vertices = n;
  if (lv.torus() && !scale_out) {
    std::vector<int> dims = lv.torus_dims;
    std::sort(dims.rbegin(), dims.rend());  // largest first: the first half of the ranks is a slab
    const double c = b / per_dim_links(lv);
    std::vector<int> stride(dims.size(), 1);
    for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) stride[i] = stride[i + 1] * dims[i + 1];
    for (int v = 0; v < n; ++v) {
      for (std::size_t d = 0; d < dims.size(); ++d) {
        const int k = dims[d], x = (v / stride[d]) % k;
        const int next = v + ((x + 1) % k - x) * stride[d];
        if (k >= 3) el.links.push_back({v, next, c});
        if (k == 2 && x == 0) {  // both ring links join the same pair
          el.links.push_back({v, next, c});
          el.links.push_back({v, next, c});
        }
      }
    }
    return el;
  }
  if (lv.topology == hw::Topology::full_mesh && !scale_out) {
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) el.links.push_back({i, j, b / lv.links});
    }
    return el;
  }
  // Switched hierarchies: one logical switch per group and tier, each carrying its members' bandwidth
  // (tapered by the oversubscription above the leaf tier of a scale-out fabric).
  const std::vector<long> groups = switch_groups(lv, scale_out);
  std::vector<int> below(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) below[static_cast<std::size_t>(i)] = i;
  long prev = 1;
  for (std::size_t t = 0; t < groups.size(); ++t) {
    const long size = groups[t];
    const int first = el.vertices;
    const int count = static_cast<int>((n + size - 1) / size);
    el.vertices += count;
    const double taper = (scale_out && t >= 1) ? lv.oversubscription : 1.0;
    std::vector<int> next;
    for (std::size_t u = 0; u < below.size(); ++u) {
      const long lo = static_cast<long>(u) * prev, members = std::min<long>(prev, n - lo);
      const int sw = first + static_cast<int>(lo / size);
      el.links.push_back({below[u], sw, static_cast<double>(members) * b / taper});
    }
    for (int s = 0; s < count; ++s) next.push_back(first + s);
    below = std::move(next);
    prev = size;
  }
  return el;
}

/// A level built by hand must describe a real fabric: the closed forms divide by its links and
/// ring sizes, and the graph indexes ranks by its torus shape (a shape that does not multiply to
/// the ranks wrote past the graph's vertices).
void check_level(const FabricLevel& lv, bool scale_out) {
  const std::string where = "FabricLevel '" + lv.name + "': ";
  if (lv.ranks < 1) throw InvalidArgument(where + "ranks: must be >= 1, got " + std::to_string(lv.ranks));
  if (!(lv.bandwidth > 0 && lv.bandwidth <= 1e18)) {  // 1 EB/s per rank bounds a typo (and the cut's integer weights)
    throw InvalidArgument(where + "bandwidth: must be a positive number of B/s up to 1e18, got " + std::to_string(lv.bandwidth));
  }
  if (lv.topology && static_cast<unsigned>(*lv.topology) > static_cast<unsigned>(hw::Topology::torus_3d)) {
    throw InvalidArgument(where + "topology: not a hw::Topology value (" + std::to_string(static_cast<int>(*lv.topology)) + ")");
  }
  if (scale_out) {
    if (lv.switch_radix < 4) throw InvalidArgument(where + "switch_radix: must be >= 4, got " + std::to_string(lv.switch_radix));
    if (lv.tiers < 1 || lv.tiers > 64) {  // 4-port switches over 2^22 domains take 22
      throw InvalidArgument(where + "tiers: must be in [1, 64], got " + std::to_string(lv.tiers));
    }
    if (!(lv.oversubscription >= 1.0 && std::isfinite(lv.oversubscription))) {
      throw InvalidArgument(where + "oversubscription: must be >= 1, got " + std::to_string(lv.oversubscription));
    }
    return;
  }
  if (lv.topology == hw::Topology::full_mesh && lv.ranks > 1 && lv.links < 1) {  // each peer gets 1/links
    throw InvalidArgument(where + "links: a full mesh of " + std::to_string(lv.ranks) + " ranks needs >= 1, got " +
                          std::to_string(lv.links));
  }
  if (lv.topology == hw::Topology::two_tier_clos && (lv.group_ranks < 1 || lv.group_ranks > lv.ranks)) {
    throw InvalidArgument(where + "group_ranks: must be in [1, ranks=" + std::to_string(lv.ranks) + "], got " +
                          std::to_string(lv.group_ranks));
  }
  if (lv.torus()) {
    const std::size_t dims = lv.topology == hw::Topology::torus_2d ? 2 : 3;
    long long product = 1;
    for (int k : lv.torus_dims) {
      if (k < 1) throw InvalidArgument(where + "torus_dims: every dimension must be >= 1, got " + std::to_string(k));
      if (k > lv.ranks) {  // also keeps the product below overflow
        throw InvalidArgument(where + "torus_dims: a dimension of " + std::to_string(k) + " exceeds the " +
                              std::to_string(lv.ranks) + " ranks");
      }
      product = std::min<long long>(product * k, static_cast<long long>(lv.ranks) + 1);
    }
    if (lv.torus_dims.size() != dims || product != lv.ranks) {
      throw InvalidArgument(where + "torus_dims: a " + std::to_string(dims) + "D torus of " + std::to_string(lv.ranks) +
                            " ranks needs " + std::to_string(dims) + " dimensions multiplying to the ranks; got " +
                            std::to_string(lv.torus_dims.size()) + " multiplying to " +
                            (product > lv.ranks ? "more than that" : std::to_string(product)));
    }
  }
}

}  // namespace

TopologyMetrics describe(const FabricLevel& lv, bool scale_out, int instances) {
  check_level(lv, scale_out);
  if (instances < 1) throw InvalidArgument("instances: must be >= 1, got " + std::to_string(instances));
  TopologyMetrics m;
  m.level = scale_out ? "scale-out" : "scale-up";
  m.name = lv.name;
  m.topology = scale_out ? "fat-tree" : (lv.topology ? std::string(hw::to_string(*lv.topology)) : "unknown");
  m.endpoints = lv.ranks;
  m.instances = instances;
  m.injection_bandwidth = lv.bandwidth;
  const long n = lv.ranks;
  const double half = static_cast<double>(n / 2), other = static_cast<double>(n - n / 2);
  if (n < 2) {
    m.diameter = 0;
    m.mean_hops = 0;
  } else if (lv.torus() && !scale_out) {
    m.shape = lv.torus_dims;
    const int kmax = *std::max_element(lv.torus_dims.begin(), lv.torus_dims.end());
    for (int k : lv.torus_dims) m.diameter += k / 2;
    m.mean_hops = lv.torus_mean_hops();
    // An even cut across the longest ring crosses two links of each of its n / kmax rings.
    m.bisection_bandwidth = kmax >= 2 ? 2.0 * (static_cast<double>(n) / kmax) * lv.bandwidth / per_dim_links(lv) : 0.0;
  } else if (lv.topology == hw::Topology::full_mesh && !scale_out) {
    m.diameter = 1;
    m.mean_hops = 1;
    m.bisection_bandwidth = half * other * lv.bandwidth / lv.links;
  } else {
    const std::vector<long> groups = switch_groups(lv, scale_out);
    m.switch_tiers = static_cast<int>(groups.size());
    double prev_pairs = 0, hops = 0;
    for (std::size_t t = 0; t < groups.size(); ++t) {
      const double p = pairs_within(n, groups[t]);
      if (p > prev_pairs) m.diameter = 2 * static_cast<int>(t + 1);
      hops += 2.0 * static_cast<double>(t + 1) * (p - prev_pairs);
      prev_pairs = p;
    }
    m.mean_hops = hops / (static_cast<double>(n) * (n - 1.0));
    m.oversubscription = scale_out && groups.size() > 1 ? lv.oversubscription : 1.0;
    m.bisection_bandwidth = tree_cut(lv, groups, scale_out, n / 2);
  }
  m.bisection_bandwidth *= instances;
  return m;
}

std::vector<TopologyMetrics> describe(const Network& net) {
  // Several domains and no scale-out level (its NIC bandwidth unknown): the scale-up level alone
  // would read as if the domains were not joined at all.
  if (!net.scale_out() && net.ranks() > net.scale_up().ranks) {
    throw InvalidArgument("topology: " + std::to_string(net.ranks()) + " ranks span several scale-up domains of " +
                          net.system() + " but its chip's scale_out.bandwidth_per_direction is unknown, so the "
                          "scale-out level cannot be described; add it in a what-if part");
  }
  std::vector<TopologyMetrics> out{describe(net.scale_up())};
  if (net.scale_out()) out.push_back(describe(*net.scale_out(), true, net.scale_up().ranks));
  return out;
}

GraphMeasures measure_graph(const FabricLevel& lv, bool scale_out, int max_ranks) {
  check_level(lv, scale_out);
  if (lv.ranks > max_ranks) {
    throw InvalidArgument("ranks: the graph search is limited to " + std::to_string(max_ranks) + " ranks, " + lv.name +
                          " has " + std::to_string(lv.ranks) +
                          "; the closed-form figures cover any size: leave the graph check off (Python check=False, "
                          "CLI without --check; C++ describe())");
  }
  const EdgeList el = build(lv, scale_out);
  const int n = lv.ranks;
  GraphMeasures gm;
  gm.vertices = el.vertices;
  gm.edges = static_cast<int>(el.links.size());

  // Hop counts: breadth-first search from every rank.
  using Undirected = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  Undirected ug(static_cast<std::size_t>(el.vertices));
  for (const Link& l : el.links) boost::add_edge(static_cast<std::size_t>(l.a), static_cast<std::size_t>(l.b), ug);
  std::vector<int> dist(static_cast<std::size_t>(el.vertices));
  double total = 0;
  gm.connected = true;
  for (int s = 0; s < n; ++s) {
    std::fill(dist.begin(), dist.end(), -1);
    dist[static_cast<std::size_t>(s)] = 0;
    boost::breadth_first_search(
        ug, static_cast<std::size_t>(s),
        boost::visitor(boost::make_bfs_visitor(boost::record_distances(dist.data(), boost::on_tree_edge()))));
    for (int t = 0; t < n; ++t) {
      if (t == s) continue;
      const int d = dist[static_cast<std::size_t>(t)];
      if (d < 0) {
        gm.connected = false;
        continue;
      }
      gm.diameter = std::max(gm.diameter, d);
      total += d;
    }
  }
  gm.mean_hops = n > 1 ? total / (static_cast<double>(n) * (n - 1.0)) : 0.0;

  // Bisection: max flow from the first half of the ranks to the second. Capacities are whole
  // multiples of 1e-10 of the level's bandwidth (int64): push-relabel checks exact flow
  // conservation, which doubles break, and whole bytes per second overflowed near 1e19 B/s.
  const double unit = lv.bandwidth * 1e-10;
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using FlowGraph = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS, boost::no_property,
      boost::property<boost::edge_capacity_t, std::int64_t,
                      boost::property<boost::edge_residual_capacity_t, std::int64_t,
                                      boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;
  FlowGraph fg(static_cast<std::size_t>(el.vertices + 2));
  auto cap = boost::get(boost::edge_capacity, fg);
  auto rev = boost::get(boost::edge_reverse, fg);
  auto arc = [&](int u, int v, std::int64_t c) {
    auto e1 = boost::add_edge(static_cast<std::size_t>(u), static_cast<std::size_t>(v), fg).first;
    auto e2 = boost::add_edge(static_cast<std::size_t>(v), static_cast<std::size_t>(u), fg).first;
    cap[e1] = c;
    cap[e2] = 0;
    rev[e1] = e2;
    rev[e2] = e1;
  };
  std::int64_t capacity_sum = 1;  // more than any cut: the source and sink arcs never limit the flow
  for (const Link& l : el.links) {
    const auto c = static_cast<std::int64_t>(std::llround(l.capacity / unit));
    arc(l.a, l.b, c);
    arc(l.b, l.a, c);
    capacity_sum += 2 * c;
  }
  const int src = el.vertices, sink = el.vertices + 1;
  const std::int64_t inf = capacity_sum;
  for (int i = 0; i < n; ++i) {
    if (i < n / 2) arc(src, i, inf);
    else arc(i, sink, inf);
  }
  gm.bisection_bandwidth =
      n >= 2 ? unit * static_cast<double>(boost::push_relabel_max_flow(fg, static_cast<std::size_t>(src),
                                                                        static_cast<std::size_t>(sink)))
             : 0.0;
  return gm;
}

}  // namespace perfmodel::model
