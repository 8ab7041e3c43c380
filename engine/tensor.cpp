#include "engine/tensor.h"

#include "engine/validate.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

namespace cytocon {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::u8: return 1;
    case DType::u16: return 2;
    case DType::i32: return 4;
    case DType::bf16: return 2;
  }
  return 0;
}
const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::bf16: return "bfloat16";
  }
  return "?";
}
uint16_t bf16_from_float(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fff;  // the canonical NaN, as the GPU's cvt.rn.bf16.f32
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}
float float_from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }
void check(bool cond, const std::string& what) {
  if (!cond) fail(what);
}

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << ']';
  return o.str();
}
int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}
void check_shape(const Tensor& t, const Shape& expected, const char* name) {
  check(t.defined(), std::string(name) + ": tensor is undefined, expected shape " + shape_str(expected));
  check(t.shape() == expected,
        std::string(name) + ": shape " + shape_str(t.shape()) + ", expected " + shape_str(expected));
}
void check_dtype(const Tensor& t, DType expected, const char* name) {
  check(t.dtype() == expected, std::string(name) + ": dtype " + dtype_name(t.dtype()) + ", expected " +
                                   dtype_name(expected));
}

// ---- allocators ------------------------------------------------------------
namespace {
class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    size_t n = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, n ? n : 64);
    if (!p) fail("out of host memory allocating " + std::to_string(bytes) + " bytes");
    return p;
  }
  void deallocate(void* p, size_t) override { std::free(p); }
  void memset_zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
};
CpuAllocator g_cpu;
Allocator* g_alloc[2] = {&g_cpu, nullptr};

void cpu_only_copy(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  check(dd == Device::cpu && sd == Device::cpu, "copy to/from cuda: this build has no CUDA backend");
  std::memcpy(dst, src, bytes);
}
CopyFn g_copy = cpu_only_copy;
}  // namespace

Allocator& allocator_for(Device d) {
  Allocator* a = g_alloc[static_cast<int>(d)];
  if (!a) fail(std::string("no allocator for device ") + device_name(d) + " (CUDA backend not available)");
  return *a;
}
void register_allocator(Device d, Allocator* a) { g_alloc[static_cast<int>(d)] = a; }
void register_copy(CopyFn fn) { g_copy = fn; }
void copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  if (bytes) g_copy(dst, dd, src, sd, bytes);
}

Storage::Storage(size_t b, Device d) : bytes(b), device(d) { ptr = allocator_for(d).allocate(b); }
Storage::~Storage() {
  if (ptr) allocator_for(device).deallocate(ptr, bytes);
}

// ---- tensor ----------------------------------------------------------------
Tensor Tensor::empty(const Shape& shape, DType dt, Device dev) {
  check(shape.size() <= 4, "tensor of rank " + std::to_string(shape.size()) + ": at most 4-D supported");
  for (auto d : shape) check(d >= 0, "negative dimension in shape " + shape_str(shape));
  // Sizes are checked before anything is allocated: a host tensor larger than the machine's memory
  // is an error naming its shape, not a std::bad_alloc or the OOM killer (docs/errors.md).
  auto what = [&] { return std::string("a ") + dtype_name(dt) + " tensor " + shape_str(shape); };
  const uint64_t bytes = checked_bytes(what().c_str(), dtype_size(dt),
                                       {shape.size() > 0 ? uint64_t(shape[0]) : 1, shape.size() > 1 ? uint64_t(shape[1]) : 1,
                                        shape.size() > 2 ? uint64_t(shape[2]) : 1, shape.size() > 3 ? uint64_t(shape[3]) : 1});
  static const uint64_t ram = physical_memory_bytes();
  if (dev == Device::cpu && ram && bytes > ram)
    fail("cannot allocate " + gib_text(bytes) + " for " + what() + ": this machine has " + gib_text(ram) + " of memory");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dt;
  try {
    impl->storage = std::make_shared<Storage>(static_cast<size_t>(bytes), dev);
  } catch (const std::bad_alloc&) {
    fail("out of memory allocating " + gib_text(bytes) + " for " + what());
  }
  return Tensor(impl);
}
Tensor Tensor::zeros(const Shape& shape, DType dt, Device dev) {
  Tensor t = empty(shape, dt, dev);
  t.zero_();
  return t;
}
Tensor Tensor::full(const Shape& shape, double value, DType dt) {
  Tensor t = empty(shape, dt, Device::cpu);
  int64_t n = t.numel();
  switch (dt) {
    case DType::f32: for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(value); break;
    case DType::f64: for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = value; break;
    case DType::u8: for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(value); break;
    case DType::u16: for (int64_t i = 0; i < n; ++i) t.data<uint16_t>()[i] = static_cast<uint16_t>(value); break;
    case DType::i32: for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(value); break;
    case DType::bf16: {
      uint16_t* p = static_cast<uint16_t*>(t.raw());
      for (int64_t i = 0; i < n; ++i) p[i] = bf16_from_float(static_cast<float>(value));
      break;
    }
  }
  return t;
}
template <class T>
Tensor Tensor::from_vector(const std::vector<T>& v, const Shape& shape) {
  check(static_cast<int64_t>(v.size()) == shape_numel(shape),
        "from_vector: " + std::to_string(v.size()) + " values for shape " + shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), Device::cpu);
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

const Shape& Tensor::shape() const { return impl_->shape; }
int Tensor::ndim() const { return static_cast<int>(impl_->shape.size()); }
int64_t Tensor::dim(int i) const {
  int n = ndim();
  if (i < 0) i += n;
  check(i >= 0 && i < n, "dim " + std::to_string(i) + " out of range for shape " + shape_str(shape()));
  return impl_->shape[i];
}
int64_t Tensor::numel() const { return shape_numel(impl_->shape); }
size_t Tensor::nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
DType Tensor::dtype() const { return impl_->dtype; }
Device Tensor::device() const { return impl_->storage->device; }
void* Tensor::raw() { return static_cast<char*>(impl_->storage->ptr) + impl_->offset; }
const void* Tensor::raw() const { return static_cast<const char*>(impl_->storage->ptr) + impl_->offset; }

template <class T> T* Tensor::data() {
  if (!impl_) throw std::logic_error("data() on an undefined tensor");
  if (impl_->dtype != dtype_of<T>())
    throw std::logic_error(std::string("data<") + dtype_name(dtype_of<T>()) + ">() on a " + dtype_name(impl_->dtype) + " tensor");
  return static_cast<T*>(raw());
}
template <class T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }
template <class T> std::vector<T> Tensor::to_vector() const {
  std::vector<T> v(static_cast<size_t>(numel()));
  (void)data<T>();  // type check
  copy_bytes(v.data(), Device::cpu, raw(), device(), nbytes());
  return v;
}

Tensor Tensor::to(Device d) const {
  if (device() == d) return *this;
  Tensor t = empty(shape(), dtype(), d);
  copy_bytes(t.raw(), d, raw(), device(), nbytes());
  return t;
}
Tensor Tensor::to(DType dt) const {
  check(device() == Device::cpu, "dtype conversion is implemented on the cpu only");
  if (dt == dtype()) return clone();
  Tensor t = empty(shape(), dt, Device::cpu);
  int64_t n = numel();
  auto get = [&](int64_t i) -> double {
    switch (dtype()) {
      case DType::f32: return data<float>()[i];
      case DType::f64: return data<double>()[i];
      case DType::u8: return data<uint8_t>()[i];
      case DType::u16: return data<uint16_t>()[i];
      case DType::i32: return data<int32_t>()[i];
      case DType::bf16: return float_from_bf16(static_cast<const uint16_t*>(raw())[i]);
    }
    return 0;
  };
  for (int64_t i = 0; i < n; ++i) {
    double x = get(i);
    switch (dt) {
      case DType::f32: t.data<float>()[i] = static_cast<float>(x); break;
      case DType::f64: t.data<double>()[i] = x; break;
      case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(x); break;
      case DType::u16: t.data<uint16_t>()[i] = static_cast<uint16_t>(x); break;
      case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(x); break;
      case DType::bf16: static_cast<uint16_t*>(t.raw())[i] = bf16_from_float(static_cast<float>(x)); break;
    }
  }
  return t;
}
Tensor Tensor::clone() const {
  Tensor t = empty(shape(), dtype(), device());
  copy_bytes(t.raw(), device(), raw(), device(), nbytes());
  return t;
}
Tensor Tensor::reshape(const Shape& s) const {
  check(shape_numel(s) == numel(), "reshape " + shape_str(shape()) + " to " + shape_str(s) + ": element count differs");
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->shape = s;
  impl->autograd = std::make_shared<AutogradMeta>();  // a new tensor: no grad slot shared with this one
  return Tensor(impl);
}
Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}
void Tensor::zero_() { allocator_for(device()).memset_zero(raw(), nbytes()); }
void Tensor::copy_from(const Tensor& src) {
  check(src.shape() == shape() && src.dtype() == dtype(),
        "copy_from: " + shape_str(src.shape()) + " " + dtype_name(src.dtype()) + " into " + shape_str(shape()) + " " +
            dtype_name(dtype()));
  copy_bytes(raw(), device(), src.raw(), src.device(), nbytes());
}

bool Tensor::requires_grad() const { return impl_ && impl_->autograd->requires_grad; }
void Tensor::set_requires_grad(bool r) { impl_->autograd->requires_grad = r; }
Tensor& Tensor::grad() { return impl_->autograd->grad; }
const Tensor& Tensor::grad() const { return impl_->autograd->grad; }
void Tensor::accumulate_grad(const Tensor& g) { grad_ref().accumulate(g); }
GradSlot Tensor::grad_ref() const {
  GradSlot s;
  if (impl_) {
    s.meta_ = impl_->autograd;
    s.shape_ = impl_->shape;
  }
  return s;
}

namespace ops { Tensor add(const Tensor& a, const Tensor& b); }  // engine/ops.h

const Tensor& GradSlot::grad() const {
  static const Tensor none;
  return meta_ ? meta_->grad : none;
}
void GradSlot::accumulate(const Tensor& g) {
  check(meta_ != nullptr, "accumulate_grad: the tensor is undefined");
  check(g.shape() == shape_, "gradient of shape " + shape_str(g.shape()) + " for tensor " + shape_str(shape_));
  if (!meta_->grad.defined()) {
    meta_->grad = g;
  } else {
    meta_->grad = ops::add(meta_->grad, g);  // a new tensor: never writes into a slot another tensor may share
  }
}

#define CYTOCON_INSTANTIATE(T)                                                  \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&); \
  template T* Tensor::data<T>();                                               \
  template const T* Tensor::data<T>() const;                                   \
  template std::vector<T> Tensor::to_vector<T>() const;
CYTOCON_INSTANTIATE(float)
CYTOCON_INSTANTIATE(double)
CYTOCON_INSTANTIATE(uint8_t)
CYTOCON_INSTANTIATE(uint16_t)
CYTOCON_INSTANTIATE(int32_t)
#undef CYTOCON_INSTANTIATE

}  // namespace cytocon
