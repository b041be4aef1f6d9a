{
  "targets": [
    {
      "target_name": "ext4box_native",
      "sources": ["native/ext4box_native.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "libraries": ["-lseccomp"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
