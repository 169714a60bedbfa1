// Pseudo-terminals: openpty (posix_openpt/grantpt/unlockpt/ptsname_r) and the window size ioctls.
#include <napi.h>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "args.h"
#include "sys-error.h"

namespace kcc {
namespace {

// openPty() -> { master, slave, name }: both close-on-exec, the slave opened without becoming
// the caller's controlling terminal.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return ThrowSys(env, errno, "posix_openpt");
  char name[128];
  const char* failed = nullptr;
  if (grantpt(m) < 0) failed = "grantpt";
  else if (unlockpt(m) < 0) failed = "unlockpt";
  else if (ptsname_r(m, name, sizeof name) != 0) failed = "ptsname_r";
  if (failed != nullptr) {
    int e = errno;
    close(m);
    return ThrowSys(env, e, failed);
  }
  int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    int e = errno;
    close(m);
    return ThrowSys(env, e, "open");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("master", Napi::Number::New(env, m));
  o.Set("slave", Napi::Number::New(env, s));
  o.Set("name", Napi::String::New(env, name));
  return o;
}

// setWindowSize(fd, rows, cols): ioctl(TIOCSWINSZ); the kernel sends SIGWINCH to the terminal's
// foreground process group when the size changes.
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  uint32_t rows, cols;
  if (!ArgFd(info, 0, &fd) || !ArgU32(info, 1, &rows) || !ArgU32(info, 2, &cols) ||
      rows > 0xffff || cols > 0xffff)
    return ThrowType(env, "setWindowSize(fd, rows, cols): fd and u16 sizes expected");
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) return ThrowSys(env, errno, "ioctl");
  return env.Undefined();
}

// getWindowSize(fd) -> { rows, cols }: ioctl(TIOCGWINSZ).
Napi::Value GetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd)) return ThrowType(env, "getWindowSize(fd): fd expected");
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return ThrowSys(env, errno, "ioctl");
  Napi::Object o = Napi::Object::New(env);
  o.Set("rows", Napi::Number::New(env, ws.ws_row));
  o.Set("cols", Napi::Number::New(env, ws.ws_col));
  return o;
}

}  // namespace

void InitPty(Napi::Env env, Napi::Object exports) {
  exports.Set("openPty", Napi::Function::New(env, OpenPty));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("getWindowSize", Napi::Function::New(env, GetWindowSize));
}

}  // namespace kcc
