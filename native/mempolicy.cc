// bindMemory(view, node, options): put the pages behind a typed-array view (normally a Uint8Array
// over the engine's shared WebAssembly.Memory) under a NUMA memory policy with mbind(2), called
// as a raw syscall (no libnuma). Every outcome is a returned value: { applied: true, ... } or
// { applied: false, reason, errno? }. Only malformed arguments throw.
//
// Node-API on Node 20 cannot hand out a raw SharedArrayBuffer's data, so the caller passes a view
// and this file takes the view's data pointer from napi_get_typedarray_info.

#include <errno.h>
#include <linux/mempolicy.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "addon.h"
#include "sysfs.h"

namespace clob {
namespace {

constexpr int kMaxNodes = 1024;
constexpr int kBitsPerWord = 8 * sizeof(unsigned long);
constexpr int kMaskWords = kMaxNodes / kBitsPerWord;

Napi::Object NotApplied(Napi::Env env, const std::string& reason, int err = 0) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("applied", false);
  o.Set("reason", reason);
  if (err) o.Set("errno", err);
  return o;
}

Napi::Value BindMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "bindMemory(view: Uint8Array, node: number, options?)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double nodeArg = info[1].As<Napi::Number>().DoubleValue();
  if (!(nodeArg >= 0 && nodeArg < kMaxNodes) || nodeArg != static_cast<int>(nodeArg)) {
    Napi::RangeError::New(env, "bindMemory: node must be an integer in [0, 1024)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int node = static_cast<int>(nodeArg);

  std::string modeName = "bind";
  bool force = false;
  bool move = true;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object opts = info[2].As<Napi::Object>();
    Napi::Value m = opts.Get("mode");
    if (m.IsString()) modeName = m.As<Napi::String>().Utf8Value();
    Napi::Value f = opts.Get("force");
    if (f.IsBoolean()) force = f.As<Napi::Boolean>().Value();
    Napi::Value mv = opts.Get("move");
    if (mv.IsBoolean()) move = mv.As<Napi::Boolean>().Value();
  }
  int mode;
  if (modeName == "bind") mode = MPOL_BIND;
  else if (modeName == "preferred") mode = MPOL_PREFERRED;
  else if (modeName == "interleave") mode = MPOL_INTERLEAVE;
  else if (modeName == "default") mode = MPOL_DEFAULT;
  else {
    Napi::TypeError::New(env, "bindMemory: mode must be 'bind', 'preferred', 'interleave' or 'default'")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }

  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t byteOffset = 0;
  if (napi_get_typedarray_info(env, info[0], &type, &length, &data, &buffer, &byteOffset) != napi_ok) {
    return NotApplied(env, "could not read the view's data pointer");
  }
  size_t elementBytes = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: elementBytes = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elementBytes = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elementBytes = 8; break;
    default: elementBytes = 1;
  }
  size_t bytes = length * elementBytes;
  if (bytes == 0 || data == nullptr) return NotApplied(env, "empty view");

  bool ok = false;
  std::vector<int> nodes = ReadCpuListFile("/sys/devices/system/node/online", &ok);
  if (!ok || nodes.empty()) nodes.assign(1, 0);
  if (nodes.size() == 1 && !force) return NotApplied(env, "single NUMA node");
  bool known = false;
  for (int n : nodes) known = known || n == node;
  if (!known) return NotApplied(env, "NUMA node " + std::to_string(node) + " is not online");

  // mbind wants a page-aligned start; round the range outwards to whole pages. Neighbouring data
  // on the first and last page gets the same policy (the engine's region is page-aligned anyway).
  uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t start = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes + page - 1) & ~(page - 1);

  unsigned long mask[kMaskWords] = {0};
  if (mode != MPOL_DEFAULT) mask[node / kBitsPerWord] |= 1UL << (node % kBitsPerWord);
  unsigned flags = move ? MPOL_MF_MOVE : 0;
  // maxnode is one more than the bits in the mask: the kernel decrements it before use.
  long rc = syscall(SYS_mbind, start, end - start, mode, mode == MPOL_DEFAULT ? nullptr : mask,
                    mode == MPOL_DEFAULT ? 0 : kMaxNodes + 1, flags);
  if (rc != 0) {
    int err = errno;
    return NotApplied(env, std::string("mbind: ") + strerror(err), err);
  }

  // Read the policy back for the first page to confirm what the kernel now holds.
  int gotMode = -1;
  unsigned long gotMask[kMaskWords] = {0};
  bool verified = false;
  if (syscall(SYS_get_mempolicy, &gotMode, gotMask, kMaxNodes + 1, reinterpret_cast<void*>(start),
              MPOL_F_ADDR) == 0) {
    int baseMode = gotMode & ~(MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES);
    bool bit = (gotMask[node / kBitsPerWord] >> (node % kBitsPerWord)) & 1UL;
    verified = baseMode == mode && (mode == MPOL_DEFAULT || bit);
  }

  Napi::Object o = Napi::Object::New(env);
  o.Set("applied", true);
  o.Set("node", node);
  o.Set("mode", modeName);
  o.Set("moved", move);
  o.Set("alignedBytes", static_cast<double>(end - start));
  o.Set("pages", static_cast<double>((end - start) / page));
  o.Set("verified", verified);
  return o;
}

}  // namespace

void InitMempolicy(Napi::Env env, Napi::Object exports) {
  exports.Set("bindMemory", Napi::Function::New(env, BindMemory, "bindMemory"));
}

}  // namespace clob
