#include <doctest/doctest.h>
#include <zlib.h>

#include "metrics/exposition.hpp"

using namespace prefork::metrics;

namespace {

std::string gunzip(const std::string& compressed) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = uInt(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = uInt(out.size());
  CHECK(inflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

}  // namespace

TEST_CASE("HELP escapes backslash and newline; label values also the double quote") {
  Family family{"f",
                "a \\ b\nc \"q\"",
                Type::gauge,
                {Sample{"f", {{"b", "x\\y\n\"z\""}, {"a", "\xc3\xa9"}}, 1}}};
  CHECK(render_text({family}) ==
        "# HELP f a \\\\ b\\nc \"q\"\n# TYPE f gauge\n"
        "f{a=\"\xc3\xa9\",b=\"x\\\\y\\n\\\"z\\\"\"} 1.0\n");
}

TEST_CASE("counters are named with _total in HELP and TYPE; empty families still show") {
  CHECK(render_text({Family{"requests", "R.", Type::counter, {}},
                     Family{"latency", "L.", Type::summary, {}}}) ==
        "# HELP requests_total R.\n# TYPE requests_total counter\n"
        "# HELP latency L.\n# TYPE latency summary\n");
}

TEST_CASE("gzip round-trips") {
  const std::string text = render_text({Family{"g", "G.", Type::gauge, {Sample{"g", {}, 2}}}});
  std::string compressed;
  REQUIRE(gzip(text, compressed));
  CHECK(compressed.substr(0, 2) == "\x1f\x8b");
  CHECK(gunzip(compressed) == text);
}

TEST_CASE("Accept-Encoding decides gzip") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, gzip;q=0.5"));
  CHECK(accepts_gzip("*"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("deflate"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("x-gzip2"));
}
