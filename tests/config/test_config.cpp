// Config parsing: TOML and --set, errors that name the key, the source and the expected type,
// derived defaults, and the resolved config.toml reading back to the same config.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <limits>
#include <string>

#include "config/config.h"

using namespace cytocon::config;

namespace {

// The message of the error `f` throws (fails the test when it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error was raised";
  return "";
}

void expect_contains(const std::string& s, const std::string& part) {
  EXPECT_NE(s.find(part), std::string::npos) << "'" << part << "' not in: " << s;
}

}  // namespace

TEST(Config, ReadsEveryTable) {
  Config c;
  load_text(c,
            "[model]\npreset = \"paper\"\n"
            "[data]\ndir = \"/d\"\num_per_px = 2\npatch_px = 1129\naugment = false\n"
            "[train]\nstage = \"ce\"\nbatch_size = 4096\nlr = 0.32\nseed = 7\n",
            "a.toml");
  EXPECT_EQ(c.model.preset, ModelPreset::paper);
  EXPECT_EQ(c.data.dir, "/d");
  EXPECT_EQ(c.data.um_per_px, 2.0);  // an integer is accepted for a number key
  EXPECT_EQ(c.data.patch_px, 1129);
  EXPECT_FALSE(c.data.augment);
  EXPECT_EQ(c.train.stage, Stage::ce);
  EXPECT_EQ(c.train.batch_size, 4096);
  EXPECT_EQ(c.train.lr, 0.32);
  EXPECT_EQ(c.train.seed, 7);
  EXPECT_EQ(c.train.temperature, 0.07);  // untouched keys keep their defaults
}

TEST(Config, UnknownKeyNamesKeyAndFile) {
  Config c;
  auto e = error_of([&] { load_text(c, "[train]\nlearning_rate = 0.1\n", "my.toml"); });
  expect_contains(e, "my.toml");
  expect_contains(e, "train.learning_rate");
  expect_contains(e, "lr");  // lists the keys that do exist
}

TEST(Config, UnknownTableIsAnError) {
  Config c;
  auto e = error_of([&] { load_text(c, "[optim]\nlr = 0.1\n", "my.toml"); });
  expect_contains(e, "my.toml");
  expect_contains(e, "[optim]");
  auto e2 = error_of([&] { load_text(c, "lr = 0.1\n", "my.toml"); });
  expect_contains(e2, "unknown key lr");
}

TEST(Config, WrongTypeNamesExpectedType) {
  Config c;
  auto e = error_of([&] { load_text(c, "[train]\nbatch_size = \"big\"\n", "t.toml"); });
  expect_contains(e, "t.toml");
  expect_contains(e, "train.batch_size");
  expect_contains(e, "an integer");
  expect_contains(e, "got a string");
  auto e2 = error_of([&] { load_text(c, "[train]\nbatch_size = 64.5\n", "t.toml"); });
  expect_contains(e2, "got a float");
  auto e3 = error_of([&] { load_text(c, "[data]\naugment = 1\n", "t.toml"); });
  expect_contains(e3, "data.augment must be a boolean");
}

TEST(Config, BadEnumValueListsChoices) {
  Config c;
  auto e = error_of([&] { load_text(c, "[train]\nstage = \"simclr\"\n", "t.toml"); });
  expect_contains(e, "train.stage");
  expect_contains(e, "supcon|linear|ce");
  expect_contains(e, "\"simclr\"");
  auto e2 = error_of([&] { apply_override(c, parse_override("train.precision=fp16")); });
  expect_contains(e2, "--set train.precision=fp16");
  expect_contains(e2, "fp32|tf32|bf16");
}

// Every choice key is read into its enum and written back under the same name; a program's flag
// of the same kind fails naming the flag, the value and the alternatives.
TEST(Config, ChoiceKeysReadIntoEnumsAndBack) {
  Config c;
  load_text(c,
            "[data]\ndir = \"/d\"\nextractor = \"gpu\"\n"
            "[train]\nstage = \"linear\"\ninit = \"w.safetensors\"\noptimizer = \"sgd\"\nschedule = \"cosine\"\n"
            "mode = \"fast\"\nprecision = \"bf16\"\ndevice = \"cuda\"\n",
            "e.toml");
  EXPECT_EQ(c.data.extractor, Extractor::gpu);
  EXPECT_EQ(c.train.stage, Stage::linear);
  EXPECT_EQ(c.train.optimizer, Optimizer::sgd);
  EXPECT_EQ(c.train.schedule, Schedule::cosine);
  EXPECT_EQ(c.train.mode, cytocon::ReduceMode::fast);
  EXPECT_EQ(c.train.precision, cytocon::Precision::bf16);
  EXPECT_EQ(c.train.device, DeviceChoice::cuda);
  resolve(c);
  // Each key as written back for c and for the defaults.
  const std::vector<std::array<const char*, 3>> written = {
      {"extractor", "gpu", "auto"},   {"stage", "linear", "supcon"},  {"optimizer", "sgd", "lars"},
      {"schedule", "cosine", "constant"}, {"mode", "fast", "deterministic"}, {"precision", "bf16", "fp32"},
      {"device", "cuda", "auto"}};
  const std::string text = to_toml(c), defaults = to_toml(Config{});
  for (const auto& [key, value, default_value] : written) {
    expect_contains(text, std::string(key) + " = \"" + value + "\"\n");
    expect_contains(defaults, std::string(key) + " = \"" + default_value + "\"\n");
  }
  for (cytocon::Precision p : {cytocon::Precision::fp32, cytocon::Precision::tf32, cytocon::Precision::bf16})
    EXPECT_EQ(parse_choice<cytocon::Precision>("--precision", name(p)), p);
  EXPECT_EQ(parse_choice<cytocon::ReduceMode>("--mode", "fast"), cytocon::ReduceMode::fast);
  EXPECT_EQ(parse_choice<cytocon::Device>("--device", "cuda"), cytocon::Device::cuda);
  EXPECT_EQ(error_of([] { parse_choice<cytocon::Precision>("--precision", "fp16"); }),
            "--precision fp16: expected fp32, tf32 or bf16");
  EXPECT_EQ(error_of([] { parse_choice<cytocon::ReduceMode>("--mode", "quick"); }),
            "--mode quick: expected deterministic or fast");
}

TEST(Config, SyntaxErrorNamesLine) {
  Config c;
  auto e = error_of([&] { load_text(c, "[train]\nlr = = 3\n", "s.toml"); });
  expect_contains(e, "s.toml");
  expect_contains(e, "line 2");
}

TEST(Config, SetOverridesTypedValues) {
  Config c;
  apply_override(c, parse_override("train.lr=0.5"));
  apply_override(c, parse_override("train.epochs=3"));
  apply_override(c, parse_override("data.dir=/data/with spaces"));  // bare string
  apply_override(c, parse_override("train.out=\"runs/a=b\""));      // quoted string, '=' inside
  apply_override(c, parse_override("data.augment=false"));
  apply_override(c, parse_override("model.preset=paper"));
  EXPECT_EQ(c.train.lr, 0.5);
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.data.dir, "/data/with spaces");
  EXPECT_EQ(c.train.out, "runs/a=b");
  EXPECT_FALSE(c.data.augment);
  EXPECT_EQ(c.model.preset, ModelPreset::paper);
}

TEST(Config, BadSetSyntax) {
  expect_contains(error_of([] { parse_override("train.lr"); }), "expected table.key=value");
  expect_contains(error_of([] { parse_override("lr=0.1"); }), "table.key");
  expect_contains(error_of([] { parse_override(".lr=0.1"); }), "table.key");
  expect_contains(error_of([] { parse_override("train.=0.1"); }), "table.key");
  expect_contains(error_of([] { parse_override("train.lr="); }), "value is empty");
  Config c;
  auto e = error_of([&] { apply_override(c, parse_override("train.epochs=ten")); });
  expect_contains(e, "--set train.epochs=ten");
  expect_contains(e, "train.epochs must be an integer");
  auto e2 = error_of([&] { apply_override(c, parse_override("train.lrr=1")); });
  expect_contains(e2, "unknown key train.lrr");
  auto e3 = error_of([&] { apply_override(c, parse_override("optim.lr=1")); });
  expect_contains(e3, "tables: model, data, train");
}

TEST(Config, ResolveDerivesLrAndShards) {
  Config c;
  c.data.dir = "/d";
  c.train.batch_size = 4096;
  resolve(c);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.32);  // 0.01·N/128
  EXPECT_EQ(c.train.shards, 32);
  Config s;
  s.data.dir = "/d";
  s.train.batch_size = 24;  // 8·3: the largest power of two dividing 24 is 8
  resolve(s);
  EXPECT_EQ(s.train.shards, 8);
}

TEST(Config, ResolveRejectsInconsistentValues) {
  Config c;
  c.data.dir = "/d";
  c.train.shards = 6;
  expect_contains(error_of([&] { resolve(c); }), "power of two");
  c.train.shards = 64;
  c.train.batch_size = 32;
  expect_contains(error_of([&] { resolve(c); }), "must divide train.batch_size");
  Config l;
  l.data.dir = "/d";
  l.train.stage = Stage::linear;
  expect_contains(error_of([&] { resolve(l); }), "train.init");
  Config e;
  expect_contains(error_of([&] { resolve(e); }), "data.dir");
  Config g;
  g.data.dir = "/d";
  g.data.extractor = Extractor::gpu;
  g.train.device = DeviceChoice::cpu;
  expect_contains(error_of([&] { resolve(g); }), "data.extractor = \"gpu\" needs train.device = \"cuda\"");
  g.data.extractor = Extractor::automatic;
  g.data.gpu_cache_gb = 0;
  expect_contains(error_of([&] { resolve(g); }), "data.gpu_cache_gb = 0: expected a finite number in (0, 4096]");
  g.data.gpu_cache_gb = 8;
  g.data.tile_cache_gb = -1;
  expect_contains(error_of([&] { resolve(g); }), "data.tile_cache_gb = -1: expected a finite number in [0, 1000000]");
}

// Issue 17: no number reaches the arithmetic as inf, NaN or outside its documented range, whether
// it comes from a file, from --set or from code; the error names the source, the key and the value.
TEST(Config, EveryNumberIsFiniteAndInItsRange) {
  Config c;
  const std::vector<std::string> keys = all_keys();
  for (const char* key : {"data.um_per_px", "data.spacing_um", "data.test_fraction", "data.gpu_cache_gb", "data.tile_cache_gb", "data.background",
                          "train.lr", "train.temperature", "train.weight_decay", "train.momentum", "train.eta",
                          "train.warmup_epochs"}) {
    ASSERT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
    for (const char* bad : {"inf", "-inf", "nan", "1e308", "-1e308"}) {
      const std::string e = error_of([&] { apply_override(c, parse_override(std::string(key) + "=" + bad)); });
      expect_contains(e, "--set " + std::string(key) + "=" + bad + ": " + key + " = ");
      expect_contains(e, "expected a finite number in");
    }
  }
  const std::string f = error_of([&] { load_text(c, "[data]\num_per_px = 4000.0\n", "run.toml"); });
  expect_contains(f, "config run.toml: data.um_per_px = 4000: expected a finite number in (0, 100]");
  expect_contains(error_of([&] { apply_override(c, parse_override("train.epochs=9223372036854775807")); }),
                  "train.epochs = 9223372036854775807: expected an integer in [1, 1000000]");
  expect_contains(error_of([&] { apply_override(c, parse_override("data.threads=-1")); }), "data.threads = -1");
  // Non-ASCII outside strings and comments is refused before toml++ 3.3 reaches undefined
  // behaviour on it (found by fuzz/fuzz_config.cpp); inside them it is fine.
  expect_contains(error_of([&] { load_text(c, "[data]\n\xc3\xa9 = 1\n", "u.toml"); }),
                  "config u.toml: line 2, column 1: a non-ASCII character outside a string or comment");
  expect_contains(error_of([&] { apply_override(c, parse_override("train.lr=\xc3\xa9")); }), "non-ASCII");
  expect_contains(error_of([&] { load_text(c, "[data]\ndir = \"\"\"/a\\\n  \xef\xbb\xbe/b\"\"\"\n", "u.toml"); }),
                  "config u.toml: line 3: a non-ASCII character right after a line-ending backslash");
  expect_contains(error_of([&] { load_text(c, "[data]\ndir = \"\"\"/a\\\xef\xbb\xbf /b\"\"\"\n", "u.toml"); }),
                  "config u.toml: line 2, column 12: a backslash followed by a non-ASCII character");
  expect_contains(error_of([&] { load_text(c, "[data]\ndir = \"/a\\\xc3\xa9\"\n", "u.toml"); }),
                  "a backslash followed by a non-ASCII character");
  // A quote inside a bad bare value opens no string (toml++ reads on outside one).
  expect_contains(error_of([&] { load_text(c, "[train]\nlr = 0x'\xef\xbb\xbe'\n", "u.toml"); }),
                  "config u.toml: line 2, column 9: a non-ASCII character outside a string");
  expect_contains(error_of([&] { apply_override(c, parse_override("train.lr=0x'\xef\xbb\xbe'")); }), "non-ASCII");
  load_text(c, "[data]\ndir = '/caf\xc3\xa9'\n[train]\nstage = \"ce\"\n", "u.toml");
  EXPECT_EQ(c.data.dir, "/caf\xc3\xa9");
  // toml++ never sees a code point of [U+00A0, U+FEFF] (config.cpp, shield): strings keep them.
  load_text(c, "[data]\ndir = \"/a\xef\xbb\xbe\xc2\xa0\xe3\x80\x80\"\n", "u.toml");
  EXPECT_EQ(c.data.dir, "/a\xef\xbb\xbe\xc2\xa0\xe3\x80\x80");
  apply_override(c, parse_override("data.dir=/b\xef\xbb\xb7"));
  EXPECT_EQ(c.data.dir, "/b\xef\xbb\xb7");
  expect_contains(error_of([&] { load_text(c, "[data]\ndir = \"/\xf3\xb0\x80\x80\"\n", "u.toml"); }),
                  "private use plane 15");
  expect_contains(error_of([&] { apply_override(c, parse_override("train.lr=0\x03.3=\"C\xef\xbb\xb7\"")); }),
                  "train.lr must be");
  load_text(c, "# caf\xc3\xa9\n[data]\ndir = \"/caf\xc3\xa9\" # \xc3\xa9\n", "u.toml");
  EXPECT_EQ(c.data.dir, "/caf\xc3\xa9");
  Config code;  // set by code, caught by resolve
  code.data.dir = "/d";
  code.train.lr = std::numeric_limits<double>::quiet_NaN();
  expect_contains(error_of([&] { resolve(code); }), "config: train.lr = nan");
}

TEST(Config, ResolvedTomlReadsBack) {
  Config c;
  c.data.dir = "/data/\"quoted\"";
  c.train.lr = 0.1;  // not exactly representable: must round-trip bit for bit
  c.train.weight_decay = 1e-6;
  c.data.augment = false;
  resolve(c);
  std::string text = to_toml(c);
  Config r;
  load_text(r, text, "config.toml");
  EXPECT_EQ(to_toml(r), text);
  EXPECT_EQ(r.train.lr, c.train.lr);
  EXPECT_EQ(r.train.weight_decay, 1e-6);
  EXPECT_EQ(r.data.dir, c.data.dir);
  EXPECT_EQ(r.train.shards, c.train.shards);
  EXPECT_NE(text.find("spacing_um = 100.0\n"), std::string::npos) << text;  // integral: no exponent
  EXPECT_NE(text.find("lr = 0.1\n"), std::string::npos) << text;            // shortest round trip
  EXPECT_EQ(all_keys().size(), static_cast<size_t>(std::count(text.begin(), text.end(), '=')));
}

TEST(Config, ShippedConfigsParse) {
  for (const char* name : {"paper.toml", "demo.toml"}) {
    Config c;
    load_file(c, std::string(CYTOCON_SOURCE_DIR) + "/configs/" + name);
    c.data.dir = c.data.dir.empty() ? "/d" : c.data.dir;
    resolve(c);
  }
  Config p;
  load_file(p, std::string(CYTOCON_SOURCE_DIR) + "/configs/paper.toml");
  EXPECT_EQ(p.model.preset, ModelPreset::paper);
  EXPECT_EQ(p.train.batch_size, 4096);
  EXPECT_DOUBLE_EQ(p.train.lr, 0.32);
  EXPECT_EQ(p.train.temperature, 0.07);
  EXPECT_EQ(p.train.eta, 0.001);
  EXPECT_EQ(p.train.momentum, 0.9);
  EXPECT_EQ(p.train.weight_decay, 1e-6);
  EXPECT_EQ(p.data.patch_px, 1129);
  EXPECT_EQ(p.data.um_per_px, 2.0);
  EXPECT_EQ(p.data.patches_per_area, 1200);
  EXPECT_EQ(p.train.epochs, 150);
  EXPECT_EQ(p.train.optimizer, Optimizer::lars);
  EXPECT_EQ(p.train.schedule, Schedule::constant);
}

TEST(Config, MissingFileIsAnError) {
  Config c;
  expect_contains(error_of([&] { load_file(c, "/nonexistent/x.toml"); }), "/nonexistent/x.toml");
}

TEST(Config, CentrelineSourceIsAChoiceStoredWithTheRun) {
  Config c;
  EXPECT_EQ(c.data.centrelines, Centrelines::automatic);
  auto e = error_of([&] { apply_override(c, parse_override("data.centrelines=drawn")); });
  expect_contains(e, "data.centrelines");
  expect_contains(e, "auto|annotated|derived");
  expect_contains(e, "\"drawn\"");
  apply_override(c, parse_override("data.centrelines=derived"));
  c.data.dir = "/d";
  Config back;
  load_text(back, to_toml(c), "config.toml");
  EXPECT_EQ(back.data.centrelines, Centrelines::derived);
}
