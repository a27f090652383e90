// The AWS event stream framing (application/vnd.amazon.eventstream) that
// Bedrock's ConverseStream answers with, read as bytes arrive.  Each
// message is a 12-byte prelude (total length, headers length, CRC-32 of
// the first 8 bytes), headers, a payload and a CRC-32 of everything
// before it; all integers are big-endian.  Headers are kept in a fixed
// buffer; payload bytes go straight to the sink.
//
// Ownership: caller storage; the sink's pointers are valid only during
// the call.  Threading: one thread at a time.
#ifndef LLMCOST_PROVIDERS_EVSTREAM_H
#define LLMCOST_PROVIDERS_EVSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define LLMCOST__EVS_HEADERS_MAX 1024        // bytes of one message's headers
#define LLMCOST__EVS_MSG_MAX     (16u << 20) // bytes of one message
#define LLMCOST__EVS_NAME_MAX    64          // bytes kept of a header value

typedef struct llmcost__evs_sink {
	// A message begins: its ":event-type" and ":message-type" header
	// values ("" when absent; cut at LLMCOST__EVS_NAME_MAX bytes).
	int (*begin)(void *arg, const char *event_type, const char *msg_type);
	// Payload bytes, in order.
	int (*payload)(void *arg, const char *p, size_t n);
	// The message ended and its CRC matched.
	int (*end)(void *arg);
} llmcost__evs_sink;

typedef struct llmcost__evs {
	const llmcost__evs_sink *sink;
	void *arg;
	int err;
	uint8_t st;
	uint32_t crc;     // running CRC-32 of the message so far
	uint32_t total;   // total length of the message
	uint32_t hdr_len; // headers length
	uint32_t got;     // bytes of the current part read
	uint32_t msgs;    // complete messages
	uint8_t prelude[12];
	uint8_t tail[4];
	uint8_t hdr[LLMCOST__EVS_HEADERS_MAX];
} llmcost__evs;

void llmcost__evs_init(
    llmcost__evs *e, const llmcost__evs_sink *sink, void *arg);

// Returns 0, LLMCOST_EPROTO (bad lengths, CRC, headers),
// LLMCOST_ETOOBIG (over a cap) or the sink's error; errors are sticky.
int llmcost__evs_feed(llmcost__evs *e, const char *p, size_t n);

// 1 when the input stopped inside a message.
int llmcost__evs_mid_message(const llmcost__evs *e);

// CRC-32 (IEEE 802.3, as zlib's crc32): continue crc over p[0..n).
// Start with 0.
uint32_t llmcost__crc32(uint32_t crc, const void *p, size_t n);

#endif // LLMCOST_PROVIDERS_EVSTREAM_H
