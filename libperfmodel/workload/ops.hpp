#pragma once
// Operator descriptors: plain shapes and precisions, no hardware. model/operators.hpp turns a
// descriptor plus a model::Device into an estimate. Counts are 64-bit; constructing is free,
// validation happens in estimate() so that bad shapes raise errors that name the parameter.

#include <cstdint>
#include <string_view>

#include <libperfmodel/hw/chip.hpp>

namespace perfmodel::workload {

using hw::Precision;

/// Bytes per element as stored in memory (tf32 is stored as fp32; fp4/int4 pack two per byte).
/// Assumption: fp4 tensors are block-scaled as NVFP4, one 8-bit scale per 16 values (+1/16 B; the
/// format Blackwell's FP4 tensor cores and FP4 checkpoints use; MXFP4's 32-value blocks would add
/// 1/32); int4 is plain packed integers (group scales of W4A16 schemes are not counted).
constexpr double bytes_per_element(Precision p) {
  switch (p) {
    case Precision::fp64: return 8.0;
    case Precision::fp32:
    case Precision::tf32: return 4.0;
    case Precision::bf16:
    case Precision::fp16: return 2.0;
    case Precision::fp8:
    case Precision::int8: return 1.0;
    case Precision::fp4: return 0.5 + 1.0 / 16.0;
    case Precision::int4: return 0.5;
  }
  return 0.0;
}

/// The precision a GEMM writes when the caller does not say: narrow inputs (fp8, int8, fp4,
/// int4) dequantize to bf16, as in W8A8/FP8 serving stacks; wider ones write their own type.
constexpr Precision default_output(Precision input) {
  switch (input) {
    case Precision::fp8:
    case Precision::int8:
    case Precision::fp4:
    case Precision::int4: return Precision::bf16;
    default: return input;
  }
}

/// C[batch][m][n] = A[batch][m][k] · B[batch][k][n]. `batch` independent GEMMs of one shape
/// (batched, or grouped with equal groups) run in one kernel launch.
struct Gemm {
  enum class Kernel {
    library,         ///< a library GEMM streaming A and B from HBM (cuBLAS, CANN, DeepGEMM); batched: strided
    microbenchmark,  ///< a vendor peak-throughput loop whose operands stay on chip (ascend-dmi)
    grouped,         ///< MoE experts as groups in a masked layout (DeepGEMM, CANN GroupedMatmul): rows pad to the row tile
  };
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t batch = 1;
  Precision input = Precision::bf16;
  Precision output = Precision::bf16;
  Kernel kernel = Kernel::library;
  bool accumulate = false;  ///< C += A·B: C is read as well as written (gradient accumulation)

  /// A GEMM whose output precision follows default_output(input).
  static constexpr Gemm of(std::int64_t m, std::int64_t n, std::int64_t k, Precision input = Precision::bf16,
                           std::int64_t batch = 1) {
    return Gemm{m, n, k, batch, input, default_output(input), Kernel::library};
  }
  /// `experts` MoE expert GEMMs of `m` rows each in one grouped launch (one group: a library GEMM).
  static constexpr Gemm grouped_experts(std::int64_t m, std::int64_t n, std::int64_t k, Precision input,
                                        std::int64_t experts) {
    return Gemm{m, n, k, experts, input, default_output(input), experts > 1 ? Kernel::grouped : Kernel::library};
  }
  /// A serving MoE layer's routed experts: its grouped kernel runs however few experts got tokens,
  /// so one busy expert pads its rows as two do (a library GEMM for one was up to 3.3x cheaper:
  /// an H20 step slowed 3.3x when a second expert got a token).
  static constexpr Gemm routed_experts(std::int64_t m, std::int64_t n, std::int64_t k, Precision input,
                                       std::int64_t experts) {
    return Gemm{m, n, k, experts, input, default_output(input), Kernel::grouped};
  }
};

/// Flash-style fused attention: scores and softmax stay on chip; Q, K, V are read from HBM once
/// and O written once. Decode reads the KV cache of every sequence in the batch.
struct Attention {
  enum class Phase { prefill, decode };
  enum class Variant { mha, gqa, mqa, mla };
  Phase phase = Phase::prefill;
  Variant variant = Variant::mha;
  std::int64_t batch = 1;
  std::int64_t q_len = 1;      ///< new tokens per sequence (prompt length, or 1 + draft tokens)
  std::int64_t kv_len = 1;     ///< tokens attended to, including the new ones
  std::int64_t heads = 1;      ///< query heads
  std::int64_t kv_heads = 1;   ///< key/value heads (MHA: heads; MQA and absorbed MLA: 1)
  std::int64_t head_dim_qk = 128;
  std::int64_t head_dim_v = 128;
  bool causal = true;
  bool shared_kv = false;      ///< V is a slice of the cached K (absorbed MLA latent): cache holds K only
  Precision compute = Precision::bf16;   ///< Q/O and the matrix-unit precision
  Precision kv_cache = Precision::bf16;  ///< K/V storage precision

  /// Multi-head or grouped-query attention (kv_heads == heads: MHA; 1: MQA).
  static constexpr Attention gqa(Phase phase, std::int64_t batch, std::int64_t q_len, std::int64_t kv_len,
                                 std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim) {
    Attention a;
    a.phase = phase;
    a.variant = kv_heads == heads ? Variant::mha : kv_heads == 1 ? Variant::mqa : Variant::gqa;
    a.batch = batch;
    a.q_len = q_len;
    a.kv_len = kv_len;
    a.heads = heads;
    a.kv_heads = kv_heads;
    a.head_dim_qk = head_dim;
    a.head_dim_v = head_dim;
    return a;
  }
  /// DeepSeek multi-head latent attention. Decode uses the absorbed form (all heads share one
  /// cached latent of kv_lora_rank + rope_dim per token, V = the first kv_lora_rank of it);
  /// prefill uses the expanded form (per-head K of nope+rope dims, V of v_head_dim).
  static constexpr Attention mla(Phase phase, std::int64_t batch, std::int64_t q_len, std::int64_t kv_len,
                                 std::int64_t heads = 128, std::int64_t kv_lora_rank = 512,
                                 std::int64_t rope_dim = 64, std::int64_t nope_dim = 128,
                                 std::int64_t v_head_dim = 128) {
    Attention a;
    a.phase = phase;
    a.variant = Variant::mla;
    a.batch = batch;
    a.q_len = q_len;
    a.kv_len = kv_len;
    a.heads = heads;
    if (phase == Phase::decode) {
      a.kv_heads = 1;
      a.head_dim_qk = size_sum(kv_lora_rank, rope_dim);
      a.head_dim_v = kv_lora_rank;
      a.shared_kv = true;
    } else {
      a.kv_heads = heads;
      a.head_dim_qk = size_sum(nope_dim, rope_dim);
      a.head_dim_v = v_head_dim;
    }
    return a;
  }

 private:
  /// a + b for sizes, saturated beyond +-2^40 (estimate() refuses those; 2^62 + 2^62 overflowed).
  static constexpr std::int64_t size_sum(std::int64_t a, std::int64_t b) {
    constexpr std::int64_t lim = std::int64_t{1} << 40;
    if (a > lim || b > lim) return lim + 1;
    if (a < -lim || b < -lim) return -1;
    return a + b;
  }
};

/// Memory-streaming operators on the vector units. Per-element reads, writes and vector
/// operations are in model/operators.cpp (elementwise_traits), each with its assumption.
struct Elementwise {
  enum class Kind {
    copy,        ///< y = x (also an embedding gather: rows read, rows written)
    scale,       ///< y = a·x
    add,         ///< y = x1 + x2 (residual)
    triad,       ///< y = x1 + a·x2 (STREAM triad)
    exp,         ///< y = exp(x); sigmoid costs the same
    activation,  ///< y = silu(x) or gelu(x)
    gated,       ///< y = silu(x1) · x2 (SwiGLU)
    softmax,     ///< row softmax, one read and one write per element
    rmsnorm,
    layernorm,
    rope,        ///< rotary position embedding
    cast_transpose,  ///< a 16-bit tensor scaled and rounded to `dtype`, written row- and column-major
  };
  Kind kind = Kind::add;
  std::int64_t elements = 0;  ///< elements of the output tensor
  Precision dtype = Precision::bf16;
};

/// Token-embedding lookup: gathers `tokens` rows of `hidden` values (a copy of those rows).
/// Throws InvalidArgument naming the parameter for non-positive or overflowing sizes.
Elementwise embedding(std::int64_t tokens, std::int64_t hidden, Precision dtype = Precision::bf16);
/// The LM head: logits[tokens][vocab] = h[tokens][hidden] · W[hidden][vocab].
constexpr Gemm lm_head(std::int64_t tokens, std::int64_t hidden, std::int64_t vocab,
                       Precision input = Precision::bf16) {
  return Gemm::of(tokens, vocab, hidden, input);
}

std::string_view to_string(Elementwise::Kind k);
/// Parses "add", "rmsnorm", ...; throws InvalidArgument listing the valid names.
Elementwise::Kind elementwise_kind_from_string(std::string_view s);
std::string_view to_string(Attention::Variant v);

}  // namespace perfmodel::workload
