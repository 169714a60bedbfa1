// AF_VSOCK sockets: socket/bind/listen (sync), connect and accept (thread pool, they block).
// Returned fds are blocking stream sockets; the TS side reads and writes them with fs.read/fs.write.
#include <napi.h>
#include <cerrno>
#include <cstdint>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>
#include "args.h"
#include "sys-error.h"

namespace kcc {
namespace {

sockaddr_vm Addr(uint32_t cid, uint32_t port) {
  sockaddr_vm a{};
  a.svm_family = AF_VSOCK;
  a.svm_cid = cid;
  a.svm_port = port;
  return a;
}

// isSupported(): socket(AF_VSOCK) works on this kernel.
Napi::Value IsSupported(const Napi::CallbackInfo& info) {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::Number::New(info.Env(), -errno);
  close(fd);
  return Napi::Number::New(info.Env(), 0);
}

// listen(cid, port, backlog) -> fd
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t cid, port, backlog;
  if (!ArgU32(info, 0, &cid) || !ArgU32(info, 1, &port) || !ArgU32(info, 2, &backlog))
    return ThrowType(env, "vsockListen(cid, port, backlog): u32 arguments expected");
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowSys(env, errno, "socket");
  sockaddr_vm a = Addr(cid, port);
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

class BlockingWorker : public Napi::AsyncWorker {
 public:
  BlockingWorker(Napi::Env env, const char* syscall)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), syscall_(syscall) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Fail(int err) {
    err_ = err;
    SetError(syscall_);
  }
  void OnError(const Napi::Error&) override {
    deferred_.Reject(SysError(Env(), err_, syscall_).Value());
  }
  Napi::Promise::Deferred deferred_;
  const char* syscall_;
  int err_ = 0;
};

class ConnectWorker : public BlockingWorker {
 public:
  ConnectWorker(Napi::Env env, uint32_t cid, uint32_t port)
      : BlockingWorker(env, "connect"), cid_(cid), port_(port) {}
  void Execute() override {
    fd_ = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      syscall_ = "socket";
      Fail(errno);
      return;
    }
    sockaddr_vm a = Addr(cid_, port_);
    int rc;
    do {
      rc = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      int e = errno;
      close(fd_);
      Fail(e);
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), fd_)); }

 private:
  uint32_t cid_, port_;
  int fd_ = -1;
};

class AcceptWorker : public BlockingWorker {
 public:
  AcceptWorker(Napi::Env env, int lfd) : BlockingWorker(env, "accept"), lfd_(lfd) {}
  void Execute() override {
    socklen_t len = sizeof peer_;
    do {
      fd_ = accept4(lfd_, reinterpret_cast<sockaddr*>(&peer_), &len, SOCK_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) Fail(errno);
  }
  void OnOK() override {
    Napi::Object o = Napi::Object::New(Env());
    o.Set("fd", Napi::Number::New(Env(), fd_));
    o.Set("cid", Napi::Number::New(Env(), peer_.svm_cid));
    o.Set("port", Napi::Number::New(Env(), peer_.svm_port));
    deferred_.Resolve(o);
  }

 private:
  int lfd_;
  int fd_ = -1;
  sockaddr_vm peer_{};
};

// connect(cid, port) -> Promise<fd>
Napi::Value Connect(const Napi::CallbackInfo& info) {
  uint32_t cid, port;
  if (!ArgU32(info, 0, &cid) || !ArgU32(info, 1, &port))
    return ThrowType(info.Env(), "vsockConnect(cid, port): u32 arguments expected");
  auto* w = new ConnectWorker(info.Env(), cid, port);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// accept(listenFd) -> Promise<{ fd, cid, port }>
Napi::Value Accept(const Napi::CallbackInfo& info) {
  uint32_t lfd;
  if (!ArgU32(info, 0, &lfd)) return ThrowType(info.Env(), "vsockAccept(fd): fd expected");
  auto* w = new AcceptWorker(info.Env(), static_cast<int>(lfd));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// shutdown(fd): wakes a thread blocked in accept() on this listening socket.
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  uint32_t fd;
  if (!ArgU32(info, 0, &fd)) return ThrowType(info.Env(), "shutdownFd(fd): fd expected");
  if (shutdown(static_cast<int>(fd), SHUT_RDWR) < 0 && errno != ENOTCONN)
    return ThrowSys(info.Env(), errno, "shutdown");
  return info.Env().Undefined();
}

}  // namespace

void InitVsock(Napi::Env env, Napi::Object exports) {
  exports.Set("vsockSupported", Napi::Function::New(env, IsSupported));
  exports.Set("vsockListen", Napi::Function::New(env, Listen));
  exports.Set("vsockConnect", Napi::Function::New(env, Connect));
  exports.Set("vsockAccept", Napi::Function::New(env, Accept));
  exports.Set("shutdownFd", Napi::Function::New(env, Shutdown));
}

}  // namespace kcc
