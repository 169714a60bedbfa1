{
  "targets": [
    {
      "target_name": "kata_cc_native",
      "sources": ["src/addon.cc", "src/vsock.cc", "src/fd-passing.cc", "src/pty.cc", "src/xattr.cc", "src/ioctl.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
