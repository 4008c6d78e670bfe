// Module registration for clob_native and the small conversions the concept files share.
// The addon keeps no per-environment state, so it loads in the main thread and in any number of
// worker_threads at once (Node-API modules are context-aware).

#include "addon.h"

namespace clob {

Napi::Array ToJsArray(Napi::Env env, const std::vector<int>& values) {
  Napi::Array a = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) a.Set(static_cast<uint32_t>(i), values[i]);
  return a;
}

bool FromJsIntArray(Napi::Env env, const Napi::Value& value, const char* what, std::vector<int>* out) {
  if (!value.IsArray()) {
    Napi::TypeError::New(env, std::string(what) + ": expected an array of CPU numbers")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array a = value.As<Napi::Array>();
  out->clear();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value v = a.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) {
      Napi::TypeError::New(env, std::string(what) + ": element " + std::to_string(i) +
                                    " is not a non-negative integer")
          .ThrowAsJavaScriptException();
      return false;
    }
    out->push_back(static_cast<int>(d));
  }
  return true;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitTopology(env, exports);
  InitAffinity(env, exports);
  InitTscClock(env, exports);
  InitMempolicy(env, exports);
  InitUringServer(env, exports);
  InitEcho(env, exports);
  InitCrc32(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 5));
  return exports;
}

}  // namespace clob

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return clob::Init(env, exports); }

NODE_API_MODULE(clob_native, InitModule)
