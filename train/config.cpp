// Config parsing: one table of keys (name, type, allowed values, field) drives reading TOML,
// `--set` overrides, validation messages and writing the resolved config.toml.
#include "train/config.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/tensor.h"

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace cytocon::train {
namespace {

enum class Kind { integer, number, string, choice, boolean };

struct Key {
  const char* table;
  const char* name;
  Kind kind;
  void* field;
  std::vector<std::string> choices;  // Kind::choice only

  std::string full() const { return std::string(table) + "." + name; }
};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::integer: return "an integer";
    case Kind::number: return "a number";
    case Kind::string: return "a string";
    case Kind::choice: return "a string";
    case Kind::boolean: return "a boolean (true|false)";
  }
  return "?";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Every key, bound to the fields of `c`, in the order config.toml lists them.
std::vector<Key> keys(Config& c) {
  auto& m = c.model;
  auto& d = c.data;
  auto& t = c.train;
  return {
      {"model", "preset", Kind::choice, &m.preset, {"paper", "tiny"}},
      {"data", "dir", Kind::string, &d.dir, {}},
      {"data", "um_per_px", Kind::number, &d.um_per_px, {}},
      {"data", "patch_px", Kind::integer, &d.patch_px, {}},
      {"data", "patches_per_area", Kind::integer, &d.patches_per_area, {}},
      {"data", "spacing_um", Kind::number, &d.spacing_um, {}},
      {"data", "centrelines", Kind::choice, &d.centrelines, {"auto", "annotated", "derived"}},
      {"data", "test_fraction", Kind::number, &d.test_fraction, {}},
      {"data", "threads", Kind::integer, &d.threads, {}},
      {"data", "prefetch", Kind::integer, &d.prefetch, {}},
      {"data", "extractor", Kind::choice, &d.extractor, {"auto", "cpu", "gpu"}},
      {"data", "gpu_cache_gb", Kind::number, &d.gpu_cache_gb, {}},
      {"data", "tile_cache_gb", Kind::number, &d.tile_cache_gb, {}},
      {"data", "background", Kind::number, &d.background, {}},
      {"data", "augment", Kind::boolean, &d.augment, {}},
      {"train", "stage", Kind::choice, &t.stage, {"supcon", "linear", "ce"}},
      {"train", "epochs", Kind::integer, &t.epochs, {}},
      {"train", "max_steps", Kind::integer, &t.max_steps, {}},
      {"train", "batch_size", Kind::integer, &t.batch_size, {}},
      {"train", "lr", Kind::number, &t.lr, {}},
      {"train", "temperature", Kind::number, &t.temperature, {}},
      {"train", "weight_decay", Kind::number, &t.weight_decay, {}},
      {"train", "momentum", Kind::number, &t.momentum, {}},
      {"train", "eta", Kind::number, &t.eta, {}},
      {"train", "optimizer", Kind::choice, &t.optimizer, {"lars", "sgd"}},
      {"train", "schedule", Kind::choice, &t.schedule, {"constant", "cosine"}},
      {"train", "warmup_epochs", Kind::number, &t.warmup_epochs, {}},
      {"train", "seed", Kind::integer, &t.seed, {}},
      {"train", "mode", Kind::choice, &t.mode, {"deterministic", "fast"}},
      {"train", "precision", Kind::choice, &t.precision, {"fp32", "tf32", "bf16"}},
      {"train", "device", Kind::choice, &t.device, {"auto", "cpu", "cuda"}},
      {"train", "init", Kind::string, &t.init, {}},
      {"train", "out", Kind::string, &t.out, {}},
      {"train", "checkpoint_every", Kind::integer, &t.checkpoint_every, {}},
      {"train", "keep_checkpoints", Kind::integer, &t.keep_checkpoints, {}},
      {"train", "shards", Kind::integer, &t.shards, {}},
      {"train", "log_every", Kind::integer, &t.log_every, {}},
  };
}

const std::vector<std::string> kTables = {"model", "data", "train"};

std::string keys_of_table(std::vector<Key>& ks, const std::string& table) {
  std::vector<std::string> names;
  for (auto& k : ks)
    if (table == k.table) names.push_back(k.name);
  return join(names, ", ");
}

Key* find_key(std::vector<Key>& ks, const std::string& table, const std::string& name) {
  for (auto& k : ks)
    if (table == k.table && name == k.name) return &k;
  return nullptr;
}

std::string node_type(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

// Stores TOML value `n` in key `k`, or fails naming the key, the source and the expected type.
void assign(const Key& k, const toml::node& n, const std::string& source) {
  auto wrong = [&](const std::string& got) {
    fail((source.rfind("--set", 0) == 0 ? source : "config " + source) + ": " + k.full() + " must be " + kind_name(k.kind) +
         (k.kind == Kind::choice ? " (one of " + join(k.choices, "|") + ")" : std::string()) +
         ", got " + got);
  };
  switch (k.kind) {
    case Kind::integer:
      if (!n.is_integer()) wrong(node_type(n));
      *static_cast<int64_t*>(k.field) = n.as_integer()->get();
      break;
    case Kind::number:
      if (n.is_integer())
        *static_cast<double*>(k.field) = static_cast<double>(n.as_integer()->get());
      else if (n.is_floating_point())
        *static_cast<double*>(k.field) = n.as_floating_point()->get();
      else
        wrong(node_type(n));
      break;
    case Kind::boolean:
      if (!n.is_boolean()) wrong(node_type(n));
      *static_cast<bool*>(k.field) = n.as_boolean()->get();
      break;
    case Kind::string:
    case Kind::choice: {
      if (!n.is_string()) wrong(node_type(n));
      std::string v = n.as_string()->get();
      if (k.kind == Kind::choice) {
        bool ok = false;
        for (auto& c : k.choices) ok = ok || c == v;
        if (!ok) wrong("\"" + v + "\"");
      }
      *static_cast<std::string*>(k.field) = v;
      break;
    }
  }
}

toml::table parse_toml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << "config " << source << ": TOML syntax error at line " << e.source().begin.line
      << ", column " << e.source().begin.column << ": " << e.description();
    fail(o.str());
  }
}

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      o += buf;
    } else {
      o += ch;
    }
  }
  return o + "\"";
}

// Shortest decimal that reads back to the same double, always with a '.' or exponent (TOML float).
std::string number(double v) {
  char buf[32];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {  // 100.0, not 1e+02
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

bool is_pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

Override parse_override(const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos)
    fail("--set " + arg + ": expected table.key=value (e.g. --set train.lr=0.32)");
  std::string key = arg.substr(0, eq);
  auto dot = key.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
    fail("--set " + arg + ": the key must be table.key (tables: " + join(kTables, ", ") + ")");
  if (eq + 1 == arg.size()) fail("--set " + arg + ": the value is empty");
  return {key, arg.substr(eq + 1)};
}

void load_text(Config& cfg, const std::string& text, const std::string& source) {
  toml::table doc = parse_toml(text, source);
  auto ks = keys(cfg);
  for (auto&& [tname, tnode] : doc) {
    std::string table(tname.str());
    bool known = false;
    for (auto& t : kTables) known = known || t == table;
    if (!known)
      fail("config " + source + ": unknown " + (tnode.is_table() ? "table [" + table + "]" : "key " + table) +
           " (expected the tables " + join(kTables, ", ") + ")");
    if (!tnode.is_table()) fail("config " + source + ": " + table + " must be a table [" + table + "]");
    for (auto&& [kname, knode] : *tnode.as_table()) {
      std::string name(kname.str());
      Key* k = find_key(ks, table, name);
      if (!k)
        fail("config " + source + ": unknown key " + table + "." + name + " (keys of [" + table +
             "]: " + keys_of_table(ks, table) + ")");
      assign(*k, knode, source);
    }
  }
}

void load_file(Config& cfg, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("config " + path + ": cannot open the file");
  std::ostringstream text;
  text << f.rdbuf();
  load_text(cfg, text.str(), path);
}

void apply_override(Config& cfg, const Override& o) {
  auto ks = keys(cfg);
  auto dot = o.key.find('.');
  std::string table = o.key.substr(0, dot), name = o.key.substr(dot + 1);
  Key* k = find_key(ks, table, name);
  if (!k) {
    bool known = false;
    for (auto& t : kTables) known = known || t == table;
    fail("--set " + o.key + "=" + o.value + ": unknown key " + o.key +
         (known ? " (keys of [" + table + "]: " + keys_of_table(ks, table) + ")"
                : " (tables: " + join(kTables, ", ") + ")"));
  }
  std::string value = o.value;
  // Strings may be written bare: --set data.dir=/data/bigbrain.
  if ((k->kind == Kind::string || k->kind == Kind::choice) && value.front() != '"' && value.front() != '\'')
    value = quote(value);
  const std::string source = "--set " + o.key + "=" + o.value;
  toml::table doc;
  try {
    doc = toml::parse("v = " + value, source);
  } catch (const toml::parse_error&) {
    fail(source + ": " + k->full() + " must be " + kind_name(k->kind) + ", got '" + o.value + "'");
  }
  if (doc.size() != 1) fail(source + ": expected one value for " + k->full());
  assign(*k, *doc.get("v"), source);
}

void resolve(Config& cfg) {
  auto& d = cfg.data;
  auto& t = cfg.train;
  auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) fail("config: " + key + " " + what);
  };
  need(!d.dir.empty(), "data.dir", "is empty: set it in the config or with --set data.dir=DIR");
  need(d.um_per_px > 0, "data.um_per_px", "must be > 0, got " + number(d.um_per_px));
  need(d.patch_px >= 0, "data.patch_px", "must be >= 0 (0 = the preset's size)");
  need(d.patches_per_area > 0, "data.patches_per_area", "must be > 0");
  need(d.spacing_um > 0, "data.spacing_um", "must be > 0");
  need(d.test_fraction >= 0 && d.test_fraction < 1, "data.test_fraction", "must be in [0, 1)");
  need(d.threads >= 0, "data.threads", "must be >= 0 (0 = the node's cores divided by its ranks)");
  need(d.tile_cache_gb >= 0, "data.tile_cache_gb", "must be >= 0 (0 = sized from the node), got " + number(d.tile_cache_gb));
  need(d.prefetch >= 0, "data.prefetch", "must be >= 0");
  need(d.gpu_cache_gb > 0, "data.gpu_cache_gb", "must be > 0, got " + number(d.gpu_cache_gb));
  need(d.extractor != "gpu" || t.device != "cpu", "data.extractor",
       "= \"gpu\" needs train.device = \"cuda\" (or \"auto\" with a GPU); train.device is \"cpu\"");
  need(t.epochs > 0, "train.epochs", "must be > 0");
  need(t.max_steps >= 0, "train.max_steps", "must be >= 0 (0 = no limit)");
  need(t.batch_size >= 2, "train.batch_size", "must be >= 2, got " + std::to_string(t.batch_size));
  need(t.lr >= 0, "train.lr", "must be >= 0 (0 = 0.01*batch_size/128)");
  need(t.temperature > 0, "train.temperature", "must be > 0");
  need(t.weight_decay >= 0, "train.weight_decay", "must be >= 0");
  need(t.momentum >= 0 && t.momentum < 1, "train.momentum", "must be in [0, 1)");
  need(t.eta > 0, "train.eta", "must be > 0");
  need(t.warmup_epochs >= 0, "train.warmup_epochs", "must be >= 0");
  need(t.seed >= 0, "train.seed", "must be >= 0");
  need(!t.out.empty(), "train.out", "is empty: name the run directory");
  need(t.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0 (0 = only at the end)");
  need(t.keep_checkpoints >= 1, "train.keep_checkpoints", "must be >= 1");
  need(t.log_every >= 1, "train.log_every", "must be >= 1");
  need(t.stage != "linear" || !t.init.empty(), "train.init",
       "must name the encoder weights (safetensors or checkpoint) for stage = \"linear\"");
  if (t.lr == 0) t.lr = 0.01 * static_cast<double>(t.batch_size) / 128.0;  // paper: 0.01·N/128
  if (t.shards == 0) {
    // The largest power of two dividing N, at most 32 (the paper's 32 GPUs): any rank count
    // 1, 2, ..., 32 dividing it gives the same bits.
    t.shards = 1;
    while (t.shards < 32 && t.batch_size % (t.shards * 2) == 0) t.shards *= 2;
  }
  need(is_pow2(t.shards), "train.shards", "must be a power of two, got " + std::to_string(t.shards));
  need(t.batch_size % t.shards == 0, "train.shards",
       "= " + std::to_string(t.shards) + " must divide train.batch_size = " + std::to_string(t.batch_size));
}

std::string to_toml(const Config& cfg_in) {
  Config cfg = cfg_in;
  auto ks = keys(cfg);
  std::ostringstream o;
  o << "# cytocon-train configuration, as resolved for this run\n";
  std::string table;
  for (auto& k : ks) {
    if (table != k.table) {
      o << (table.empty() ? "" : "\n") << "[" << k.table << "]\n";
      table = k.table;
    }
    o << k.name << " = ";
    switch (k.kind) {
      case Kind::integer: o << *static_cast<int64_t*>(k.field); break;
      case Kind::number: o << number(*static_cast<double*>(k.field)); break;
      case Kind::boolean: o << (*static_cast<bool*>(k.field) ? "true" : "false"); break;
      case Kind::string:
      case Kind::choice: o << quote(*static_cast<std::string*>(k.field)); break;
    }
    o << "\n";
  }
  return o.str();
}

std::vector<std::string> all_keys() {
  Config c;
  std::vector<std::string> out;
  for (auto& k : keys(c)) out.push_back(k.full());
  return out;
}

}  // namespace cytocon::train
