// Budget alerts as HTTP posts: the payloads (a Slack-compatible one and
// a generic JSON one, docs/budgets.md), the redaction of webhook URLs
// for logs, and one POST through libcurl with timeouts.
//
// Threading: webhook_post uses the caller's webhook_client, which belongs
// to one thread; the other functions are reentrant.
#ifndef LLMCOSTD_WEBHOOK_H
#define LLMCOSTD_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"

// What an alert says: one threshold of one budget crossed in one window.
typedef struct webhook_alert {
	const char *budget;  // its name
	const char *zone;    // the budget's time zone
	const char *kind;    // day, week, month, rolling
	int64_t window_from; // Unix seconds
	int64_t window_to;
	int64_t window_id;  // budget_window_id
	int64_t crossed_at; // Unix seconds
	uint16_t threshold; // percent
	uint32_t pct_bp;    // spend / limit in basis points when crossed
	store_i128 spend_pusd;
	int64_t limit_pusd;
	int hard;
} webhook_alert;

// The alert's id, "BUDGET/WINDOW_ID/THRESHOLD": sent as the
// X-Llmcost-Alert-Id header so that a receiver can drop the rare resend
// (a crash between a 2xx and its record, or a post cut off by the stop's
// bound).
int webhook_alert_id(const webhook_alert *a, char *buf, size_t bufsz);

// Writes the payload of format f into buf (NUL-terminated).  Returns its
// length, or -1 when it does not fit.
int webhook_payload(
    const webhook_alert *a, budget_hook_format f, char *buf, size_t bufsz);

// "https://hooks.slack.com/..." from a webhook URL: the scheme and host
// (and port) only, never user info, path or query, which hold the
// secret.  Always NUL-terminates buf.
void webhook_redact(const char *url, char *buf, size_t bufsz);

typedef struct webhook_client webhook_client;

// abort_at, when not NULL, is polled during a transfer (about once a
// second, and whenever data moves): once it is non-zero and
// llmcost__mono_ns() has reached it, the transfer is aborted
// (WEBHOOK_RETRY).  Another thread may set it.
int webhook_client_new(webhook_client **cp, uint32_t timeout_ms,
    const _Atomic uint64_t *abort_at);
void webhook_client_free(webhook_client *c);

// What a post came to.
typedef enum webhook_result {
	WEBHOOK_DELIVERED, // 2xx
	WEBHOOK_RETRY,     // connection error, timeout, 408, 425, 429, 5xx
	WEBHOOK_REFUSED,   // any other status: retrying will not help
} webhook_result;

// POSTs body (JSON) to url with the alert id header.  *status receives
// the HTTP status (0 when none came back) and why a short reason for
// logs (never the URL).
webhook_result webhook_post(webhook_client *c, const char *url,
    const char *alert_id, const char *body, int *status, char *why,
    size_t whysz);

#endif // LLMCOSTD_WEBHOOK_H
