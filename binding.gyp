{
  # The optional native helper (docs/NATIVE.md). Linux only: it reads /sys and /proc and calls
  # sched_setaffinity, mbind, rdtsc and io_uring. Built by `npm install`; the engine runs without it.
  "targets": [
    {
      "target_name": "clob_native",
      "sources": [
        "native/addon.cc",
        "native/topology.cc",
        "native/affinity.cc",
        "native/tsc_clock.cc",
        "native/mempolicy.cc",
        "native/uring_server.cc",
        "native/echo.cc",
        "native/crc32.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags_cc!": ["-O3"],
          "cflags": ["-O2"],
          "cflags_cc": ["-O2"]
        }
      },
      "conditions": [
        ["OS!='linux'", {
          "sources!": [
            "native/addon.cc",
            "native/topology.cc",
            "native/affinity.cc",
            "native/tsc_clock.cc",
            "native/mempolicy.cc",
            "native/uring_server.cc",
            "native/echo.cc",
            "native/crc32.cc"
          ],
          "actions": [{
            "action_name": "linux_only",
            "inputs": [],
            "outputs": ["unbuilt"],
            "action": ["node", "-e", "console.error('clob_native builds on Linux only'); process.exit(1)"]
          }]
        }]
      ]
    }
  ]
}
