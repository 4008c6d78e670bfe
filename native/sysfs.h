// Small helpers for reading the kernel's text interfaces (/sys, /proc).
// Header-only: each function is a few lines and is shared by several concepts.
#pragma once

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace clob {

// Whole file as a string with trailing whitespace removed; `ok` reports whether it could be read.
inline std::string ReadTextFile(const std::string& path, bool* ok = nullptr) {
  std::ifstream in(path);
  if (!in) {
    if (ok) *ok = false;
    return std::string();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (ok) *ok = true;
  return s;
}

// Integer from a one-number file (e.g. core_id); `fallback` if missing or malformed.
inline long ReadLongFile(const std::string& path, long fallback) {
  bool ok = false;
  std::string s = ReadTextFile(path, &ok);
  if (!ok || s.empty()) return fallback;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str()) return fallback;
  return v;
}

// Kernel cpu list format: "0-3,8,10-11" -> {0,1,2,3,8,10,11}. Empty string -> {}.
inline std::vector<int> ParseCpuList(const std::string& text) {
  std::vector<int> out;
  const char* p = text.c_str();
  while (*p) {
    while (*p == ',' || std::isspace(static_cast<unsigned char>(*p))) ++p;
    if (!std::isdigit(static_cast<unsigned char>(*p))) break;
    char* end = nullptr;
    long a = std::strtol(p, &end, 10);
    long b = a;
    p = end;
    if (*p == '-') {
      b = std::strtol(p + 1, &end, 10);
      p = end;
    }
    // "a-b:stride/group" exists in some kernels' inputs but never in their outputs; ignore.
    for (long i = a; i <= b && i - a < 1 << 20; ++i) out.push_back(static_cast<int>(i));
  }
  return out;
}

inline std::vector<int> ReadCpuListFile(const std::string& path, bool* ok = nullptr) {
  bool read = false;
  std::string s = ReadTextFile(path, &read);
  if (ok) *ok = read;
  return read ? ParseCpuList(s) : std::vector<int>();
}

}  // namespace clob
