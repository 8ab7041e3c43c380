// safetensors read/write (engine/io/safetensors.h): format bytes, round trips, PyTorch layouts,
// int64 labels, and clear errors on damaged files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/rng.h"
#include "common/errors.h"

using namespace cytocon;
using namespace cytocon::io;

using cytocon::testing_util::contains;
using cytocon::testing_util::error_of;

namespace {

// A file built by hand: 8-byte little-endian header length, JSON, data.
std::string make_file(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  std::memcpy(&out[0], &n, 8);
  return out + json + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}


}  // namespace

TEST(Safetensors, ExactBytesOfASmallFile) {
  Tensor t = Tensor::from_vector<float>({1.0f, -2.0f}, {2});
  std::string b = serialize_safetensors({{"a", t}}, {{"k", "v"}});
  uint64_t n;
  std::memcpy(&n, b.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);  // data section aligned to 8 bytes
  std::string header = b.substr(8, n);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            R"({"__metadata__":{"k":"v"},"a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})");
  EXPECT_EQ(b.substr(8 + n), raw<float>({1.0f, -2.0f}));
}

TEST(Safetensors, RoundTripEveryDtypeAndMetadata) {
  std::vector<NamedTensor> in = {
      {"w", Tensor::from_vector<float>({1.5f, -2.25f, 3.0f, 4.0f, 5.0f, 6.0f}, {2, 3})},
      {"d", Tensor::from_vector<double>({1e-300, -7.0}, {2})},
      {"i", Tensor::from_vector<int32_t>({-5, 7, 2147483647}, {3})},
      {"u", Tensor::from_vector<uint8_t>({0, 255}, {1, 2})},
      {"h", Tensor::from_vector<uint16_t>({65535}, {1, 1, 1, 1})},
      {"empty", Tensor::zeros({0, 4})},
      {"b", Tensor::from_vector<float>({1.0f, -0.375f, 3.0e38f}, {3}).to(DType::bf16)},
  };
  std::string b = serialize_safetensors(in, {{"config", "a = \"checksum\"\n"}, {"x", ""}});
  SafeTensors st = parse_safetensors(b, "mem");
  EXPECT_EQ(st.metadata.at("config"), "a = \"checksum\"\n");
  EXPECT_EQ(st.metadata.at("x"), "");
  ASSERT_EQ(st.tensors.size(), in.size());
  EXPECT_EQ(st.get("w").shape(), (Shape{2, 3}));
  EXPECT_EQ(st.get("w").to_vector<float>(), in[0].value.to_vector<float>());
  EXPECT_EQ(st.get("d").to_vector<double>(), in[1].value.to_vector<double>());
  EXPECT_EQ(st.get("i").to_vector<int32_t>(), in[2].value.to_vector<int32_t>());
  EXPECT_EQ(st.get("u").to_vector<uint8_t>(), in[3].value.to_vector<uint8_t>());
  EXPECT_EQ(st.get("h").to_vector<uint16_t>(), in[4].value.to_vector<uint16_t>());
  EXPECT_EQ(st.get("empty").shape(), (Shape{0, 4}));
  EXPECT_EQ(st.get("b").dtype(), DType::bf16);  // "BF16", PyTorch's name
  EXPECT_EQ(st.get("b").to(DType::f32).to_vector<float>(), in[6].value.to(DType::f32).to_vector<float>());
  EXPECT_TRUE(contains(error_of([&] { st.get("nope"); }), "mem: no tensor 'nope'"));

  const std::string path = ::testing::TempDir() + "/cytocon_st_" + std::to_string(::getpid()) + ".safetensors";
  write_safetensors(path, in);
  SafeTensors f = read_safetensors(path);
  EXPECT_EQ(f.origin, path);
  EXPECT_EQ(f.get("w").to_vector<float>(), in[0].value.to_vector<float>());
  std::remove(path.c_str());
}

TEST(Safetensors, ReadsInt64LabelsAsInt32AndScalars) {
  std::string data = raw<int64_t>({3, -1, 112});
  std::string f = make_file(R"({"y":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},"s":{"dtype":"F32","shape":[],"data_offsets":[24,28]}})",
                            data + raw<float>({0.5f}));
  SafeTensors st = parse_safetensors(f, "labels.safetensors");
  EXPECT_EQ(st.get("y").dtype(), DType::i32);
  EXPECT_EQ(st.get("y").to_vector<int32_t>(), (std::vector<int32_t>{3, -1, 112}));
  EXPECT_EQ(st.get("s").numel(), 1);
  EXPECT_EQ(st.get("s").to_vector<float>()[0], 0.5f);
  std::string big = make_file(R"({"y":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", raw<int64_t>({1ll << 40}));
  EXPECT_TRUE(contains(error_of([&] { parse_safetensors(big, "b"); }), "does not fit int32"));
}

TEST(Safetensors, PyTorchLayoutConversion) {
  // OHWI [2,3,3,4] → OIHW [2,4,3,3]: out[o,c,p,q] = in[o,p,q,c].
  std::vector<float> v(2 * 3 * 3 * 4);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor ohwi = Tensor::from_vector(v, {2, 3, 3, 4});
  Tensor oihw = pytorch_layout(ohwi);
  ASSERT_EQ(oihw.shape(), (Shape{2, 4, 3, 3}));
  for (int o = 0; o < 2; ++o)
    for (int c = 0; c < 4; ++c)
      for (int p = 0; p < 3; ++p)
        for (int q = 0; q < 3; ++q)
          ASSERT_EQ(oihw.data<float>()[((o * 4 + c) * 3 + p) * 3 + q], ohwi.data<float>()[((o * 3 + p) * 3 + q) * 4 + c]);
  EXPECT_EQ(channels_last(oihw).to_vector<float>(), v);
  Tensor lin = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(pytorch_layout(lin).same(lin));  // 2-D: unchanged
}

TEST(Safetensors, DamagedFilesGiveClearErrors) {
  const std::string good_json = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = raw<float>({1, 2});
  auto err = [](const std::string& bytes) { return error_of([&] { parse_safetensors(bytes, "f.safetensors"); }); };
  EXPECT_EQ(err(make_file(good_json, data)), "");
  std::string e = err("abc");
  EXPECT_TRUE(contains(e, "f.safetensors") && contains(e, "truncated")) << e;
  std::string whole = make_file(good_json, data);
  e = err(whole.substr(0, 20));
  EXPECT_TRUE(contains(e, "f.safetensors") && contains(e, "truncated") && contains(e, "header")) << e;
  e = err(whole.substr(0, whole.size() - 1));
  EXPECT_TRUE(contains(e, "tensor 'a'") && contains(e, "truncated")) << e;
  e = err(whole + "xx");
  EXPECT_TRUE(contains(e, "trailing")) << e;
  e = err(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", data));
  EXPECT_TRUE(contains(e, "malformed JSON")) << e;
  e = err(make_file(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", data.substr(0, 4)));
  EXPECT_TRUE(contains(e, "unsupported dtype F16")) << e;
  e = err(make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data));
  EXPECT_TRUE(contains(e, "needs 12")) << e;
  e = err(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                    data));
  EXPECT_TRUE(contains(e, "overlaps")) << e;
  e = err(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data));
  EXPECT_TRUE(contains(e, "hole")) << e;
  e = err(make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data));
  EXPECT_TRUE(contains(e, "negative")) << e;
  e = err(make_file(R"({"a":{"dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8]}})", data));
  EXPECT_TRUE(contains(e, "rank 5")) << e;
  e = err(make_file(R"({"__metadata__":{"k":3}})", ""));
  EXPECT_TRUE(contains(e, "__metadata__['k']")) << e;
  std::string huge(8, '\xff');
  e = err(huge);
  EXPECT_TRUE(contains(e, "implausible")) << e;
  e = error_of([] { read_safetensors("/nonexistent/dir/x.safetensors"); });
  EXPECT_TRUE(contains(e, "/nonexistent/dir/x.safetensors")) << e;
  e = error_of([] { serialize_safetensors({{"a", Tensor::zeros({1})}, {"a", Tensor::zeros({1})}}); });
  EXPECT_TRUE(contains(e, "duplicate")) << e;
}

TEST(Safetensors, MutatedFilesNeverCrash) {
  // Random byte edits and truncations of a valid file: each either parses (consistently) or
  // fails with a runtime_error; never a crash, hang or other exception type.
  std::string good = serialize_safetensors({{"w", Tensor::full({3, 4}, 0.5)}, {"y", Tensor::from_vector<int32_t>({1, 2}, {2})}},
                                           {{"format", "x"}});
  const Rng rng(17, Purpose::test, 7);
  int parsed = 0, rejected = 0;
  for (uint32_t t = 0; t < 3000; ++t) {
    std::string b = good;
    const uint32_t edits = 1 + rng.below(4 * t, 3);
    for (uint32_t e = 0; e < edits; ++e)
      b[rng.below(4 * t + 1 + e, static_cast<uint32_t>(b.size()))] = static_cast<char>(rng.below(4 * t + 2 + e, 256));
    if (t % 5 == 0) b.resize(rng.below(4 * t + 3, static_cast<uint32_t>(b.size())));
    try {
      SafeTensors st = parse_safetensors(b, "mutant");
      for (const auto& nt : st.tensors) EXPECT_LE(nt.value.nbytes(), b.size());
      ++parsed;
    } catch (const std::runtime_error& err) {
      EXPECT_TRUE(contains(err.what(), "mutant")) << err.what();
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 100);
  EXPECT_GT(parsed, 10);  // edits inside the data section are not detectable without a checksum
}

TEST(AtomicFile, ReplacesWholeFileAndLeavesNoTemporaries) {
  std::string tmpl = ::testing::TempDir() + "/cytocon_atomic_XXXXXX";  // fresh, even if a pid repeats
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl;
  const std::string dir = tmpl;
  const std::string path = dir + "/f.bin";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second, longer");
  EXPECT_EQ(read_file(path), "second, longer");
  // Only f.bin remains in the directory.
  std::string listing;
  FILE* p = ::popen(("ls -A " + dir).c_str(), "r");
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) listing += buf;
  ::pclose(p);
  EXPECT_EQ(listing, "f.bin\n");
  std::string e = error_of([&] { write_file_atomic(dir + "/no/such/dir/f", "x"); });
  EXPECT_TRUE(contains(e, "no/such/dir") && contains(e, "open")) << e;
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}
