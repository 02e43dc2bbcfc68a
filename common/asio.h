// The one way to include Boost.Asio in mpic. Boost 1.74's Asio needs <utility> before it with
// g++ 12 ("exchange is not a member of std", docs/architecture.md, Pitfalls).
//
//   #include "common/asio.h"
//   mpic::asio::io_context io;
#pragma once

#include <utility>

#include <boost/asio.hpp>

namespace mpic {
namespace asio = boost::asio;
}  // namespace mpic
