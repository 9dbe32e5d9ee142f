// Library handles that are never closed.
//
// Plugins may register thread-locals, atexit handlers or driver callbacks;
// closing them while the process tears down static objects has crashed ggml,
// torchcomms and cucim. moert therefore keeps every handle it opened (accepted
// or rejected) open until the process exits, in storage that is never
// destroyed.
#pragma once

#include <memory>

#include <boost/dll/shared_library.hpp>

namespace moert {
namespace host {

// Moves `lib` into never-destroyed storage and returns a non-owning pointer
// to it (the deleter does nothing).
std::shared_ptr<void> keep_library_forever(boost::dll::shared_library&& lib);

}  // namespace host
}  // namespace moert
