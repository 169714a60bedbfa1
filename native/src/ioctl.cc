// A generic ioctl(2) over caller-owned Buffers, run in the thread pool (TEE guest requests can
// block in firmware). Structs that carry user-space addresses (SNP's snp_guest_request_ioctl,
// SIOCGIFCONF's ifconf) name them as "pointer fields": the addon writes the address of another
// Buffer of the same call into the field (and, optionally, that Buffer's length into a length
// field), so no address ever comes from or goes back to JavaScript: the fields are zeroed again
// after the call. No policy, no retries.
#include <napi.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>
#include <sys/ioctl.h>
#include "args.h"
#include "sys-error.h"

namespace kcc {
namespace {

constexpr uint32_t kMaxBuffers = 8;
constexpr uint32_t kMaxPointers = 8;

struct Region {
  uint8_t* data;
  size_t length;
};

struct PointerField {
  uint32_t holder, offset, target;
  int64_t lengthOffset;  // -1: none
  uint32_t lengthSize;   // 4 or 8
};

class IoctlWorker : public Napi::AsyncWorker {
 public:
  IoctlWorker(Napi::Env env, int fd, unsigned long request)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd),
        request_(request) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Keep(Napi::Buffer<uint8_t> b) {
    refs_.push_back(Napi::Persistent(b.As<Napi::Object>()));
    regions_.push_back({b.Data(), b.Length()});
  }
  void Point(const PointerField& p) { pointers_.push_back(p); }

  void Execute() override {
    for (const PointerField& p : pointers_) {
      uint64_t addr = reinterpret_cast<uintptr_t>(regions_[p.target].data);
      std::memcpy(regions_[p.holder].data + p.offset, &addr, sizeof addr);
      if (p.lengthOffset >= 0) {
        uint64_t len = regions_[p.target].length;
        uint8_t* at = regions_[p.holder].data + p.lengthOffset;
        if (p.lengthSize == 4) {
          uint32_t len32 = static_cast<uint32_t>(len);
          std::memcpy(at, &len32, sizeof len32);
        } else {
          std::memcpy(at, &len, sizeof len);
        }
      }
    }
    int rc;
    do {
      rc = ioctl(fd_, request_, regions_[0].data);
    } while (rc < 0 && errno == EINTR);
    err_ = rc < 0 ? errno : 0;
    rc_ = rc;
    for (const PointerField& p : pointers_)
      std::memset(regions_[p.holder].data + p.offset, 0, sizeof(uint64_t));
    if (rc < 0) SetError("ioctl");
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), rc_)); }
  void OnError(const Napi::Error&) override {
    deferred_.Reject(SysError(Env(), err_, "ioctl").Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  unsigned long request_;
  int rc_ = 0;
  int err_ = 0;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<Region> regions_;
  std::vector<PointerField> pointers_;
};

bool ReadPointer(Napi::Value v, const std::vector<size_t>& lengths, PointerField* out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() != 5) return false;
  double f[5];
  for (uint32_t i = 0; i < 5; i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) return false;
    f[i] = e.As<Napi::Number>().DoubleValue();
    if (f[i] != static_cast<double>(static_cast<int64_t>(f[i])) || f[i] < -1 || f[i] > 0x7fffffff)
      return false;
  }
  if (f[0] < 0 || f[1] < 0 || f[2] < 0) return false;
  out->holder = static_cast<uint32_t>(f[0]);
  out->offset = static_cast<uint32_t>(f[1]);
  out->target = static_cast<uint32_t>(f[2]);
  out->lengthOffset = static_cast<int64_t>(f[3]);
  out->lengthSize = f[4] == 8 ? 8 : 4;
  if (f[4] != 4 && f[4] != 8) return false;
  if (out->holder >= lengths.size() || out->target >= lengths.size()) return false;
  if (out->holder == out->target) return false;
  if (static_cast<size_t>(out->offset) + 8 > lengths[out->holder]) return false;
  if (out->lengthOffset >= 0 &&
      static_cast<size_t>(out->lengthOffset) + out->lengthSize > lengths[out->holder])
    return false;
  return true;
}

// ioctl(fd, request, buffers, pointers) -> Promise<rc>: buffers[0] is the ioctl argument; each
// pointer is [holder, offset, target, lengthOffset (-1 = none), lengthSize (4 | 8)].
Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t request;
  if (!ArgFd(info, 0, &fd) || !ArgU32(info, 1, &request) || info.Length() < 4 ||
      !info[2].IsArray() || !info[3].IsArray())
    return ThrowType(env, "ioctl(fd, request, buffers, pointers): fd, u32, arrays expected");
  Napi::Array bufs = info[2].As<Napi::Array>();
  Napi::Array ptrs = info[3].As<Napi::Array>();
  if (bufs.Length() < 1 || bufs.Length() > kMaxBuffers || ptrs.Length() > kMaxPointers)
    return ThrowType(env, "ioctl: 1..8 buffers and at most 8 pointer fields");
  std::vector<size_t> lengths;
  for (uint32_t i = 0; i < bufs.Length(); i++) {
    Napi::Value b = bufs.Get(i);
    if (!b.IsBuffer()) return ThrowType(env, "ioctl: every buffer must be a Buffer");
    lengths.push_back(b.As<Napi::Buffer<uint8_t>>().Length());
  }
  // _IOC_SIZE: the kernel copies this many bytes in/out of the argument
  uint32_t dir = request >> 30, size = (request >> 16) & 0x3fff;
  if (dir != 0 && size > lengths[0])
    return ThrowType(env, "ioctl: the argument Buffer is smaller than the request's size");
  std::vector<PointerField> fields;
  for (uint32_t i = 0; i < ptrs.Length(); i++) {
    PointerField p;
    if (!ReadPointer(ptrs.Get(i), lengths, &p))
      return ThrowType(env, "ioctl: a pointer field is malformed or outside its buffer");
    fields.push_back(p);
  }
  auto* w = new IoctlWorker(env, fd, request);
  for (uint32_t i = 0; i < bufs.Length(); i++) w->Keep(bufs.Get(i).As<Napi::Buffer<uint8_t>>());
  for (const PointerField& p : fields) w->Point(p);
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

}  // namespace

void InitIoctl(Napi::Env env, Napi::Object exports) {
  exports.Set("ioctl", Napi::Function::New(env, Ioctl));
}

}  // namespace kcc
