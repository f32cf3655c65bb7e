// The delivery threads of the outbox. Each thread has its own Redis connection (the
// store's per-thread one), its own provider, and its own consumer name
// (VERIFYD_DELIVERY_CONSUMER/<n>), so that after a restart under the same name it first
// finishes the jobs it held before.
#include "verifyd/outbox.hpp"

#include <hiredis/hiredis.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "verifyd/crypto.hpp"
#include "verifyd/log.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One job at a time: a job read in a batch waits behind a slow call while another thread
// idles, and a read costs little next to a provider call.
constexpr int kBatch = 1;
constexpr int kIdlePollMs = 50;
constexpr int kRedisDownPauseMs = 250;

// "{tag}suffix" → the record's tag and suffix.
RecordRef record_of(const std::string& ref) {
    auto close = ref.find('}');
    if (ref.size() < 2 || ref[0] != '{' || close == std::string::npos) return {};
    return {ref.substr(1, close - 1), ref.substr(close + 1)};
}

// Entries of one stream as XREADGROUP and XAUTOCLAIM list them: [[id, [field, value…]]…].
void collect_entries(const redisReply* entries,
                     std::vector<std::pair<std::string, std::string>>& out) {
    if (!entries || entries->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < entries->elements; ++i) {
        const redisReply* entry = entries->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
        std::string ref;
        const redisReply* fields = entry->element[1];
        if (fields->type == REDIS_REPLY_ARRAY)
            for (size_t f = 0; f + 1 < fields->elements; f += 2)
                if (reply_string(fields->element[f]) == "r")
                    ref = reply_string(fields->element[f + 1]);
        out.emplace_back(reply_string(entry->element[0]), ref);
    }
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

Outbox::Outbox(const Config& config, const CredentialStore& credentials, Store& store,
               const Templates& templates, Metrics& metrics)
    : config_(config),
      credentials_(credentials),
      store_(store),
      templates_(templates),
      metrics_(metrics) {}

Outbox::~Outbox() {
    stop();
}

void Outbox::start() {
    if (config_.provider == ProviderKind::None) return;
    for (int i = 0; i < config_.delivery.workers; ++i) threads_.emplace_back([this, i] { run(i); });
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
    const std::string consumer = config_.delivery.consumer + "/" + std::to_string(index);
    auto provider = make_provider(config_);
    bool own_pending_left = true;
    while (!stopping_) {
        // Every thread promotes, so that retries come due even while others are busy.
        store_.eval("outbox_promote", {kDelayedJobs, kDeliveryStream}, {"100"});
        std::vector<Job> jobs = next_jobs(consumer, own_pending_left);
        if (jobs.empty()) {
            pause(kIdlePollMs);
            continue;
        }
        for (const Job& job : jobs) {
            if (stopping_) break;
            deliver(*provider, consumer, job);
        }
    }
}

std::vector<Outbox::Job> Outbox::next_jobs(const std::string& consumer, bool& own_pending_left) {
    const std::string count = std::to_string(kBatch);
    std::vector<std::pair<std::string, std::string>> entries;
    // First the jobs this consumer held before a restart, then new ones, then those a
    // silent consumer has held for too long.
    auto read = store_.command({"XREADGROUP", "GROUP", kDeliveryGroup, consumer, "COUNT", count,
                                "STREAMS", kDeliveryStream, own_pending_left ? "0" : ">"});
    if (!read.ok()) {
        if (starts_with(reply_string(read.value.get()), "NOGROUP")) {
            store_.command({"XGROUP", "CREATE", kDeliveryStream, kDeliveryGroup, "0", "MKSTREAM"});
        } else {
            pause(kRedisDownPauseMs);
        }
        return {};
    }
    if (read.value->type == REDIS_REPLY_ARRAY && read.value->elements > 0) {
        const redisReply* stream = read.value->element[0];
        if (stream->type == REDIS_REPLY_ARRAY && stream->elements > 1)
            collect_entries(stream->element[1], entries);
    }
    if (own_pending_left && entries.empty()) own_pending_left = false;
    if (entries.empty()) {
        auto claimed =
            store_.command({"XAUTOCLAIM", kDeliveryStream, kDeliveryGroup, consumer,
                            std::to_string(config_.delivery.claim_idle_ms), "0-0", "COUNT", count});
        if (claimed.ok() && claimed.value->type == REDIS_REPLY_ARRAY && claimed.value->elements > 1)
            collect_entries(claimed.value->element[1], entries);
    }
    std::vector<Job> jobs;
    for (auto& [id, ref] : entries) {
        if (ref.empty()) {
            // Deleted while pending: only the acknowledgement is left to do.
            store_.command({"XACK", kDeliveryStream, kDeliveryGroup, id});
            continue;
        }
        jobs.push_back({id, ref});
    }
    return jobs;
}

void Outbox::deliver(Provider& provider, const std::string& consumer, const Job& job) {
    const RecordRef record = record_of(job.ref);
    const std::vector<std::string> keys = {number_key(record.tag), record_key(record),
                                           kDeliveryStream, kUndeliveredIndex, kDelayedJobs};
    auto begun = store_.eval("outbox_begin", {keys[0], keys[1], keys[2], keys[3]},
                             {kDeliveryGroup, job.entry_id, job.ref, consumer});
    // A job another consumer took meanwhile answers {"taken"}: nothing to do here.
    if (!begun.ok() || begun.value->type != REDIS_REPLY_ARRAY || begun.value->elements < 2) return;
    const redisReply* r = begun.value.get();
    if (reply_string(r->element[0]) == "drop") {
        const std::string reason = reply_string(r->element[1]);
        if (reason.empty()) return;  // finished before: nothing happened now
        const std::string channel = r->elements > 2 ? reply_string(r->element[2]) : "";
        metrics_.count_delivery(provider.name(), channel, "dropped");
        log_event(LogLevel::Info, "delivery dropped",
                  {{"message_id", make_record_id(kMessagePrefix, record)},
                   {"channel", channel},
                   {"reason", reason}});
        return;
    }

    OutgoingMessage message;
    message.verification_id = make_record_id(kVerificationPrefix, record);
    message.message_id = make_record_id(kMessagePrefix, record);
    message.to = reply_string(r->element[2]);
    message.channel = reply_string(r->element[3]);
    const std::string fallback = reply_string(r->element[4]);
    message.locale = reply_string(r->element[5]);
    if (message.locale.empty()) message.locale = kDefaultLocale;
    message.template_name = reply_string(r->element[6]);
    if (message.template_name.empty()) message.template_name = kDefaultTemplateName;
    const int attempts = static_cast<int>(reply_integer(r->element[8]));
    const int ttl_seconds = static_cast<int>(reply_integer(r->element[9]));
    message.variables =
        message_variables(config_.app_name, ttl_seconds, reply_string(r->element[7]));
    message.attempt = attempts + 1;
    // A WhatsApp message's SMS fallback is a request of its own to the provider.
    const bool falling_back = fallback == "sms" && message.channel == "sms";
    message.idempotency_key = message.message_id + (falling_back ? "-sms" : "");

    DeliveryResult result;
    auto credentials = credentials_.current();
    const std::string sealed = reply_string(r->element[1]);
    auto code = open_code(credentials->seal_key, message.verification_id, sealed);
    if (!code && credentials->previous_seal_key)
        code = open_code(*credentials->previous_seal_key, message.verification_id, sealed);
    if (!code) {
        result.outcome = DeliveryOutcome::Refused;
        result.error = "the sealed code cannot be opened (was VERIFYD_SEAL_KEY changed?)";
    } else {
        message.variables["code"] = *code;
        message.body = templates_.render(message.locale, message.variables);
        result = provider.deliver(message);
    }

    const char* outcome = result.outcome == DeliveryOutcome::Sent    ? "sent"
                          : result.outcome == DeliveryOutcome::Retry ? "retry"
                                                                     : "refused";
    const int delay_ms =
        result.outcome == DeliveryOutcome::Retry
            ? retry_delay_ms(config_.delivery, message.attempt, result.retry_after_seconds)
            : 0;
    auto finished = store_.eval(
        "outbox_finish", keys,
        {kDeliveryGroup, job.entry_id, job.ref, outcome,
         result.outcome == DeliveryOutcome::Sent ? result.provider_message_id : result.error,
         std::to_string(delay_ms), result.whatsapp_refusal,
         std::to_string(config_.delivery.max_attempts)});
    if (!finished.ok() || finished.value->type != REDIS_REPLY_ARRAY ||
        finished.value->elements == 0)
        return;
    const std::string state = reply_string(finished.value->element[0]);
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
}

void refresh_outbox_gauges(Store& store, Metrics& metrics) {
    auto stats = store.eval("outbox_stats", {kUndeliveredIndex}, {});
    if (!stats.ok() || stats.value->type != REDIS_REPLY_ARRAY || stats.value->elements < 2) return;
    metrics.set_outbox(reply_integer(stats.value->element[0]),
                       static_cast<double>(reply_integer(stats.value->element[1])) / 1000.0);
}

}  // namespace verifyd
