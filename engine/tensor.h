// Tensor: a shaped view of a shared buffer on one device, plus what autograd needs (a gradient
// slot and a requires-grad flag, kept in a separate AutogradMeta so that a backward closure can
// hold them through a GradSlot without keeping the buffer alive). Up to 4-D. Activations are NHWC (channels last); conv weights
// live in memory as OHWI ([Cout, kh, kw, Cin]), linear weights as [out, in] (docs/design.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace cytocon {

// bf16: bfloat16 storage of activations on the GPU in precision "bf16" (docs/cuda.md).
enum class DType : uint8_t { f32, f64, u8, u16, i32, bf16 };
enum class Device : uint8_t { cpu, cuda };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
const char* device_name(Device d);
// bfloat16 <-> float32 on the host: the upper 16 bits of the float, rounded to nearest even
// (as __float2bfloat16 on the device); every NaN becomes the canonical NaN 0x7fff, as there.
uint16_t bf16_from_float(float f);
float float_from_bf16(uint16_t b);
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::u16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }

// Where bytes come from. The CPU allocator is 64-byte aligned; the CUDA backend registers a
// caching allocator (engine/cuda/allocator.cu).
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
  virtual void memset_zero(void* p, size_t bytes) = 0;
};
Allocator& allocator_for(Device d);
void register_allocator(Device d, Allocator* a);  // backend start-up; not thread-safe
// Copy bytes between devices (cpu<->cpu, cpu<->cuda, cuda<->cuda).
void copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes);
using CopyFn = void (*)(void* dst, Device dd, const void* src, Device sd, size_t bytes);
void register_copy(CopyFn fn);  // the CUDA backend installs its cudaMemcpy-based copy

struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  Storage(size_t bytes, Device d);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

struct TensorImpl;
struct AutogradMeta;
class GradSlot;

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised / zero-filled tensors.
  static Tensor empty(const Shape& shape, DType dt = DType::f32, Device dev = Device::cpu);
  static Tensor zeros(const Shape& shape, DType dt = DType::f32, Device dev = Device::cpu);
  static Tensor full(const Shape& shape, double value, DType dt = DType::f32);  // cpu
  template <class T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape);  // cpu copy

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const;
  int64_t dim(int i) const;  // negative i counts from the back
  int64_t numel() const;
  size_t nbytes() const;
  DType dtype() const;
  Device device() const;

  // Raw element access; checks the element type (throws std::logic_error on mismatch).
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw();
  const void* raw() const;
  template <class T> std::vector<T> to_vector() const;  // copies to host

  Tensor to(Device d) const;         // a copy on device d (same tensor if already there)
  Tensor to(DType t) const;          // a converted copy (cpu only)
  Tensor clone() const;              // a deep copy, no autograd history
  Tensor reshape(const Shape& s) const;  // shares storage; numel must match
  Tensor detach() const;             // shares storage, no grad slot
  void zero_();
  void copy_from(const Tensor& src);  // same shape & dtype, any devices

  // Autograd.
  bool requires_grad() const;
  void set_requires_grad(bool r);
  Tensor& grad();              // gradient slot (undefined until something flows into it)
  const Tensor& grad() const;
  void accumulate_grad(const Tensor& g);  // grad = g, or grad += g (fixed order: the tape's)
  GradSlot grad_ref() const;   // this tensor's autograd state without its storage
  bool same(const Tensor& o) const { return impl_ == o.impl_; }
  uintptr_t id() const { return reinterpret_cast<uintptr_t>(impl_.get()); }

 private:
  std::shared_ptr<TensorImpl> impl_;
  explicit Tensor(std::shared_ptr<TensorImpl> i) : impl_(std::move(i)) {}
};

// Autograd state of one tensor. Shared by the tensor's copies (not by reshape()/detach()
// results) and by the GradSlots and tape entries that refer to it.
struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
};

// What a backward closure keeps of a tensor it only sends a gradient to: the autograd state and
// the shape, not the storage. A slot of an undefined tensor never requires grad.
class GradSlot {
 public:
  GradSlot() = default;
  bool requires_grad() const { return meta_ && meta_->requires_grad; }
  const Tensor& grad() const;
  const Shape& shape() const { return shape_; }
  void accumulate(const Tensor& g);  // grad = g, or grad += g (fixed order: the tape's)
  const std::shared_ptr<AutogradMeta>& meta() const { return meta_; }

 private:
  friend class Tensor;
  std::shared_ptr<AutogradMeta> meta_;
  Shape shape_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes
  Shape shape;
  DType dtype = DType::f32;
  std::shared_ptr<AutogradMeta> autograd = std::make_shared<AutogradMeta>();
};

// Errors that name what was wrong and what was expected.
[[noreturn]] void fail(const std::string& what);
void check(bool cond, const std::string& what);
void check_shape(const Tensor& t, const Shape& expected, const char* name);
void check_dtype(const Tensor& t, DType expected, const char* name);

}  // namespace cytocon
