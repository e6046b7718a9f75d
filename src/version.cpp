#include <concur/config.hpp>
#include <concur/version.hpp>

namespace concur {
std::string_view version() noexcept { return CONCUR_VERSION; }
}  // namespace concur
