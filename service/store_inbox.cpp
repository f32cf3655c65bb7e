// The store's operations on the sandbox inbox (store.hpp): lua/inbox/'s KEYS and ARGV.
// A listing is one call in the account's slot for the refs, then one read per message in
// its number's slot (each its own slot under Redis Cluster), answered together.
#include <hiredis/hiredis.h>

#include <memory>
#include <mutex>

#include "verifyd/store.hpp"

namespace verifyd {
namespace {

// The newest this many sandbox messages of an account are listed; older ones drop out
// of the inbox (not out of their numbers' listings).
constexpr int kInboxSize = 1000;
// The longest a message can be kept: the longest code lifetime (a day) and the grace.
int64_t inbox_lifetime_ms(int expired_grace) {
    return (86400LL + expired_grace) * 1000;
}

// The reads of one listing: their answers in the listing's order, the first error that
// is not a forgotten message, and how many are still to come.
struct InboxReads {
    std::mutex mutex;
    std::vector<std::optional<Verification>> found;
    std::optional<ApiError> error;
    size_t remaining = 0;
};

}  // namespace

void Store::put_inbox(const std::string& account_tag, const RecordRef& message, int64_t created_ms,
                      Then<bool> then) {
    auto batch = inbox_batches_.add(account_tag,
                                    {account_tag, job_ref(message), created_ms, std::move(then)});
    if (!batch.empty()) run_inbox_puts(std::move(batch));
}

void Store::run_inbox_puts(std::vector<PendingInboxPut> batch) {
    std::vector<std::string> args = {std::to_string(kInboxSize),
                                     std::to_string(inbox_lifetime_ms(limits_.expired_grace))};
    for (const PendingInboxPut& put : batch) {
        args.push_back(put.ref);
        args.push_back(std::to_string(put.created_ms));
    }
    auto puts = std::make_shared<std::vector<PendingInboxPut>>(std::move(batch));
    run_script("inbox_put", {inbox_key(puts->front().account_tag)}, args, true,
               [this, puts](Result<ScriptAnswer> reply) {
                   auto next = inbox_batches_.next(puts->front().account_tag);
                   if (!next.empty()) run_inbox_puts(std::move(next));
                   for (PendingInboxPut& put : *puts)
                       answer_item(put.then, Result<bool>{reply.error, reply.ok()});
               });
}

void Store::read_inbox(const Caller& caller, const std::string& account_tag, const RecordRef& after,
                       int limit, Then<std::vector<Verification>> then) {
    const std::string after_ref = after.tag.empty() ? std::string() : job_ref(after);
    run_script("inbox_list", {inbox_key(account_tag)}, {std::to_string(limit), after_ref}, false,
               [this, caller, then = std::move(then)](Result<ScriptAnswer> listed) {
                   if (!listed.ok()) return then({listed.error, {}});
                   std::vector<RecordRef> refs;
                   const redisReply* r = listed.value.answer;
                   for (size_t i = 1; i < r->elements; ++i)
                       if (auto ref = parse_job_ref(reply_string(r->element[i])))
                           refs.push_back(*ref);
                   if (refs.empty()) return then({std::nullopt, {}});
                   auto reads = std::make_shared<InboxReads>();
                   reads->found.resize(refs.size());
                   reads->remaining = refs.size();
                   for (size_t i = 0; i < refs.size(); ++i) {
                       const RecordRef ref = refs[i];
                       run_script("inbox_read", {number_key(ref.tag), record_key(ref)},
                                  {caller.account, ref.suffix, mode_letter(caller.sandbox)}, false,
                                  [reads, ref, i, then](Result<ScriptAnswer> read) {
                                      std::unique_lock<std::mutex> lock(reads->mutex);
                                      if (read.ok()) {
                                          const redisReply* a = read.value.answer;
                                          reads->found[i] = decode_verification(
                                              ref, a->element[2], reply_integer(a->element[1]));
                                      } else if (read.error->code != ErrorCode::MessageNotFound &&
                                                 !reads->error) {
                                          reads->error = read.error;
                                      }
                                      if (--reads->remaining > 0) return;
                                      lock.unlock();
                                      Result<std::vector<Verification>> result{reads->error, {}};
                                      for (auto& found : reads->found)
                                          if (found) result.value.push_back(std::move(*found));
                                      then(std::move(result));
                                  });
                   }
               });
}

}  // namespace verifyd
