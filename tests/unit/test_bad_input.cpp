// The shared pieces of issue 17 ("Nothing crashes, nothing is overwritten, nothing is silently
// ignored"): the range check of every incoming number, the regular-file check of every input, the
// output-directory rule of every writer, and the model's record of what it was trained with.
// End to end, through the programs, these are exercised by tests/hostile (cases.tsv).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "common/errors.h"
#include "common/scratch.h"
#include "engine/io/atomic_file.h"
#include "engine/io/output_dir.h"
#include "engine/tensor.h"
#include "engine/validate.h"
#include "models/provenance.h"

using namespace cytocon;
using testing_util::contains;
using testing_util::error_of;
namespace fs = std::filesystem;

namespace {
std::string scratch_dir(const std::string& name) {
  fs::path p = testing_util::scratch() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}
void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

TEST(Validate, NumbersAreFiniteAndInRange) {
  const Range r{0, 100, true};
  EXPECT_EQ(checked_number(2.0, r, "x"), 2.0);
  EXPECT_EQ(checked_number(100.0, r, "x"), 100.0);
  EXPECT_EQ(error_of([&] { checked_number(0.0, r, "config a.toml: data.um_per_px", "um"); }),
            "config a.toml: data.um_per_px = 0: expected a finite number in (0, 100] (um)");
  for (double bad : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN(), 1e308, -1.0, 100.5})
    EXPECT_TRUE(contains(error_of([&] { checked_number(bad, r, "k"); }), "k = " + number_text(bad) + ": expected"))
        << bad;
  EXPECT_EQ(number_text(1e308), "1e+308");
  EXPECT_EQ(number_text(4000), "4000");
  EXPECT_EQ(number_text(0.07), "0.07");
  EXPECT_EQ(error_of([&] { checked_integer(-1, 0, 10, "data.threads"); }),
            "data.threads = -1: expected an integer in [0, 10]");
}

TEST(Validate, SizesAreCheckedBeforeAllocation) {
  EXPECT_EQ(checked_bytes("a batch", 4, {2, 3}), 24u);
  EXPECT_TRUE(contains(error_of([] { checked_bytes("a batch", 4, {1ull << 32, 1ull << 32}); }), "more than 2^64 bytes"));
  EXPECT_TRUE(contains(error_of([] { checked_bytes("a batch", 4, {1000, 1000}, 1000); }), "a batch of 1000 x 1000"));
  // A host tensor larger than the machine's memory: an error naming its shape, not std::bad_alloc.
  const std::string e = error_of([] { Tensor::empty({1 << 20, 1 << 20, 1 << 10, 4}, DType::f32); });
  EXPECT_TRUE(contains(e, "[1048576,1048576,1024,4]")) << e;
}

TEST(InputFile, OnlyRegularFilesAreRead) {
  const std::string d = scratch_dir("input");
  write(d + "/ok.txt", "hello");
  EXPECT_EQ(io::read_file(d + "/ok.txt"), "hello");
  EXPECT_EQ(error_of([&] { io::read_file(d + "/missing"); }), d + "/missing: not found");
  EXPECT_EQ(error_of([&] { io::read_file(d); }), d + ": not a regular file (a directory)");
  ASSERT_EQ(::mkfifo((d + "/fifo").c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { io::read_file(d + "/fifo"); }), d + "/fifo: not a regular file (a FIFO)");  // no hang
  EXPECT_EQ(error_of([] { io::require_regular_file("/dev/zero", "image"); }),
            "image /dev/zero: not a regular file (a character device)");
}

TEST(OutputDir, AnotherRunsFilesAreRefusedUnlessOverwriteIsGiven) {
  const std::string d = scratch_dir("out");
  const std::vector<std::string> outputs = {"final.safetensors", "log.jsonl", "checkpoints/"};
  // New, empty, or holding only files the writer does not write: fine.
  io::claim_output_dir(d + "/new/sub", outputs, false, "hint");
  EXPECT_TRUE(fs::is_directory(d + "/new/sub"));
  write(d + "/new/sub/notes.txt", "mine");
  fs::create_directories(d + "/new/sub/checkpoints");  // empty: nothing to lose
  io::claim_output_dir(d + "/new/sub", outputs, false, "hint");
  // A finished run: refused, naming what is there; nothing is touched.
  write(d + "/new/sub/final.safetensors", "weights");
  write(d + "/new/sub/checkpoints/step-1.safetensors", "ckpt");
  EXPECT_EQ(error_of([&] { io::claim_output_dir(d + "/new/sub", outputs, false, "give --overwrite"); }),
            d + "/new/sub already holds final.safetensors, checkpoints/: give --overwrite");
  EXPECT_EQ(io::read_file(d + "/new/sub/final.safetensors"), "weights");
  // --overwrite: the writer's own outputs go, the user's other files stay.
  io::claim_output_dir(d + "/new/sub", outputs, true, "hint");
  EXPECT_FALSE(fs::exists(d + "/new/sub/final.safetensors"));
  EXPECT_FALSE(fs::exists(d + "/new/sub/checkpoints"));
  EXPECT_EQ(io::read_file(d + "/new/sub/notes.txt"), "mine");
  // Not a directory.
  write(d + "/file", "x");
  EXPECT_EQ(error_of([&] { io::claim_output_dir(d + "/file", outputs, true, "hint"); }),
            d + "/file: exists and is not a directory");
  EXPECT_EQ(error_of([&] { io::claim_output_file(d + "/file", false, "choose another"); }),
            d + "/file already exists: choose another");
  io::claim_output_file(d + "/file", true, "");
  EXPECT_TRUE(contains(error_of([&] { io::claim_output_file(d, true, ""); }), "exists and is not a regular file"));
}

TEST(TrainedWith, RoundTripsThroughMetadataAndNamesEveryDifference) {
  models::TrainedWith t;
  t.classes = {"hOc1", "hOc2", "FG1"};
  t.preset = "tiny";
  t.um_per_px = 2;
  t.patch_px = 561;
  t.dataset = "/data/bigbrain";
  const models::TrainedWith back = models::read_trained_with(models::trained_with_metadata(t), "w.safetensors");
  EXPECT_EQ(back.classes, t.classes);
  EXPECT_EQ(back.preset, "tiny");
  EXPECT_EQ(back.um_per_px, 2.0);
  EXPECT_EQ(back.patch_px, 561);
  EXPECT_EQ(back.dataset, t.dataset);

  models::TrainedWith same;
  same.classes = t.classes;
  models::check_trained_with(t, same, "w", "d/labels.txt");  // no error
  models::check_trained_with(t, models::TrainedWith{}, "w", "nothing given");
  models::TrainedWith swapped = same;
  std::swap(swapped.classes[0], swapped.classes[1]);
  swapped.um_per_px = 4;
  const std::string e = error_of([&] { models::check_trained_with(t, swapped, "w", "d/labels.txt"); });
  EXPECT_TRUE(contains(e, "w does not match: the model was trained on patches at 2 um/px, d/labels.txt gives 4")) << e;
  EXPECT_TRUE(contains(e, "class 0 is area 'hOc1' in the model, 'hOc2' here")) << e;
  models::TrainedWith other;
  other.preset = "paper";
  EXPECT_TRUE(contains(error_of([&] { models::check_trained_with(t, other, "w", "--preset"); }),
                       "the model is preset tiny, --preset asks for paper"));
  // Malformed records name the file and the key.
  EXPECT_TRUE(contains(error_of([] { models::read_trained_with({{"classes", "[1,2]"}}, "w"); }), "w: metadata 'classes'"));
  EXPECT_TRUE(contains(error_of([] { models::read_trained_with({{"um_per_px", "inf"}}, "w"); }), "w: metadata 'um_per_px'"));
}
