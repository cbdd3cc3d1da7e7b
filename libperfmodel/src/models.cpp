// Model definitions: parameter counts, the perfmodel model JSON format, the built-in set and a
// reader for Hugging Face config.json. Every rejection names the file, the field and what was
// expected.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include <libperfmodel/detail/builtin_catalog.hpp>
#include <libperfmodel/error.hpp>
#include <libperfmodel/workload/model.hpp>

#include "json_text.hpp"

namespace bj = boost::json;

namespace perfmodel::workload {

// --- parameter counts -----------------------------------------------------------------------

double TransformerModel::attention_parameters() const {
  const double h = static_cast<double>(hidden);
  if (mla) {
    const double qk = static_cast<double>(mla->nope_dim + mla->rope_dim);
    const double q = mla->q_lora_rank > 0
                         ? h * static_cast<double>(mla->q_lora_rank) + static_cast<double>(mla->q_lora_rank) * heads * qk
                         : h * heads * qk;
    const double kv_a = h * static_cast<double>(mla->kv_lora_rank + mla->rope_dim);
    const double kv_b = static_cast<double>(mla->kv_lora_rank) * heads * static_cast<double>(mla->nope_dim + mla->v_head_dim);
    const double o = static_cast<double>(heads) * static_cast<double>(mla->v_head_dim) * h;
    return q + kv_a + kv_b + o;
  }
  const double d = static_cast<double>(head_dim);
  return h * d * (2.0 * heads + 2.0 * kv_heads);  // q, k, v, o
}

double TransformerModel::ffn_parameters(std::int64_t inter) const {
  const double mats = activation == FfnActivation::swiglu ? 3.0 : 2.0;
  return mats * static_cast<double>(hidden) * static_cast<double>(inter);
}

double TransformerModel::moe_layer_parameters() const {
  if (!moe) return 0.0;
  const double experts = moe->routed_experts + moe->shared_experts;
  return experts * ffn_parameters(moe->expert_ffn) + static_cast<double>(hidden) * moe->routed_experts;
}

double TransformerModel::parameters() const {
  const double layers_part = layers * attention_parameters() + dense_layers() * ffn_parameters(ffn) +
                             moe_layers() * moe_layer_parameters();
  return layers_part + embedding_parameters() * (tied_embeddings ? 1.0 : 2.0);
}

double TransformerModel::active_parameters() const {
  double per_layer_moe = 0;
  if (moe) per_layer_moe = (moe->top_k + moe->shared_experts) * ffn_parameters(moe->expert_ffn);
  return layers * attention_parameters() + dense_layers() * ffn_parameters(ffn) + moe_layers() * per_layer_moe +
         embedding_parameters();  // the LM head; the embedding is a lookup
}

double TransformerModel::mtp_parameters() const {
  if (mtp_layers == 0) return 0.0;
  const double ffn_part = moe ? moe_layer_parameters() : ffn_parameters(ffn);
  const double h = static_cast<double>(hidden);
  return mtp_layers * (attention_parameters() + ffn_part + 2.0 * h * h);
}

double TransformerModel::kv_elements_per_token() const {
  if (mla) return static_cast<double>(mla->kv_lora_rank + mla->rope_dim);
  return 2.0 * kv_heads * static_cast<double>(head_dim);
}

void TransformerModel::validate(const std::string& origin) const {
  // The message is built only on failure: validation runs on every estimate.
  auto need = [&](bool ok, const char* field, auto&& what) {
    if (!ok) throw ConfigError(origin + ": " + field + ": " + std::string(what()));
  };
  // Upper bounds far past any published model (DeepSeek-V3: hidden 7,168, 256 experts, vocab
  // 129,280): sizes whose products must stay in 64-bit counts (hidden 2^40 overflowed a GEMM).
  auto upto = [&](std::int64_t v, std::int64_t hi, const char* field) {
    need(v <= hi, field, [&] { return "expected at most " + std::to_string(hi) + ", got " + std::to_string(v); });
  };
  need(!id.empty(), "id", [] { return "expected a non-empty model id"; });
  need(activation == FfnActivation::swiglu || activation == FfnActivation::gelu, "activation",
       [&] { return "not an FfnActivation value (" + std::to_string(static_cast<int>(activation)) + ")"; });
  need(layers > 0, "layers", [&] { return "expected a positive integer, got " + std::to_string(layers); });
  need(hidden > 0, "hidden", [&] { return "expected a positive integer, got " + std::to_string(hidden); });
  need(heads > 0, "heads", [&] { return "expected a positive integer, got " + std::to_string(heads); });
  upto(layers, 4096, "layers");
  upto(hidden, std::int64_t{1} << 20, "hidden");
  upto(heads, 65536, "heads");
  upto(head_dim, 65536, "head_dim");
  upto(ffn, std::int64_t{1} << 24, "ffn");
  upto(vocab, std::int64_t{1} << 24, "vocab");
  upto(mtp_layers, 64, "mtp_layers");
  upto(max_context, std::int64_t{1} << 30, "max_context");
  need(kv_heads > 0 && kv_heads <= heads && heads % kv_heads == 0, "kv_heads", [&] {
    return "expected a positive divisor of heads=" + std::to_string(heads) + ", got " + std::to_string(kv_heads);
  });
  need(head_dim > 0, "head_dim", [&] { return "expected a positive integer, got " + std::to_string(head_dim); });
  // A MoE model without dense layers may leave ffn at 0 (unused); negative is never valid.
  need(ffn > 0 || (ffn == 0 && moe && moe->dense_layers == 0), "ffn", [&] {
    return ffn == 0 ? std::string("missing (or 0); the dense FFN layers need their intermediate size, a positive integer")
                    : "expected a positive integer, got " + std::to_string(ffn);
  });
  need(vocab > 0, "vocab", [&] { return "expected a positive integer, got " + std::to_string(vocab); });
  need(mtp_layers >= 0, "mtp_layers", [&] {
    return "expected a non-negative integer, got " + std::to_string(mtp_layers);
  });
  need(max_context >= 0, "max_context", [&] {
    return "expected a non-negative integer (0: not stated), got " + std::to_string(max_context);
  });
  if (mla) {
    need(mla->q_lora_rank >= 0, "mla.q_lora_rank", [&] {
      return "expected >= 0 (0: no query compression), got " + std::to_string(mla->q_lora_rank);
    });
    need(mla->kv_lora_rank > 0, "mla.kv_lora_rank", [&] { return "expected a positive integer, got " + std::to_string(mla->kv_lora_rank); });
    need(mla->rope_dim > 0, "mla.rope_dim", [&] { return "expected a positive integer, got " + std::to_string(mla->rope_dim); });
    need(mla->nope_dim > 0, "mla.nope_dim", [&] { return "expected a positive integer, got " + std::to_string(mla->nope_dim); });
    need(mla->v_head_dim > 0, "mla.v_head_dim", [&] { return "expected a positive integer, got " + std::to_string(mla->v_head_dim); });
    upto(mla->q_lora_rank, std::int64_t{1} << 20, "mla.q_lora_rank");
    upto(mla->kv_lora_rank, std::int64_t{1} << 20, "mla.kv_lora_rank");
    upto(mla->rope_dim, 65536, "mla.rope_dim");
    upto(mla->nope_dim, 65536, "mla.nope_dim");
    upto(mla->v_head_dim, 65536, "mla.v_head_dim");
  }
  if (moe) {
    need(moe->routed_experts > 0, "moe.routed_experts", [&] {
      return "expected a positive integer, got " + std::to_string(moe->routed_experts);
    });
    need(moe->top_k > 0 && moe->top_k <= moe->routed_experts, "moe.top_k", [&] {
      return "expected 1..routed_experts=" + std::to_string(moe->routed_experts) + ", got " + std::to_string(moe->top_k);
    });
    need(moe->shared_experts >= 0, "moe.shared_experts", [&] {
      return "expected a non-negative integer, got " + std::to_string(moe->shared_experts);
    });
    need(moe->dense_layers >= 0 && moe->dense_layers < layers, "moe.dense_layers", [&] {
      return "expected 0..layers-1=" + std::to_string(layers - 1) + ", got " + std::to_string(moe->dense_layers);
    });
    need(moe->expert_ffn > 0, "moe.expert_ffn", [&] {
      return "expected a positive integer, got " + std::to_string(moe->expert_ffn);
    });
    upto(moe->routed_experts, 65536, "moe.routed_experts");
    upto(moe->shared_experts, 256, "moe.shared_experts");
    upto(moe->expert_ffn, std::int64_t{1} << 24, "moe.expert_ffn");
  }
}

std::string_view to_string(FfnActivation a) { return a == FfnActivation::swiglu ? "swiglu" : "gelu"; }

namespace {

// --- strict JSON reading ----------------------------------------------------------------------

using perfmodel::detail::show_json;

class Obj {
 public:
  /// `null_is_absent`: Hugging Face configs write null for "not set"; perfmodel's own files
  /// refuse it (a null "moe" would otherwise read as a dense model without a word).
  Obj(const bj::value& v, std::string path, const std::string& origin, bool null_is_absent = false)
      : path_(std::move(path)), origin_(origin), null_is_absent_(null_is_absent) {
    if (!v.is_object()) fail(path_.empty() ? "top level" : path_, "expected a JSON object, got " + show_json(v));
    o_ = &v.as_object();
  }
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw ConfigError(origin_ + ": " + field + ": " + what);
  }
  std::string at(std::string_view k) const { return path_.empty() ? std::string(k) : path_ + "." + std::string(k); }
  const bj::value* find(std::string_view k) {
    used_.emplace_back(k);
    auto it = o_->find(k);
    if (it == o_->end()) return nullptr;
    if (it->value().is_null()) {
      if (null_is_absent_) return nullptr;
      fail(at(k), "null is not a value; leave the field out for its default");
    }
    return &it->value();
  }
  std::int64_t integer(std::string_view k, std::optional<std::int64_t> dflt = std::nullopt) {
    const bj::value* v = find(k);
    if (v == nullptr) {
      if (dflt) return *dflt;
      fail(at(k), "missing; expected an integer");
    }
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) fail(at(k), "out of range: " + show_json(*v) + "; expected an integer below 2^63");
    if (v->is_double()) {
      const double d = v->as_double();  // cast only what an int64 holds (beyond is undefined)
      if (std::abs(d) < 9.2e18 && d == std::trunc(d)) return static_cast<std::int64_t>(d);
    }
    fail(at(k), "expected an integer, got " + show_json(*v));
  }
  bool boolean(std::string_view k, bool dflt) {
    const bj::value* v = find(k);
    if (v == nullptr) return dflt;
    if (!v->is_bool()) fail(at(k), "expected true or false, got " + show_json(*v));
    return v->as_bool();
  }
  std::string text(std::string_view k, std::optional<std::string> dflt = std::nullopt) {
    const bj::value* v = find(k);
    if (v == nullptr) {
      if (dflt) return *dflt;
      fail(at(k), "missing; expected a string");
    }
    if (!v->is_string()) fail(at(k), "expected a string, got " + show_json(*v));
    // A NUL would end every message that quotes the text (C strings), hiding what follows it.
    if (v->as_string().find('\0') != bj::string::npos) {
      fail(at(k), "expected text without NUL characters, got " + show_json(*v));
    }
    return std::string(v->as_string());
  }
  bool has(std::string_view k) const {
    auto it = o_->find(k);
    return it != o_->end() && !(null_is_absent_ && it->value().is_null());
  }
  /// Rejects keys that were never asked for (typos in perfmodel files).
  void no_unknown_keys() const {
    for (const auto& kv : *o_) {
      if (std::find(used_.begin(), used_.end(), std::string_view(kv.key())) == used_.end()) {
        std::string known;
        for (const auto& u : used_) known += (known.empty() ? "" : ", ") + u;
        fail(at(kv.key()), "unknown field; expected one of " + known);
      }
    }
  }
  const bj::object& raw() const { return *o_; }

 private:
  std::string path_;
  const std::string& origin_;
  bool null_is_absent_ = false;
  const bj::object* o_ = nullptr;
  std::vector<std::string> used_;
};

int to_int(std::int64_t v, const Obj& o, std::string_view k) {
  if (v < -2147483647 || v > 2147483647) {
    o.fail(o.at(k), "out of range: got " + std::to_string(v) + "; expected at most 2147483647 in magnitude");
  }
  return static_cast<int>(v);
}

TransformerModel parse_model(const bj::value& root, const std::string& origin) {
  Obj o(root, "", origin);
  TransformerModel m;
  m.id = o.text("id");
  m.name = o.text("name", m.id);
  m.family = o.text("family", "");
  m.source = o.text("source");
  if (const bj::value* a = o.find("aliases")) {
    if (!a->is_array()) o.fail("aliases", "expected an array of strings");
    for (const auto& s : a->as_array()) {
      if (!s.is_string()) o.fail("aliases", "expected an array of strings, got " + show_json(s));
      m.aliases.emplace_back(s.as_string());
    }
  }
  m.layers = to_int(o.integer("layers"), o, "layers");
  m.hidden = o.integer("hidden");
  m.heads = to_int(o.integer("heads"), o, "heads");
  m.kv_heads = to_int(o.integer("kv_heads", m.heads), o, "kv_heads");
  m.head_dim = o.integer("head_dim", m.heads > 0 ? m.hidden / m.heads : 0);
  m.ffn = o.integer("ffn", 0);
  m.vocab = o.integer("vocab");
  m.tied_embeddings = o.boolean("tied_embeddings", false);
  const std::string act = o.text("activation", "swiglu");
  if (act == "swiglu") m.activation = FfnActivation::swiglu;
  else if (act == "gelu") m.activation = FfnActivation::gelu;
  else o.fail("activation", "expected 'swiglu' or 'gelu', got '" + act + "'");
  if (const bj::value* v = o.find("mla")) {
    Obj s(*v, "mla", origin);
    Mla x;
    x.q_lora_rank = s.integer("q_lora_rank", 0);
    x.kv_lora_rank = s.integer("kv_lora_rank");
    x.rope_dim = s.integer("rope_dim");
    x.nope_dim = s.integer("nope_dim");
    x.v_head_dim = s.integer("v_head_dim");
    s.no_unknown_keys();
    m.mla = x;
  }
  if (const bj::value* v = o.find("moe")) {
    Obj s(*v, "moe", origin);
    Moe x;
    x.routed_experts = to_int(s.integer("routed_experts"), s, "routed_experts");
    x.shared_experts = to_int(s.integer("shared_experts", 0), s, "shared_experts");
    x.top_k = to_int(s.integer("top_k"), s, "top_k");
    x.dense_layers = to_int(s.integer("dense_layers", 0), s, "dense_layers");
    x.expert_ffn = s.integer("expert_ffn");
    s.no_unknown_keys();
    m.moe = x;
  }
  m.mtp_layers = to_int(o.integer("mtp_layers", 0), o, "mtp_layers");
  m.max_context = o.integer("max_context", 0);
  o.no_unknown_keys();
  m.validate(origin);
  return m;
}

std::string read_text(const std::filesystem::path& p) {
  std::error_code ec;
  const auto st = std::filesystem::status(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) throw NotFound(p.string() + ": " + ec.message());
  if (std::filesystem::is_directory(st)) throw NotFound(p.string() + ": is a directory, expected a JSON file");
  // A pipe or device would block the read or never end (a FIFO hung the reader).
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st)) {
    throw NotFound(p.string() + ": not a regular file (a pipe, socket or device); expected a JSON file");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) throw NotFound(p.string() + ": cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Builtin {
  std::vector<TransformerModel> models;
  std::map<std::string, std::size_t, std::less<>> by_name;
};

const Builtin& builtin() {
  static const Builtin b = [] {
    Builtin out;
    for (std::size_t i = 0; i < perfmodel::detail::kBuiltinModelFilesCount; ++i) {
      const auto& f = perfmodel::detail::kBuiltinModelFiles[i];
      TransformerModel m = model_from_json(f.text, std::string("data/models/") + f.path);
      m.source_file = std::string("data/models/") + f.path;
      out.models.push_back(std::move(m));
    }
    std::sort(out.models.begin(), out.models.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
    for (std::size_t i = 0; i < out.models.size(); ++i) {
      out.by_name.emplace(out.models[i].id, i);
      for (const auto& a : out.models[i].aliases) out.by_name.emplace(a, i);
    }
    return out;
  }();
  return b;
}

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

// --- Hugging Face config.json -----------------------------------------------------------------

TransformerModel from_hf(const bj::value& root, const std::string& origin) {
  Obj o(root, "", origin, true);
  // The class names a config can give and the model_type each belongs to (transformers picks the
  // class from model_type, so the two must agree; the type then decides how the file is read).
  static constexpr std::pair<std::string_view, std::string_view> kKinds[] = {
      {"LlamaForCausalLM", "llama"},        {"MistralForCausalLM", "mistral"},     {"MixtralForCausalLM", "mixtral"},
      {"Qwen2ForCausalLM", "qwen2"},        {"Qwen3ForCausalLM", "qwen3"},         {"Qwen2MoeForCausalLM", "qwen2_moe"},
      {"Qwen3MoeForCausalLM", "qwen3_moe"}, {"DeepseekV2ForCausalLM", "deepseek_v2"},
      {"DeepseekV3ForCausalLM", "deepseek_v3"}, {"GPT2LMHeadModel", "gpt2"}};
  auto unsupported = [&](const std::string& what) {
    std::string list;
    for (const auto& [cls, type] : kKinds) list += (list.empty() ? "" : ", ") + std::string(cls);
    o.fail("architectures", what + " is not supported; expected one of " + list);
  };
  std::string arch;
  if (const bj::value* a = o.find("architectures")) {
    if (!a->is_array() || (!a->as_array().empty() && !a->as_array()[0].is_string())) {
      o.fail("architectures", "expected a list of class names such as [\"LlamaForCausalLM\"], got " + show_json(*a));
    }
    if (!a->as_array().empty()) arch = std::string(a->as_array()[0].as_string());  // [] reads as absent
  }
  const std::string model_type = o.text("model_type", "");
  auto by_type = [&](const std::string& t) {
    return std::find_if(std::begin(kKinds), std::end(kKinds), [&](const auto& e) { return e.second == t; });
  };
  std::string type;  // the model_type the file is read as
  if (!arch.empty()) {
    const auto* k = std::find_if(std::begin(kKinds), std::end(kKinds), [&](const auto& e) { return e.first == arch; });
    if (k == std::end(kKinds)) unsupported(show_json(arch));
    type = k->second;
    // A type of its own over a supported class (Kimi-K2: "kimi_k2" on DeepseekV3ForCausalLM) is
    // read as the class; two supported models named at once are not guessed between.
    if (!model_type.empty() && model_type != type && by_type(model_type) != std::end(kKinds)) {
      o.fail("model_type", show_json(model_type) + " does not match architectures " + show_json(arch) + " (a " +
                               show_json(type) + " model); which one is meant?");
    }
  } else {
    if (by_type(model_type) == std::end(kKinds)) {
      std::string types;
      for (const auto& [cls, t] : kKinds) types += (types.empty() ? "" : ", ") + std::string(t);
      o.fail(model_type.empty() ? "architectures" : "model_type",
             (model_type.empty() ? std::string("a config with neither architectures nor model_type")
                                 : show_json(model_type)) +
                 " is not supported; expected one of " + types + " (or an architectures class)");
    }
    type = model_type;
  }
  TransformerModel m;
  // A hub repository the config names ("org/name" in _name_or_path) identifies it better than its
  // type ("llama"); a local path there (an uploader's directory) does not.
  const std::string named = o.has("_name_or_path") ? o.text("_name_or_path") : "";
  const bool hub_id = std::count(named.begin(), named.end(), '/') == 1 && named.front() != '/' &&
                      named.front() != '.' && named.back() != '/' && named.find('\\') == std::string::npos;
  m.id = hub_id ? named : type;
  m.name = arch.empty() ? type : arch;
  m.source = origin;
  m.source_file = origin;
  // Sizes and counts are checked here, under the config's own key names (validate() would name
  // perfmodel's fields, which the user did not write).
  auto pint = [&](std::string_view k, std::optional<std::int64_t> dflt = std::nullopt) {
    const std::int64_t v = o.integer(k, dflt);
    if (v < 1) o.fail(o.at(k), "expected a positive integer, got " + std::to_string(v));
    return v;
  };
  auto llama_like = [&] {
    m.layers = to_int(pint("num_hidden_layers"), o, "num_hidden_layers");
    m.hidden = pint("hidden_size");
    m.heads = to_int(pint("num_attention_heads"), o, "num_attention_heads");
    m.kv_heads = to_int(pint("num_key_value_heads", m.heads), o, "num_key_value_heads");
    if (m.heads % m.kv_heads != 0) {
      o.fail("num_key_value_heads", "expected a divisor of num_attention_heads=" + std::to_string(m.heads) + ", got " +
                                        std::to_string(m.kv_heads));
    }
    if (!o.has("head_dim") && m.hidden % m.heads != 0) {  // transformers refuses such a config too
      o.fail("hidden_size", "expected a multiple of num_attention_heads=" + std::to_string(m.heads) +
                                " (or a head_dim value), got " + std::to_string(m.hidden));
    }
    m.head_dim = pint("head_dim", m.hidden / m.heads);
    m.ffn = pint("intermediate_size");
    m.vocab = pint("vocab_size");
    m.tied_embeddings = o.boolean("tie_word_embeddings", false);
    const std::string act = o.text("hidden_act", "silu");
    if (act != "silu" && act != "swish") o.fail("hidden_act", "expected 'silu' for a gated FFN, got '" + act + "'");
    // Sliding-window attention (Mistral 7B v0.1: 4,096 tokens) bounds attention and KV cache at the
    // window; the model attends the whole sequence, so such a config is refused rather than overstated.
    if (o.find("sliding_window") != nullptr && o.boolean("use_sliding_window", true)) {
      const std::int64_t w = o.integer("sliding_window");
      const std::int64_t ctx = o.integer("max_position_embeddings", std::numeric_limits<std::int64_t>::max());
      if (w < ctx) {
        o.fail("sliding_window", "sliding-window attention over " + std::to_string(w) +
                                     " tokens is not modelled (attention and KV cache grow with the whole sequence "
                                     "here); set it to null for a full-attention model");
      }
    }
  };
  // perfmodel field -> the config's key, for what validate() finds wrong (it names the former).
  std::vector<std::pair<std::string_view, std::string_view>> names = {
      {"layers", "num_hidden_layers"}, {"hidden", "hidden_size"}, {"heads", "num_attention_heads"},
      {"kv_heads", "num_key_value_heads"}, {"head_dim", "head_dim (or hidden_size / num_attention_heads)"},
      {"ffn", "intermediate_size"}, {"vocab", "vocab_size"}, {"max_context", "max_position_embeddings"},
      {"moe.top_k", "num_experts_per_tok"}, {"moe.expert_ffn", "moe_intermediate_size"}};
  if (type == "llama" || type == "mistral" || type == "qwen2" || type == "qwen3") {
    llama_like();
    m.family = type.rfind("qwen", 0) == 0 ? "qwen" : type == "mistral" ? "mistral" : "llama";
  } else if (type == "mixtral") {
    llama_like();
    m.family = "mistral";
    Moe x;
    names.insert(names.end(), {{"moe.routed_experts", "num_local_experts"}, {"moe.expert_ffn", "intermediate_size"}});
    x.routed_experts = to_int(o.integer("num_local_experts"), o, "num_local_experts");
    x.top_k = to_int(o.integer("num_experts_per_tok"), o, "num_experts_per_tok");
    x.expert_ffn = m.ffn;
    m.moe = x;
  } else if (type == "qwen3_moe" || type == "qwen2_moe") {
    llama_like();
    m.family = "qwen";
    Moe x;
    names.push_back({"moe.routed_experts", "num_experts"});
    x.routed_experts = to_int(o.integer("num_experts"), o, "num_experts");
    x.top_k = to_int(o.integer("num_experts_per_tok"), o, "num_experts_per_tok");
    x.expert_ffn = o.integer("moe_intermediate_size");
    const std::int64_t shared = o.integer("shared_expert_intermediate_size", 0);
    if (x.expert_ffn <= 0) {
      o.fail("moe_intermediate_size", "expected a positive integer, got " + std::to_string(x.expert_ffn));
    }
    if (shared < 0) {
      o.fail("shared_expert_intermediate_size", "expected a non-negative integer, got " + std::to_string(shared));
    }
    if (shared > 0) {
      if (shared % x.expert_ffn != 0) {
        o.fail("shared_expert_intermediate_size", "expected a multiple of moe_intermediate_size=" +
                                                      std::to_string(x.expert_ffn) + ", got " + std::to_string(shared));
      }
      if (shared / x.expert_ffn > 256) {  // checked before the count is narrowed to an int
        o.fail("shared_expert_intermediate_size", "expected at most 256 x moe_intermediate_size=" +
                                                      std::to_string(x.expert_ffn) + ", got " + std::to_string(shared));
      }
      x.shared_experts = static_cast<int>(shared / x.expert_ffn);
    }
    if (o.integer("decoder_sparse_step", 1) != 1) o.fail("decoder_sparse_step", "only 1 (every layer MoE) is supported");
    if (const bj::value* v = o.find("mlp_only_layers")) {
      if (!v->is_array()) o.fail("mlp_only_layers", "expected a list of layer indices, got " + show_json(*v));
      if (!v->as_array().empty()) o.fail("mlp_only_layers", "dense layers interleaved with MoE layers are not supported");
    }
    m.moe = x;
  } else if (type == "deepseek_v3" || type == "deepseek_v2") {
    m.family = "deepseek";
    names.insert(names.end(), {{"mla.q_lora_rank", "q_lora_rank"}, {"mla.kv_lora_rank", "kv_lora_rank"},
                               {"mla.rope_dim", "qk_rope_head_dim"}, {"mla.nope_dim", "qk_nope_head_dim"},
                               {"mla.v_head_dim", "v_head_dim"}, {"head_dim", "v_head_dim"},
                               {"moe.routed_experts", "n_routed_experts"}, {"moe.shared_experts", "n_shared_experts"},
                               {"moe.dense_layers", "first_k_dense_replace"}, {"mtp_layers", "num_nextn_predict_layers"}});
    m.layers = to_int(pint("num_hidden_layers"), o, "num_hidden_layers");
    m.hidden = pint("hidden_size");
    m.heads = to_int(pint("num_attention_heads"), o, "num_attention_heads");
    m.kv_heads = m.heads;
    m.ffn = pint("intermediate_size");
    m.vocab = pint("vocab_size");
    m.tied_embeddings = o.boolean("tie_word_embeddings", false);
    // Absent and null differ here: transformers defaults a missing q_lora_rank to 1536 and a
    // missing n_routed_experts to a MoE, where null means none; guessing either is refused.
    for (const char* k : {"q_lora_rank", "n_routed_experts"}) {
      if (!o.raw().contains(k)) o.fail(k, "missing; expected an integer, or null for none");
    }
    Mla x;
    x.q_lora_rank = o.integer("q_lora_rank", 0);
    x.kv_lora_rank = o.integer("kv_lora_rank");
    x.rope_dim = o.integer("qk_rope_head_dim");
    x.nope_dim = o.integer("qk_nope_head_dim");
    x.v_head_dim = o.integer("v_head_dim");
    m.head_dim = x.v_head_dim;  // as the built-in DeepSeek models give it (MLA's own dims are in mla)
    m.mla = x;
    if (o.has("n_routed_experts")) {
      Moe e;
      e.routed_experts = to_int(o.integer("n_routed_experts"), o, "n_routed_experts");
      e.shared_experts = to_int(o.integer("n_shared_experts", 0), o, "n_shared_experts");
      e.top_k = to_int(o.integer("num_experts_per_tok"), o, "num_experts_per_tok");
      e.dense_layers = to_int(o.integer("first_k_dense_replace", 0), o, "first_k_dense_replace");
      e.expert_ffn = o.integer("moe_intermediate_size");
      if (o.integer("moe_layer_freq", 1) != 1) o.fail("moe_layer_freq", "only 1 (every layer after the dense ones) is supported");
      m.moe = e;
    }
    m.mtp_layers = to_int(o.integer("num_nextn_predict_layers", 0), o, "num_nextn_predict_layers");
  } else {  // gpt2, the last of kKinds
    m.family = "gpt";
    names.insert(names.end(), {{"layers", "n_layer"}, {"hidden", "n_embd"}, {"heads", "n_head"},
                               {"head_dim", "n_embd / n_head"}, {"ffn", "n_inner"}, {"max_context", "n_positions"}});
    m.layers = to_int(pint("n_layer"), o, "n_layer");
    m.hidden = pint("n_embd");
    m.heads = to_int(pint("n_head"), o, "n_head");
    m.kv_heads = m.heads;
    if (m.hidden % m.heads != 0) {
      o.fail("n_embd", "expected a multiple of n_head=" + std::to_string(m.heads) + ", got " + std::to_string(m.hidden));
    }
    m.head_dim = m.hidden / m.heads;
    m.ffn = o.integer("n_inner", 4 * m.hidden);
    m.vocab = o.integer("vocab_size");
    m.tied_embeddings = o.boolean("tie_word_embeddings", true);
    (void)o.text("activation_function", "gelu_new");  // one up projection whatever the function: a string, unused
    m.activation = FfnActivation::gelu;
  }
  m.max_context = o.integer(type == "gpt2" ? "n_positions" : "max_position_embeddings", 0);
  // RoPE scaling of the YaRN, linear and dynamic kinds stretches the context: original (or the
  // stated maximum) times the factor, where that exceeds the stated maximum (Qwen3 with YaRN x4:
  // 32,768 -> 131,072; DeepSeek-V3 states its scaled maximum already). Llama 3's "llama3" kind
  // reshapes frequencies under a stated maximum (Llama 3.2: 131,072 with factor 32): not stretched.
  if (const bj::value* rs = o.find("rope_scaling")) {  // checked even where no context is stated
    Obj s(*rs, "rope_scaling", origin, true);
    const std::string kind = s.has("rope_type") ? s.text("rope_type") : s.text("type", "");
    const bj::value* f = s.find("factor");
    if (f != nullptr && !f->is_number()) s.fail("rope_scaling.factor", "expected a number, got " + show_json(*f));
    const double factor = f != nullptr ? f->to_number<double>() : 1.0;
    if (!(factor >= 1.0 && factor <= 1024.0)) {
      std::ostringstream text;
      text << "expected a number in [1, 1024], got " << factor;
      s.fail("rope_scaling.factor", text.str());
    }
    const std::int64_t base = s.integer("original_max_position_embeddings", m.max_context);
    constexpr std::int64_t kMaxContext = std::int64_t{1} << 30;  // validate()'s bound on max_context
    if (s.has("original_max_position_embeddings") && (base < 1 || base > kMaxContext)) {
      s.fail("rope_scaling.original_max_position_embeddings",
             "expected a positive integer up to 2^30, got " + std::to_string(base));
    }
    if (m.max_context > 0 && (kind == "yarn" || kind == "linear" || kind == "dynamic")) {
      const double stretched = static_cast<double>(base) * factor;  // <= 2^40: exact in a double
      if (stretched > static_cast<double>(kMaxContext)) {
        std::ostringstream text;
        text << "original_max_position_embeddings " << base << " x factor " << factor << " is past 2^30 tokens";
        s.fail("rope_scaling", text.str());
      }
      m.max_context = std::max(m.max_context, static_cast<std::int64_t>(stretched));
    }
  }
  try {
    m.validate(origin);
  } catch (const ConfigError& e) {  // "origin: field: what" -> the config's key for the field
    const std::string msg = e.what(), head = origin + ": ";
    const std::size_t end = msg.rfind(head, 0) == 0 ? msg.find(": ", head.size()) : std::string::npos;
    if (end == std::string::npos) throw;
    const std::string_view field = std::string_view(msg).substr(head.size(), end - head.size());
    // The last entry for a field wins (an architecture's own key over the common one).
    auto it = std::find_if(names.rbegin(), names.rend(), [&](const auto& n) { return n.first == field; });
    if (it == names.rend()) throw;
    throw ConfigError(head + std::string(it->second) + msg.substr(end));
  }
  return m;
}

}  // namespace

TransformerModel model_from_json(std::string_view text, const std::string& origin) {
  return parse_model(perfmodel::detail::parse_json_text(text, origin), origin);
}

TransformerModel load_model(const std::filesystem::path& file) {
  TransformerModel m = model_from_json(read_text(file), file.string());
  m.source_file = file.string();
  return m;
}

TransformerModel model_from_hf_config_text(std::string_view text, const std::string& origin) {
  return from_hf(perfmodel::detail::parse_json_text(text, origin), origin);
}

TransformerModel model_from_hf_config(const std::filesystem::path& config_json) {
  std::filesystem::path p = config_json;
  std::error_code ec;  // a path the OS refuses (too long, a symlink loop) is named by read_text
  if (std::filesystem::is_directory(p, ec)) p /= "config.json";
  return model_from_hf_config_text(read_text(p), p.string());
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& m : builtin().models) out.push_back(m.id);
  return out;
}

const TransformerModel& get_model(std::string_view id_or_alias) {
  const Builtin& b = builtin();
  const std::string key = lower(id_or_alias);
  if (auto it = b.by_name.find(key); it != b.by_name.end()) return b.models[it->second];
  std::string close;
  for (const auto& [n, i] : b.by_name) {  // substrings of under 3 letters match nearly every name
    if (key.size() < 3 || n.size() < 3) continue;
    if (n.find(key) != std::string::npos || key.find(n) != std::string::npos) close += (close.empty() ? "" : ", ") + n;
  }
  std::string all;
  for (const auto& m : b.models) all += (all.empty() ? "" : ", ") + m.id;
  throw NotFound("model '" + std::string(id_or_alias) + "' is not built in" +
                 (close.empty() ? "" : " (close: " + close + ")") + "; built-in models: " + all +
                 "; or load a file with load_model / model_from_hf_config");
}

}  // namespace perfmodel::workload
