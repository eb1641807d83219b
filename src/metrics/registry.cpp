#include <prometheus/check_names.h>
#include <prefork/metrics.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "metrics/float_text.hpp"
#include "metrics/json_key.hpp"
#include "metrics/sample.hpp"
#include "metrics/value_store.hpp"

namespace prefork::metrics {
namespace {

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

void check_metric_name(const std::string& name) {
  if (!prometheus::CheckMetricName(name)) throw MetricError("invalid metric name " + quoted(name));
}

void check_label_names(const std::string& metric, const std::vector<std::string>& names,
                       std::string_view reserved) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (!prometheus::CheckLabelName(name)) {
      throw MetricError("invalid label name " + quoted(name) + " of " + metric);
    }
    if (name == reserved) {
      throw MetricError("label name " + quoted(name) + " is reserved in " + metric);
    }
    if (std::find(names.begin(), names.begin() + std::ptrdiff_t(i), name) !=
        names.begin() + std::ptrdiff_t(i)) {
      throw MetricError("label name " + quoted(name) + " repeated in " + metric);
    }
  }
}

void check_help(const std::string& metric, std::string_view help) {
  if (!valid_utf8(help)) throw MetricError("help of " + metric + " is not valid UTF-8");
}

std::string counter_family_name(std::string_view name) {
  std::string family(name);
  if (family.ends_with("_total")) family.resize(family.size() - 6);
  return family;
}

ValueKind kind_of(Type type, GaugeMode mode = GaugeMode::all) {
  ValueKind kind;
  kind.type = type;
  kind.mode = mode;
  return kind;
}

GaugeMode gauge_mode(std::string_view name) {
  GaugeMode mode;
  if (!parse_gauge_mode(name, mode)) {
    throw MetricError("invalid multiprocess_mode " + quoted(name) +
                      ": one of all liveall min livemin max livemax sum livesum mostrecent "
                      "livemostrecent");
  }
  return mode;
}

std::vector<double> checked_bounds(const std::string& metric, std::vector<double> buckets) {
  for (double bound : buckets) {
    if (std::isnan(bound)) throw MetricError("bucket bound NaN in " + metric);
  }
  if (!std::is_sorted(buckets.begin(), buckets.end())) {
    throw MetricError("buckets not in sorted order in " + metric);
  }
  if (buckets.empty() || !std::isinf(buckets.back())) buckets.push_back(INFINITY);
  if (buckets.size() < 2) throw MetricError("a histogram needs at least two buckets: " + metric);
  return buckets;
}

}  // namespace

namespace detail {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

Metric::Metric(ValueStore& store, std::string kind_token, std::string name, std::string help,
               std::vector<std::string> label_names)
    : store_(store),
      kind_token_(std::move(kind_token)),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)) {}

Metric::~Metric() = default;

void Metric::check_label_values(std::span<const std::string_view> values) const {
  if (values.size() != label_names_.size()) {
    throw MetricError(name_ + " takes " + std::to_string(label_names_.size()) +
                      " label values, got " + std::to_string(values.size()));
  }
  for (std::string_view value : values) {
    if (!valid_utf8(value)) throw MetricError("label value of " + name_ + " is not valid UTF-8");
  }
}

double* Metric::cell(const std::string& sample_name, const std::vector<std::string>& label_values,
                     const std::string* le) const {
  Labels labels;
  labels.reserve(label_names_.size() + 1);
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    labels.emplace_back(label_names_[i], label_values[i]);
  }
  if (le) labels.emplace_back("le", *le);
  ValueKind kind;
  ValueKind::parse(kind_token_, kind);
  return store_.cell(kind, json_key(name_, sample_name, labels, help_));
}

}  // namespace detail

Counter::Counter(ValueStore& store, std::string name, std::string help,
                 std::vector<std::string> label_names)
    : Labelled(store, kind_of(Type::counter).token(), std::move(name), std::move(help),
               std::move(label_names)) {
  make_unlabelled();
}

std::unique_ptr<CounterChild> Counter::make_child(const std::vector<std::string>& values) {
  return std::make_unique<CounterChild>(cell(name() + "_total", values));
}

Gauge::Gauge(ValueStore& store, std::string name, std::string help,
             std::vector<std::string> label_names, std::string_view mode)
    : Labelled(store, kind_of(Type::gauge, gauge_mode(mode)).token(), std::move(name),
               std::move(help), std::move(label_names)),
      mode_(gauge_mode_name(gauge_mode(mode))),
      most_recent_(mode_ == "mostrecent" || mode_ == "livemostrecent") {
  make_unlabelled();
}

std::unique_ptr<GaugeChild> Gauge::make_child(const std::vector<std::string>& values) {
  return std::make_unique<GaugeChild>(cell(name(), values), most_recent_);
}

std::vector<double> Histogram::default_buckets() {
  return {.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0, INFINITY};
}

Histogram::Histogram(ValueStore& store, std::string name, std::string help,
                     std::vector<std::string> label_names, std::vector<double> buckets)
    : Labelled(store, kind_of(Type::histogram).token(), name, std::move(help),
               std::move(label_names)),
      bounds_(checked_bounds(name, std::move(buckets))) {
  for (double bound : bounds_) bound_labels_.push_back(float_to_go_string(bound));
  make_unlabelled();
}

std::unique_ptr<HistogramChild> Histogram::make_child(const std::vector<std::string>& values) {
  // The order prometheus_client creates them in: the sum, then each bucket.
  double* sum = cell(name() + "_sum", values);
  std::vector<double*> buckets;
  buckets.reserve(bounds_.size());
  for (const std::string& bound : bound_labels_) {
    buckets.push_back(cell(name() + "_bucket", values, &bound));
  }
  return std::make_unique<HistogramChild>(bounds_, sum, std::move(buckets));
}

Summary::Summary(ValueStore& store, std::string name, std::string help,
                 std::vector<std::string> label_names)
    : Labelled(store, kind_of(Type::summary).token(), std::move(name), std::move(help),
               std::move(label_names)) {
  make_unlabelled();
}

std::unique_ptr<SummaryChild> Summary::make_child(const std::vector<std::string>& values) {
  double* count = cell(name() + "_count", values);
  double* sum = cell(name() + "_sum", values);
  return std::make_unique<SummaryChild>(count, sum);
}

Registry::Registry(std::unique_ptr<ValueStore> store) : store_(std::move(store)) {}

Registry::~Registry() = default;

void Registry::check_free(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    if (std::find(taken_names_.begin(), taken_names_.end(), name) != taken_names_.end()) {
      throw MetricError("duplicate metric: " + quoted(name) + " is already registered");
    }
  }
}

void Registry::claim_names(const std::vector<std::string>& names) {
  taken_names_.insert(taken_names_.end(), names.begin(), names.end());
}

template <class Made>
Made& Registry::keep(std::unique_ptr<Made> metric) {
  Made& made = *metric;
  metrics_.push_back(std::move(metric));
  return made;
}

Counter& Registry::counter(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names) {
  const std::string family = counter_family_name(name);
  check_metric_name(family);
  check_metric_name(family + "_total");
  check_label_names(family, label_names, "");
  check_help(family, help);
  std::lock_guard lock(mutex_);
  // Checked before the metric stores anything, claimed once it exists.
  const std::vector<std::string> names{family, family + "_total"};
  check_free(names);
  auto made = std::unique_ptr<Counter>(
      new Counter(*store_, family, std::string(help), std::move(label_names)));
  claim_names(names);
  return keep(std::move(made));
}

Gauge& Registry::gauge(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names, std::string_view multiprocess_mode) {
  const std::string family(name);
  check_metric_name(family);
  check_label_names(family, label_names, "");
  check_help(family, help);
  gauge_mode(multiprocess_mode);
  std::lock_guard lock(mutex_);
  // Checked before the metric stores anything, claimed once it exists.
  const std::vector<std::string> names{family};
  check_free(names);
  auto made = std::unique_ptr<Gauge>(
      new Gauge(*store_, family, std::string(help), std::move(label_names), multiprocess_mode));
  claim_names(names);
  return keep(std::move(made));
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names, std::vector<double> buckets) {
  const std::string family(name);
  check_metric_name(family);
  check_label_names(family, label_names, "le");
  check_help(family, help);
  checked_bounds(family, buckets);
  std::lock_guard lock(mutex_);
  // Checked before the metric stores anything, claimed once it exists.
  const std::vector<std::string> names{family, family + "_bucket", family + "_count",
                                       family + "_sum"};
  check_free(names);
  auto made = std::unique_ptr<Histogram>(new Histogram(*store_, family, std::string(help),
                                                       std::move(label_names), std::move(buckets)));
  claim_names(names);
  return keep(std::move(made));
}

Summary& Registry::summary(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names) {
  const std::string family(name);
  check_metric_name(family);
  check_label_names(family, label_names, "quantile");
  check_help(family, help);
  std::lock_guard lock(mutex_);
  // Checked before the metric stores anything, claimed once it exists.
  const std::vector<std::string> names{family, family + "_count", family + "_sum"};
  check_free(names);
  auto made = std::unique_ptr<Summary>(
      new Summary(*store_, family, std::string(help), std::move(label_names)));
  claim_names(names);
  return keep(std::move(made));
}

}  // namespace prefork::metrics
