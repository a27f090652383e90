// DESIGN: the listener watchdog's question, "does a new client get an
// answer?", asked on a plain socket rather than through nng.  A wedged
// nng 1.5 listener still completes the SP handshake and then parks the
// connection, so only an answered request proves it works.  An nng
// client would do, but closing an nng socket whose request was never
// answered is exactly where nng 1.5.2 can hang (nng issues 1543 and
// 1813), and the watchdog runs on the main thread, which must never
// block for longer than the probe's timeout.  So the probe speaks the
// few bytes of SP it needs itself: the 8-byte header (req0 to rep0), one
// frame carrying a request id and a STATS_REQ, and the reply frame; IPC
// frames start with a type byte, TCP frames do not.  Every step is
// bounded by poll with one deadline, and close(2) cannot hang.
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "llmcost_common.h"
#include "llmcost_proto.h"
#include "probe.h"

#define REPLY_MAX 65536u // a STATS reply is far smaller

static int
remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = llmcost__mono_ns();

	return (
	    now >= deadline_ns ? 0 : (int) ((deadline_ns - now) / 1000000u));
}

static int
io_all(int fd, uint8_t *p, size_t len, int writing, uint64_t deadline_ns)
{
	while (len > 0) {
		struct pollfd pf = { fd, writing ? POLLOUT : POLLIN, 0 };
		int ms = remaining_ms(deadline_ns);
		int r = ms > 0 ? poll(&pf, 1, ms) : 0;
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return (-1);
		}
		ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL)
		                    : recv(fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (n <= 0) {
			return (-1);
		}
		p += n;
		len -= (size_t) n;
	}
	return (0);
}

// A non-blocking connect to addr, finished within the deadline.
static int
connect_by(int family, const struct sockaddr *addr, socklen_t len,
    uint64_t deadline_ns)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0) {
		return (-2); // a local failure: cannot tell
	}
	if (connect(fd, addr, len) == 0) {
		return (fd);
	}
	if (errno == EINPROGRESS || errno == EAGAIN) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		int ms = remaining_ms(deadline_ns);
		if (ms > 0 && poll(&pf, 1, ms) == 1
		    && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0
		    && err == 0) {
			return (fd);
		}
	}
	close(fd);
	return (-1);
}

// Connects to url; *ipc tells the framing.  -2: cannot tell.
static int
dial(const char *url, int *ipc, uint64_t deadline_ns)
{
	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un a;
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		int n
		    = snprintf(a.sun_path, sizeof(a.sun_path), "%s", url + 6);
		if (n < 0 || (size_t) n >= sizeof(a.sun_path)) {
			return (-2);
		}
		*ipc = 1;
		return (connect_by(
		    AF_UNIX, (struct sockaddr *) &a, sizeof(a), deadline_ns));
	}
	if (strncmp(url, "tcp://", 6) != 0) {
		return (-2);
	}
	// tcp://HOST:PORT, HOST possibly [v6], empty or * (any address:
	// asked on loopback).
	char host[LLMCOST__URL_MAX];
	const char *hp = url + 6;
	const char *colon = strrchr(hp, ':');
	if (colon == NULL || (size_t) (colon - hp) >= sizeof(host)) {
		return (-2);
	}
	memcpy(host, hp, (size_t) (colon - hp));
	host[colon - hp] = '\0';
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = '\0';
		h++;
	}
	if (h[0] == '\0' || strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0) {
		h = "127.0.0.1";
	} else if (strcmp(h, "::") == 0) {
		h = "::1";
	}
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(h, colon + 1, &hints, &res) != 0) {
		return (-2);
	}
	int fd = connect_by(
	    res->ai_family, res->ai_addr, res->ai_addrlen, deadline_ns);
	freeaddrinfo(res);
	*ipc = 0;
	return (fd);
}

int
probe_listener(const char *url, int timeout_ms)
{
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };
	// [1, 3]: STATS_REQ, after the request id 0x80000001.
	static const uint8_t req[7] = { 0x80, 0, 0, 1, 0x92,
		LLMCOST_PROTO_VERSION, LLMCOST_MSG_STATS_REQ };
	uint64_t deadline_ns
	    = llmcost__mono_ns() + (uint64_t) timeout_ms * 1000000u;
	uint8_t buf[9 + sizeof(req)], peer[8];
	int ipc = 0, alive = 0;
	size_t hl;

	int fd = dial(url, &ipc, deadline_ns);
	if (fd < 0) {
		return (fd == -2 ? -1 : 0);
	}
	hl = ipc ? 9 : 8;
	if (ipc) {
		buf[0] = 1;
	}
	for (int i = 0; i < 8; i++) {
		buf[hl - 8 + (size_t) i]
		    = (uint8_t) ((uint64_t) sizeof(req) >> (56 - 8 * i));
	}
	memcpy(buf + hl, req, sizeof(req));
	if (io_all(fd, (uint8_t *) hello, sizeof(hello), 1, deadline_ns) == 0
	    && io_all(fd, peer, sizeof(peer), 0, deadline_ns) == 0
	    && peer[1] == 'S' && peer[2] == 'P'
	    && io_all(fd, buf, hl + sizeof(req), 1, deadline_ns) == 0
	    && io_all(fd, buf, hl, 0, deadline_ns) == 0) {
		uint64_t len = 0;
		for (size_t i = hl - 8; i < hl; i++) {
			len = (len << 8) | buf[i];
		}
		// The reply starts with our request id; that is enough.
		uint8_t id[4];
		alive = (!ipc || buf[0] == 1) && len >= 4 && len <= REPLY_MAX
		    && io_all(fd, id, 4, 0, deadline_ns) == 0
		    && memcmp(id, req, 4) == 0;
	}
	close(fd);
	return (alive);
}
