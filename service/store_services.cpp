// The store's operations on the Twilio face's services (store.hpp): the KEYS and ARGV of
// lua/services/, and their answers read.
#include <hiredis/hiredis.h>

#include <nlohmann/json.hpp>

#include "verifyd/store.hpp"

namespace verifyd {
namespace {

// `sid` and the service fields of a reply from `at`: parameters JSON, created, updated.
TwilioService read_service_fields(const std::string& sid, const redisReply* reply, size_t at) {
    TwilioService service;
    service.sid = sid;
    auto parameters = nlohmann::json::parse(reply_string(reply->element[at]), nullptr, false);
    if (parameters.is_object())
        for (const auto& [name, value] : parameters.items())
            if (value.is_string()) service.parameters.emplace(name, value.get<std::string>());
    service.created_ms = reply_integer(reply->element[at + 1]);
    service.updated_ms = reply_integer(reply->element[at + 2]);
    return service;
}

}  // namespace

void Store::put_service(const std::string& account_tag, const std::string& sid, bool creating,
                        const TwilioForm& parameters, Then<TwilioService> then) {
    const std::string changes = nlohmann::json(parameters).dump();
    run_script("services_put",
               {service_key(account_tag, sid), services_index_key(account_tag),
                services_sequence_key(account_tag)},
               {creating ? "create" : "update", sid, changes}, true,
               [sid, then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<TwilioService> result{reply.error, {}};
                   if (reply.ok()) result.value = read_service_fields(sid, reply.value.answer, 1);
                   then(std::move(result));
               });
}

void Store::read_service(const std::string& account_tag, const std::string& sid,
                         Then<TwilioService> then) {
    run_script("services_read", {services_index_key(account_tag)},
               {"one", service_key(account_tag, sid)}, false,
               [sid, then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<TwilioService> result{reply.error, {}};
                   if (reply.ok()) result.value = read_service_fields(sid, reply.value.answer, 3);
                   then(std::move(result));
               });
}

void Store::delete_service(const std::string& account_tag, const std::string& sid,
                           Then<bool> then) {
    run_script("services_delete", {service_key(account_tag, sid), services_index_key(account_tag)},
               {sid}, true, [then = std::move(then)](Result<ScriptAnswer> reply) {
                   then({reply.error, reply.ok()});
               });
}

void Store::list_services(const std::string& account_tag, long long skip, int most,
                          Then<TwilioServicePage> then) {
    run_script(
        "services_read", {services_index_key(account_tag)},
        {"page", service_key_prefix(account_tag), std::to_string(skip), std::to_string(most)},
        false, [then = std::move(then)](Result<ScriptAnswer> reply) {
            Result<TwilioServicePage> result{reply.error, {}};
            if (reply.ok()) {
                const redisReply* r = reply.value.answer;
                result.value.total = reply_integer(r->element[1]);
                for (size_t i = 2; i + 4 <= r->elements; i += 4)
                    result.value.services.push_back(
                        read_service_fields(reply_string(r->element[i]), r, i + 1));
            }
            then(std::move(result));
        });
}

void Store::put_twilio_verification(const std::string& account_tag, const std::string& twilio_sid,
                                    const std::string& number_tag, int64_t lifetime_ms,
                                    Then<bool> then) {
    run_script("services_verification", {twilio_verification_key(account_tag, twilio_sid)},
               {"put", number_tag, std::to_string(lifetime_ms)}, true,
               [then = std::move(then)](Result<ScriptAnswer> reply) {
                   then({reply.error, reply.ok()});
               });
}

void Store::find_twilio_verification(const std::string& account_tag, const std::string& twilio_sid,
                                     Then<std::string> then) {
    run_script("services_verification", {twilio_verification_key(account_tag, twilio_sid)}, {"get"},
               false, [then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<std::string> result{reply.error, {}};
                   if (reply.ok()) result.value = reply_string(reply.value.answer->element[1]);
                   then(std::move(result));
               });
}

}  // namespace verifyd
