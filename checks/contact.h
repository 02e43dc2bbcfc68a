// The DNS contact methods: a domain publishes the email address or phone number the CA may
// contact to confirm the request, and this check confirms that the contact the CA intends to use
// (challenge_value) is published. See contact.cc.
//
//   contact-email-caa   BR §3.2.2.4.13 "Email to DNS CAA Contact": CAA `contactemail`
//   contact-email-txt   BR §3.2.2.4.14 "Email to DNS TXT Contact": TXT `_validation-contactemail`
//   contact-phone-caa   BR §3.2.2.4.17 "Phone Contact with DNS CAA Phone Contact": `contactphone`
//   contact-phone-txt   BR §3.2.2.4.16 "Phone Contact with DNS TXT Record Phone Contact":
//                       TXT `_validation-contactphone`
#pragma once

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`. request.method is one of the four above.
// require_exact_case (emails only) defaults to false: a mailbox's domain part is
// case-insensitive, and the CA writes to the address it was given either way.
void RunContact(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                std::function<void(CheckResult)> done);

}  // namespace mpic::checks
