// The Twilio face's verifications (§11): POST /v2/Services/{sid}/Verifications, GET and
// POST /v2/Services/{sid}/Verifications/{VE sid or number}, and POST
// /v2/Services/{sid}/VerificationCheck. Each is the native send, read, cancel or check
// (handlers/send.cpp, check.cpp) with Twilio's form and resources, limited to the
// verifications sent in the path's service. A VE sid is found through the index the
// send puts it in (store.hpp put_twilio_verification).
#include "verifyd/twilio_verifications.hpp"

#include "service/http/handlers.hpp"
#include "verifyd/clock.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

// The path's service and what follows it: the caller's slot of services, the service's
// sid as the path gives it and its hex digits, and the verification the path names.
struct ServicePath {
    std::string slot;
    std::string sid;
    std::string hex;
    std::string verification;
};

// A sid that is no VA sid names no service: 20404.
Result<ServicePath> service_path(const Exchange& exchange, const std::string& id) {
    auto slot = services_slot(exchange);
    if (slot.error) return {slot.error};
    ServicePath path;
    path.slot = slot.value;
    const size_t slash = id.find('/');
    path.sid = id.substr(0, slash);
    if (slash != std::string::npos) path.verification = id.substr(slash + 1);
    if (!is_twilio_sid(path.sid, "VA"))
        return {make_error(ErrorCode::VerificationNotFound, "No service " + path.sid + ".")};
    path.hex = twilio_sid_hex(path.sid);
    return {std::nullopt, path};
}

// The number tag of the verification a path names, by VE sid (through the index) or by
// number (a raw '+', or %2B), and the VE sid's hex digits (empty for a number).
void find_number(const ExchangePtr& exchange, const ServicePath& path,
                 std::function<void(const std::string& tag, const std::string& twilio_sid)> then) {
    if (is_twilio_sid(path.verification, "VE")) {
        const std::string twilio_sid = twilio_sid_hex(path.verification);
        return exchange->services.store.find_twilio_verification(
            path.slot, twilio_sid, [exchange, twilio_sid, then](Result<std::string> tag) {
                exchange->guarded([&] {
                    if (tag.error) return exchange->refuse(*tag.error);
                    then(tag.value, twilio_sid);
                });
            });
    }
    auto number = percent_decode(path.verification);
    if (!number) return exchange->refuse(make_error(ErrorCode::VerificationNotFound));
    auto tag = exchange->tag_of_number(*number);
    if (tag.error) return exchange->refuse(*tag.error);
    then(tag.value, "");
}

// The current verification of the number `tag`, then `then` with it.
void find_current(const ExchangePtr& exchange, const std::string& tag,
                  std::function<void(const RecordRef& ref)> then) {
    exchange->services.store.current_verification(
        tag, [exchange, then](Result<std::string> current) {
            exchange->guarded([&] {
                if (current.error) return exchange->refuse(*current.error);
                then(*parse_record_id(current.value, kVerificationPrefix));
            });
        });
}

// Whether a verification read natively is the one the path names and is still alive:
// Twilio's approved, canceled, expired and exhausted verifications are gone.
bool is_named_pending(const Verification& v, const ServicePath& path,
                      const std::string& twilio_sid) {
    return v.service_sid == path.hex && (twilio_sid.empty() || v.twilio_sid == twilio_sid) &&
           v.status == "pending";
}

// The Verification resource of an approval, from what the check answers.
Verification approved_verification(const CheckOutcome& outcome, const ServicePath& path) {
    Verification v;
    v.to = outcome.to;
    v.channel = outcome.channel;
    v.status = outcome.status;
    v.service_sid = path.hex;
    v.twilio_sid = outcome.twilio_sid;
    v.send_attempts = outcome.send_attempts;
    return v;
}

}  // namespace

void create_twilio_verification(const HttpRequest& request, const std::string& id,
                                const ExchangePtr& exchange) {
    auto path = service_path(*exchange, id);
    if (path.error) return exchange->refuse(*path.error);
    auto form = read_twilio_form(request);
    if (form.error) return exchange->refuse(*form.error);
    exchange->caller.sandbox = !exchange->live_key;
    const std::string origin = twilio_origin(request);
    const ServicePath& service = path.value;
    Then<Verification> answer = [exchange, service, origin](Result<Verification> sent) {
        exchange->guarded([&] {
            exchange->replayed = exchange->replayed || sent.replayed;
            if (sent.error) return exchange->refuse(*sent.error);
            const Verification v = sent.value;
            // Found by its VE sid for as long as its code lives: a resend renews it.
            exchange->services.store.put_twilio_verification(
                service.slot, v.twilio_sid, v.ref.tag, v.expires_ms - v.created_ms,
                [exchange, v, origin](Result<bool> put) {
                    exchange->guarded([&] {
                        if (put.error) return exchange->refuse(*put.error);
                        exchange->reply(exchange->resource(
                            201, verification_resource(v, exchange->twilio_account_sid, origin,
                                                       v.created_ms)));
                    });
                });
        });
    };
    exchange->services.store.read_service(
        service.slot, service.sid,
        [exchange, form = form.value, service, answer](Result<TwilioService> found) {
            exchange->guarded([&] {
                if (found.error)
                    return exchange->refuse(make_error(ErrorCode::VerificationNotFound,
                                                       "No service " + service.sid + "."));
                auto send = verification_send(form, found.value, exchange->services.settings);
                if (send.error) return exchange->refuse(*send.error);
                send_parsed(exchange, send.value, answer);
            });
        });
}

void get_twilio_verification(const HttpRequest& request, const std::string& id,
                             const ExchangePtr& exchange) {
    auto path = service_path(*exchange, id);
    if (path.error) return exchange->refuse(*path.error);
    exchange->caller.sandbox = !exchange->live_key;
    const std::string origin = twilio_origin(request);
    const ServicePath service = path.value;
    find_number(
        exchange, service,
        [exchange, service, origin](const std::string& tag, const std::string& twilio_sid) {
            find_current(
                exchange, tag, [exchange, service, origin, twilio_sid](const RecordRef& ref) {
                    exchange->counting().get(
                        exchange->caller, ref, ErrorCode::VerificationNotFound,
                        [exchange, service, origin, twilio_sid](Result<Verification> found) {
                            exchange->guarded([&] {
                                if (found.error) return exchange->refuse(*found.error);
                                if (!is_named_pending(found.value, service, twilio_sid))
                                    return exchange->refuse(
                                        make_error(ErrorCode::VerificationNotFound));
                                exchange->reply(exchange->resource(
                                    200,
                                    verification_resource(found.value, exchange->twilio_account_sid,
                                                          origin, found.value.created_ms)));
                            });
                        });
                });
        });
}

void update_twilio_verification(const HttpRequest& request, const std::string& id,
                                const ExchangePtr& exchange) {
    auto path = service_path(*exchange, id);
    if (path.error) return exchange->refuse(*path.error);
    auto form = read_twilio_form(request);
    if (form.error) return exchange->refuse(*form.error);
    const std::string status = form.value.count("Status") ? form.value.at("Status") : "";
    if (status != "canceled" && status != "approved")
        return exchange->refuse(
            twilio_parameter_error(60200, "Status", "must be canceled or approved"));
    exchange->caller.sandbox = !exchange->live_key;
    const std::string origin = twilio_origin(request);
    const ServicePath service = path.value;
    find_number(
        exchange, service,
        [exchange, service, origin, status](const std::string& tag, const std::string& twilio_sid) {
            find_current(exchange, tag, [=](const RecordRef& ref) {
                const TwilioScope scope{service.hex, twilio_sid, status == "approved"};
                if (scope.approve)
                    return check_code(
                        exchange, ref, "", nullptr, scope,
                        exchange->respond_with<CheckOutcome>(
                            [service, origin](Exchange& x, const CheckOutcome& outcome) {
                                return x.resource(
                                    200, verification_resource(
                                             approved_verification(outcome, service),
                                             x.twilio_account_sid, origin, wall_clock_ms()));
                            }));
                exchange->counting().cancel(
                    exchange->caller, ref, nullptr, scope,
                    exchange->respond_with<Verification>(
                        [origin](Exchange& x, const Verification& v) {
                            return x.resource(200, verification_resource(v, x.twilio_account_sid,
                                                                         origin, wall_clock_ms()));
                        }));
            });
        });
}

void check_twilio_verification(const HttpRequest& request, const std::string& id,
                               const ExchangePtr& exchange) {
    auto path = service_path(*exchange, id);
    if (path.error) return exchange->refuse(*path.error);
    auto form = read_twilio_form(request);
    if (form.error) return exchange->refuse(*form.error);
    auto check = verification_check(form.value);
    if (check.error) return exchange->refuse(*check.error);
    exchange->caller.sandbox = !exchange->live_key;
    const ServicePath service = path.value;
    Then<CheckOutcome> answer =
        exchange->respond_with<CheckOutcome>([service](Exchange& x, const CheckOutcome& outcome) {
            return x.resource_text(
                200, check_resource(outcome, service.hex, x.twilio_account_sid, wall_clock_ms()));
        });
    const TwilioScope scope{service.hex, check.value.twilio_sid, false};
    if (!check.value.to.empty()) {
        auto tag = exchange->tag_of_number(check.value.to);
        if (tag.error) return exchange->refuse(*tag.error);
        return check_current(exchange, tag.value, check.value.code, scope, answer);
    }
    exchange->services.store.find_twilio_verification(
        service.slot, scope.twilio_sid,
        [exchange, code = check.value.code, scope, answer](Result<std::string> tag) {
            exchange->guarded([&] {
                if (tag.error) return exchange->refuse(*tag.error);
                check_current(exchange, tag.value, code, scope, answer);
            });
        });
}

}  // namespace verifyd
