// Errors.  Every failure is a dl::Error carrying the Python exception kind it becomes; messages
// start with the op's name and say what was expected and what came ("conv2d: expected ...").
// The binding layer translates these into ValueError, TypeError, IndexError, MemoryError or
// RuntimeError; nothing is allowed to crash the interpreter.
#pragma once
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace dl {

enum class ErrorKind { Value, Type, Index, Memory, Runtime };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Message pieces are formatted without iostreams: a process that loaded an older libstdc++
// first (some Python environments do) can crash in ostream's locale-based number formatting.
namespace detail {
inline void append(std::string& s, const std::string& v) { s += v; }
inline void append(std::string& s, const char* v) { s += v; }
inline void append(std::string& s, char v) { s += v; }
inline void append(std::string& s, bool v) { s += v ? "true" : "false"; }
inline void append(std::string& s, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  s += buf;
}
template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char>, int> = 0>
void append(std::string& s, T v) {
  s += std::to_string(v);
}
template <class T, std::enable_if_t<std::is_enum_v<T>, int> = 0>
void append(std::string& s, T v) {
  s += std::to_string(static_cast<long long>(v));
}
inline void append(std::string& s, float v) { append(s, static_cast<double>(v)); }
}  // namespace detail

template <class... Args>
[[noreturn]] void fail(ErrorKind kind, const char* op, Args&&... args) {
  std::string s(op);
  s += ": ";
  (detail::append(s, std::forward<Args>(args)), ...);
  throw Error(kind, s);
}

}  // namespace dl

// DL_CHECK(cond, Value, "add", "expected ... got ", x): raise unless cond holds.
#define DL_CHECK(cond, kind, op, ...)                                  \
  do {                                                                 \
    if (!(cond)) ::dl::fail(::dl::ErrorKind::kind, op, __VA_ARGS__);   \
  } while (0)
