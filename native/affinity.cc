// Thread placement: getAffinity/setAffinity act on the CALLING thread (its kernel thread id from
// gettid), so a call from a worker_thread pins only that worker, not the process. currentCpu()
// and threadId() report where and who the caller is.

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "addon.h"

namespace clob {
namespace {

pid_t CallingTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// A dynamically sized cpu_set_t: the kernel rejects masks smaller than its nr_cpu_ids, so grow
// until sched_getaffinity accepts it (1024 CPUs covers every machine today; the loop covers more).
struct CpuMask {
  int ncpus = 0;
  size_t bytes = 0;
  cpu_set_t* set = nullptr;
  explicit CpuMask(int n) : ncpus(n), bytes(CPU_ALLOC_SIZE(n)), set(CPU_ALLOC(n)) {
    if (set) CPU_ZERO_S(bytes, set);
  }
  ~CpuMask() {
    if (set) CPU_FREE(set);
  }
  CpuMask(const CpuMask&) = delete;
  CpuMask& operator=(const CpuMask&) = delete;
};

// Returns 0 and fills `cpus`, or an errno.
int ReadAffinity(pid_t tid, std::vector<int>* cpus) {
  for (int n = 1024; n <= (1 << 20); n *= 2) {
    CpuMask mask(n);
    if (!mask.set) return ENOMEM;
    if (sched_getaffinity(tid, mask.bytes, mask.set) == 0) {
      cpus->clear();
      for (int c = 0; c < n; ++c) {
        if (CPU_ISSET_S(c, mask.bytes, mask.set)) cpus->push_back(c);
      }
      return 0;
    }
    if (errno != EINVAL) return errno;
  }
  return EINVAL;
}

Napi::Value ThrowErrno(Napi::Env env, const char* what, int err) {
  std::string msg = std::string(what) + ": " + strerror(err) + " (errno " + std::to_string(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value GetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> cpus;
  int err = ReadAffinity(CallingTid(), &cpus);
  if (err) return ThrowErrno(env, "sched_getaffinity", err);
  return ToJsArray(env, cpus);
}

// setAffinity(cpus: number[]): number[] -- sets, then returns what the kernel now reports.
// The kernel silently drops offline CPUs and fails with EINVAL if none of the CPUs is usable;
// a cgroup cpuset can narrow the set further, which is why the read-back is returned.
Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> cpus;
  if (!FromJsIntArray(env, info[0], "setAffinity(cpus)", &cpus)) return env.Undefined();
  if (cpus.empty()) {
    Napi::TypeError::New(env, "setAffinity(cpus): need at least one CPU").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int maxCpu = 0;
  for (int c : cpus) maxCpu = c > maxCpu ? c : maxCpu;
  if (maxCpu >= (1 << 20)) {
    Napi::RangeError::New(env, "setAffinity(cpus): CPU number out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int n = 1024;
  while (n <= maxCpu) n *= 2;
  CpuMask mask(n);
  if (!mask.set) return ThrowErrno(env, "CPU_ALLOC", ENOMEM);
  for (int c : cpus) CPU_SET_S(c, mask.bytes, mask.set);
  pid_t tid = CallingTid();
  if (sched_setaffinity(tid, mask.bytes, mask.set) != 0) {
    return ThrowErrno(env, "sched_setaffinity", errno);
  }
  std::vector<int> now;
  int err = ReadAffinity(tid, &now);
  if (err) return ThrowErrno(env, "sched_getaffinity", err);
  return ToJsArray(env, now);
}

Napi::Value CurrentCpu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cpu = sched_getcpu();
  if (cpu < 0) return ThrowErrno(env, "sched_getcpu", errno);
  return Napi::Number::New(env, cpu);
}

Napi::Value ThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), CallingTid());
}

}  // namespace

void InitAffinity(Napi::Env env, Napi::Object exports) {
  exports.Set("getAffinity", Napi::Function::New(env, GetAffinity, "getAffinity"));
  exports.Set("setAffinity", Napi::Function::New(env, SetAffinity, "setAffinity"));
  exports.Set("currentCpu", Napi::Function::New(env, CurrentCpu, "currentCpu"));
  exports.Set("threadId", Napi::Function::New(env, ThreadId, "threadId"));
}

}  // namespace clob
