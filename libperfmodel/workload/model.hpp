#pragma once
// Decoder-only transformer descriptions: a small typed struct, the built-in set in data/models/
// (compiled in), and a reader for local Hugging Face config.json files (no network).
// Parameter counts ignore norms and biases (< 0.1 % for every shipped model).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libperfmodel/hw/chip.hpp>

namespace perfmodel::workload {

/// DeepSeek multi-head latent attention dimensions.
struct Mla {
  std::int64_t q_lora_rank = 0;  ///< 0: queries are projected directly from the hidden state
  std::int64_t kv_lora_rank = 512;
  std::int64_t rope_dim = 64;
  std::int64_t nope_dim = 128;
  std::int64_t v_head_dim = 128;
};

/// Mixture-of-experts feed-forward layers.
struct Moe {
  int routed_experts = 8;
  int shared_experts = 0;
  int top_k = 2;
  int dense_layers = 0;          ///< leading layers with a dense FFN (DeepSeek first_k_dense_replace)
  std::int64_t expert_ffn = 0;   ///< intermediate size of one routed (and shared) expert
};

enum class FfnActivation {
  swiglu,  ///< gate and up projections, silu(gate)·up (Llama, Qwen, DeepSeek, Mixtral)
  gelu,    ///< one up projection, gelu (GPT-3)
};

struct TransformerModel {
  std::string id;
  std::string name;
  std::string family;
  std::string source;       ///< where the architecture figures come from
  std::string source_file;  ///< the JSON file it was read from (empty for models built in code)
  std::vector<std::string> aliases;

  int layers = 0;
  std::int64_t hidden = 0;
  int heads = 0;
  int kv_heads = 0;            ///< GQA/MQA key-value heads (== heads for MHA)
  std::int64_t head_dim = 0;   ///< per-head dimension of Q/K/V (non-MLA)
  std::int64_t ffn = 0;        ///< dense FFN intermediate size
  std::int64_t vocab = 0;
  bool tied_embeddings = false;
  FfnActivation activation = FfnActivation::swiglu;
  std::optional<Mla> mla;
  std::optional<Moe> moe;
  int mtp_layers = 0;          ///< multi-token-prediction modules (DeepSeek-V3: 1)
  /// Longest sequence the released model is configured for (HF max_position_embeddings); serving
  /// estimates refuse longer contexts. 0: not stated, not checked.
  std::int64_t max_context = 0;

  [[nodiscard]] bool is_moe_layer(int layer) const { return moe && layer >= moe->dense_layers; }
  [[nodiscard]] int moe_layers() const { return moe ? layers - moe->dense_layers : 0; }
  [[nodiscard]] int dense_layers() const { return layers - moe_layers(); }

  /// Attention weights of one layer (projections only).
  [[nodiscard]] double attention_parameters() const;
  /// Weights of one dense FFN with intermediate size `inter`.
  [[nodiscard]] double ffn_parameters(std::int64_t inter) const;
  /// Weights of all experts (routed + shared) of one MoE layer, plus its router.
  [[nodiscard]] double moe_layer_parameters() const;
  [[nodiscard]] double embedding_parameters() const { return static_cast<double>(vocab) * static_cast<double>(hidden); }
  /// Total weights without the MTP modules (what model cards quote), embedding and LM head included.
  [[nodiscard]] double parameters() const;
  /// Weights touched per token: attention, dense FFNs, top-k + shared experts, LM head.
  [[nodiscard]] double active_parameters() const;
  /// Weights of one MTP module (a transformer layer with the model's FFN kind plus a 2h→h projection).
  [[nodiscard]] double mtp_parameters() const;
  /// KV-cache elements stored per token per layer (MLA: the latent plus the rope key).
  [[nodiscard]] double kv_elements_per_token() const;

  /// Throws ConfigError naming the field when a dimension is non-positive or inconsistent.
  void validate(const std::string& origin) const;
};

/// Built-in models (data/models/*.json), sorted by id.
std::vector<std::string> model_names();
/// A built-in model by id or alias; NotFound lists close names.
const TransformerModel& get_model(std::string_view id_or_alias);
/// A model from a perfmodel model JSON file (format: data/models/FORMAT.md). Throws NotFound when
/// the file cannot be opened (missing, a directory), ConfigError naming the file and field when its
/// content is wrong. (Catalog::load, which takes a file or a directory of parts, reports both as
/// ConfigError.)
TransformerModel load_model(const std::filesystem::path& file);
/// A model from JSON text in the perfmodel model format; `origin` names it in errors.
TransformerModel model_from_json(std::string_view text, const std::string& origin);
/// A model from a local Hugging Face config.json (Llama, Mistral, Mixtral, Qwen2/3, Qwen2/3-MoE,
/// DeepSeek-V2/V3, GPT-2 families). Unknown architectures raise ConfigError naming them; a file
/// that cannot be opened raises NotFound.
TransformerModel model_from_hf_config(const std::filesystem::path& config_json);
/// Same, from the text of a config.json.
TransformerModel model_from_hf_config_text(std::string_view text, const std::string& origin);

std::string_view to_string(FfnActivation a);

}  // namespace perfmodel::workload
