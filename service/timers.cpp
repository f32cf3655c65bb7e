// The due index's thread (timers.hpp).
#include "verifyd/timers.hpp"

#include <chrono>

#include "verifyd/clock.hpp"
#include "verifyd/log.hpp"

namespace verifyd {
namespace {

// Often enough that an SMS fallback or an event is at most this late; a look at an empty
// index costs Redis one command per partition, in one round trip.
constexpr int kPollMs = 100;
constexpr int kTimersPerRun = 100;
// A pause that ended is reported (and its gauge updated) at most this late.
constexpr auto kPauseCheckPeriod = std::chrono::seconds(1);

}  // namespace

Timers::Timers(Store& store, const std::string& provider, Metrics& metrics,
               const CredentialStore& credentials)
    : store_(store),
      queue_(store),
      provider_(provider),
      metrics_(metrics),
      credentials_(credentials) {}

Timers::~Timers() {
    stop();
}

void Timers::start() {
    thread_ = std::thread([this] { run(); });
}

void Timers::stop() {
    stopping_ = true;
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Timers::pause(int milliseconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(milliseconds),
                   [this] { return stopping_.load(); });
}

void Timers::run() {
    auto next_pause_check = std::chrono::steady_clock::now();
    while (!stopping_) {
        if (std::chrono::steady_clock::now() >= next_pause_check) {
            resume_pauses();
            next_pause_check = std::chrono::steady_clock::now() + kPauseCheckPeriod;
        }
        // A full batch means more may be waiting: look again at once.
        if (run_due() < static_cast<size_t>(kTimersPerRun)) pause(kPollMs);
    }
}

size_t Timers::run_due() {
    auto jobs = queue_.due_jobs(wall_clock_ms(), kTimersPerRun);
    if (!jobs) return 0;
    for (const std::string& job : *jobs) {
        if (stopping_) break;
        auto done = queue_.run_due(job);
        if (!done) continue;
        if (done->fell_back) {
            metrics_.count_delivery(provider_, "whatsapp", "fallback");
            metrics_.count_delivery_failure(provider_, "whatsapp", "fallback", "no_receipt");
            log_event(LogLevel::Info, "fallback timer ran out",
                      {{"message_id",
                        make_record_id(kMessagePrefix, parse_job_ref(job).value_or(RecordRef{}))}});
        }
        if (done->expired) metrics_.count_verification("expired", done->country, done->channel);
    }
    return jobs->size();
}

void Timers::resume_pauses() {
    const auto credentials = credentials_.current();
    if (!credentials->number_key) return;
    for (const PauseEntry& entry : store_.due_pauses(wall_clock_ms(), kTimersPerRun)) {
        if (stopping_) break;
        if (auto ended = store_.resume(*credentials->number_key, entry))
            report_pause(*ended, entry.account, entry.sandbox, metrics_);
    }
    if (auto pauses = store_.active_pauses()) metrics_.set_fraud_active_pauses(*pauses);
}

}  // namespace verifyd
