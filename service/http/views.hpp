// The JSON views of a verification and of its message (§4): what GET, send, cancel and
// the message listing show; and of a fraud guard pause (§10.3), as GET /fraud/blocks and
// the fraud.paused and fraud.resumed events show it. A live code never appears in a view. Not for:
// the envelope around them (envelope.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "verifyd/store.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

// with_details adds what a GET shows: attempts, delivery, and a sandbox message's
// template variables.
nlohmann::json verification_json(const Verification& v, bool with_details,
                                 const std::string& app_name);
// A live message shows neither its code nor its rendered body (which would hold it).
nlohmann::json message_json(const Verification& v, const Templates& templates,
                            const std::string& app_name);
nlohmann::json pause_json(const Pause& pause);

}  // namespace verifyd
