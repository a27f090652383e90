// DESIGN: Google Gemini and Vertex generateContent.  usageMetadata's
// promptTokenCount *includes* cachedContentTokenCount; the audio entry of
// its modality breakdowns (promptTokensDetails for the whole prompt,
// cacheTokensDetails for the cached part) is moved out of the text, so
// the uncached audio is the prompt's audio minus the cached audio; image
// and video input are billed at the text rate and stay with the text
// (llmcost.h, "Converting provider usage").  toolUsePromptTokenCount is
// *not* in promptTokenCount but is billed as input, so it is added (its
// audio part, if any, to the audio).  thoughtsTokenCount is separate from
// candidatesTokenCount, whose image and audio parts go to their own
// buckets.  A breakdown entry is {modality, tokenCount} in either order,
// so it is folded when its object closes.  Streams (streamGenerateContent)
// send usageMetadata in many chunks, cumulative: the last one wins, and
// the usage is final once a finishReason (or the end of the JSON array
// form) has been seen.
#include <string.h>

#include "provider.h"

static const char *const prefixes[] = { "", NULL };

static const llmcost__field fields[] = {
	LLMCOST__FIELD("usageMetadata", K_OBJ_FLAG, EV_USAGE),
	LLMCOST__FIELD("usageMetadata.promptTokenCount", K_COUNT, C_IN),
	LLMCOST__FIELD("usageMetadata.candidatesTokenCount", K_COUNT, C_OUT),
	LLMCOST__FIELD(
	    "usageMetadata.cachedContentTokenCount", K_COUNT, C_IN_CACHED),
	LLMCOST__FIELD(
	    "usageMetadata.thoughtsTokenCount", K_COUNT, C_OUT_REASONING),
	LLMCOST__FIELD(
	    "usageMetadata.toolUsePromptTokenCount", K_COUNT, C_IN_TOOL),
	LLMCOST__FIELD("usageMetadata.totalTokenCount", K_COUNT, C_TOTAL),
	LLMCOST__FIELD("modelVersion", K_MODEL, 0),
	LLMCOST__FIELD("responseId", K_ID, 1),
	LLMCOST__FIELD("candidates[].finishReason", K_STR_FLAG, EV_FINISH),
	LLMCOST__FIELD("error", K_OBJ_FLAG, EV_ERROR),
};

enum { MOD_OTHER, MOD_AUDIO, MOD_IMAGE };

// The breakdown arrays and the counts their audio and image parts go to.
// Input images stay with the text (NO_SLOT); output images have a
// bucket of their own.
#define NO_SLOT 0xFF
static const struct {
	const char *path;
	uint8_t audio, image;
} details[] = {
	{ "usageMetadata.promptTokensDetails[]", C_IN_AUDIO, NO_SLOT },
	{ "usageMetadata.cacheTokensDetails[]", C_CACHE_AUDIO, NO_SLOT },
	{ "usageMetadata.toolUsePromptTokensDetails[]", C_TOOL_AUDIO,
	    NO_SLOT },
	{ "usageMetadata.candidatesTokensDetails[]", C_OUT_AUDIO,
	    C_OUT_IMAGE },
};
#define N_DETAILS (sizeof(details) / sizeof(details[0]))

static int
add_to(llmcost__counts *c, uint8_t slot, uint64_t n)
{
	if (c->v[slot] > UINT64_MAX - n) {
		return (LLMCOST_ETOOBIG);
	}
	c->v[slot] += n;
	c->have |= 1u << slot;
	return (0);
}

static int
value(llmcost__acc *a, const llmcost__json *j, const char *path, size_t plen,
    int ev)
{
	for (size_t i = 0; i < N_DETAILS; i++) {
		size_t n = strlen(details[i].path);
		if (plen < n || memcmp(path, details[i].path, n) != 0) {
			continue;
		}
		if (plen == n && ev == LLMCOST__J_OBJ) {
			a->mod = MOD_OTHER;
			a->mod_count = 0;
		} else if (plen == n && ev == LLMCOST__J_END_OBJ) {
			if (a->mod == MOD_AUDIO) {
				return (add_to(
				    &a->ev, details[i].audio, a->mod_count));
			}
			if (a->mod == MOD_IMAGE
			    && details[i].image != NO_SLOT) {
				return (add_to(
				    &a->ev, details[i].image, a->mod_count));
			}
		} else if (plen == n + 9 && ev == LLMCOST__J_STR
		    && memcmp(path + n, ".modality", 9) == 0) {
			const char *m = j->val;
			a->mod = strcmp(m, "AUDIO") == 0 ? MOD_AUDIO
			    : strcmp(m, "IMAGE") == 0    ? MOD_IMAGE
			                                 : MOD_OTHER;
		} else if (plen == n + 11 && ev == LLMCOST__J_NUM
		    && memcmp(path + n, ".tokenCount", 11) == 0) {
			return (llmcost__json_u64(j, &a->mod_count));
		}
		return (0);
	}
	return (0);
}

static void
commit(llmcost__acc *a)
{
	if (a->ev_flags & EV_USAGE) {
		llmcost__acc_take_all(a);
		a->flags |= F_USAGE;
	}
	if (a->ev_flags & EV_FINISH) {
		a->flags |= F_FINISH;
	}
	if (a->ev_flags & EV_ERROR) {
		a->flags |= F_ERROR;
	}
	llmcost__acc_take_names(a);
}

static int
complete(const llmcost__acc *a)
{
	if (!a->streaming) {
		return ((a->flags & F_USAGE) != 0);
	}
	return ((a->flags & F_USAGE) && (a->flags & (F_FINISH | F_DONE)));
}

static int
buckets(const llmcost__acc *a, llmcost_response *r)
{
	uint64_t *t = r->usage.tokens;
	uint64_t audio, text, tool_text, v;
	int rv;

	if ((rv = llmcost__sub(
	         CNT(a, C_IN_AUDIO), CNT(a, C_CACHE_AUDIO), &audio))
	        != 0
	    || (rv = llmcost__sub(CNT(a, C_IN), CNT(a, C_IN_CACHED), &text))
	        != 0
	    || (rv = llmcost__sub(text, audio, &text)) != 0
	    || (rv = llmcost__sub(
	            CNT(a, C_IN_TOOL), CNT(a, C_TOOL_AUDIO), &tool_text))
	        != 0) {
		return (rv);
	}
	if ((rv = llmcost__add(text, tool_text, &t[LLMCOST_IN_UNCACHED])) != 0
	    || (rv = llmcost__add(
	            audio, CNT(a, C_TOOL_AUDIO), &t[LLMCOST_IN_AUDIO]))
	        != 0) {
		return (rv);
	}
	t[LLMCOST_IN_CACHE_READ] = CNT(a, C_IN_CACHED);
	t[LLMCOST_OUT_AUDIO] = CNT(a, C_OUT_AUDIO);
	t[LLMCOST_OUT_IMAGE] = CNT(a, C_OUT_IMAGE);
	t[LLMCOST_OUT_REASONING] = CNT(a, C_OUT_REASONING);
	if ((rv = llmcost__sub(CNT(a, C_OUT), CNT(a, C_OUT_AUDIO), &v)) != 0
	    || (rv = llmcost__sub(v, CNT(a, C_OUT_IMAGE), &v)) != 0) {
		return (rv);
	}
	t[LLMCOST_OUT_TEXT] = v;
	return (0);
}

const llmcost__fmt llmcost__fmt_gemini = {
	.framing = FR_AUTO,
	.prefixes = prefixes,
	.fields = fields,
	.n_fields = sizeof(fields) / sizeof(fields[0]),
	.value = value,
	.commit = commit,
	.complete = complete,
	.buckets = buckets,
};
