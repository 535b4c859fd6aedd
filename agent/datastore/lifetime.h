// Guards asynchronous handlers against running after their owner is gone: timers and
// descriptors complete cancelled waits *after* the owner's destructor, with `this` dangling.
#pragma once

#include <memory>
#include <utility>

namespace kc::datastore {

class LifetimeToken {
 public:
  // Wraps `f` so that it does nothing once the token (its owner) is destroyed.
  template <class F>
  auto wrap(F f) const {
    return [alive = std::weak_ptr<int>(token_), f = std::move(f)](auto&&... args) mutable {
      if (alive.expired()) return;
      f(std::forward<decltype(args)>(args)...);
    };
  }
  std::weak_ptr<int> watch() const { return token_; }

 private:
  std::shared_ptr<int> token_ = std::make_shared<int>(0);
};

}  // namespace kc::datastore
