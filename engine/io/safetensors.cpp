#include "engine/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors IO assumes a little-endian host");

namespace cytocon::io {

namespace {

using json = nlohmann::json;

const char* st_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::u8: return "U8";
    case DType::u16: return "U16";
    case DType::i32: return "I32";
    case DType::bf16: return "BF16";
  }
  return "?";
}

// File dtype → (in-memory dtype, bytes per element in the file). I64 is narrowed to int32.
bool parse_dtype(const std::string& s, DType* dt, size_t* file_size) {
  static const struct { const char* name; DType dt; size_t size; } table[] = {
      {"F32", DType::f32, 4}, {"F64", DType::f64, 8}, {"U8", DType::u8, 1},
      {"U16", DType::u16, 2}, {"I32", DType::i32, 4}, {"I64", DType::i32, 8}, {"BF16", DType::bf16, 2}};
  for (const auto& e : table)
    if (s == e.name) {
      *dt = e.dt;
      *file_size = e.size;
      return true;
    }
  return false;
}

uint64_t read_le64(const char* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

// Permute a 4-D tensor: out[a, perm...] with element copies of `esize` bytes.
// to_pytorch: [A,H,W,C] → [A,C,H,W]; else [A,C,H,W] → [A,H,W,C].
Tensor permute4(const Tensor& t, bool to_pytorch) {
  check(t.device() == Device::cpu, "layout conversion: tensor must be on the cpu");
  const Shape& s = t.shape();
  Shape out_shape = to_pytorch ? Shape{s[0], s[3], s[1], s[2]} : Shape{s[0], s[2], s[3], s[1]};
  Tensor out = Tensor::empty(out_shape, t.dtype(), Device::cpu);
  const size_t es = dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  // Channels-last dims (A,H,W,C) and PyTorch dims (A,C,H,W).
  const int64_t A = s[0];
  const int64_t H = to_pytorch ? s[1] : s[2], W = to_pytorch ? s[2] : s[3], C = to_pytorch ? s[3] : s[1];
  for (int64_t a = 0; a < A; ++a)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          int64_t cl = ((a * H + h) * W + w) * C + c;  // channels-last index
          int64_t pt = ((a * C + c) * H + h) * W + w;  // PyTorch index
          if (to_pytorch)
            std::memcpy(dst + pt * es, src + cl * es, es);
          else
            std::memcpy(dst + cl * es, src + pt * es, es);
        }
  return out;
}

}  // namespace

const Tensor* SafeTensors::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t.value;
  return nullptr;
}

const Tensor& SafeTensors::get(const std::string& name) const {
  const Tensor* t = find(name);
  if (!t) fail(origin + ": no tensor '" + name + "'");
  return *t;
}

std::string serialize_safetensors(const std::vector<NamedTensor>& tensors, const Metadata& metadata) {
  json header = json::object();
  uint64_t offset = 0;
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  for (const auto& nt : tensors) {
    check(!nt.name.empty() && nt.name != "__metadata__",
          "safetensors: invalid tensor name '" + nt.name + "'");
    check(nt.value.defined(), "safetensors: tensor '" + nt.name + "' is undefined");
    check(!header.contains(nt.name), "safetensors: duplicate tensor name '" + nt.name + "'");
    json shape = json::array();
    for (auto d : nt.value.shape()) shape.push_back(d);
    uint64_t bytes = nt.value.nbytes();
    header[nt.name] = {{"dtype", st_dtype(nt.value.dtype())}, {"shape", shape},
                       {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    host.push_back(nt.value.to(Device::cpu));
  }
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // align the data section to 8 bytes
  std::string out;
  out.reserve(8 + text.size() + offset);
  uint64_t n = text.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += text;
  for (const auto& t : host) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

namespace {

// The JSON header after the 8-byte length, and where the data section starts; `where` prefixes
// errors.
json read_header(const std::string& bytes, const std::string& where, uint64_t* data_start) {
  if (bytes.size() < 8)
    fail(where + "truncated: " + std::to_string(bytes.size()) + " bytes, the 8-byte header length is missing");
  uint64_t hlen = read_le64(bytes.data());
  if (hlen > 100u * 1024 * 1024)
    fail(where + "header length " + std::to_string(hlen) + " at offset 0 is implausible (corrupt file?)");
  if (8 + hlen > bytes.size())
    fail(where + "truncated: header of " + std::to_string(hlen) + " bytes declared at offset 0, but the file has only " +
         std::to_string(bytes.size()) + " bytes");
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(hlen));
  } catch (const std::exception& e) {
    fail(where + "malformed JSON header (bytes 8.." + std::to_string(8 + hlen) + "): " + e.what());
  }
  if (!header.is_object()) fail(where + "JSON header is not an object");
  *data_start = 8 + hlen;
  return header;
}

// Where a tensor's bytes lie in the data section.
struct Span {
  uint64_t begin, end;
  std::string name;
};

// Tensor `name` of the header (entry v), read from the data section at data_start of `bytes`;
// its span is appended to `spans`. `where` prefixes errors.
Tensor read_tensor(const std::string& name, const json& v, const std::string& bytes, uint64_t data_start,
                   const std::string& where, std::vector<Span>& spans) {
  const uint64_t data_size = bytes.size() - data_start;
  const std::string tw = where + "tensor '" + name + "': ";
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
    fail(tw + "expected an object with dtype, shape and data_offsets");
  if (!v["dtype"].is_string()) fail(tw + "dtype is not a string");
  std::string dts = v["dtype"].get<std::string>();
  DType dt;
  size_t fsize;
  if (!parse_dtype(dts, &dt, &fsize)) fail(tw + "unsupported dtype " + dts + " (expected F32, F64, I32, I64, U8 or U16)");
  const json& js = v["shape"];
  if (!js.is_array()) fail(tw + "shape is not an array");
  if (js.size() > 4) fail(tw + "rank " + std::to_string(js.size()) + " (at most 4-D supported)");
  Shape shape;
  uint64_t numel = 1;
  for (const auto& d : js) {
    if (!d.is_number_unsigned()) fail(tw + "shape " + js.dump() + " has a non-integer or negative entry");
    uint64_t x = d.get<uint64_t>();
    if (x > (1ull << 40)) fail(tw + "shape entry " + std::to_string(x) + " is implausible");
    shape.push_back(static_cast<int64_t>(x));
    if (x != 0 && numel > (1ull << 40) / x) fail(tw + "shape " + js.dump() + " is implausibly large (over 2^40 elements)");
    numel *= x;
  }
  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    fail(tw + "data_offsets must be two non-negative integers, got " + off.dump());
  uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
  if (e < b) fail(tw + "data_offsets " + off.dump() + " end before they begin");
  if (e > data_size)
    fail(tw + "truncated: data ends at file offset " + std::to_string(data_start + e) + " but the file has only " +
         std::to_string(bytes.size()) + " bytes");
  if (e - b != numel * fsize)
    fail(tw + "data_offsets " + off.dump() + " span " + std::to_string(e - b) + " bytes, but " + dts + " " +
         shape_str(shape) + " needs " + std::to_string(numel * fsize));
  spans.push_back({b, e, name});
  Tensor t = Tensor::empty(shape, dt, Device::cpu);
  const char* src = bytes.data() + data_start + b;
  if (dts == "I64") {
    int32_t* dst = t.data<int32_t>();
    for (uint64_t i = 0; i < numel; ++i) {
      int64_t x;
      std::memcpy(&x, src + 8 * i, 8);
      if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
        fail(tw + "I64 value " + std::to_string(x) + " at element " + std::to_string(i) + " does not fit int32");
      dst[i] = static_cast<int32_t>(x);
    }
  } else if (numel) {
    std::memcpy(t.raw(), src, e - b);
  }
  return t;
}

// The spans in file order, which must tile the data section exactly (no overlap, no hole), as
// the reference reader checks.
std::vector<size_t> check_tiling(const std::vector<Span>& spans, uint64_t data_size, const std::string& where) {
  std::vector<size_t> order(spans.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return spans[a].begin != spans[b].begin ? spans[a].begin < spans[b].begin : spans[a].end < spans[b].end;
  });
  uint64_t pos = 0;
  for (size_t i : order) {
    if (spans[i].begin != pos)
      fail(where + "tensor '" + spans[i].name + "' data begins at " + std::to_string(spans[i].begin) + ", expected " +
           std::to_string(pos) + (spans[i].begin < pos ? " (overlaps the previous tensor)" : " (hole in the data)"));
    pos = spans[i].end;
  }
  if (pos != data_size)
    fail(where + "the data section has " + std::to_string(data_size) + " bytes but the tensors cover " +
         std::to_string(pos) + " (trailing garbage or wrong offsets)");
  return order;
}

}  // namespace

SafeTensors parse_safetensors(const std::string& bytes, const std::string& origin) {
  const std::string where = origin + ": safetensors: ";
  uint64_t data_start = 0;
  const json header = read_header(bytes, where, &data_start);
  SafeTensors st;
  st.origin = origin;
  std::vector<Span> spans;
  std::vector<NamedTensor> found;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(where + "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(where + "__metadata__['" + m.key() + "'] is not a string");
        st.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    found.push_back({name, read_tensor(name, v, bytes, data_start, where, spans)});
  }
  for (size_t i : check_tiling(spans, bytes.size() - data_start, where)) st.tensors.push_back(std::move(found[i]));
  return st;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, const Metadata& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

SafeTensors read_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

Tensor pytorch_layout(const Tensor& t) { return t.ndim() == 4 ? permute4(t, true) : t; }
Tensor channels_last(const Tensor& t) { return t.ndim() == 4 ? permute4(t, false) : t; }

}  // namespace cytocon::io
