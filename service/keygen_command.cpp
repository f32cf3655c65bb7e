// `verifyd keygen`: the operator's way to make API keys and hash keys without anything
// but the binary. Not for: serving, nor reading the keys file (keys.cpp).
#include "verifyd/keygen_command.hpp"

#include <cstdio>

#include "verifyd/crypto.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/text.hpp"
#include "verifyd/twilio.hpp"

namespace verifyd {

void keygen_command(const std::vector<std::string>& args) {
    std::string account, mode;
    unsigned scopes = kAllScopes;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--hash-key") {
            std::printf("%s\n", to_hex(random_bytes(32)).c_str());
            return;
        }
        if (i + 1 >= args.size()) throw UsageError(arg + " needs a value");
        const std::string& value = args[++i];
        if (arg == "--account") {
            account = value;
        } else if (arg == "--mode") {
            mode = value;
        } else if (arg == "--scopes") {
            scopes = 0;
            for (const std::string& name : split(value, ',')) {
                auto scope = scope_from_name(name);
                if (!scope) throw UsageError("unknown scope " + name);
                scopes |= *scope;
            }
        } else {
            throw UsageError("unknown keygen option " + arg);
        }
    }
    if (account.empty()) throw UsageError("keygen needs --account");
    if (mode != "test" && mode != "live") throw UsageError("keygen needs --mode test or live");
    auto generated = generate_key(account, mode == "live", scopes);
    // The account SID is the user name of the Twilio face's HTTP Basic (§11).
    std::printf("key: %s\nentry: %s\naccount_sid: %s\n", generated.key.c_str(),
                generated.entry_json.c_str(), twilio_account_sid(account).c_str());
}

}  // namespace verifyd
