// set_client_threads (rest_client.h), alone in its file: cpprestsdk's pplx/threadpool.h uses
// Boost.Asio's deprecated io_service, which the project turns off everywhere else
// (BOOST_ASIO_NO_DEPRECATED). Nothing from Asio crosses this file's interface.
#undef BOOST_ASIO_NO_DEPRECATED
#include <pplx/threadpool.h>

#include "operator/kube/rest_client.h"

namespace kc::kube {

bool set_client_threads(size_t n) {
  try {
    crossplat::threadpool::initialize_with_threads(n);
    return true;
  } catch (const std::exception&) {
    return false;  // the pool exists already
  }
}

}  // namespace kc::kube
