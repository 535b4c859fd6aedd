// Guards asynchronous handlers against running after their owner is gone: timers and
// descriptors complete cancelled waits *after* the owner's destructor, with `this` dangling.
// The one idiom for it in this tree: the owner keeps a LifetimeToken, its handlers either
// are wrap()ped or hold a watch() and test expired() before touching the owner.
#pragma once

#include <memory>
#include <utility>

namespace kc {

class LifetimeToken {
 public:
  // What a handler holds: expired() once the owner is gone (or ended its lifetime early).
  using Watch = std::weak_ptr<const int>;

  // Wraps `f` so that it does nothing once the token (its owner) is destroyed.
  template <class F>
  auto wrap(F f) const {
    return [alive = watch(), f = std::move(f)](auto&&... args) mutable {
      if (alive.expired()) return;
      f(std::forward<decltype(args)>(args)...);
    };
  }
  Watch watch() const { return token_; }

  // Ends the lifetime before the token itself is destroyed: for owners whose destructor
  // body tears down parts that run handlers, which must already see the owner as gone.
  void end() { token_.reset(); }

 private:
  std::shared_ptr<const int> token_ = std::make_shared<const int>(0);
};

}  // namespace kc
