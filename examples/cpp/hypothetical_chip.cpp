// Defines a hypothetical chip in code - an H20 with twice the HBM bandwidth - and compares it
// with the catalog H20 on a compute-bound GEMM and a memory-bound decode attention.
#include <cstdio>

#include <libperfmodel/perfmodel.hpp>

int main() {
  using namespace perfmodel;
  const catalog::Catalog& cat = catalog::Catalog::builtin();
  const hw::Chip& h20 = cat.chip("h20");

  hw::Chip faster = h20;  // a plain value: copy it and change what the what-if is about
  faster.id = "h20-2x-hbm";
  faster.name = "H20 with 2x HBM bandwidth (hypothetical)";
  const Bandwidth bw = h20.main_memory.bandwidth.require(h20.id) * 2.0;
  faster.main_memory.bandwidth =
      hw::Figure<Bandwidth>::known_value(bw, {"what-if", hw::Confidence::derived, "h20 HBM bandwidth x 2", ""});

  const model::Device base(h20, cat.efficiency(h20.family));
  const model::Device what_if(faster, cat.efficiency(faster.family));
  const auto gemm = workload::Gemm::of(8192, 8192, 8192);
  workload::Attention decode;  // one decode step of Llama-3-70B-like GQA attention, batch 64, KV 8K
  decode.phase = workload::Attention::Phase::decode;
  decode.variant = workload::Attention::Variant::gqa;
  decode.batch = 64;
  decode.q_len = 1;
  decode.kv_len = 8192;
  decode.heads = 64;
  decode.kv_heads = 8;

  std::printf("%-34s %12s %12s %8s\n", "", h20.id.c_str(), faster.id.c_str(), "ratio");
  const double g0 = model::estimate(base, gemm).time.value(), g1 = model::estimate(what_if, gemm).time.value();
  const double a0 = model::estimate(base, decode).time.value(), a1 = model::estimate(what_if, decode).time.value();
  std::printf("%-34s %12.1f %12.1f %8.2f\n", "GEMM 8192^3 (compute bound) [us]", g0 * 1e6, g1 * 1e6, g0 / g1);
  std::printf("%-34s %12.1f %12.1f %8.2f\n", "decode attention (memory bound) [us]", a0 * 1e6, a1 * 1e6, a0 / a1);
  // Physics: the GEMM does not move; the bandwidth-bound attention gets (nearly) 2x faster.
  return g0 / g1 < 1.05 && a0 / a1 > 1.8 ? 0 : 1;
}
