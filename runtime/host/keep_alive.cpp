// See keep_alive.h: the handles live until exit, never closed by us.
#include "keep_alive.h"

#include <deque>
#include <mutex>

namespace moert {
namespace host {

std::shared_ptr<void> keep_library_forever(boost::dll::shared_library&& lib) {
  // Allocated once and deliberately never deleted: no destructor runs at exit,
  // so no dlclose happens during static destruction. A deque keeps element
  // addresses stable as it grows.
  static std::mutex* mutex = new std::mutex;
  static std::deque<boost::dll::shared_library>* libraries = new std::deque<boost::dll::shared_library>;
  std::lock_guard<std::mutex> lock(*mutex);
  libraries->push_back(std::move(lib));
  return std::shared_ptr<void>(&libraries->back(), [](void*) {});
}

}  // namespace host
}  // namespace moert
