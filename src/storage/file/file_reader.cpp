#include "storage/file/file_reader.hpp"

#include "metrics/exposition.hpp"
#include "storage/file/file_collector.hpp"
#include "storage/scrape_job.hpp"

namespace prefork::storage::file {

FileReader::FileReader(std::string directory, uv_loop_t* loop, bool redis_fallback)
    : directory_(std::move(directory)),
      redis_fallback_(redis_fallback),
      scrapes_(loop, "Metrics scrapes", 0) {}

FileReader::~FileReader() {
  scrapes_.drain(false);
}

void FileReader::scrape(std::function<void(Result<std::string>)> done) {
  push_scrape(
      scrapes_,
      [this] {
        FileCollector collector(directory_);
        return metrics::render_text(collector.collect(keys_));
      },
      std::move(done));
}

void FileReader::check_health(std::function<void(const Health&)> done) {
  done({"file", true, false, redis_fallback_});
}

void FileReader::shut_down() {
  scrapes_.drain(false);
}

}  // namespace prefork::storage::file
