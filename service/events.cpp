// The events dispatcher (events.hpp).
#include "verifyd/events.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "service/delivery/transport.hpp"
#include "service/http/views.hpp"
#include "verifyd/delivery.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/log.hpp"
#include "verifyd/redis_keys.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

constexpr int kEventsPerRead = 32;
constexpr int kEventsIdlePollMs = 100;
constexpr int kNotHolderPauseMs = 1000;

// Long enough that a POST, bounded by its timeout, always ends within the lease it was
// started under: no two replicas post at once, so events stay in order.
int lease_ms_for(const EventsSettings& settings) {
    return std::max(10000, 2 * settings.timeout_ms + 1000);
}

}  // namespace

namespace {

// fraud.paused and fraud.resumed: the pause (lib/guard.lua emit_pause_event), of no
// verification.
std::optional<json> pause_event_body(const QueuedEvent& event) {
    json fields = json::parse(event.fields, nullptr, false);
    auto pause = parse_pause(event.fields);
    if (!fields.is_object() || !pause) return std::nullopt;
    return json{{"id", event_id(event)},
                {"type", event.type},
                {"created_at", format_rfc3339(event.at_ms)},
                {"account", fields.value("account", "")},
                {"sandbox", fields.value("sandbox", false)},
                {"data", pause_json(*pause)}};
}

}  // namespace

std::optional<json> event_body(const QueuedEvent& event, const Templates& templates,
                               const std::string& app_name) {
    if (event.type.rfind("fraud.", 0) == 0) return pause_event_body(event);
    auto ref = parse_job_ref(event.job);
    json fields = json::parse(event.fields, nullptr, false);
    if (!ref || !fields.is_array()) return std::nullopt;
    std::unordered_map<std::string, std::string> map;
    for (size_t i = 0; i + 1 < fields.size(); i += 2)
        if (fields[i].is_string() && fields[i + 1].is_string())
            map[fields[i].get<std::string>()] = fields[i + 1].get<std::string>();
    const Verification v = decode_verification(*ref, map, event.at_ms);
    json data = event.type == "message.status" ? message_json(v, templates, app_name)
                                               : verification_json(v, true, app_name);
    return json{{"id", event_id(event)},
                {"type", event.type},
                {"created_at", format_rfc3339(event.at_ms)},
                {"account", v.account},
                {"sandbox", v.sandbox},
                {"data", std::move(data)}};
}

EventDispatcher::EventDispatcher(const EventsSettings& settings, Store& store,
                                 const Templates& templates, const std::string& app_name,
                                 Metrics& metrics)
    : settings_(settings),
      queue_(store),
      templates_(templates),
      app_name_(app_name),
      metrics_(metrics) {}

EventDispatcher::~EventDispatcher() {
    stop();
}

void EventDispatcher::start() {
    if (settings_.url.empty()) return;
    thread_ = std::thread([this] { run(); });
}

void EventDispatcher::stop() {
    stopping_ = true;
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void EventDispatcher::pause(int milliseconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(milliseconds),
                   [this] { return stopping_.load(); });
}

void EventDispatcher::run() {
    int backoff_ms = 0;
    while (!stopping_) {
        if (!queue_.hold_lease(settings_.replica, lease_ms_for(settings_))) {
            pause(kNotHolderPauseMs);
            continue;
        }
        if (auto pending = queue_.pending_events()) metrics_.set_events_pending(*pending);
        if (post_oldest()) {
            backoff_ms = 0;
            continue;
        }
        backoff_ms = backoff_ms == 0 ? settings_.backoff_ms
                                     : std::min(backoff_ms * 2, settings_.max_backoff_ms);
        pause(backoff_ms);
    }
    queue_.release_lease(settings_.replica);
}

bool EventDispatcher::post_oldest() {
    auto events = queue_.oldest_events(kEventsPerRead);
    if (!events) return false;
    if (events->empty()) {
        pause(kEventsIdlePollMs);
        return true;
    }
    HttpClient http(settings_.timeout_ms);
    for (const QueuedEvent& event : *events) {
        if (stopping_) return true;
        if (!last_seen_ || event_before(*last_seen_, event)) {
            metrics_.count_event("queued");
            last_seen_ = event;
        }
        auto body = event_body(event, templates_, app_name_);
        if (!body) {
            log_event(LogLevel::Error, "event dropped: unreadable",
                      {{"event_id", event_id(event)}, {"type", event.type}});
            queue_.remove_event(event);
            continue;
        }
        // Each POST starts under a lease renewed for it, so none outlives the lease.
        if (!queue_.hold_lease(settings_.replica, lease_ms_for(settings_))) return true;
        const std::string text = body->dump();
        const std::string event_id = (*body)["id"];
        const HttpAnswer answer =
            http.post(settings_.url,
                      {"Content-Type: application/json", "Idempotency-Key: " + event_id,
                       "X-Verifyd-Signature: " +
                           webhook_signature(settings_.secret,
                                             static_cast<int64_t>(std::time(nullptr)), text)},
                      text);
        if (answer.status < 200 || answer.status >= 300) {
            metrics_.count_event("failed");
            log_event(LogLevel::Warn, "event not delivered",
                      {{"event_id", event_id},
                       {"type", event.type},
                       {"status", answer.status},
                       {"error", answer.failure}});
            return false;
        }
        queue_.remove_event(event);
        metrics_.count_event("sent");
    }
    return true;
}

}  // namespace verifyd
