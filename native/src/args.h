// Argument helpers shared by the addon's source files.
#pragma once
#include <napi.h>
#include <cstdint>

namespace kcc {

// info[i] is a number holding an exact u32.
inline bool ArgU32(const Napi::CallbackInfo& info, size_t i, uint32_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) return false;
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 4294967295.0 || v != static_cast<double>(static_cast<uint32_t>(v))) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// info[i] is a number holding an fd (0 .. INT32_MAX).
inline bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  uint32_t v;
  if (!ArgU32(info, i, &v) || v > 0x7fffffffu) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace kcc
