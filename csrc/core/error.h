// Errors.  Every failure is a dl::Error carrying the Python exception kind it becomes; messages
// start with the op's name and say what was expected and what came ("conv2d: expected ...").
// The binding layer translates these into ValueError, TypeError, IndexError, MemoryError or
// RuntimeError; nothing is allowed to crash the interpreter.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
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

template <class... Args>
[[noreturn]] void fail(ErrorKind kind, const char* op, Args&&... args) {
  std::ostringstream s;
  s << op << ": ";
  (s << ... << std::forward<Args>(args));
  throw Error(kind, s.str());
}

}  // namespace dl

// DL_CHECK(cond, Value, "add", "expected ... got ", x): raise unless cond holds.
#define DL_CHECK(cond, kind, op, ...)                                  \
  do {                                                                 \
    if (!(cond)) ::dl::fail(::dl::ErrorKind::kind, op, __VA_ARGS__);   \
  } while (0)
