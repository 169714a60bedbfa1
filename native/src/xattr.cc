// Extended attributes on a path, never following a final symlink: lsetxattr, lgetxattr, llistxattr.
#include <napi.h>
#include <cerrno>
#include <string>
#include <vector>
#include <sys/xattr.h>
#include "sys-error.h"

namespace kcc {
namespace {

bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return !out->empty() && out->find('\0') == std::string::npos;
}

// lsetxattr(path, name, value: Buffer): flags 0 (create or replace).
Napi::Value LSetXattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  if (!ArgString(info, 0, &path) || !ArgString(info, 1, &name) || info.Length() < 3 ||
      !info[2].IsBuffer())
    return ThrowType(env, "lsetxattr(path, name, value): strings without NUL and a Buffer expected");
  Napi::Buffer<uint8_t> v = info[2].As<Napi::Buffer<uint8_t>>();
  if (lsetxattr(path.c_str(), name.c_str(), v.Data(), v.Length(), 0) < 0)
    return ThrowSys(env, errno, "lsetxattr");
  return env.Undefined();
}

// lgetxattr(path, name) -> Buffer; retries while the value grows between the size probe and the read.
Napi::Value LGetXattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  if (!ArgString(info, 0, &path) || !ArgString(info, 1, &name))
    return ThrowType(env, "lgetxattr(path, name): strings without NUL expected");
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t n = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (n < 0) return ThrowSys(env, errno, "lgetxattr");
    std::vector<uint8_t> buf(static_cast<size_t>(n) + 1);
    ssize_t got = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (got >= 0) return Napi::Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(got));
    if (errno != ERANGE) return ThrowSys(env, errno, "lgetxattr");
  }
  return ThrowSys(env, ERANGE, "lgetxattr");
}

// llistxattr(path) -> string[]: the names, in the kernel's order.
Napi::Value LListXattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return ThrowType(env, "llistxattr(path): a string without NUL expected");
  for (int attempt = 0; attempt < 8; attempt++) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) return ThrowSys(env, errno, "llistxattr");
    std::vector<char> buf(static_cast<size_t>(n) + 1);
    ssize_t got = llistxattr(path.c_str(), buf.data(), buf.size());
    if (got < 0) {
      if (errno == ERANGE) continue;
      return ThrowSys(env, errno, "llistxattr");
    }
    Napi::Array names = Napi::Array::New(env);
    uint32_t k = 0;
    for (size_t off = 0; off < static_cast<size_t>(got);) {
      std::string one(buf.data() + off);
      off += one.size() + 1;
      if (!one.empty()) names.Set(k++, Napi::String::New(env, one));
    }
    return names;
  }
  return ThrowSys(env, ERANGE, "llistxattr");
}

}  // namespace

void InitXattr(Napi::Env env, Napi::Object exports) {
  exports.Set("lsetxattr", Napi::Function::New(env, LSetXattr));
  exports.Set("lgetxattr", Napi::Function::New(env, LGetXattr));
  exports.Set("llistxattr", Napi::Function::New(env, LListXattr));
}

}  // namespace kcc
