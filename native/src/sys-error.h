// Errors shaped like Node's own system errors: { message, code: 'ENOENT', errno, syscall }.
#pragma once
#include <napi.h>
#include <string>

namespace kcc {

const char* ErrnoName(int err);

inline Napi::Error SysError(Napi::Env env, int err, const char* syscall) {
  std::string msg = std::string(syscall) + " failed: " + ErrnoName(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// Throws (exceptions are disabled: sets the pending JS exception) and returns undefined.
inline Napi::Value ThrowSys(Napi::Env env, int err, const char* syscall) {
  SysError(env, err, syscall).ThrowAsJavaScriptException();
  return env.Undefined();
}

inline Napi::Value ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

void InitVsock(Napi::Env env, Napi::Object exports);
void InitFdPassing(Napi::Env env, Napi::Object exports);
void InitPty(Napi::Env env, Napi::Object exports);
void InitXattr(Napi::Env env, Napi::Object exports);
void InitIoctl(Napi::Env env, Napi::Object exports);

}  // namespace kcc
