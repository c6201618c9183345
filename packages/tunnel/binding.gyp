{
  "targets": [
    {
      "target_name": "weft_tunnel",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/common.cc",
        "native/inner.cc",
        "native/netlink_gen.cc",
        "native/offload.cc",
        "native/offload_js.cc",
        "native/tap.cc",
        "native/tun.cc",
        "native/tun_whole.cc",
        "native/udp.cc",
        "native/udp_io.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [["OS!='linux'", {"sources!": ["native/tun.cc", "native/tun_whole.cc", "native/tap.cc"]}]]
    }
  ]
}
