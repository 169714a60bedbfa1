// Unix stream sockets that pass file descriptors (SCM_RIGHTS), which libuv cannot receive on a
// plain pipe: the OCI `--console-socket` protocol (crun/runc send the pty master this way).
// Every socket here is non-blocking; the TS side polls, so no thread ever blocks in the kernel.
#include <napi.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "args.h"
#include "sys-error.h"

namespace kcc {
namespace {

constexpr size_t kMaxPayload = 4096;  // runc/crun send the pty name (a path) as the payload
constexpr size_t kMaxFds = 16;        // more than we accept, so extra fds can be closed

bool ArgPath(const Napi::CallbackInfo& info, size_t i, sockaddr_un* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  std::string p = info[i].As<Napi::String>().Utf8Value();
  if (p.empty() || p.size() >= sizeof(out->sun_path) || p.find('\0') != std::string::npos)
    return false;
  std::memset(out, 0, sizeof *out);
  out->sun_family = AF_UNIX;
  std::memcpy(out->sun_path, p.data(), p.size());
  return true;
}

// unixListen(path, backlog) -> fd: a non-blocking, close-on-exec listening socket at `path`.
Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un a;
  uint32_t backlog;
  if (!ArgPath(info, 0, &a) || !ArgU32(info, 1, &backlog))
    return ThrowType(env, "unixListen(path, backlog): path shorter than 108 bytes, u32 backlog");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ThrowSys(env, errno, "socket");
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    int e = errno;
    close(fd);
    return ThrowSys(env, e, "bind");
  }
  if (listen(fd, static_cast<int>(backlog)) < 0) {
    int e = errno;
    close(fd);
    return ThrowSys(env, e, "listen");
  }
  return Napi::Number::New(env, fd);
}

// unixAccept(listenFd) -> fd, or -1 when no connection is pending (EAGAIN).
Napi::Value UnixAccept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int lfd;
  if (!ArgFd(info, 0, &lfd)) return ThrowType(env, "unixAccept(fd): fd expected");
  int fd;
  do {
    fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    return ThrowSys(env, errno, "accept4");
  }
  return Napi::Number::New(env, fd);
}

// recvFd(connFd) -> undefined when nothing is there yet (EAGAIN), else { fds, data, eof }:
// one recvmsg of up to 4 KiB with every SCM_RIGHTS fd it carried (close-on-exec).
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cfd;
  if (!ArgFd(info, 0, &cfd)) return ThrowType(env, "recvFd(fd): fd expected");
  std::vector<char> data(kMaxPayload);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(cfd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Undefined();
    return ThrowSys(env, errno, "recvmsg");
  }
  Napi::Array fds = Napi::Array::New(env);
  uint32_t count = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t j = 0; j < k; j++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof fd);
      fds.Set(count++, Napi::Number::New(env, fd));
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fds", fds);
  out.Set("data", Napi::Buffer<char>::Copy(env, data.data(), static_cast<size_t>(n)));
  out.Set("eof", Napi::Boolean::New(env, n == 0 && count == 0));
  out.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0));
  return out;
}

// sendFd(path, fds, data): connects to `path`, sends `data` with `fds` as SCM_RIGHTS, closes.
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un a;
  if (!ArgPath(info, 0, &a) || info.Length() < 3 || !info[1].IsArray() || !info[2].IsBuffer())
    return ThrowType(env, "sendFd(path, fds, data): path, fd array, Buffer expected");
  Napi::Array arr = info[1].As<Napi::Array>();
  Napi::Buffer<char> buf = info[2].As<Napi::Buffer<char>>();
  if (arr.Length() > kMaxFds || buf.Length() == 0 || buf.Length() > kMaxPayload)
    return ThrowType(env, "sendFd: at most 16 fds and 1..4096 bytes of data");
  std::vector<int> fds;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (d < 0 || d > 0x7fffffff || d != static_cast<double>(static_cast<int>(d)))
      return ThrowType(env, "sendFd: fds must be non-negative integers");
    fds.push_back(static_cast<int>(d));
  }
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return ThrowSys(env, errno, "socket");
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    int e = errno;
    close(s);
    return ThrowSys(env, e, "connect");
  }
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov{buf.Data(), buf.Length()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(s, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  int e = errno;
  close(s);
  if (n < 0) return ThrowSys(env, e, "sendmsg");
  return env.Undefined();
}

}  // namespace

void InitFdPassing(Napi::Env env, Napi::Object exports) {
  exports.Set("unixListen", Napi::Function::New(env, UnixListen));
  exports.Set("unixAccept", Napi::Function::New(env, UnixAccept));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
  exports.Set("sendFd", Napi::Function::New(env, SendFd));
}

}  // namespace kcc
