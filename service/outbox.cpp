// The delivery threads of the outbox. Each thread has its own Redis connection (the
// store's per-thread one), its own provider, and its own consumer name
// (VERIFYD_DELIVERY_CONSUMER/<n>), so that after a restart under the same name it first
// finishes the jobs it held before.
#include "verifyd/outbox.hpp"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "verifyd/crypto.hpp"
#include "verifyd/log.hpp"
#include "verifyd/text.hpp"
#include "verifyd/verification_record.hpp"

namespace verifyd {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kOutboxIdlePollMs = 100;
// How often a thread moves the retries whose time has come back onto the streams: a
// retry is this much later than its backoff at most.
constexpr int kPromotePeriodMs = 500;
constexpr int kRedisDownPauseMs = 250;

// Why an attempt that ended a message's delivery on its channel did so, as a bounded word
// (the provider's own text goes to the log, not into a label).
std::string failure_reason(const DeliveryResult& result) {
    if (result.outcome == DeliveryOutcome::Retry) return "retries_exhausted";
    if (!result.whatsapp_refusal.empty()) return result.whatsapp_refusal;
    return "refused";
}

}  // namespace

int retry_delay_ms(const DeliverySettings& settings, int attempt, int retry_after_seconds) {
    long long ceiling = settings.backoff_ms;
    for (int i = 1; i < attempt && ceiling < settings.max_backoff_ms; ++i) ceiling *= 2;
    ceiling = std::min<long long>(ceiling, settings.max_backoff_ms);
    long long half = ceiling / 2;
    long long delay = half + randombytes_uniform(static_cast<uint32_t>(ceiling - half + 1));
    return static_cast<int>(std::max<long long>(delay, retry_after_seconds * 1000LL));
}

Outbox::Outbox(const OutboxSettings& settings, const CredentialStore& credentials, Store& store,
               const Templates& templates, Metrics& metrics)
    : settings_(settings),
      credentials_(credentials),
      queue_(store),
      templates_(templates),
      metrics_(metrics) {}

Outbox::~Outbox() {
    stop();
}

void Outbox::start() {
    if (settings_.provider.kind == ProviderKind::None) return;
    for (int i = 0; i < settings_.delivery.workers; ++i)
        threads_.emplace_back([this, i] { run(i); });
}

void Outbox::stop() {
    stopping_ = true;
    wake_.notify_all();
    for (auto& thread : threads_)
        if (thread.joinable()) thread.join();
    threads_.clear();
}

void Outbox::pause(int milliseconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(milliseconds),
                   [this] { return stopping_.load(); });
}

void Outbox::run(int index) {
    const std::string consumer = settings_.delivery.consumer + "/" + std::to_string(index);
    auto provider = make_provider(settings_.provider);
    const int workers = std::max(1, settings_.delivery.workers);
    OutboxCursor cursor;
    cursor.next_partition = index * partition_count() / workers;
    // The threads of a replica together look at every partition about every kOutboxIdlePollMs
    // while there is nothing to do.
    const int idle_pause_ms =
        std::max(1, kOutboxIdlePollMs * OutboxQueue::kReadWindow * workers / partition_count());
    auto next_promotion = Clock::now();
    while (!stopping_) {
        // Every thread promotes, so that retries come due even while others are busy.
        if (Clock::now() >= next_promotion) {
            queue_.promote_due(100);
            next_promotion = Clock::now() + std::chrono::milliseconds(kPromotePeriodMs);
        }
        auto jobs = queue_.next_jobs(consumer, cursor, settings_.delivery.claim_idle_ms);
        if (!jobs) {
            pause(kRedisDownPauseMs);
            continue;
        }
        if (jobs->empty()) {
            pause(idle_pause_ms);
            continue;
        }
        for (const DeliveryJob& job : *jobs) {
            if (stopping_) break;
            deliver(*provider, consumer, job);
        }
    }
}

void Outbox::deliver(Provider& provider, const std::string& consumer, const DeliveryJob& job) {
    const RecordRef record = parse_job_ref(job.ref).value_or(RecordRef{});
    const BegunJob begun = queue_.begin(consumer, job);
    if (begun.next == BegunJob::Next::Dropped) return report_dropped(provider, record, begun);
    if (begun.next != BegunJob::Next::Deliver) return;
    OutgoingMessage message = message_of(record, begun);
    const DeliveryResult result = attempt(provider, message, begun.sealed_code);
    // The provider's id is remembered before the outcome is recorded, so that a receipt
    // posted the moment the provider answered finds its message; one that came even
    // sooner was parked, and is applied once the outcome is recorded.
    std::vector<Receipt> early;
    if (result.outcome == DeliveryOutcome::Sent && !result.provider_message_id.empty())
        early = queue_.remember_provider_id(job, message.channel, result.provider_message_id,
                                            begun.lifetime_ms);
    record_outcome(provider, job, message, result);
    for (const Receipt& receipt : early) {
        if (auto applied = queue_.apply_receipt(job, receipt))
            metrics_.count_applied_receipt(provider.name(), applied->outcome, applied->channel,
                                           applied->latency_ms, applied->detail);
    }
}

void Outbox::report_dropped(const Provider& provider, const RecordRef& record,
                            const BegunJob& begun) {
    metrics_.count_delivery(provider.name(), begun.channel, "dropped");
    metrics_.count_delivery_failure(provider.name(), begun.channel, "dropped", begun.drop_reason);
    log_event(LogLevel::Info, "delivery dropped",
              {{"message_id", make_record_id(kMessagePrefix, record)},
               {"channel", begun.channel},
               {"reason", begun.drop_reason}});
}

OutgoingMessage Outbox::message_of(const RecordRef& record, const BegunJob& begun) const {
    OutgoingMessage message;
    message.verification_id = make_record_id(kVerificationPrefix, record);
    message.message_id = make_record_id(kMessagePrefix, record);
    message.to = begun.to;
    message.channel = begun.channel;
    message.locale = stored_locale(begun.locale);
    message.template_name = stored_template_name(begun.template_name);
    message.variables =
        message_variables(settings_.app_name, begun.ttl_seconds, begun.template_variables);
    message.attempt = begun.attempts_on_channel + 1;
    // A WhatsApp message's SMS fallback is a request of its own to the provider.
    const bool falling_back = begun.fallback == "sms" && message.channel == "sms";
    message.idempotency_key = message.message_id + (falling_back ? "-sms" : "");
    return message;
}

DeliveryResult Outbox::attempt(Provider& provider, OutgoingMessage& message,
                               const std::string& sealed_code) const {
    auto credentials = credentials_.current();
    auto code = open_code(credentials->seal_key, message.verification_id, sealed_code);
    if (!code && credentials->previous_seal_key)
        code = open_code(*credentials->previous_seal_key, message.verification_id, sealed_code);
    if (!code) {
        DeliveryResult refused;
        refused.outcome = DeliveryOutcome::Refused;
        refused.error = "the sealed code cannot be opened (was VERIFYD_SEAL_KEY changed?)";
        return refused;
    }
    message.variables["code"] = *code;
    message.body = templates_.render(message.locale, message.variables);
    return provider.deliver(message);
}

void Outbox::record_outcome(const Provider& provider, const DeliveryJob& job,
                            const OutgoingMessage& message, const DeliveryResult& result) {
    AttemptOutcome attempt;
    attempt.outcome = result.outcome == DeliveryOutcome::Sent    ? "sent"
                      : result.outcome == DeliveryOutcome::Retry ? "retry"
                                                                 : "refused";
    attempt.detail =
        result.outcome == DeliveryOutcome::Sent ? result.provider_message_id : result.error;
    if (result.outcome == DeliveryOutcome::Retry)
        attempt.retry_delay_ms =
            retry_delay_ms(settings_.delivery, message.attempt, result.retry_after_seconds);
    attempt.whatsapp_refusal = result.whatsapp_refusal;
    attempt.max_attempts = settings_.delivery.max_attempts;
    attempt.channel = message.channel;
    const auto finished = queue_.finish(job, attempt);
    if (!finished) return;
    const std::string& state = *finished;
    log_event(state == "failed" ? LogLevel::Warn : LogLevel::Info, "delivery",
              {{"message_id", message.message_id},
               {"to", mask_phone(message.to)},
               {"channel", message.channel},
               {"provider", provider.name()},
               {"attempt", message.attempt},
               {"outcome", state},
               {"error", result.outcome == DeliveryOutcome::Sent ? "" : result.error}});
    if (state == "retry") {
        metrics_.count_delivery_retry(provider.name(), message.channel);
    } else if (state != "stale") {
        metrics_.count_delivery(provider.name(), message.channel, state);
    }
    if (state == "failed" || state == "fallback")
        metrics_.count_delivery_failure(provider.name(), message.channel, state,
                                        failure_reason(result));
}

void refresh_outbox_gauges(Store& store, Metrics& metrics) {
    auto stats = OutboxQueue(store).stats();
    if (stats) metrics.set_outbox(stats->undelivered_jobs, stats->oldest_job_age_seconds);
}

}  // namespace verifyd
