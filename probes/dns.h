/* DNS probe: one query over UDP (TCP when truncated) or TCP; rcode, AA and answers checked. */
#ifndef AHD_PROBE_DNS_H
#define AHD_PROBE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

extern const struct probe_type probe_type_dns;

/* A dns probe's parsed keys (struct cfg_probe's params). */
struct dns_params;

enum dns_verdict {
	DNS_IGNORE,	/* not a reply to our query (ID, QR, question): wait on */
	DNS_RETRY_TCP,	/* truncated UDP answer: ask again over TCP */
	DNS_DONE,	/* the attempt ends with *result and msg */
};

/*
 * Judges one reply m[0..len) (server-controlled bytes) to the query with
 * ID id sent for dp, over TCP if tcp (fell_back: after a truncated UDP
 * answer). With DNS_DONE, *result and msg (never empty) say how the attempt
 * ended. Separate from the socket code so that it can be fuzzed.
 */
enum dns_verdict dns_check_reply(const struct dns_params *dp, uint16_t id, bool tcp,
		    bool fell_back, const unsigned char *m, size_t len,
		    enum probe_result *result, char *msg, size_t msglen);

#endif
