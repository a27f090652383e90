// DESIGN: alerts leave llmcostd as small JSON posts, one easy handle
// reused per delivery thread (keep-alive), with connect and total
// timeouts, no redirects (a redirect could carry the secret URL's
// request elsewhere), no signals (CURLOPT_NOSIGNAL: the daemon is
// multi-threaded) and a progress callback that aborts a transfer only
// once the cut-off set by the daemon's stop has passed: a post in
// progress when the daemon stops is finished and its answer recorded
// (aborting it as soon as the stop began would lose a 2xx already sent,
// and the alert would be posted again after the restart), while a slow
// receiver holds up the stop no longer than that cut-off.
// Webhook URLs are secrets (a Slack hook's path is its key): logs only
// ever see webhook_redact's "scheme://host/...".  Payloads are written
// with snprintf into a fixed buffer: every string in them is a budget
// name or zone name, both restricted to characters that need no JSON
// escaping, checked when the budgets file was parsed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "llmcost_common.h"
#include "report.h"
#include "webhook.h"

struct webhook_client {
	CURL *h;
	uint32_t timeout_ms;
	const _Atomic uint64_t *abort_at; // llmcost__mono_ns; 0: none
};

int
webhook_alert_id(const webhook_alert *a, char *buf, size_t bufsz)
{
	int n = snprintf(buf, bufsz, "%s/%lld/%u", a->budget,
	    (long long) a->window_id, a->threshold);
	return (n < 0 || (size_t) n >= bufsz ? -1 : n);
}

int
webhook_payload(
    const webhook_alert *a, budget_hook_format f, char *buf, size_t bufsz)
{
	char spend[64], spend2[64], limit[64], limit2[64], from[32], to[32];
	char at[32], id[200];
	int n;

	report_fmt_usd(a->spend_pusd, 12, spend, sizeof(spend));
	report_fmt_usd(a->spend_pusd, 2, spend2, sizeof(spend2));
	report_fmt_usd(a->limit_pusd, 12, limit, sizeof(limit));
	report_fmt_usd(a->limit_pusd, 2, limit2, sizeof(limit2));
	llmcost__utc_text(a->window_from, from, sizeof(from));
	llmcost__utc_text(a->window_to, to, sizeof(to));
	llmcost__utc_text(a->crossed_at, at, sizeof(at));
	if (webhook_alert_id(a, id, sizeof(id)) < 0) {
		return (-1);
	}
	const char *state = a->pct_bp >= 10000 ? "exhausted" : "warn";
	if (f == BUDGET_HOOK_SLACK) {
		n = snprintf(buf, bufsz,
		    "{\"text\":\"%s llmcost budget *%s* crossed %u%%: $%s of "
		    "$%s (%u.%02u%%) in the %s window %s to %s (%s)%s\"}",
		    a->pct_bp >= 10000 ? ":rotating_light:" : ":warning:",
		    a->budget, a->threshold, spend2, limit2, a->pct_bp / 100,
		    a->pct_bp % 100, a->kind, from, to, a->zone,
		    a->hard && a->pct_bp >= 10000
		        ? "; hard budget: matching calls are now refused"
		        : "");
	} else {
		n = snprintf(buf, bufsz,
		    "{\"type\":\"llmcost.budget.threshold\",\"id\":\"%s\","
		    "\"budget\":\"%s\",\"threshold_percent\":%u,"
		    "\"state\":\"%s\",\"percent\":\"%u.%02u\","
		    "\"spend_usd\":\"%s\",\"limit_usd\":\"%s\","
		    "\"window\":{\"kind\":\"%s\",\"timezone\":\"%s\","
		    "\"from\":\"%s\",\"to\":\"%s\"},\"crossed_at\":\"%s\","
		    "\"hard\":%s}",
		    id, a->budget, a->threshold, state, a->pct_bp / 100,
		    a->pct_bp % 100, spend, limit, a->kind, a->zone, from, to,
		    at, a->hard ? "true" : "false");
	}
	return (n < 0 || (size_t) n >= bufsz ? -1 : n);
}

void
webhook_redact(const char *url, char *buf, size_t bufsz)
{
	const char *p = strstr(url, "://");
	if (p == NULL || bufsz == 0) {
		snprintf(buf, bufsz, "(a webhook URL)");
		return;
	}
	const char *host = p + 3;
	size_t hl = strcspn(host, "/?#");
	// user:password@host: keep the host only.
	const char *at = memchr(host, '@', hl);
	if (at != NULL) {
		hl -= (size_t) (at + 1 - host);
		host = at + 1;
	}
	snprintf(buf, bufsz, "%.*s://%.*s%s", (int) (p - url), url, (int) hl,
	    host, host[hl] != '\0' ? "/..." : "");
}

static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void) ptr;
	(void) arg;
	return (size * nmemb);
}

static int
progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const webhook_client *c = arg;
	(void) dt;
	(void) dn;
	(void) ut;
	(void) un;
	uint64_t at = c->abort_at != NULL ? *c->abort_at : 0;
	return (at != 0 && llmcost__mono_ns() >= at ? 1 : 0);
}

int
webhook_client_new(
    webhook_client **cp, uint32_t timeout_ms, const _Atomic uint64_t *abort_at)
{
	webhook_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return (LLMCOST_ENOMEM);
	}
	if ((c->h = curl_easy_init()) == NULL) {
		free(c);
		return (LLMCOST_ENOMEM);
	}
	c->timeout_ms = timeout_ms;
	c->abort_at = abort_at;
	*cp = c;
	return (0);
}

void
webhook_client_free(webhook_client *c)
{
	if (c != NULL) {
		curl_easy_cleanup(c->h);
		free(c);
	}
}

webhook_result
webhook_post(webhook_client *c, const char *url, const char *alert_id,
    const char *body, int *status, char *why, size_t whysz)
{
	char idh[256];
	struct curl_slist *hdr = NULL, *h2;
	long code = 0;
	CURL *h = c->h;

	*status = 0;
	snprintf(idh, sizeof(idh), "X-Llmcost-Alert-Id: %s", alert_id);
	if ((h2 = curl_slist_append(hdr, "Content-Type: application/json"))
	        == NULL
	    || (hdr = h2, (h2 = curl_slist_append(hdr, idh)) == NULL)) {
		curl_slist_free_all(hdr);
		snprintf(why, whysz, "out of memory");
		return (WEBHOOK_RETRY);
	}
	hdr = h2;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long) (c->timeout_ms < 5000 ? c->timeout_ms : 5000));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "llmcostd");
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		// curl's messages may quote the URL: give the code's text.
		snprintf(why, whysz, "%s", curl_easy_strerror(rc));
		return (WEBHOOK_RETRY);
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	*status = (int) code;
	snprintf(why, whysz, "HTTP %ld", code);
	if (code >= 200 && code < 300) {
		return (WEBHOOK_DELIVERED);
	}
	if (code == 408 || code == 425 || code == 429 || code >= 500) {
		return (WEBHOOK_RETRY);
	}
	return (WEBHOOK_REFUSED);
}
