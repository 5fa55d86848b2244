#pragma once
// A Python callable that C++ callbacks of aswarm._mpi (pipeline filters and transforms, the
// blackboard's prompt and convergence functions) may hold, copy and call with the GIL released.
#include <pybind11/pybind11.h>

#include <memory>
#include <stdexcept>
#include <utility>

namespace aswarm_py {

/// A Python callable that C++ may copy and call without the GIL: copies share one reference
/// (copying a pybind11::object would touch its refcount unlocked), and each call takes the GIL.
class Callable {
 public:
  explicit Callable(pybind11::object fn) : fn_(std::make_shared<Ref>(std::move(fn))) {}

  /// Calls the function with the GIL held and returns `convert(its result)`, also under it
  /// (a pybind11::object must not outlive the GIL); a Python exception becomes std::runtime_error.
  template <class Convert, class... Args>
  auto call(Convert&& convert, const Args&... args) const {
    pybind11::gil_scoped_acquire gil;
    try {
      return convert(fn_->obj(args...));
    } catch (pybind11::error_already_set& e) {
      throw std::runtime_error(e.what());  // carried out of the GIL as a plain C++ error
    }
  }

 private:
  struct Ref {
    explicit Ref(pybind11::object o) : obj(std::move(o)) {}
    ~Ref() {
      pybind11::gil_scoped_acquire gil;  // the last copy may go where the GIL is not held
      obj = pybind11::object();
    }
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    pybind11::object obj;
  };
  std::shared_ptr<Ref> fn_;
};

}  // namespace aswarm_py
