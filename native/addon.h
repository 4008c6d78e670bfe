// Registration entry points, one per concept file. addon.cc calls each to fill the exports object.
#pragma once

#include <napi.h>

#include <vector>

namespace clob {

void InitTopology(Napi::Env env, Napi::Object exports);   // topology.cc
void InitAffinity(Napi::Env env, Napi::Object exports);   // affinity.cc
void InitTscClock(Napi::Env env, Napi::Object exports);   // tsc_clock.cc
void InitMempolicy(Napi::Env env, Napi::Object exports);  // mempolicy.cc
void InitUringServer(Napi::Env env, Napi::Object exports);  // uring_server.cc
void InitEcho(Napi::Env env, Napi::Object exports);       // echo.cc
void InitCrc32(Napi::Env env, Napi::Object exports);      // crc32.cc

// Shared conversions (addon.cc).
Napi::Array ToJsArray(Napi::Env env, const std::vector<int>& values);
// Reads a JS array of non-negative integers; on a bad element throws a TypeError and returns false.
bool FromJsIntArray(Napi::Env env, const Napi::Value& value, const char* what, std::vector<int>* out);

}  // namespace clob
