// A real redis-server for tests: started on a free 127.0.0.1 port, ready when PING answers,
// stopped by pid. Header-only so unit and e2e tests can share it without a library.
#pragma once

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/certificates.hpp"

namespace prefork::testing {

// A loopback TCP port nobody listens on right now (the kernel's pick for port 0).
inline int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot pick a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// Starts arguments[0] (found on PATH) with arguments, its stdout on /dev/null; the pid.
inline pid_t spawn_quietly(std::vector<std::string> arguments) {
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork() failed");
  if (child == 0) {
    int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDOUT_FILENO);
      ::close(null_fd);
    }
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return child;
}

class RedisServer {
 public:
  // A TLS port beside the plain one (which the test itself uses to look inside).
  struct Tls {
    std::string cert_file, key_file;
    std::string ca_file;        // what client certificates must be signed by
    bool auth_clients = false;  // a client certificate is required

    // The certificate name that certificates issued (NAME.pem, NAME.key) and their CA.
    static Tls issued(const Certificates& certificates, const std::string& name,
                      bool auth_clients = false) {
      return {certificates.file(name + ".pem"), certificates.file(name + ".key"), certificates.ca(),
              auth_clients};
    }
  };
  struct Options {
    std::string password;  // requirepass; "" = no authentication
    std::optional<Tls> tls;
    std::vector<std::string> arguments;  // more options: {"--replicaof", "127.0.0.1", "6380"}
    std::string sentinel_config;         // set: a sentinel (--sentinel) with this config file
    bool cluster = false;                // a cluster node (node timeout 1 s), in no cluster yet
  };

  using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(const char* password) : RedisServer(Options{password, {}, {}, {}, false}) {}
  explicit RedisServer(Tls tls) : RedisServer(Options{"", std::move(tls), {}, {}, false}) {}
  explicit RedisServer(Options options)
      : password_(std::move(options.password)),
        tls_(std::move(options.tls)),
        arguments_(std::move(options.arguments)),
        dir_(make_directory()) {
    if (!options.sentinel_config.empty()) write_config(options.sentinel_config);
    if (options.cluster) {
      write_config("");
      arguments_.insert(arguments_.end(), {"--cluster-enabled", "yes", "--cluster-config-file",
                                           config_file_, "--cluster-node-timeout", "1000"});
    }
    // Another process may take the picked port between the pick and redis' bind: retry.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = unused_port();
      if (tls_) tls_port_ = unused_port();
      if (options.cluster) bus_port_ = unused_port();
      if (start()) return;
    }
    throw std::runtime_error("redis-server did not start (is it installed?)");
  }

  ~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  const std::string& password() const { return password_; }
  std::string host() const { return "127.0.0.1"; }
  std::string url(int db = 0) const {
    std::string auth = password_.empty() ? "" : ":" + password_ + "@";
    return "redis://" + auth + host() + ":" + std::to_string(port_) + "/" + std::to_string(db);
  }

  // An ACL user allowed every command and key (ACL SETUSER NAME on >PASSWORD ~* &* +@all); an
  // empty password makes a "nopass" user. False when Redis refuses.
  bool add_user(const std::string& name, const std::string& password) {
    timeval timeout{2, 0};
    redisContext* context = redisConnectWithTimeout(host().c_str(), port_, timeout);
    if (context == nullptr) return false;
    bool added = context->err == 0 && (password_.empty() || run(context, {"AUTH", password_}));
    std::string secret = password.empty() ? "nopass" : ">" + password;
    added = added && run(context, {"ACL", "SETUSER", name, "on", secret, "~*", "&*", "+@all"});
    redisFree(context);
    return added;
  }

  // One command over a new connection (AUTH first when a password is set); null when the
  // connection fails. An error reply is returned as it is.
  Reply command(const std::vector<std::string>& command) const {
    Reply none(nullptr, freeReplyObject);
    timeval timeout{2, 0};
    redisContext* context = redisConnectWithTimeout(host().c_str(), port_, timeout);
    if (context == nullptr) return none;
    if (context->err != 0 || (!password_.empty() && !run(context, {"AUTH", password_}))) {
      redisFree(context);
      return none;
    }
    redisSetTimeout(context, timeout);
    Reply reply(send(context, command), freeReplyObject);
    redisFree(context);
    return reply;
  }

  // The "field:value" lines of INFO SECTION; "" when the field is not there.
  std::string info_field(const std::string& section, const std::string& field) const {
    Reply reply = command({"INFO", section});
    if (!reply || reply->type != REDIS_REPLY_STRING) return "";
    std::string text(reply->str, reply->len);
    std::size_t at = text.find("\n" + field + ":");
    if (at == std::string::npos) return "";
    at += field.size() + 2;
    return text.substr(at, text.find_first_of("\r\n", at) - at);
  }

  // SIGKILL: the data set is gone (no persistence), like a crashed Redis.
  void kill() { stop(); }

  // SIGSTOP: the kernel still accepts connections for it, but nothing is ever answered, as
  // with a Redis stuck in a long command or behind a dead network path. thaw() resumes it.
  void freeze() { ::kill(pid_, SIGSTOP); }
  void thaw() { ::kill(pid_, SIGCONT); }

  // Starts again on the same port; throws when that fails.
  void restart() {
    stop();
    if (!start()) throw std::runtime_error("redis-server did not restart on its port");
  }

 private:
  bool start() {
    // A replica writes the data set of a full sync to DIR/dump.rdb, and redis-server loads that
    // file at start: a directory of its own, emptied, so no server starts with another's keys.
    std::error_code ignored;
    std::filesystem::remove(dir_ + "/dump.rdb", ignored);
    std::string port_text = std::to_string(port_);
    std::vector<std::string> arguments = {"redis-server"};
    if (!config_file_.empty() && !bus_port_)
      arguments.insert(arguments.end(), {config_file_, "--sentinel"});
    arguments.insert(arguments.end(), {"--port", port_text, "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--logfile", "", "--dir", dir_});
    arguments.insert(arguments.end(), arguments_.begin(), arguments_.end());
    // The bus port is port + 10000 unless given, and that may be above 65535 or taken.
    if (bus_port_ != 0)
      arguments.insert(arguments.end(), {"--cluster-port", std::to_string(bus_port_)});
    if (!password_.empty()) {
      arguments.push_back("--requirepass");
      arguments.push_back(password_);
    }
    if (tls_) {
      for (const std::string& argument :
           {std::string("--tls-port"), std::to_string(tls_port_), std::string("--tls-cert-file"),
            tls_->cert_file, std::string("--tls-key-file"), tls_->key_file,
            std::string("--tls-ca-cert-file"), tls_->ca_file, std::string("--tls-auth-clients"),
            std::string(tls_->auth_clients ? "yes" : "no")}) {
        arguments.push_back(argument);
      }
    }
    pid_ = spawn_quietly(std::move(arguments));
    if (wait_until_ready()) return true;
    stop();
    return false;
  }

  // Polls PING until it answers (PONG, or NOAUTH when a password is set), redis-server exits,
  // or the deadline passes.
  bool wait_until_ready() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (answers_ping()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  static redisReply* send(redisContext* context, const std::vector<std::string>& command) {
    std::vector<const char*> arguments;
    std::vector<std::size_t> lengths;
    for (const std::string& part : command) {
      arguments.push_back(part.data());
      lengths.push_back(part.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(context, int(command.size()), arguments.data(), lengths.data()));
  }

  // One command; true when Redis answered with anything but an error.
  static bool run(redisContext* context, const std::vector<std::string>& command) {
    redisReply* reply = send(context, command);
    bool ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (reply != nullptr) freeReplyObject(reply);
    return ok;
  }

  bool answers_ping() const {
    timeval timeout{0, 200000};
    redisContext* context = redisConnectWithTimeout(host().c_str(), port_, timeout);
    if (context == nullptr) return false;
    bool ready = false;
    if (context->err == 0) {
      redisSetTimeout(context, timeout);
      auto* reply = static_cast<redisReply*>(redisCommand(context, "PING"));
      if (reply != nullptr) {
        std::string text(reply->str ? reply->str : "", reply->str ? reply->len : 0);
        ready = text == "PONG" || text.rfind("NOAUTH", 0) == 0;
        freeReplyObject(reply);
      }
    }
    redisFree(context);
    return ready;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  static std::string make_directory() {
    char path[] = "/tmp/prefork-redis-XXXXXX";
    if (::mkdtemp(path) == nullptr) throw std::runtime_error("cannot create a Redis directory");
    return path;
  }

  // A sentinel or cluster node rewrites its config file (its id, what it learns): a file of its
  // own (a cluster node starts from an empty one).
  void write_config(const std::string& text) {
    config_file_ = dir_ + "/node.conf";
    int fd = ::open(config_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + config_file_);
    bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    if (!written) throw std::runtime_error("cannot write " + config_file_);
  }

  std::string password_;
  std::optional<Tls> tls_;
  std::vector<std::string> arguments_;
  std::string dir_;          // its working directory, removed with it
  std::string config_file_;  // a sentinel's or cluster node's, in dir_
  int port_ = 0;
  int tls_port_ = 0;
  int bus_port_ = 0;  // a cluster node's
  pid_t pid_ = -1;
};

}  // namespace prefork::testing
