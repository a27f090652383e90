// DESIGN: the stand-in's model price map and LangSmith's cost formula
// (reference section 2.4).  An entry matches a run when its regular
// expression (POSIX extended, like LangSmith's "Match Pattern") matches
// the run's ls_model_name, its provider (when it has one) equals
// ls_provider, and its start_time ("Model Activation Date") is not after
// the run's start; of several, the latest start_time wins, then the
// first listed.
//
// The formula is LangSmith's greedy one, from most to least specific
// token type: every detail key the entry prices (cache_read, audio,
// reasoning, ephemeral_5m_input_tokens, ...) is charged at its own price
// and taken out of the total, and the rest is charged at the base input
// or output price:
//   input_cost = sum(detail_i * p_i) + (input_tokens - sum(detail_i)) * p_in
// Nothing is clamped: details that exceed input_tokens give a negative
// remainder, as LangSmith does (langsmith-sdk#1858), so the stand-in shows
// the same symptom a wrongly built usage would cause there.  Keys are
// independent: an entry should not price both cache_creation and its
// ephemeral_5m/1h split.
//
// Prices are decimal strings of USD per million tokens, parsed exactly to
// pico-USD per token; arithmetic is checked 64-bit integers, and an
// overflow leaves the run unpriced rather than wrong.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"
#include "standin_int.h"

// The built-in map: the models of the captured requests and a few more.
// Public list prices in USD per million tokens.
const char standin_default_prices[]
    = "["
      "{\"name\":\"gpt-4o-mini\",\"provider\":\"openai\","
      "\"match_pattern\":\"^gpt-4o-mini(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$\","
      "\"input_per_million\":\"0.15\",\"output_per_million\":\"0.60\","
      "\"input_details_per_million\":{\"cache_read\":\"0.075\"}},"
      "{\"name\":\"gpt-4o\",\"provider\":\"openai\","
      "\"match_pattern\":\"^gpt-4o(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$\","
      "\"input_per_million\":\"2.50\",\"output_per_million\":\"10.00\","
      "\"input_details_per_million\":{\"cache_read\":\"1.25\"}},"
      "{\"name\":\"o4-mini\",\"provider\":\"openai\","
      "\"match_pattern\":\"^o4-mini(-[0-9]{4}-[0-9]{2}-[0-9]{2})?$\","
      "\"input_per_million\":\"1.10\",\"output_per_million\":\"4.40\","
      "\"input_details_per_million\":{\"cache_read\":\"0.275\"}},"
      "{\"name\":\"claude-sonnet-4-5\",\"provider\":\"anthropic\","
      "\"match_pattern\":\"^claude-sonnet-4-5\","
      "\"input_per_million\":\"3.00\",\"output_per_million\":\"15.00\","
      "\"input_details_per_million\":{\"cache_read\":\"0.30\","
      "\"ephemeral_5m_input_tokens\":\"3.75\","
      "\"ephemeral_1h_input_tokens\":\"6.00\"}},"
      "{\"name\":\"claude-haiku-4-5\",\"provider\":\"anthropic\","
      "\"match_pattern\":\"^claude-haiku-4-5\","
      "\"input_per_million\":\"1.00\",\"output_per_million\":\"5.00\","
      "\"input_details_per_million\":{\"cache_read\":\"0.10\","
      "\"ephemeral_5m_input_tokens\":\"1.25\","
      "\"ephemeral_1h_input_tokens\":\"2.00\"}},"
      "{\"name\":\"gemini-2.5-flash\","
      "\"match_pattern\":\"^gemini-2\\\\.5-flash$\","
      "\"input_per_million\":\"0.30\",\"output_per_million\":\"2.50\","
      "\"input_details_per_million\":{\"cache_read\":\"0.075\"}}"
      "]";

static void
entry_free(price_entry *e)
{
	free(e->name);
	free(e->pattern);
	free(e->provider);
	regfree(&e->re);
}

void
prices_free(price_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		entry_free(&m->e[i]);
	}
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

// A price: a decimal string (exact) or a number, in USD per million
// tokens, to pico-USD per token.
static int
price_value(const json_t *v, int64_t *ppt)
{
	if (json_is_string(v)) {
		return (llmcost_ls_decimal_parse(
		    json_string_value(v), json_string_length(v), 6, ppt));
	}
	if (json_is_integer(v) || json_is_real(v)) {
		char txt[64];

		snprintf(txt, sizeof(txt), "%.6f", json_number_value(v));
		return (llmcost_ls_decimal_parse(txt, strlen(txt), 6, ppt));
	}
	return (LLMCOST_EINVAL);
}

static int
details_load(const json_t *obj, price_detail *d, uint32_t *n, const char *what,
    size_t idx, char *why, size_t whysz)
{
	const char *k;
	json_t *v;

	*n = 0;
	if (obj == NULL || json_is_null(obj)) {
		return (0);
	}
	if (!json_is_object(obj)) {
		snprintf(
		    why, whysz, "entry %zu: %s: want an object", idx, what);
		return (LLMCOST_EINVAL);
	}
	json_object_foreach((json_t *) obj, k, v)
	{
		if (*n == LLMCOST_LS_DETAILS_MAX
		    || strlen(k) >= LLMCOST_LS_DETAIL_KEY_MAX
		    || price_value(v, &d[*n].ppt) != 0) {
			snprintf(why, whysz,
			    "entry %zu: %s.%.48s: want a price in USD per "
			    "million tokens (at most %d keys)",
			    idx, what, k, LLMCOST_LS_DETAILS_MAX);
			return (LLMCOST_EINVAL);
		}
		snprintf(d[*n].key, sizeof(d[*n].key), "%s", k);
		(*n)++;
	}
	return (0);
}

static int
entry_load(
    const json_t *j, size_t idx, price_entry *e, char *why, size_t whysz)
{
	const json_t *v;
	const char *pat
	    = json_string_value(json_object_get(j, "match_pattern"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *prov = json_string_value(json_object_get(j, "provider"));
	uint64_t h = UINT64_C(1469598103934665603);
	int rv;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(j) || pat == NULL) {
		snprintf(why, whysz,
		    "entry %zu: want an object with a "
		    "match_pattern",
		    idx);
		return (LLMCOST_EINVAL);
	}
	if ((rv = regcomp(&e->re, pat, REG_EXTENDED | REG_NOSUB)) != 0) {
		char re[128];

		regerror(rv, &e->re, re, sizeof(re));
		snprintf(why, whysz, "entry %zu: match_pattern: %s", idx, re);
		return (LLMCOST_EINVAL);
	}
	e->name = strdup(name ? name : pat);
	e->pattern = strdup(pat);
	e->provider = prov ? strdup(prov) : NULL;
	if (e->name == NULL || e->pattern == NULL || (prov && !e->provider)) {
		entry_free(e);
		snprintf(why, whysz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	v = json_object_get(j, "start_time");
	if (v != NULL && !json_is_null(v)
	    && llmcost_ls_time_parse(v, &e->start_us) != 0) {
		entry_free(e);
		snprintf(why, whysz,
		    "entry %zu: start_time: want an RFC 3339 "
		    "time",
		    idx);
		return (LLMCOST_EINVAL);
	}
	if (price_value(json_object_get(j, "input_per_million"), &e->in_ppt)
	        != 0
	    || price_value(
	           json_object_get(j, "output_per_million"), &e->out_ppt)
	        != 0) {
		entry_free(e);
		snprintf(why, whysz,
		    "entry %zu: input_per_million and "
		    "output_per_million: want prices in USD per million "
		    "tokens",
		    idx);
		return (LLMCOST_EINVAL);
	}
	if ((rv = details_load(json_object_get(j, "input_details_per_million"),
	         e->in_d, &e->n_in_d, "input_details_per_million", idx, why,
	         whysz))
	        != 0
	    || (rv = details_load(
	            json_object_get(j, "output_details_per_million"), e->out_d,
	            &e->n_out_d, "output_details_per_million", idx, why,
	            whysz))
	        != 0) {
		entry_free(e);
		return (rv);
	}
	// A stable price_model_id: a v4-shaped UUID from the name and index.
	for (const char *p = e->name; *p; p++) {
		h = (h ^ (uint8_t) *p) * UINT64_C(1099511628211);
	}
	h ^= idx;
	for (int i = 0; i < 16; i++) {
		h = h * UINT64_C(6364136223846793005) + 1442695040888963407u;
		e->id[i] = (uint8_t) (h >> 56);
	}
	e->id[6] = (uint8_t) ((e->id[6] & 0x0f) | 0x40);
	e->id[8] = (uint8_t) ((e->id[8] & 0x3f) | 0x80);
	return (0);
}

int
prices_load(const char *json, price_map *out, char *why, size_t whysz)
{
	json_error_t jerr;
	json_t *root = json_loads(json ? json : "", 0, &jerr);
	price_map m = { 0 };
	size_t i;
	json_t *v;
	int rv = 0;

	if (!json_is_array(root)) {
		snprintf(why, whysz,
		    "price map: want a JSON array of entries "
		    "(%s)",
		    root ? "not an array" : jerr.text);
		json_decref(root);
		return (LLMCOST_EINVAL);
	}
	m.e = calloc(json_array_size(root) + 1, sizeof(*m.e));
	if (m.e == NULL) {
		json_decref(root);
		snprintf(why, whysz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	json_array_foreach(root, i, v)
	{
		if ((rv = entry_load(v, i, &m.e[i], why, whysz)) != 0) {
			break;
		}
		m.n++;
	}
	json_decref(root);
	if (rv != 0) {
		prices_free(&m);
		return (rv);
	}
	*out = m;
	return (0);
}

// cost += n * ppt, checked.  0 or -1.
static int
charge(int64_t *cost, int64_t n, int64_t ppt)
{
	int64_t c;

	if (__builtin_mul_overflow(n, ppt, &c)
	    || __builtin_add_overflow(*cost, c, cost)) {
		return (-1);
	}
	return (0);
}

// One side (input or output): greedy over the priced details.
static int
side_cost(struct standin *s, const st_detail *rd, uint32_t nrd, int64_t tokens,
    const price_detail *pd, uint32_t npd, int64_t base, int64_t *cost,
    st_detail *cd, uint32_t *ncd)
{
	int64_t rest = tokens;

	*cost = 0;
	*ncd = 0;
	for (uint32_t i = 0; i < npd; i++) {
		for (uint32_t j = 0; j < nrd; j++) {
			int64_t c = 0;

			if (strcmp(strtab_str(&s->strs, rd[j].key), pd[i].key)
			    != 0) {
				continue;
			}
			if (charge(&c, rd[j].n, pd[i].ppt) != 0
			    || __builtin_add_overflow(*cost, c, cost)
			    || __builtin_sub_overflow(rest, rd[j].n, &rest)) {
				return (-1);
			}
			cd[*ncd].key = rd[j].key;
			cd[*ncd].n = c;
			(*ncd)++;
		}
	}
	return (charge(cost, rest, base));
}

void
prices_apply(struct standin *s, const price_map *m, st_run *r)
{
	const char *model = strtab_str(&s->strs, r->model);
	const char *prov = strtab_str(&s->strs, r->provider);
	const price_entry *best = NULL;
	st_detail cd[2 * LLMCOST_LS_DETAILS_MAX];
	uint32_t n_in = 0;
	uint32_t n_out = 0;
	int64_t in = 0;
	int64_t out = 0;
	int64_t total;

	if (model == NULL) {
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const price_entry *e = &m->e[i];

		if ((e->provider != NULL
		        && (prov == NULL || strcmp(prov, e->provider) != 0))
		    || e->start_us > r->start_us
		    || regexec(&e->re, model, 0, NULL, 0) != 0) {
			continue;
		}
		if (best == NULL || e->start_us > best->start_us) {
			best = e;
		}
	}
	if (best == NULL
	    || side_cost(s, r->details, r->n_in_d, r->in_tok, best->in_d,
	           best->n_in_d, best->in_ppt, &in, cd, &n_in)
	        != 0
	    || side_cost(s, r->details + r->n_in_d, r->n_out_d, r->out_tok,
	           best->out_d, best->n_out_d, best->out_ppt, &out, cd + n_in,
	           &n_out)
	        != 0
	    || __builtin_add_overflow(in, out, &total)) {
		return; // unpriced
	}
	if (n_in + n_out > 0) {
		r->cost_details = malloc((n_in + n_out) * sizeof(*cd));
		if (r->cost_details == NULL) {
			return;
		}
		memcpy(r->cost_details, cd, (n_in + n_out) * sizeof(*cd));
	}
	r->n_in_cd = n_in;
	r->n_out_cd = n_out;
	r->priced = 1;
	r->prompt_cost = in;
	r->completion_cost = out;
	r->total_cost = total;
	r->price = (int32_t) (best - m->e);
	memcpy(r->price_id, best->id, 16);
}
