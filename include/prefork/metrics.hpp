// Application metrics with prometheus_client's multiprocess semantics: Counter, Gauge (with a
// multiprocess_mode), Histogram and Summary, in a Registry whose values live in the worker's
// storage (a .db file or the shared-memory slot) and are aggregated by the master.
//
//   auto& requests = registry.counter("myapp_requests_total", "Requests.", {"method"});
//   auto& get = requests.labels({"GET"});  // keep it: later calls are plain adds
//   get.inc();
#pragma once

#include <atomic>
#include <ctime>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace prefork::metrics {

class ValueStore;

// Misuse of the metric API: an invalid or duplicate name, a wrong number of label values, a
// negative counter increment, inc() on a mostrecent gauge, unsorted buckets…
class MetricError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

// Values are shared with other threads (threads worker class) and read by other processes:
// every access is atomic, and relaxed, since each value stands alone.
inline void add(double* cell, double amount) {
  std::atomic_ref<double>(*cell).fetch_add(amount, std::memory_order_relaxed);
}
inline void store(double* cell, double value) {
  std::atomic_ref<double>(*cell).store(value, std::memory_order_relaxed);
}
inline double load(double* cell) {
  return std::atomic_ref<double>(*cell).load(std::memory_order_relaxed);
}
double now_seconds();

// What every metric has: names, help, label names, and where its values are stored.
class Metric {
 public:
  virtual ~Metric();
  Metric(const Metric&) = delete;
  Metric& operator=(const Metric&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  Metric(ValueStore& store, std::string kind_token, std::string name, std::string help,
         std::vector<std::string> label_names);

  // The stored cell of sample_name for these label values (plus le for histogram buckets).
  double* cell(const std::string& sample_name, const std::vector<std::string>& label_values,
               const std::string* le = nullptr) const;
  void check_label_values(std::span<const std::string_view> values) const;

 private:
  ValueStore& store_;
  std::string kind_token_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

// Children by label values, made on first use; a lookup allocates nothing.
template <class Child>
class Labelled : public Metric {
 public:
  Child& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Child& labels(std::span<const std::string_view> values) {
    std::lock_guard lock(mutex_);
    auto found = children_.find(values);
    if (found != children_.end()) return *found->second;
    check_label_values(values);
    std::vector<std::string> owned(values.begin(), values.end());
    auto child = make_child(owned);
    Child& made = *child;
    children_.emplace(std::move(owned), std::move(child));
    return made;
  }

 protected:
  using Metric::Metric;
  virtual std::unique_ptr<Child> make_child(const std::vector<std::string>& values) = 0;

  // The child of a metric without labels; made at registration so it is stored (and
  // exported as 0) before the first use, as prometheus_client does.
  Child& unlabelled() {
    if (!unlabelled_) throw MetricError(name() + " has labels: use labels(...) first");
    return *unlabelled_;
  }
  void make_unlabelled() {
    if (label_names().empty()) unlabelled_ = &labels(std::span<const std::string_view>());
  }

 private:
  struct Less {
    using is_transparent = void;
    static int compare(std::span<const std::string> left, std::span<const std::string_view> right) {
      for (std::size_t i = 0; i < left.size() && i < right.size(); ++i) {
        if (int order = std::string_view(left[i]).compare(right[i])) return order;
      }
      return left.size() < right.size() ? -1 : left.size() > right.size() ? 1 : 0;
    }
    bool operator()(const std::vector<std::string>& left,
                    const std::vector<std::string>& right) const {
      return left < right;
    }
    bool operator()(const std::vector<std::string>& left,
                    std::span<const std::string_view> right) const {
      return compare(left, right) < 0;
    }
    bool operator()(std::span<const std::string_view> left,
                    const std::vector<std::string>& right) const {
      return compare(right, left) > 0;
    }
  };

  std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>, Less> children_;
  Child* unlabelled_ = nullptr;
};

}  // namespace detail

class CounterChild {
 public:
  explicit CounterChild(double* value) : value_(value) {}
  void inc(double amount = 1) {
    if (amount < 0) throw MetricError("counters can only be incremented by non-negative amounts");
    detail::add(value_, amount);
  }
  double value() const { return detail::load(value_); }

 private:
  double* value_;
};

class GaugeChild {
 public:
  GaugeChild(double* value, bool most_recent) : value_(value), most_recent_(most_recent) {}
  void inc(double amount = 1) {
    check_not_most_recent();
    detail::add(value_, amount);
  }
  void dec(double amount = 1) { inc(-amount); }
  // mostrecent gauges also store the time of the set, which decides between processes.
  void set(double value) {
    detail::store(value_, value);
    detail::store(value_ + 1, most_recent_ ? detail::now_seconds() : 0.0);
  }
  void set_to_current_time() { set(detail::now_seconds()); }
  double value() const { return detail::load(value_); }

 private:
  void check_not_most_recent() const {
    if (most_recent_) throw MetricError("inc and dec must not be used with the mostrecent mode");
  }
  double* value_;
  bool most_recent_;
};

class HistogramChild {
 public:
  HistogramChild(const std::vector<double>& bounds, double* sum, std::vector<double*> buckets)
      : bounds_(bounds), sum_(sum), buckets_(std::move(buckets)) {}
  // Adds to the sum and to the first bucket whose bound is >= amount (none for NaN).
  void observe(double amount) {
    detail::add(sum_, amount);
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      if (amount <= bounds_[i]) {
        detail::add(buckets_[i], 1);
        return;
      }
    }
  }
  double sum() const { return detail::load(sum_); }
  // Non-cumulative count of bucket i (bounds()[i]).
  double bucket(std::size_t i) const { return detail::load(buckets_[i]); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double>& bounds_;
  double* sum_;
  std::vector<double*> buckets_;
};

class SummaryChild {
 public:
  SummaryChild(double* count, double* sum) : count_(count), sum_(sum) {}
  void observe(double amount) {
    detail::add(count_, 1);
    detail::add(sum_, amount);
  }
  double count() const { return detail::load(count_); }
  double sum() const { return detail::load(sum_); }

 private:
  double* count_;
  double* sum_;
};

class Counter final : public detail::Labelled<CounterChild> {
 public:
  void inc(double amount = 1) { unlabelled().inc(amount); }
  double value() { return unlabelled().value(); }

 private:
  friend class Registry;
  Counter(ValueStore& store, std::string name, std::string help,
          std::vector<std::string> label_names);
  std::unique_ptr<CounterChild> make_child(const std::vector<std::string>& values) override;
};

class Gauge final : public detail::Labelled<GaugeChild> {
 public:
  void inc(double amount = 1) { unlabelled().inc(amount); }
  void dec(double amount = 1) { unlabelled().dec(amount); }
  void set(double value) { unlabelled().set(value); }
  void set_to_current_time() { unlabelled().set_to_current_time(); }
  double value() { return unlabelled().value(); }
  const std::string& multiprocess_mode() const { return mode_; }

 private:
  friend class Registry;
  Gauge(ValueStore& store, std::string name, std::string help, std::vector<std::string> label_names,
        std::string_view mode);
  std::unique_ptr<GaugeChild> make_child(const std::vector<std::string>& values) override;
  std::string mode_;
  bool most_recent_;
};

class Histogram final : public detail::Labelled<HistogramChild> {
 public:
  // prometheus_client's DEFAULT_BUCKETS: .005 .01 .025 .05 .075 .1 .25 .5 .75 1 2.5 5 7.5 10 +Inf
  static std::vector<double> default_buckets();

  void observe(double amount) { unlabelled().observe(amount); }
  // Upper bounds, ending with +Inf.
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  friend class Registry;
  Histogram(ValueStore& store, std::string name, std::string help,
            std::vector<std::string> label_names, std::vector<double> buckets);
  std::unique_ptr<HistogramChild> make_child(const std::vector<std::string>& values) override;
  std::vector<double> bounds_;
  std::vector<std::string> bound_labels_;
};

class Summary final : public detail::Labelled<SummaryChild> {
 public:
  void observe(double amount) { unlabelled().observe(amount); }

 private:
  friend class Registry;
  Summary(ValueStore& store, std::string name, std::string help,
          std::vector<std::string> label_names);
  std::unique_ptr<SummaryChild> make_child(const std::vector<std::string>& values) override;
};

// The metrics of one process. Metrics live as long as the registry; references stay valid.
class Registry {
 public:
  explicit Registry(std::unique_ptr<ValueStore> store);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names follow prometheus_client: a counter "x_total" or "x" is the family "x" with the
  // sample "x_total". Throws MetricError for invalid names or label names (prometheus-cpp's
  // checks), reserved labels (le on histograms, quantile on summaries), or a name already
  // registered (including the _total/_sum/_count/_bucket names a metric exposes).
  Counter& counter(std::string_view name, std::string_view help,
                   std::vector<std::string> label_names = {});
  // multiprocess_mode: all liveall min livemin max livemax sum livesum mostrecent
  // livemostrecent ("live" = liveall).
  Gauge& gauge(std::string_view name, std::string_view help,
               std::vector<std::string> label_names = {},
               std::string_view multiprocess_mode = "all");
  // Buckets must be sorted; +Inf is added when missing.
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names = {},
                       std::vector<double> buckets = Histogram::default_buckets());
  Summary& summary(std::string_view name, std::string_view help,
                   std::vector<std::string> label_names = {});

  ValueStore& store() { return *store_; }

 private:
  void check_free(const std::vector<std::string>& names) const;
  void claim_names(const std::vector<std::string>& names);
  template <class Made>
  Made& keep(std::unique_ptr<Made> metric);

  std::mutex mutex_;
  std::unique_ptr<ValueStore> store_;
  std::vector<std::string> taken_names_;
  std::vector<std::unique_ptr<detail::Metric>> metrics_;
};

}  // namespace prefork::metrics
