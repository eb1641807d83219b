// Files the server writes to: the error log and the access logs, opened the same way.
#pragma once

#include <string_view>

#include "core/unique_fd.hpp"

namespace prefork {

// For appending lines from several processes (O_APPEND keeps each write() whole), closed on
// exec, created 0644. Empty when it cannot be opened (errno says why).
UniqueFd open_append(const char* path);

// 0, or the errno of the write that failed; short writes and EINTR are continued.
int write_all(int fd, std::string_view data);

}  // namespace prefork
