// topology(): CPUs, cores, packages, SMT siblings, NUMA nodes and caches, read from /sys without
// libnuma. Everything here is a plain read of kernel text files; a missing file degrades to a
// default (-1, [] or one node) rather than an error, because containers and VMs hide parts of /sys.

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "addon.h"
#include "sysfs.h"

namespace clob {
namespace {

const char kCpuRoot[] = "/sys/devices/system/cpu";
const char kNodeRoot[] = "/sys/devices/system/node";

struct NodeCpus {
  int node;
  std::vector<int> cpus;
};

// NUMA nodes that are online, each with its CPUs. A kernel without NUMA support has no
// /sys/devices/system/node: that is one node holding every online CPU.
std::vector<NodeCpus> ReadNodes(const std::vector<int>& onlineCpus) {
  std::vector<NodeCpus> nodes;
  bool ok = false;
  std::vector<int> ids = ReadCpuListFile(std::string(kNodeRoot) + "/online", &ok);
  if (!ok || ids.empty()) {
    nodes.push_back({0, onlineCpus});
    return nodes;
  }
  for (int id : ids) {
    std::string path = std::string(kNodeRoot) + "/node" + std::to_string(id) + "/cpulist";
    nodes.push_back({id, ReadCpuListFile(path)});
  }
  return nodes;
}

int NodeOfCpu(const std::vector<NodeCpus>& nodes, int cpu) {
  for (const NodeCpus& n : nodes) {
    if (std::find(n.cpus.begin(), n.cpus.end(), cpu) != n.cpus.end()) return n.node;
  }
  return nodes.size() == 1 ? nodes[0].node : -1;
}

// Cache size strings look like "32K", "1024K", "32M".
double ParseCacheSize(const std::string& s) {
  if (s.empty()) return -1;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return -1;
  if (*end == 'K') v *= 1024;
  else if (*end == 'M') v *= 1024 * 1024;
  else if (*end == 'G') v *= 1024.0 * 1024 * 1024;
  return v;
}

Napi::Object CacheObject(Napi::Env env, int level, const std::string& type, double size,
                         double line, double ways, const std::vector<int>& shared,
                         const char* source) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("level", level);
  c.Set("type", type);
  c.Set("sizeBytes", size);
  c.Set("lineBytes", line);
  c.Set("ways", ways);
  c.Set("sharedCpus", ToJsArray(env, shared));
  c.Set("source", source);
  return c;
}

// cpu0's caches from /sys/devices/system/cpu/cpu0/cache/index*. Some hypervisors (this project's
// Firecracker-style VMs among them) expose no cache directory at all; then glibc's sysconf, which
// asks CPUID on x86, gives at least sizes and line sizes.
Napi::Array ReadCaches(Napi::Env env, int cpu) {
  Napi::Array caches = Napi::Array::New(env);
  uint32_t n = 0;
  std::string base = std::string(kCpuRoot) + "/cpu" + std::to_string(cpu) + "/cache/index";
  for (int i = 0; i < 16; ++i) {
    std::string dir = base + std::to_string(i);
    bool ok = false;
    std::string levelText = ReadTextFile(dir + "/level", &ok);
    if (!ok) break;
    int level = std::atoi(levelText.c_str());
    std::string type = ReadTextFile(dir + "/type");
    double size = ParseCacheSize(ReadTextFile(dir + "/size"));
    double line = static_cast<double>(ReadLongFile(dir + "/coherency_line_size", -1));
    double ways = static_cast<double>(ReadLongFile(dir + "/ways_of_associativity", -1));
    std::vector<int> shared = ReadCpuListFile(dir + "/shared_cpu_list");
    caches.Set(n++, CacheObject(env, level, type, size, line, ways, shared, "sysfs"));
  }
  if (n > 0) return caches;

#if defined(_SC_LEVEL1_DCACHE_SIZE)
  struct Fallback {
    int level;
    const char* type;
    int size, line, assoc;
  };
  const Fallback fallbacks[] = {
      {1, "Data", _SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL1_DCACHE_LINESIZE, _SC_LEVEL1_DCACHE_ASSOC},
      {1, "Instruction", _SC_LEVEL1_ICACHE_SIZE, _SC_LEVEL1_ICACHE_LINESIZE,
       _SC_LEVEL1_ICACHE_ASSOC},
      {2, "Unified", _SC_LEVEL2_CACHE_SIZE, _SC_LEVEL2_CACHE_LINESIZE, _SC_LEVEL2_CACHE_ASSOC},
      {3, "Unified", _SC_LEVEL3_CACHE_SIZE, _SC_LEVEL3_CACHE_LINESIZE, _SC_LEVEL3_CACHE_ASSOC},
      {4, "Unified", _SC_LEVEL4_CACHE_SIZE, _SC_LEVEL4_CACHE_LINESIZE, _SC_LEVEL4_CACHE_ASSOC},
  };
  for (const Fallback& f : fallbacks) {
    long size = sysconf(f.size);
    if (size <= 0) continue;
    long line = sysconf(f.line);
    long ways = sysconf(f.assoc);
    caches.Set(n++, CacheObject(env, f.level, f.type, static_cast<double>(size),
                                line > 0 ? static_cast<double>(line) : -1,
                                ways > 0 ? static_cast<double>(ways) : -1, std::vector<int>(),
                                "sysconf"));
  }
#endif
  return caches;
}

Napi::Value Topology(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool ok = false;
  std::vector<int> online = ReadCpuListFile(std::string(kCpuRoot) + "/online", &ok);
  if (!ok || online.empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    online.clear();
    for (long i = 0; i < n; ++i) online.push_back(static_cast<int>(i));
  }
  std::vector<NodeCpus> nodes = ReadNodes(online);

  Napi::Array cpus = Napi::Array::New(env, online.size());
  bool smt = false;
  for (size_t i = 0; i < online.size(); ++i) {
    int cpu = online[i];
    std::string topo = std::string(kCpuRoot) + "/cpu" + std::to_string(cpu) + "/topology/";
    std::vector<int> siblings = ReadCpuListFile(topo + "thread_siblings_list");
    if (siblings.empty()) siblings.push_back(cpu);
    if (siblings.size() > 1) smt = true;
    Napi::Object c = Napi::Object::New(env);
    c.Set("cpu", cpu);
    c.Set("core", static_cast<double>(ReadLongFile(topo + "core_id", -1)));
    c.Set("package", static_cast<double>(ReadLongFile(topo + "physical_package_id", -1)));
    c.Set("node", NodeOfCpu(nodes, cpu));
    c.Set("siblings", ToJsArray(env, siblings));
    cpus.Set(static_cast<uint32_t>(i), c);
  }

  Napi::Array nodeArray = Napi::Array::New(env, nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("node", nodes[i].node);
    o.Set("cpus", ToJsArray(env, nodes[i].cpus));
    nodeArray.Set(static_cast<uint32_t>(i), o);
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("onlineCpus", ToJsArray(env, online));
  out.Set("cpus", cpus);
  out.Set("numaNodes", static_cast<double>(nodes.size()));
  out.Set("nodes", nodeArray);
  out.Set("caches", ReadCaches(env, online.empty() ? 0 : online[0]));
  out.Set("smt", smt);
  return out;
}

}  // namespace

void InitTopology(Napi::Env env, Napi::Object exports) {
  exports.Set("topology", Napi::Function::New(env, Topology, "topology"));
}

}  // namespace clob
