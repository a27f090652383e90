// DESIGN: nng 1.5's IPC and TCP transports accept and complete the SP
// handshake on their own, then park each connection in the endpoint's
// wait list until the socket core asks for one.  After a wedge (nng issue
// 1518: a peer hanging up mid-handshake makes the core stop asking for
// good) every new connection stays parked.  Closing the listener shuts
// the parked connections down (shutdown(2), off the poller) but never
// frees them: only the core or a failed handshake frees a pipe, and the
// endpoint waits for them forever, so their descriptors (and the old
// listening socket's) stay open.  A storm of hang-ups took a daemon from
// 13 to 4,029 descriptors.  Closing the whole socket instead of the
// listener goes through the same endpoint close and leaks the same way,
// and parked connections never become nng pipes, so pipe notifications
// and nng_pipe_close cannot reach them either.
//
// So the daemon closes them itself.  Right after closing a wedged
// listener, and before listening again, it lists the process's sockets
// whose local address is the listener's: the closed listener and the
// connections it accepted, all of them already shut down by nng.  Those
// that nng frees (live connections, ones still negotiating) are closed by
// its reaper within milliseconds; those still open with the same inode
// grace_ms later are the parked ones, which nng will never touch again,
// and are closed.  The inode check means a descriptor number reused by a
// new connection is never closed by mistake.  Linux only (/proc/self/fd).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "llmcost.h"
#include "llmcost_common.h"
#include "parked.h"

#define PARKED_MAX (1u << 20) // remembered sockets, at most

typedef struct parked_ent {
	int fd;
	dev_t dev;
	ino_t ino;
} parked_ent;

struct parked {
	int kind; // 0 none, 1 ipc, 2 tcp
	char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
	uint16_t port;
	parked_ent *ents;
	size_t n, cap;
	uint64_t collected_ns; // monotonic, of the last collect
};

int
parked_alloc(parked **pp, const char *url)
{
	parked *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return (LLMCOST_ENOMEM);
	}
	size_t plen = strlen(url) > 6 ? strlen(url + 6) : 0;
	if (strncmp(url, "ipc://", 6) == 0 && plen < sizeof(p->path)) {
		p->kind = 1;
		memcpy(p->path, url + 6, plen + 1);
	} else if (strncmp(url, "tcp://", 6) == 0) {
		const char *colon = strrchr(url + 6, ':');
		char *end;
		unsigned long port
		    = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;
		if (colon != NULL && *end == '\0' && port > 0
		    && port <= 65535) {
			p->kind = 2;
			p->port = (uint16_t) port;
		}
	}
	*pp = p;
	return (0);
}

void
parked_free(parked *p)
{
	if (p != NULL) {
		free(p->ents);
		free(p);
	}
}

// 1 when fd is a socket bound to the listener's address.
static int
is_ours(const parked *p, int fd, struct stat *st)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fstat(fd, st) != 0 || !S_ISSOCK(st->st_mode)
	    || getsockname(fd, (struct sockaddr *) &ss, &len) != 0) {
		return (0);
	}
	if (p->kind == 1 && ss.ss_family == AF_UNIX) {
		const struct sockaddr_un *a = (const struct sockaddr_un *) &ss;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path)
		    ? len - offsetof(struct sockaddr_un, sun_path)
		    : 0;
		size_t want = strlen(p->path);
		return (plen >= want && memcmp(a->sun_path, p->path, want) == 0
		    && (plen == want || a->sun_path[want] == '\0'));
	}
	if (p->kind == 2 && ss.ss_family == AF_INET) {
		return (ntohs(((const struct sockaddr_in *) &ss)->sin_port)
		    == p->port);
	}
	if (p->kind == 2 && ss.ss_family == AF_INET6) {
		return (ntohs(((const struct sockaddr_in6 *) &ss)->sin6_port)
		    == p->port);
	}
	return (0);
}

static void
remember(parked *p, int fd, const struct stat *st)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->ents[i].fd == fd && p->ents[i].ino == st->st_ino
		    && p->ents[i].dev == st->st_dev) {
			return;
		}
	}
	if (p->n == p->cap) {
		size_t cap = p->cap == 0 ? 64 : p->cap * 2;
		parked_ent *e;
		if (cap > PARKED_MAX
		    || (e = realloc(p->ents, cap * sizeof(*e))) == NULL) {
			return;
		}
		p->ents = e;
		p->cap = cap;
	}
	p->ents[p->n].fd = fd;
	p->ents[p->n].dev = st->st_dev;
	p->ents[p->n].ino = st->st_ino;
	p->n++;
}

size_t
parked_collect(parked *p)
{
	DIR *d;
	struct dirent *e;
	size_t before = p->n;

	if (p->kind == 0 || (d = opendir("/proc/self/fd")) == NULL) {
		return (0);
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct stat st;
		if (*end != '\0' || end == e->d_name || fd < 0
		    || fd == dirfd(d)) {
			continue;
		}
		if (is_ours(p, (int) fd, &st)) {
			remember(p, (int) fd, &st);
		}
	}
	closedir(d);
	p->collected_ns = llmcost__mono_ns();
	return (p->n - before);
}

size_t
parked_reclaim(parked *p, uint64_t grace_ms)
{
	size_t closed = 0;

	if (p->n == 0
	    || llmcost__mono_ns() - p->collected_ns < grace_ms * 1000000u) {
		return (0);
	}
	for (size_t i = 0; i < p->n; i++) {
		struct stat st;
		if (is_ours(p, p->ents[i].fd, &st)
		    && st.st_ino == p->ents[i].ino
		    && st.st_dev == p->ents[i].dev) {
			close(p->ents[i].fd);
			closed++;
		}
	}
	p->n = 0;
	return (closed);
}
