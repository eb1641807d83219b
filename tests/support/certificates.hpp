// Certificates a test makes with the openssl command line, in a temporary directory removed at
// scope exit: a CA, certificates it signs (for a server or a client), and a second CA that
// signs nothing of these, to be the wrong one. EC keys keep it fast.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace prefork::testing {

class Certificates {
 public:
  Certificates() {
    char pattern[] = "/tmp/prefork-certs-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    make_ca("ca");
    make_ca("other-ca");
  }
  ~Certificates() { std::filesystem::remove_all(directory_); }
  Certificates(const Certificates&) = delete;
  Certificates& operator=(const Certificates&) = delete;

  std::string file(const std::string& name) const { return directory_ + "/" + name; }
  std::string ca() const { return file("ca.pem"); }
  std::string other_ca() const { return file("other-ca.pem"); }

  // name.pem and name.key, signed by the CA (or by signer: "other-ca"), for the subject
  // alternative names in san ("DNS:localhost,IP:127.0.0.1"); client: for TLS client
  // authentication.
  void issue(const std::string& name, const std::string& san, bool client = false,
             const std::string& signer = "ca") const {
    std::ofstream(file(name + ".ext"))
        << "subjectAltName=" << san << "\n"
        << "extendedKeyUsage=" << (client ? "clientAuth" : "serverAuth") << "\n";
    run("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
        " -keyout " + file(name + ".key") + " -out " + file(name + ".csr"));
    run("x509 -req -days 2 -in " + file(name + ".csr") + " -CA " + file(signer + ".pem") +
        " -CAkey " + file(signer + ".key") + " -CAcreateserial -extfile " + file(name + ".ext") +
        " -out " + file(name + ".pem"));
  }

  // Writes text to name (garbage in place of a certificate, say); returns its path.
  std::string write_file(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }

 private:
  void make_ca(const std::string& name) const {
    run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
        name + " -keyout " + file(name + ".key") + " -out " + file(name + ".pem"));
  }

  static void run(const std::string& arguments) {
    std::string command = "openssl " + arguments + " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }

  std::string directory_;
};

}  // namespace prefork::testing
