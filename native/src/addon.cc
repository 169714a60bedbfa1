// kata-cc native addon: thin wrappers over syscalls Node lacks. No policy, no retries.
#include <napi.h>
#include <cerrno>
#include <cstring>
#include "sys-error.h"

namespace kcc {

const char* ErrnoName(int err) {
  switch (err) {
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENODEV: return "ENODEV";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case ENOTSOCK: return "ENOTSOCK";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOSYS: return "ENOSYS";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ENOTTY: return "ENOTTY";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOTDIR: return "ENOTDIR";
    case EEXIST: return "EEXIST";
    case EPIPE: return "EPIPE";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ENOTCONN: return "ENOTCONN";
    case ENODATA: return "ENODATA";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case EDQUOT: return "EDQUOT";
    case ELOOP: return "ELOOP";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENXIO: return "ENXIO";
    case EOVERFLOW: return "EOVERFLOW";
    case EPROTO: return "EPROTO";
    case ECANCELED: return "ECANCELED";
    case ESRCH: return "ESRCH";
    default: {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
      const char* name = strerrorname_np(err);
      if (name != nullptr) return name;
#endif
      return "EUNKNOWN";
    }
  }
}

}  // namespace kcc

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  kcc::InitVsock(env, exports);
  kcc::InitFdPassing(env, exports);
  kcc::InitPty(env, exports);
  kcc::InitXattr(env, exports);
  kcc::InitIoctl(env, exports);
  return exports;
}

NODE_API_MODULE(kata_cc_native, Init)
