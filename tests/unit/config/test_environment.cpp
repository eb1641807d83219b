// The exporter's environment variables.
#include "load_helpers.hpp"

using namespace prefork::config;
using namespace prefork::config::testing;

TEST_CASE("every exporter variable reaches its setting") {
  Config config =
      loaded({}, {"REDIS_ENABLED=yes", "REDIS_HOST=redis.internal", "REDIS_PORT=6390", "REDIS_DB=3",
                  "REDIS_KEY_PREFIX=myapp", "REDIS_TTL_SECONDS=60", "REDIS_PASSWORD=s3cret",
                  "REDIS_SSL=false", "PROMETHEUS_METRICS_PORT=9200", "PROMETHEUS_BIND_ADDRESS=::1",
                  "PROMETHEUS_MULTIPROC_DIR=/tmp/metrics", "GUNICORN_WORKERS=6", "REDIS_DEBUG=1",
                  "PROMETHEUS_DEBUG=TRUE"});
  CHECK(config.redis.enabled);
  CHECK(config.redis.host == "redis.internal");
  CHECK(config.redis.port == 6390);
  CHECK(config.redis.db == 3);
  CHECK(config.redis.key_prefix == "myapp");
  CHECK(config.redis.ttl_seconds == 60);
  CHECK(config.redis.password == "s3cret");
  CHECK_FALSE(config.redis.ssl);
  CHECK(config.metrics.port == 9200);
  CHECK(config.metrics.bind_address == "::1");
  CHECK(config.metrics.multiproc_dir == "/tmp/metrics");
  CHECK(config.workers == 6);
  CHECK(config.redis.debug);
  CHECK(config.metrics.debug);
}

TEST_CASE("booleans accept true/false/1/0/yes/no/on/off in any case, and empty as false") {
  for (const char* yes : {"true", "TRUE", "1", "yes", "Yes", "on", "ON"}) {
    CHECK(loaded({}, {std::string("REDIS_ENABLED=") + yes}).redis.enabled);
  }
  for (const char* no : {"false", "False", "0", "no", "NO", "off", "Off", ""}) {
    CHECK_FALSE(loaded({}, {std::string("REDIS_ENABLED=") + no}).redis.enabled);
  }
  CHECK(error_of({}, {"REDIS_DEBUG=maybe"}) ==
        "environment: REDIS_DEBUG: expected a boolean (true/false, 1/0, yes/no, on/off), got "
        "\"maybe\"");
}

TEST_CASE("the exporter's GUNICORN_TIMEOUT and GUNICORN_KEEPALIVE set timeout and keepalive") {
  Config config = loaded({}, {"GUNICORN_TIMEOUT=90", "GUNICORN_KEEPALIVE=0.5"});
  CHECK(config.timeout == 90);
  CHECK(config.keepalive == 0.5);
  CHECK(loaded({"--timeout", "10"}, {"GUNICORN_TIMEOUT=90"}).timeout == 10);
  CHECK(error_of({}, {"GUNICORN_KEEPALIVE=-1"}) ==
        "environment: GUNICORN_KEEPALIVE: must not be negative, got -1");
}

TEST_CASE("REDIS_TTL_DISABLED, or a TTL of 0, means keys that never expire") {
  CHECK(loaded({}).redis.key_ttl() == 300);
  Config disabled = loaded({}, {"REDIS_TTL_DISABLED=true", "REDIS_TTL_SECONDS=60"});
  CHECK(disabled.redis.ttl_disabled);
  CHECK(disabled.redis.ttl_seconds == 60);
  CHECK(disabled.redis.key_ttl() == 0);
  CHECK(loaded({}, {"REDIS_TTL_DISABLED=off", "REDIS_TTL_SECONDS=60"}).redis.key_ttl() == 60);
  CHECK(loaded({}, {"REDIS_TTL_SECONDS=0"}).redis.key_ttl() == 0);
}

TEST_CASE("CLEANUP_DB_FILES: dead workers' .db files are folded and removed unless false") {
  CHECK(loaded({}).metrics.cleanup_db_files);
  CHECK(loaded({}, {"CLEANUP_DB_FILES=yes"}).metrics.cleanup_db_files);
  CHECK_FALSE(loaded({}, {"CLEANUP_DB_FILES=false"}).metrics.cleanup_db_files);
}

TEST_CASE("the first definition of a variable wins, as with getenv") {
  CHECK(loaded({}, {"GUNICORN_WORKERS=2", "GUNICORN_WORKERS=9"}).workers == 2);
}

TEST_CASE("variables the config does not know are ignored") {
  CHECK(loaded({}, {"PATH=/usr/bin", "REDIS=1", "REDIS_PORTS=1"}).redis.port == 6379);
}

TEST_CASE("a bad environment value names the variable") {
  CHECK(error_of({}, {"REDIS_PORT=abc"}) ==
        "environment: REDIS_PORT: expected an integer, got \"abc\"");
  CHECK(error_of({}, {"REDIS_PORT=12abc"}) ==
        "environment: REDIS_PORT: expected an integer, got \"12abc\"");
  CHECK(error_of({}, {"REDIS_PORT="}) == "environment: REDIS_PORT: expected an integer, got \"\"");
  CHECK(error_of({}, {"GUNICORN_WORKERS=0"}) ==
        "environment: GUNICORN_WORKERS: must be at least 1, got 0");
  CHECK(error_of({}, {"GUNICORN_WORKERS=99999999999999999999"}) ==
        "environment: GUNICORN_WORKERS: integer out of range: \"99999999999999999999\"");
  CHECK(error_of({}, {"PROMETHEUS_METRICS_PORT=65536"}) ==
        "environment: PROMETHEUS_METRICS_PORT: must be between 0 and 65535, got 65536");
  CHECK(error_of({}, {"PROMETHEUS_BIND_ADDRESS=localhost"}) ==
        "environment: PROMETHEUS_BIND_ADDRESS: expected an IPv4 or IPv6 address, got "
        "\"localhost\"");
}

TEST_CASE("REDIS_SSL and the TLS files come from the environment") {
  Config config = loaded({}, {"REDIS_SSL=true", "REDIS_SSL_CA_CERTS=/dev/null",
                              "REDIS_SSL_CERT_REQS=none", "REDIS_SSL_CHECK_HOSTNAME=false"});
  CHECK(config.redis.ssl);
  CHECK(config.redis.ssl_ca_certs == "/dev/null");
  CHECK(config.redis.ssl_cert_reqs == "none");
  CHECK_FALSE(config.redis.ssl_check_hostname);
  CHECK(error_of({}, {"REDIS_SSL_CERTFILE=/nonexistent.pem"}) ==
        "environment: REDIS_SSL_CERTFILE: cannot read \"/nonexistent.pem\": No such file or "
        "directory");
}

TEST_CASE("PROMETHEUS_REDIS_URL is kept as given (the storage applies it)") {
  Config config = loaded({}, {"PROMETHEUS_REDIS_URL=redis://:pw@cache:6400/2"});
  CHECK(config.redis.url == "redis://:pw@cache:6400/2");
}

TEST_CASE("REDIS_SENTINELS is a comma-separated list, checked element by element") {
  Config config = loaded({}, {"REDIS_SENTINELS=127.0.0.1:26379, [::1]:26380,s3",
                              "REDIS_SENTINEL_MASTER=metrics", "REDIS_SENTINEL_PASSWORD=pw"});
  CHECK(config.redis.sentinels == std::vector<std::string>{"127.0.0.1:26379", "[::1]:26380", "s3"});
  CHECK(config.redis.sentinel_master == "metrics");
  CHECK(config.redis.sentinel_password == "pw");
  CHECK(error_of({}, {"REDIS_SENTINELS=a:1,b:0"}) ==
        "environment: REDIS_SENTINELS: element 2 (\"b:0\"): expected a port 1..65535");
}

TEST_CASE(
    "REDIS_CLUSTER_NODES: a list of nodes, database 0, no sentinels, no braces in the prefix") {
  Config config = loaded({}, {"REDIS_CLUSTER_NODES=127.0.0.1:7000,127.0.0.1:7001"});
  CHECK(config.redis.cluster_nodes == std::vector<std::string>{"127.0.0.1:7000", "127.0.0.1:7001"});
  CHECK(error_of({}, {"REDIS_CLUSTER_NODES=n1:7000", "REDIS_DB=3"}) ==
        "redis.db: 3, but a Redis Cluster has only database 0 (redis.cluster_nodes is set)");
  CHECK(error_of({}, {"REDIS_CLUSTER_NODES=n1:7000", "PROMETHEUS_REDIS_URL=redis://n1/2"}) ==
        "redis.url: database 2, but a Redis Cluster has only database 0 (redis.cluster_nodes is "
        "set)");
  CHECK(error_of({}, {"REDIS_CLUSTER_NODES=n1:7000", "REDIS_SENTINELS=s1:26379"}) ==
        "redis.sentinels and redis.cluster_nodes are both set: a Redis is either watched by "
        "sentinels or a cluster, choose one");
  CHECK(error_of({}, {"REDIS_CLUSTER_NODES=n1:7000", "REDIS_KEY_PREFIX=a{b}"}) ==
        "redis.key_prefix: a{b}: must not contain '{' or '}' in a cluster (braces mark the hash "
        "tag)");
  CHECK(loaded({}, {"REDIS_DB=3"}).redis.db == 3);
}

TEST_CASE("a rediss:// URL is taken") {
  CHECK(loaded({}, {"PROMETHEUS_REDIS_URL=rediss://cache:6380"}).redis.url ==
        "rediss://cache:6380");
}
