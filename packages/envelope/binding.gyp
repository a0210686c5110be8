{
  "targets": [
    {
      "target_name": "envelope_native",
      "sources": ["native/envelope_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"]
    }
  ]
}
