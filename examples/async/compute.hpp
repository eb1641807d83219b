// GET /compute?n=N: how many primes there are up to N, counted on libuv's thread pool
// (Worker::offload) while the worker's loop goes on serving other requests.
#pragma once

#include <prefork/app.hpp>

#include <memory>
#include <string>
#include <vector>

#include "query.hpp"

namespace prefork::examples {

// A sieve of Eratosthenes: CPU-bound work that would stall every connection of the worker if
// it ran on the loop.
inline long count_primes(long n) {
  if (n < 2) return 0;
  std::vector<bool> composite(std::size_t(n) + 1);
  long count = 0;
  for (long i = 2; i <= n; ++i) {
    if (composite[std::size_t(i)]) continue;
    ++count;
    for (long multiple = i * i; multiple <= n; multiple += i)
      composite[std::size_t(multiple)] = true;
  }
  return count;
}

inline void compute(const Request& request, Responder responder) {
  constexpr long largest = 10'000'000;  // 1.25 MB of sieve: one client cannot ask for more
  std::optional<long> n = query_number(request.query(), "n");
  if (!n || *n < 0 || *n > largest) {
    responder.send(Response::text(400, "n must be a whole number from 0 to 10000000\n"));
    return;
  }
  // done owns the job and runs after work, which only borrows it. Both are move-only lambdas:
  // done owns the Responder too, and answers with it on the loop.
  struct Job {
    long n;
    long primes = 0;
  };
  auto job = std::make_unique<Job>(Job{*n});
  Job* borrowed = job.get();
  request.worker().offload([borrowed] { borrowed->primes = count_primes(borrowed->n); },
                           [job = std::move(job), responder = std::move(responder)]() mutable {
                             responder.send(Response::json(
                                 200, "{\"n\":" + std::to_string(job->n) +
                                          ",\"primes\":" + std::to_string(job->primes) + "}\n"));
                           });
}

}  // namespace prefork::examples
