// DESIGN: the discard-only LangSmith sink (discard_sink.h).  One forked
// child, one thread, one poll loop over the listening socket and at most
// SINK_CONNS connections.  Each connection reads into its own buffer of
// SINK_HDR_MAX bytes until the header block ends ("\r\n\r\n"), takes the
// request line's method and path and the Content-Length header (the only
// fields it reads), then discards that many body bytes as they arrive
// (straight from the socket into a scratch buffer, never kept) and
// answers.  Bytes after the body stay for the next request on the same
// connection (keep-alive).  Nothing is parsed, decompressed or stored:
// the sink costs a read and a write per request, so a benchmark row that
// uses it measures the client, not the server.  The child exits on
// SIGTERM (default action) or when its parent goes away.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "discard_sink.h"

#define SINK_CONNS   16
#define SINK_HDR_MAX 16384
#define SINK_SCRATCH 65536

typedef struct sink_conn {
	int fd;                       // -1: free
	size_t len;                   // header bytes held in hdr
	unsigned long long body_left; // body bytes still to discard
	int in_body;                  // the header block is read
	int is_info;                  // GET /info
	char hdr[SINK_HDR_MAX];
} sink_conn;

static void
conn_close(sink_conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->in_body = 0;
	c->body_left = 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0) {
			return (-1);
		}
		p += w;
		n -= (size_t) w;
	}
	return (0);
}

static int
answer(sink_conn *c)
{
	static const char info[]
	    = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	      "Content-Length: 45\r\n\r\n"
	      "{\"instance_flags\":{\"gzip_body_enabled\":true}}";
	static const char ack[]
	    = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
	      "Content-Length: 2\r\n\r\n{}";
	return (c->is_info ? write_all(c->fd, info, sizeof(info) - 1)
	                   : write_all(c->fd, ack, sizeof(ack) - 1));
}

// Reads the header block held in c->hdr[0, end): method, path and
// Content-Length.  Returns 0, or -1 for a request the sink does not take.
static int
read_head(sink_conn *c, size_t end)
{
	char *h = c->hdr;
	c->is_info = end >= 10 && memcmp(h, "GET /info ", 10) == 0;
	c->body_left = 0;
	for (size_t i = 0; i + 2 < end; i++) {
		if (h[i] != '\n') {
			continue;
		}
		const char *line = h + i + 1;
		if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
			return (-1);
		}
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			c->body_left = strtoull(line + 15, NULL, 10);
		}
	}
	return (0);
}

// Handles what c holds: answers every complete request.  Returns 0, or
// -1 to close the connection.
static int
serve(sink_conn *c)
{
	for (;;) {
		if (c->in_body) {
			if (c->body_left > 0) {
				return (0);
			}
			c->in_body = 0;
			if (answer(c) != 0) {
				return (-1);
			}
		}
		char *end = memmem(c->hdr, c->len, "\r\n\r\n", 4);
		if (end == NULL) {
			return (c->len == SINK_HDR_MAX ? -1 : 0);
		}
		size_t hl = (size_t) (end - c->hdr) + 4;
		if (read_head(c, hl) != 0) {
			static const char bad[]
			    = "HTTP/1.1 400 Bad Request\r\n"
			      "Content-Length: 0\r\n"
			      "Connection: close\r\n\r\n";
			(void) write_all(c->fd, bad, sizeof(bad) - 1);
			return (-1);
		}
		// Body bytes already read count against the body.
		size_t rest = c->len - hl;
		size_t take
		    = rest < c->body_left ? rest : (size_t) c->body_left;
		c->body_left -= take;
		memmove(c->hdr, c->hdr + hl + take, rest - take);
		c->len = rest - take;
		c->in_body = 1;
	}
}

static void
sink_loop(int lfd)
{
	static sink_conn conns[SINK_CONNS];
	static char scratch[SINK_SCRATCH];
	struct pollfd pf[SINK_CONNS + 1];

	for (int i = 0; i < SINK_CONNS; i++) {
		conns[i].fd = -1;
	}
	for (;;) {
		int np = 0;
		int map[SINK_CONNS];
		pf[np].fd = lfd;
		pf[np++].events = POLLIN;
		for (int i = 0; i < SINK_CONNS; i++) {
			if (conns[i].fd >= 0) {
				map[np - 1] = i;
				pf[np].fd = conns[i].fd;
				pf[np++].events = POLLIN;
			}
		}
		if (poll(pf, (nfds_t) np, 1000) < 0) {
			continue;
		}
		if (getppid() == 1) {
			_exit(0);
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			int slot = -1;
			for (int i = 0; fd >= 0 && i < SINK_CONNS; i++) {
				if (conns[i].fd < 0) {
					slot = i;
					break;
				}
			}
			if (slot < 0 && fd >= 0) {
				close(fd);
			} else if (slot >= 0) {
				conns[slot].fd = fd;
			}
		}
		for (int k = 1; k < np; k++) {
			sink_conn *c = &conns[map[k - 1]];
			if ((pf[k].revents & (POLLIN | POLLHUP | POLLERR))
			    == 0) {
				continue;
			}
			ssize_t r;
			if (c->in_body && c->body_left > 0) {
				size_t want = c->body_left < sizeof(scratch)
				    ? (size_t) c->body_left
				    : sizeof(scratch);
				if ((r = read(c->fd, scratch, want)) > 0) {
					c->body_left -= (size_t) r;
				}
			} else {
				r = read(c->fd, c->hdr + c->len,
				    SINK_HDR_MAX - c->len);
				if (r > 0) {
					c->len += (size_t) r;
				}
			}
			if (r <= 0 || serve(c) != 0) {
				conn_close(c);
			}
		}
	}
}

pid_t
bench_discard_sink_spawn(char *url, size_t cap)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0
	    || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))
	        != 0
	    || bind(lfd, (struct sockaddr *) &a, sizeof(a)) != 0
	    || listen(lfd, 16) != 0
	    || getsockname(lfd, (struct sockaddr *) &a, &alen) != 0) {
		if (lfd >= 0) {
			close(lfd);
		}
		return (-1);
	}
	snprintf(url, cap, "http://127.0.0.1:%u", ntohs(a.sin_port));
	pid_t pid = fork();
	if (pid == 0) {
		(void) prctl(PR_SET_PDEATHSIG, SIGTERM);
		signal(SIGPIPE, SIG_IGN);
		sink_loop(lfd);
		_exit(0);
	}
	close(lfd);
	return (pid);
}
