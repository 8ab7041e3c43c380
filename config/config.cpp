// Config parsing: one table of keys (name, type, allowed values, field) drives reading TOML,
// `--set` overrides, validation messages and writing the resolved config.toml.
#include "config/config.h"

#include <cstring>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "engine/io/atomic_file.h"
#include "engine/tensor.h"
#include "engine/validate.h"

#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace cytocon::config {
namespace {

// enumeration: an enum (config/choices.h) held as its index in `choices`.
enum class Kind { integer, number, string, enumeration, boolean };

struct Key {
  const char* table;
  const char* name;
  Kind kind;
  void* field;
  std::vector<std::string> choices;  // Kind::enumeration
  Range range{0, 0};                 // Kind::number and Kind::integer: the documented range
  const char* what = "";             // what the number is, for messages

  std::string full() const { return std::string(table) + "." + name; }
};

constexpr double kMaxCount = 1e12;  // steps, patches: far beyond any run, far below overflow

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::integer: return "an integer";
    case Kind::number: return "a number";
    case Kind::string:
    case Kind::enumeration: return "a string";
    case Kind::boolean: return "a boolean (true|false)";
  }
  return "?";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// An enum key: its field holds the index of its value in names<E>().
template <class E>
Key enumeration(const char* table, const char* name, E* field) {
  static_assert(sizeof(E) == 1, "enumeration keys are stored as one byte");
  return {table, name, Kind::enumeration, field, names<E>()};
}

// Every key, bound to the fields of `c`, in the order config.toml lists them.
std::vector<Key> keys(Config& c) {
  auto& m = c.model;
  auto& d = c.data;
  auto& t = c.train;
  // Ranges (docs/training.md, "Keys"): every number is finite and inside its range, checked where
  // it is read, so no key can reach the arithmetic as inf, NaN or an absurd size.
  const Range any_count{0, kMaxCount};
  return {
      enumeration("model", "preset", &m.preset),
      {"data", "dir", Kind::string, &d.dir, {}},
      {"data", "um_per_px", Kind::number, &d.um_per_px, {}, {0, 100, true}, "micrometres per patch pixel; the paper uses 2"},
      {"data", "patch_px", Kind::integer, &d.patch_px, {}, {0, 8192}, "patch side in pixels; 0 = the preset's"},
      {"data", "patches_per_area", Kind::integer, &d.patches_per_area, {}, {1, 1e7}, "patches per area and epoch"},
      {"data", "spacing_um", Kind::number, &d.spacing_um, {}, {1, 1e5}, "micrometres between centreline points"},
      enumeration("data", "centrelines", &d.centrelines),
      {"data", "test_fraction", Kind::number, &d.test_fraction, {}, {0, 1, false, true}, "share of sections held out"},
      {"data", "threads", Kind::integer, &d.threads, {}, {0, 1024}, "loader threads; 0 = the node's cores divided by its ranks"},
      {"data", "prefetch", Kind::integer, &d.prefetch, {}, {0, 64}, "batches prepared ahead"},
      enumeration("data", "extractor", &d.extractor),
      {"data", "gpu_cache_gb", Kind::number, &d.gpu_cache_gb, {}, {0, 4096, true}, "GiB of device memory"},
      {"data", "tile_cache_gb", Kind::number, &d.tile_cache_gb, {}, {0, 1e6}, "GiB of decoded tiles per rank; 0 = sized from the node"},
      {"data", "background", Kind::number, &d.background, {}, {0, 1}, "intensity outside the image"},
      {"data", "augment", Kind::boolean, &d.augment, {}},
      enumeration("train", "stage", &t.stage),
      {"train", "epochs", Kind::integer, &t.epochs, {}, {1, 1e6}},
      {"train", "max_steps", Kind::integer, &t.max_steps, {}, any_count, "0 = no limit"},
      {"train", "batch_size", Kind::integer, &t.batch_size, {}, {2, 1 << 20}, "global batch over all ranks"},
      {"train", "lr", Kind::number, &t.lr, {}, {0, 100}, "0 = 0.01*batch_size/128"},
      {"train", "temperature", Kind::number, &t.temperature, {}, {0, 100, true}, "tau of eq. 2"},
      {"train", "weight_decay", Kind::number, &t.weight_decay, {}, {0, 1}},
      {"train", "momentum", Kind::number, &t.momentum, {}, {0, 1, false, true}},
      {"train", "eta", Kind::number, &t.eta, {}, {0, 10, true}, "LARS trust coefficient"},
      enumeration("train", "optimizer", &t.optimizer),
      enumeration("train", "schedule", &t.schedule),
      {"train", "warmup_epochs", Kind::number, &t.warmup_epochs, {}, {0, 1e6}},
      {"train", "seed", Kind::integer, &t.seed, {}, {0, 9e18}},
      enumeration("train", "mode", &t.mode),
      enumeration("train", "precision", &t.precision),
      enumeration("train", "device", &t.device),
      {"train", "init", Kind::string, &t.init, {}},
      {"train", "out", Kind::string, &t.out, {}},
      {"train", "checkpoint_every", Kind::integer, &t.checkpoint_every, {}, any_count, "steps; 0 = only at the end"},
      {"train", "keep_checkpoints", Kind::integer, &t.keep_checkpoints, {}, {1, 1e6}},
      {"train", "shards", Kind::integer, &t.shards, {}, {0, 1 << 20}, "a power of two; 0 = chosen from the batch"},
      {"train", "log_every", Kind::integer, &t.log_every, {}, {1, kMaxCount}, "steps"},
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
std::string unshield(const std::string& text);  // below, with shield

void assign(const Key& k, const toml::node& n, const std::string& source) {
  auto wrong = [&](const std::string& got) {
    fail((source.rfind("--set", 0) == 0 ? source : "config " + source) + ": " + k.full() + " must be " + kind_name(k.kind) +
         (k.kind == Kind::enumeration ? " (one of " + join(k.choices, "|") + ")" : std::string()) +
         ", got " + got);
  };
  const std::string where = (source.rfind("--set", 0) == 0 ? source : "config " + source) + ": " + k.full();
  switch (k.kind) {
    case Kind::integer:
      if (!n.is_integer()) wrong(node_type(n));
      *static_cast<int64_t*>(k.field) =
          checked_integer(n.as_integer()->get(), static_cast<int64_t>(k.range.lo), static_cast<int64_t>(k.range.hi), where, k.what);
      break;
    case Kind::number:
      if (n.is_integer())
        *static_cast<double*>(k.field) = checked_number(static_cast<double>(n.as_integer()->get()), k.range, where, k.what);
      else if (n.is_floating_point())
        *static_cast<double*>(k.field) = checked_number(n.as_floating_point()->get(), k.range, where, k.what);
      else
        wrong(node_type(n));
      break;
    case Kind::boolean:
      if (!n.is_boolean()) wrong(node_type(n));
      *static_cast<bool*>(k.field) = n.as_boolean()->get();
      break;
    case Kind::string:
      if (!n.is_string()) wrong(node_type(n));
      *static_cast<std::string*>(k.field) = unshield(n.as_string()->get());
      break;
    case Kind::enumeration: {
      if (!n.is_string()) wrong(node_type(n));
      const std::string v = unshield(n.as_string()->get());
      const int i = choice_index(k.choices, v);
      if (i < 0) wrong("\"" + v + "\"");
      *static_cast<uint8_t*>(k.field) = static_cast<uint8_t>(i);
      break;
    }
  }
}

// toml++ 3.3 tests characters outside strings with is_non_ascii_horizontal_whitespace, which reaches
// TOML_UNREACHABLE (undefined behaviour) for most code points in [U+00A0, U+FEFF]; where toml++ is
// "outside a string" cannot be predicted for malformed input (it scans bad bare values to their
// end; found by fuzz_config). So toml++ never sees such a code point: `shield` moves each one by
// +0xF0000 into Unicode's private use plane 15 (> U+FEFF, where the test returns false at once),
// and `unshield` moves strings, keys and messages back. A plane-15 character in the input would
// be ambiguous and is refused.
constexpr char32_t kShieldLo = 0xA0, kShieldHi = 0xFEFF, kShift = 0xF0000;

void put_utf8(std::string& o, char32_t c) {
  if (c < 0x80) {
    o += static_cast<char>(c);
  } else if (c < 0x800) {
    o += static_cast<char>(0xC0 | (c >> 6)), o += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    o += static_cast<char>(0xE0 | (c >> 12)), o += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    o += static_cast<char>(0xF0 | (c >> 18)), o += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    o += static_cast<char>(0x80 | ((c >> 6) & 0x3F)), o += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Calls f(code point, byte length) for each well-formed UTF-8 sequence, f(-1, 1) for a stray byte.
template <class F>
void each_utf8(const std::string& s, F&& f) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      const auto t = static_cast<unsigned char>(s[i + k]);
      ok = (t >> 6) == 2;
      c = (c << 6) | (t & 0x3F);
    }
    if (ok) f(static_cast<int64_t>(c), n), i += n;
    else f(int64_t{-1}, size_t{1}), ++i;
  }
}

std::string shield(const std::string& text, const std::string& source) {
  std::string o;
  size_t at = 0;
  each_utf8(text, [&](int64_t c, size_t n) {
    if (c >= kShieldLo && c <= kShieldHi) put_utf8(o, static_cast<char32_t>(c) + kShift);
    else if (c >= kShift && c < 0x100000)
      fail(source + ": a character of Unicode's private use plane 15 (U+F0000–U+FFFFF) is not supported");
    else o.append(text, at, n);
    at += n;
  });
  return o;
}

std::string unshield(const std::string& text) {
  std::string o;
  size_t at = 0;
  each_utf8(text, [&](int64_t c, size_t n) {
    if (c >= kShieldLo + kShift && c <= kShieldHi + kShift) put_utf8(o, static_cast<char32_t>(c - kShift));
    else o.append(text, at, n);
    at += n;
  });
  return o;
}

// TOML allows non-ASCII characters only in strings and comments; toml++ 3.3 (Debian 12) reaches
// undefined behaviour (TOML_UNREACHABLE in is_non_ascii_horizontal_whitespace) on one elsewhere,
// e.g. a key "é" (found by fuzz/fuzz_config.cpp). Refused here first, naming line and column.
// A quote opens a string only where TOML lets one begin (a key at the start of a line or after a
// dot, a value after '=', '[', ',' or '{'); elsewhere, e.g. inside `lr = 0x'…`, toml++ reads it as
// part of a bad bare value and tests the characters after it with the faulty check (found by
// fuzz_config's fifth run), so it is treated as outside a string here too.
void check_ascii_outside_strings(const std::string& text, const std::string& source) {
  enum { plain, comment, basic, literal } state = plain;
  bool multiline = false;
  int line = 1, column = 0;
  char prev = '\n';  // the last character outside strings and comments that is not a space
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    ++column;
    if (ch == '\n') {
      ++line, column = 0;
      if (state == comment || (!multiline && state != plain)) state = plain;  // a single-line string ends (TOML error)
      if (state == plain) prev = '\n';
      continue;
    }
    switch (state) {
      case plain:
        if (static_cast<unsigned char>(ch) >= 0x80)
          fail(source + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
               ": a non-ASCII character outside a string or comment (TOML allows them only there)");
        if (ch == '#') state = comment;
        if (ch != ' ' && ch != '\t' && ch != '\r' && state == plain && ch != '"' && ch != '\'') prev = ch;
        if ((ch == '"' || ch == '\'') && prev != '\0' && std::strchr("=[,{.\n", prev)) {
          multiline = text.compare(i, 3, std::string(3, ch)) == 0;
          state = ch == '"' ? basic : literal;
          if (multiline) i += 2, column += 2;
        }
        break;
      case comment: break;
      case basic:
      case literal: {
        const char quote = state == basic ? '"' : '\'';
        if (state == basic && ch == '\\') {
          size_t j = i + 1;
          while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
          // No TOML escape starts with a non-ASCII character, and toml++ tests one after a
          // backslash with the same faulty check (found by fuzz_config's fourth run): refused.
          if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80)
            fail(source + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                 ": a backslash followed by a non-ASCII character (not a TOML escape)");
          if (multiline && j < text.size() && text[j] == '\n') {
            // A line-ending backslash: toml++ skips the whitespace after it with the same faulty
            // check, so a non-ASCII character first on the next line is refused as well.
            while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) line += text[j++] == '\n';
            if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80)
              fail(source + ": line " + std::to_string(line) +
                   ": a non-ASCII character right after a line-ending backslash (not supported)");
            i = j - 1;
            break;
          }
          ++i, ++column;  // an escaped character, never the end
        } else if (ch == quote && (!multiline || text.compare(i, 3, std::string(3, quote)) == 0)) {
          if (multiline) i += 2, column += 2;
          state = plain;
          prev = quote;
        }
        break;
      }
    }
  }
}

toml::table parse_toml(const std::string& text, const std::string& source) {
  check_ascii_outside_strings(text, "config " + source);
  try {
    return toml::parse(shield(text, "config " + source), source);
  } catch (const toml::parse_error& e) {
    std::ostringstream o;
    o << "config " << source << ": TOML syntax error at line " << e.source().begin.line
      << ", column " << e.source().begin.column << ": " << unshield(std::string(e.description()));
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
    std::string table = unshield(std::string(tname.str()));
    bool known = false;
    for (auto& t : kTables) known = known || t == table;
    if (!known)
      fail("config " + source + ": unknown " + (tnode.is_table() ? "table [" + table + "]" : "key " + table) +
           " (expected the tables " + join(kTables, ", ") + ")");
    if (!tnode.is_table()) fail("config " + source + ": " + table + " must be a table [" + table + "]");
    for (auto&& [kname, knode] : *tnode.as_table()) {
      std::string name = unshield(std::string(kname.str()));
      Key* k = find_key(ks, table, name);
      if (!k)
        fail("config " + source + ": unknown key " + table + "." + name + " (keys of [" + table +
             "]: " + keys_of_table(ks, table) + ")");
      assign(*k, knode, source);
    }
  }
}

void load_file(Config& cfg, const std::string& path) {
  io::require_regular_file(path, "config");
  load_text(cfg, io::read_file(path), path);
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
  if ((k->kind == Kind::string || k->kind == Kind::enumeration) && value.front() != '"' && value.front() != '\'')
    value = quote(value);
  const std::string source = "--set " + o.key + "=" + o.value;
  toml::table doc;
  check_ascii_outside_strings("v = " + value, source);
  try {
    doc = toml::parse(shield("v = " + value, source), source);
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
  // Every number in its range, also for a Config filled in by code rather than read (tests, tools).
  Config copy = cfg;
  for (const Key& k : keys(copy)) {
    if (k.kind == Kind::integer)
      checked_integer(*static_cast<int64_t*>(k.field), static_cast<int64_t>(k.range.lo),
                      static_cast<int64_t>(k.range.hi), "config: " + k.full(), k.what);
    else if (k.kind == Kind::number)
      checked_number(*static_cast<double*>(k.field), k.range, "config: " + k.full(), k.what);
  }
  need(!d.dir.empty(), "data.dir", "is empty: set it in the config or with --set data.dir=DIR");
  need(d.extractor != Extractor::gpu || t.device != DeviceChoice::cpu, "data.extractor",
       "= \"gpu\" needs train.device = \"cuda\" (or \"auto\" with a GPU); train.device is \"cpu\"");
  need(!t.out.empty(), "train.out", "is empty: name the run directory");
  need(t.stage != Stage::linear || !t.init.empty(), "train.init",
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
      case Kind::string: o << quote(*static_cast<std::string*>(k.field)); break;
      case Kind::enumeration: o << quote(k.choices[*static_cast<uint8_t*>(k.field)]); break;
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

}  // namespace cytocon::config
