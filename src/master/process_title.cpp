#include "master/process_title.hpp"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace prefork::master {
namespace {

struct TitleArea {
  char* start = nullptr;
  std::size_t size = 0;
  // The environment moved out of the title's way, array and strings in one block, held here so
  // that it stays reachable (and no leak checker reports it) once setenv or unsetenv drop its
  // array or strings from environ.
  char** moved_environ = nullptr;
};

TitleArea& title_area() {
  static TitleArea area;
  return area;
}

// The kernel lays argv and environ strings out back to back; the title may use all of it once
// environ lives elsewhere.
char* end_of_contiguous_strings(char* end, char** strings) {
  for (std::size_t i = 0; strings[i]; ++i) {
    if (strings[i] != end + 1) break;
    end = strings[i] + std::strlen(strings[i]);
  }
  return end;
}

bool move_environ_to_heap() {
  std::size_t count = 0;
  std::size_t bytes = 0;
  while (environ[count]) bytes += std::strlen(environ[count++]) + 1;
  // Lives for the whole process, like the environment it replaces: the array, then the strings.
  auto** copy = static_cast<char**>(std::malloc((count + 1) * sizeof(char*) + bytes));
  if (!copy) return false;
  char* text = reinterpret_cast<char*>(copy + count + 1);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t size = std::strlen(environ[i]) + 1;
    std::memcpy(text, environ[i], size);
    copy[i] = text;
    text += size;
  }
  copy[count] = nullptr;
  environ = copy;
  title_area().moved_environ = copy;
  return true;
}

}  // namespace

void claim_process_title_memory(int argc, char** argv) {
  if (argc < 1 || !argv[0]) return;
  char* end = argv[0] + std::strlen(argv[0]);
  end = end_of_contiguous_strings(end, argv + 1);
  char** old_environ = environ;
  // The title may run over the environment's strings only once they live elsewhere.
  if (old_environ && old_environ[0] && old_environ[0] == end + 1 && move_environ_to_heap())
    end = end_of_contiguous_strings(end, old_environ);
  title_area() = {argv[0], std::size_t(end - argv[0])};
}

void set_process_title(std::string_view title) {
  TitleArea& area = title_area();
  if (area.start && area.size > 0) {
    std::size_t length = std::min(title.size(), area.size - 1);
    std::memcpy(area.start, title.data(), length);
    std::memset(area.start + length, 0, area.size - length);
  }
  std::string name(title.substr(0, 15));
  prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
}

std::string master_title(std::string_view proc_name) {
  return "prefork: master [" + std::string(proc_name) + "]";
}

std::string old_master_title(std::string_view proc_name) {
  return "prefork: master (old) [" + std::string(proc_name) + "]";
}

std::string metrics_title(std::string_view proc_name) {
  return "prefork: metrics [" + std::string(proc_name) + "]";
}

std::string worker_title(std::string_view proc_name) {
  return "prefork: worker [" + std::string(proc_name) + "]";
}

std::string probe_title(std::string_view proc_name) {
  return "prefork: app probe [" + std::string(proc_name) + "]";
}

}  // namespace prefork::master
