// DESIGN: the spool, a file per client process that carries calls across
// a long collector outage and across a restart of the application.
//
// When it is used.  Without a spool, a collector that stays away fills
// the collector exporter's queue and the ring; past the ring's high-water
// mark the loop hands the oldest calls to LangSmith alone and counts them
// as dropped for the collector (exporter.h "Bounded queues").  With one,
// the loop (sender.c asks llmcost__spool_step first on every round)
// writes the calls the ring can no longer hold to the file instead, before
// that mark is reached: once the ring holds half of what the collector
// exporter's batches in flight (LLMCOST__INFLIGHT_MAX of batch_max
// calls, taken from the same pool) leave of the pool while the collector
// has no room, or once the collector has been stalled for SPILL_AFTER_MS
// (so that a slow trickle of calls is on disk, not in memory, when the
// application is killed).  Stalled means no room, or, while the file
// holds calls, no frame replayed for that long: with several batches in
// flight the collector has room while the frame at head waits, and the
// newer calls must still reach the file.  The
// lossy exporters (LangSmith) still get those calls at once.  When the
// collector has room again, frames are read back oldest first and handed
// to the collector exporter alone, one at a time; while the file holds
// anything, newer calls wait in the ring (or follow into the file), so
// the collector receives calls in the order they ended.  At shutdown,
// what the collector exporter still held and what is left in the ring
// go to the file too, so a restart loses nothing that was ended (the
// exporter hands its queued batches over without the client's mutex:
// writing, and logging a full spool, take it).
//
// The file.  A 32-byte header (magic, version, the acknowledged offset
// "head" with its CRC), then frames: 24 bytes (magic, payload length,
// calls, CRC-32 of the rest, the ring position of the first call) and a
// payload that is one proto v1 BATCH message, the collector's own
// format.  Host byte order: a spool never leaves its machine.  Frames
// are appended with one pwritev; replay reads the frame at head.
//
// Exactly once.  A frame's calls keep their run ids, and the collector
// stores a run id once, so a frame sent twice is harmless; what must
// never happen is a frame skipped.  The order is therefore: the
// collector acknowledges (after its commit), then head moves past the
// frame (one pwrite of 16 bytes), then, when head reaches the end, the
// file is truncated to its header and head reset.  A crash before the
// head write replays the frame (a duplicate, deduplicated); a crash
// between the truncate and the reset leaves head past the end, which the
// next open reads as "all acknowledged".  Writes are not fsync'ed: the
// spool survives the application's crash or kill (the page cache
// outlives the process), not the machine's power loss, whose torn tail
// is found and cut by the next open.
//
// Damage.  Open checks the framing from head to the end and cuts the
// file at the first frame that is not whole (a write cut short); replay
// checks each frame's CRC and decodes it, and skips a frame that fails.
// Each is one clear log line and one count (spool_corrupt), never a
// crash.  A file that is not a spool at all (wrong magic) is renamed to
// <path>.corrupt and a new one started.
//
// Processes.  The file is locked (flock, exclusive) for the client's
// lifetime.  A second process given the same path finds it locked and
// takes <path>.1, then .2, up to .7; a process that starts later takes
// the first free one and replays whatever an earlier process left there.
// The lock goes with the process, so a killed application leaves no
// stale lock.
//
// Bounds.  The file never grows past spool_max bytes; calls that would
// pass it are dropped and counted (spool_calls_dropped, and in
// calls_dropped).  Memory: one frame at a time.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libdeflate.h>

#include "llmcost_proto.h"
#include "shim.h"
#include "spool.h"

#define FILE_MAGIC   "LLMCSPOL"
#define FILE_VERSION 1u
#define HDR_SIZE     32u
#define HEAD_OFF     16u
#define FRAME_MAGIC  0x524d4c53u // "SLMR" in little-endian memory
#define FRAME_HDR    24u
#define SLOTS        8 // path, path.1 .. path.7
// Spill everything once the collector has had no room this long.
#define SPILL_AFTER_NS (1000ull * 1000000ull)
// How often the loop looks while the collector has no room.
#define POLL_MS 10
// Write errors: logged at most this often.
#define ERR_LOG_NS (10ull * 1000000000ull)

struct llmcost__spool {
	pthread_mutex_t mtx; // guards everything but the atomics and stall
	int fd;
	char path[LLMCOST__PATH_MAX + 16]; // a base path and ".N"
	uint64_t max;                      // bytes the file may reach
	uint64_t head;     // offset up to which the collector acknowledged
	uint64_t end;      // end of the last whole frame (the file's size)
	uint64_t own_from; // frames at or past this offset are this client's
	int inflight;      // the frame at head is with the collector
	uint64_t err_ns;   // when a write error was last logged
	uint64_t stall_ns; // batch loop only: the collector has had no
	                   // room since (0: it has room)
	_Atomic uint64_t oldest;
	_Atomic uint64_t written;
	_Atomic uint64_t replayed;
	_Atomic uint64_t dropped;
	_Atomic uint64_t corrupt;
	_Atomic uint64_t bytes;
};

typedef struct frame_hdr {
	uint32_t magic;
	uint32_t len;
	uint32_t calls;
	uint32_t crc; // of first_pos and the payload
	uint64_t first_pos;
} frame_hdr;

// The kinds of a replayed batch: every record is a call.
static const uint8_t call_kinds[LLMCOST_PROTO_MAX_RECORDS];

static uint32_t
frame_crc(uint64_t first_pos, const void *payload, uint32_t len)
{
	uint32_t crc = libdeflate_crc32(0, &first_pos, sizeof(first_pos));
	return (libdeflate_crc32(crc, payload, len));
}

static uint32_t
head_crc(uint64_t head)
{
	return (libdeflate_crc32(0, &head, sizeof(head)));
}

static int
pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t) off);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return (-1);
		}
		p += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return (0);
}

static int
write_head(llmcost__spool *s)
{
	unsigned char b[16];
	uint32_t crc = head_crc(s->head);
	memset(b, 0, sizeof(b));
	memcpy(b, &s->head, 8);
	memcpy(b + 8, &crc, 4);
	return (pwrite(s->fd, b, sizeof(b), HEAD_OFF) == (ssize_t) sizeof(b)
	        ? 0
	        : -1);
}

// Reads and checks the framing of the frame at off (before end).
// Returns 0 with *h, or -1 with *why.
static int
read_frame_hdr(llmcost__spool *s, uint64_t off, uint64_t end, frame_hdr *h,
    const char **why)
{
	if (end - off < FRAME_HDR) {
		*why = "a frame header cut short";
		return (-1);
	}
	if (pread_all(s->fd, h, sizeof(*h), off) != 0) {
		*why = "cannot read a frame header";
		return (-1);
	}
	if (h->magic != FRAME_MAGIC) {
		*why = "no frame starts there";
		return (-1);
	}
	if (h->len == 0 || h->len > LLMCOST_PROTO_MAX_MSG
	    || h->calls > LLMCOST_PROTO_MAX_RECORDS) {
		*why = "a frame header with impossible sizes";
		return (-1);
	}
	if (end - off - FRAME_HDR < h->len) {
		*why = "a frame cut short";
		return (-1);
	}
	return (0);
}

// Sets oldest from head.  s->mtx held.
static void
update_oldest(llmcost__spool *s)
{
	uint64_t pos = UINT64_MAX;
	if (s->head < s->end) {
		frame_hdr h;
		const char *why;
		pos = 0;
		if (s->head >= s->own_from
		    && read_frame_hdr(s, s->head, s->end, &h, &why) == 0) {
			pos = h.first_pos;
		}
	}
	atomic_store(&s->oldest, pos);
	atomic_store(&s->bytes, s->end);
}

// Moves head to off (the collector has what lies before it); truncates
// the file when nothing is left.  s->mtx held.
static void
ack_to(llmcost_client *c, llmcost__spool *s, uint64_t off)
{
	s->head = off;
	if (write_head(s) != 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "spool %s: cannot record an acknowledgement (%s); its "
		    "calls may be sent again (the collector keeps one copy)",
		    s->path, strerror(errno));
	}
	if (s->head >= s->end) {
		// Truncate first, then reset head: a crash in between leaves
		// head past the end, read as "all acknowledged".
		if (ftruncate(s->fd, HDR_SIZE) == 0) {
			s->head = s->end = s->own_from = HDR_SIZE;
			(void) write_head(s);
		} else {
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "spool %s: cannot truncate: %s", s->path,
			    strerror(errno));
		}
	}
	update_oldest(s);
}

// ---- opening ----

// Creates the missing directories of path's parent (of path itself when
// dir is set), private to the user (0700).  Existing ones are left as
// they are.
static void
make_dirs(char *path, int dir)
{
	size_t n = strlen(path);
	char *last = dir ? path + n : strrchr(path, '/');
	if (last == NULL) {
		return;
	}
	for (char *p = path + 1; p <= last && *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			(void) mkdir(path, 0700);
			*p = '/';
		}
	}
	if (dir) {
		(void) mkdir(path, 0700);
	}
}

// The file for a configured path: a directory (an existing one, or one
// written with a trailing '/') gets <program>.spool inside it.  Returns
// 0, or -1 when it does not fit.
static int
resolve(const char *cfg, char *out, size_t outsz)
{
	struct stat st;
	size_t n = strlen(cfg);
	int dir = (n > 0 && cfg[n - 1] == '/')
	    || (stat(cfg, &st) == 0 && S_ISDIR(st.st_mode));
	if (n == 0 || n >= outsz) {
		return (-1);
	}
	memcpy(out, cfg, n + 1);
	if (!dir) {
		make_dirs(out, 0);
		return (0);
	}
	while (n > 1 && out[n - 1] == '/') {
		out[--n] = '\0';
	}
	make_dirs(out, 1);
	// The program's name, cut to what a file name may safely hold.
	char prog[65];
	const char *name = program_invocation_short_name;
	size_t k = 0;
	for (; name != NULL && name[k] != '\0' && k < sizeof(prog) - 1; k++) {
		char ch = name[k];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
		    || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
		    || ch == '.';
		prog[k] = ok ? ch : '_';
	}
	prog[k] = '\0';
	int w
	    = snprintf(out + n, outsz - n, "/%s.spool", k > 0 ? prog : "app");
	return (w < 0 || (size_t) w >= outsz - n ? -1 : 0);
}

typedef enum { OPEN_OK, OPEN_BUSY, OPEN_RETRY, OPEN_FAIL } open_result;

// Reads the header and checks the frames of an open, locked file.
static open_result
load(llmcost_client *c, llmcost__spool *s, uint64_t size)
{
	unsigned char b[HDR_SIZE];

	if (size == 0) {
		memset(b, 0, sizeof(b));
		memcpy(b, FILE_MAGIC, 8);
		uint32_t v = FILE_VERSION;
		memcpy(b + 8, &v, 4);
		if (pwrite(s->fd, b, sizeof(b), 0) != (ssize_t) sizeof(b)) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s: cannot write: %s; no spool", s->path,
			    strerror(errno));
			return (OPEN_FAIL);
		}
		s->head = s->end = s->own_from = HDR_SIZE;
		return (write_head(s) == 0 ? OPEN_OK : OPEN_FAIL);
	}
	if (size < HDR_SIZE || pread_all(s->fd, b, sizeof(b), 0) != 0
	    || memcmp(b, FILE_MAGIC, 8) != 0) {
		// Not a spool: keep it for a look, start a new one.
		char aside[sizeof(s->path) + 16];
		snprintf(aside, sizeof(aside), "%s.corrupt", s->path);
		atomic_fetch_add(&s->corrupt, 1);
		if (rename(s->path, aside) != 0) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s is not a spool file and cannot be moved "
			    "aside (%s); no spool",
			    s->path, strerror(errno));
			return (OPEN_FAIL);
		}
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "spool %s is not a spool file (%llu bytes, no spool "
		    "header); moved to %s, starting a new one",
		    s->path, (unsigned long long) size, aside);
		return (OPEN_RETRY);
	}
	uint32_t v;
	memcpy(&v, b + 8, 4);
	if (v != FILE_VERSION) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "spool %s has version %u, this library reads %u; left "
		    "alone, no spool",
		    s->path, v, FILE_VERSION);
		return (OPEN_FAIL);
	}
	uint64_t head;
	uint32_t crc;
	memcpy(&head, b + HEAD_OFF, 8);
	memcpy(&crc, b + HEAD_OFF + 8, 4);
	if (crc != head_crc(head) || head < HDR_SIZE) {
		// Replay everything: duplicates are harmless, gaps are not.
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "spool %s: the acknowledged offset is damaged; every "
		    "frame is sent again (the collector keeps one copy)",
		    s->path);
		atomic_fetch_add(&s->corrupt, 1);
		head = HDR_SIZE;
	}
	if (head > size) {
		// A truncate whose head reset did not happen: all sent.
		head = size;
	}
	uint64_t off = head;
	while (off < size) {
		frame_hdr h;
		const char *why;
		if (read_frame_hdr(s, off, size, &h, &why) != 0) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s: %s at offset %llu; the %llu bytes "
			    "from there are discarded (a write cut short, or "
			    "damage)",
			    s->path, why, (unsigned long long) off,
			    (unsigned long long) (size - off));
			atomic_fetch_add(&s->corrupt, 1);
			if (ftruncate(s->fd, (off_t) off) != 0) {
				return (OPEN_FAIL);
			}
			break;
		}
		off += FRAME_HDR + h.len;
	}
	s->head = head;
	s->end = off;
	s->own_from = off;
	if (s->head >= s->end) {
		ack_to(c, s, s->end);
	}
	return (OPEN_OK);
}

static open_result
open_slot(llmcost_client *c, llmcost__spool *s)
{
	struct stat st;

	s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->fd < 0) {
		llmcost__log(c, LLMCOST_LOG_ERR, "spool %s: %s; no spool",
		    s->path, strerror(errno));
		return (OPEN_FAIL);
	}
	if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		if (!busy) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s: cannot lock: %s; no spool", s->path,
			    strerror(errno));
		}
		close(s->fd);
		s->fd = -1;
		return (busy ? OPEN_BUSY : OPEN_FAIL);
	}
	open_result r = OPEN_FAIL;
	if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)
	    || st.st_uid != geteuid()) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "spool %s is not a regular file of this user; no spool",
		    s->path);
	} else {
		if ((st.st_mode & 077) != 0 && fchmod(s->fd, 0600) == 0) {
			llmcost__log(c, LLMCOST_LOG_NOTICE,
			    "spool %s: made private (mode 0600)", s->path);
		}
		r = load(c, s, (uint64_t) st.st_size);
	}
	if (r != OPEN_OK) {
		close(s->fd);
		s->fd = -1;
	}
	return (r);
}

void
llmcost__spool_open(llmcost_client *c)
{
	llmcost__spool *s;
	char base[LLMCOST__PATH_MAX];

	c->spool = NULL;
	if (c->cfg.spool_path[0] == '\0') {
		return;
	}
	if (resolve(c->cfg.spool_path, base, sizeof(base) - 8) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "spool path %s is empty or too long; no spool",
		    c->cfg.spool_path);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return;
	}
	if (pthread_mutex_init(&s->mtx, NULL) != 0) {
		free(s);
		return;
	}
	s->fd = -1;
	s->max = c->cfg.spool_max;
	open_result r = OPEN_BUSY;
	for (int slot = 0, tries = 0; slot < SLOTS && tries < 2 * SLOTS;
	     tries++) {
		if (slot == 0) {
			snprintf(s->path, sizeof(s->path), "%s", base);
		} else {
			snprintf(
			    s->path, sizeof(s->path), "%s.%d", base, slot);
		}
		r = open_slot(c, s);
		if (r == OPEN_BUSY) {
			slot++;
		} else if (r != OPEN_RETRY) {
			break;
		}
	}
	if (r != OPEN_OK) {
		if (r == OPEN_BUSY) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s and its %d siblings are locked by other "
			    "processes; no spool",
			    base, SLOTS - 1);
		}
		pthread_mutex_destroy(&s->mtx);
		free(s);
		return;
	}
	update_oldest(s);
	llmcost__log(c,
	    s->head < s->end ? LLMCOST_LOG_NOTICE : LLMCOST_LOG_INFO,
	    "spool %s: %llu bytes to replay, at most %llu", s->path,
	    (unsigned long long) (s->end - s->head),
	    (unsigned long long) s->max);
	c->spool = s;
}

void
llmcost__spool_close(llmcost__spool *s)
{
	if (s == NULL) {
		return;
	}
	if (s->fd >= 0) {
		close(s->fd); // releases the lock
	}
	pthread_mutex_destroy(&s->mtx);
	free(s);
}

// ---- writing ----

// Appends b's calls as one frame.  Returns 0, LLMCOST_EFULL (over the
// bound) or another error (logged at most every ERR_LOG_NS).  s->mtx
// held.
static int
append(llmcost_client *c, llmcost__spool *s, const llmcost__batch *b)
{
	llmcost_proto_buf buf;
	llmcost_proto_enc enc;
	uint32_t calls = 0;
	int rv;

	for (uint32_t i = 0; i < b->n; i++) {
		calls += b->kinds[i] == LLMCOST__KIND_CALL;
	}
	if (calls == 0) {
		return (0);
	}
	memset(&buf, 0, sizeof(buf));
	llmcost_proto_enc_init(&enc, llmcost_proto_buf_write, &buf, 0);
	llmcost_proto_enc_batch_header(&enc, c->client_id, 1, 0, calls);
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->kinds[i] == LLMCOST__KIND_CALL) {
			llmcost_proto_enc_record(&enc, &b->records[i]);
		}
	}
	if ((rv = enc.err) != 0) {
		llmcost_proto_buf_free(&buf);
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "spool: encoding %u calls failed: %s; dropped", calls,
		    llmcost_strerror(rv));
		return (rv);
	}
	uint64_t need = FRAME_HDR + buf.len;
	if (s->end + need > s->max) {
		llmcost_proto_buf_free(&buf);
		return (LLMCOST_EFULL);
	}
	frame_hdr h = { FRAME_MAGIC, (uint32_t) buf.len, calls, 0, b->first };
	h.crc = frame_crc(h.first_pos, buf.data, h.len);
	struct iovec iov[2] = { { &h, sizeof(h) }, { buf.data, buf.len } };
	ssize_t n = pwritev(s->fd, iov, 2, (off_t) s->end);
	int err = errno;
	llmcost_proto_buf_free(&buf);
	if (n != (ssize_t) need) {
		// Leave no partial frame behind.
		(void) ftruncate(s->fd, (off_t) s->end);
		uint64_t now = llmcost__mono_ns();
		if (s->err_ns == 0 || now - s->err_ns >= ERR_LOG_NS) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s: cannot write: %s; calls dropped",
			    s->path, n < 0 ? strerror(err) : "short write");
			s->err_ns = now;
		}
		return (LLMCOST_ESYSTEM);
	}
	int was_empty = s->head == s->end;
	s->end += need;
	atomic_fetch_add(&s->written, calls);
	atomic_store(&s->bytes, s->end);
	if (was_empty) {
		atomic_store(&s->oldest, b->first);
	}
	return (0);
}

// Appends b; on failure counts its calls as dropped by the spool and
// returns them.
static uint32_t
keep(llmcost_client *c, llmcost__spool *s, const llmcost__batch *b)
{
	pthread_mutex_lock(&s->mtx);
	int rv = append(c, s, b);
	pthread_mutex_unlock(&s->mtx);
	if (rv == 0) {
		return (0);
	}
	uint32_t calls = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		calls += b->kinds[i] == LLMCOST__KIND_CALL;
	}
	atomic_fetch_add(&s->dropped, calls);
	if (rv == LLMCOST_EFULL) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "spool %s is full (%llu bytes); %u calls dropped", s->path,
		    (unsigned long long) s->max, calls);
	}
	return (calls);
}

// ---- reading ----

// The frame at head as a batch for the collector, or NULL (nothing to
// replay now; damaged frames are skipped, logged and counted).  s->mtx
// held.
static llmcost__batch *
replay(llmcost_client *c, llmcost__spool *s)
{
	while (!s->inflight && s->head < s->end) {
		uint64_t off = s->head;
		frame_hdr h;
		const char *why = NULL;
		char reason[128];

		if (read_frame_hdr(s, off, s->end, &h, &why) != 0) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s: %s at offset %llu; the rest of the "
			    "file (%llu bytes) is skipped",
			    s->path, why, (unsigned long long) off,
			    (unsigned long long) (s->end - off));
			atomic_fetch_add(&s->corrupt, 1);
			ack_to(c, s, s->end);
			return (NULL);
		}
		uint64_t next = off + FRAME_HDR + h.len;
		size_t a
		    = (sizeof(llmcost__batch) + sizeof(llmcost_proto_msg) + 15)
		    & ~(size_t) 15;
		char *mem = malloc(a + h.len);
		if (mem == NULL) {
			return (NULL); // try again next round
		}
		llmcost__batch *b = (llmcost__batch *) (void *) mem;
		llmcost_proto_msg *m = (llmcost_proto_msg *) (void *) (b + 1);
		char *payload = mem + a;
		memset(b, 0, sizeof(*b));
		if (pread_all(s->fd, payload, h.len, off + FRAME_HDR) != 0) {
			why = "cannot read a frame";
		} else if (frame_crc(h.first_pos, payload, h.len) != h.crc) {
			why = "a frame fails its CRC";
		} else if (llmcost_proto_decode(
		               payload, h.len, m, reason, sizeof(reason))
		    != 0) {
			why = reason;
		} else if (m->type != LLMCOST_MSG_BATCH
		    || m->u.batch.n_records != h.calls) {
			llmcost_proto_msg_free(m);
			why = "a frame that is not the batch it announces";
		}
		if (why != NULL) {
			free(mem);
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "spool %s: %s at offset %llu; its %u calls are "
			    "skipped",
			    s->path, why, (unsigned long long) off, h.calls);
			atomic_fetch_add(&s->corrupt, 1);
			ack_to(c, s, next);
			continue;
		}
		b->first = off < s->own_from ? 0 : h.first_pos;
		b->n = m->u.batch.n_records;
		b->records = m->u.batch.records;
		b->kinds = call_kinds;
		b->str_bytes = h.len;
		// The payload and the decoded records (their strings point
		// into the payload).
		b->bytes
		    = a + h.len + (size_t) b->n * sizeof(llmcost_proto_record);
		b->spool_end = next;
		b->owned = m;
		s->inflight = 1;
		atomic_fetch_add(&s->replayed, b->n);
		return (b);
	}
	return (NULL);
}

// ---- the batch loop ----

// Takes a batch from the ring, writes its calls to the spool and hands
// it to the lossy exporters.
static void
spill(llmcost_client *c, llmcost__spool *s)
{
	llmcost__batch *b = NULL;
	uint32_t n;
	int rv = llmcost__batch_take(c, c->cfg.batch_max, &b, &n);
	uint64_t first = c->taken;

	c->taken += n;
	if (rv != 0 || n == 0) {
		if (rv == 0) {
			llmcost__batch_free(b);
		}
		atomic_fetch_add(&c->dropped, n);
		pthread_mutex_lock(&c->mtx);
		c->handed = c->taken;
		pthread_cond_broadcast(&c->progress);
		pthread_mutex_unlock(&c->mtx);
		return;
	}
	b->first = first;
	atomic_fetch_add(&c->dropped, keep(c, s, b));
	b->dropped = atomic_load(&c->dropped);
	pthread_mutex_lock(&c->mtx);
	llmcost__exporters_hand_to(c, b, LLMCOST__HAND_LOSSY);
	pthread_mutex_unlock(&c->mtx);
}

int
llmcost__spool_step(llmcost_client *c)
{
	llmcost__spool *s = c->spool;
	// The pool holds the ring and the batches the collector exporter
	// has taken (up to LLMCOST__INFLIGHT_MAX of batch_max calls):
	// spill at half of what those batches leave, so that the file, not
	// the pool running out, takes a long outage.
	uint64_t held = (uint64_t) LLMCOST__INFLIGHT_MAX * c->cfg.batch_max;
	uint32_t left = held < c->cfg.queue_max / 2
	    ? c->cfg.queue_max - (uint32_t) held
	    : c->cfg.queue_max / 2;
	uint32_t spill_depth = left / 2 > 0 ? left / 2 : 1;

	pthread_mutex_lock(&c->mtx);
	int room = llmcost__exporters_room(c);
	pthread_mutex_unlock(&c->mtx);
	pthread_mutex_lock(&s->mtx);
	int empty = s->head == s->end;
	llmcost__batch *b = room ? replay(c, s) : NULL;
	int replayable = !s->inflight && s->head < s->end;
	pthread_mutex_unlock(&s->mtx);

	if (b != NULL) {
		// Progress: the stall clock restarts with each frame.
		s->stall_ns = llmcost__mono_ns();
		b->dropped = atomic_load(&c->dropped);
		pthread_mutex_lock(&c->mtx);
		llmcost__exporters_hand_to(c, b, LLMCOST__HAND_LOSSLESS);
		pthread_mutex_unlock(&c->mtx);
		return (1);
	}
	if (room && empty) {
		s->stall_ns = 0;
		return (0);
	}
	if (room && replayable) {
		return (1); // a frame was skipped, or no memory: look again
	}
	// Stalled: the collector has no room, or the file holds calls and
	// its frame at head has not come back (with several batches in
	// flight the collector may have room while the file waits).
	uint64_t now = llmcost__mono_ns();
	if (s->stall_ns == 0) {
		s->stall_ns = now;
	}
	uint32_t depth = llmcost__queue_depth(c);
	if (depth > 0
	    && (depth >= spill_depth
	        || (s->stall_ns != 0
	            && now - s->stall_ns >= SPILL_AFTER_NS))) {
		spill(c, s);
		return (1);
	}
	// Wait for room, a deeper ring or the next look.  Call sites may
	// wake the loop (a system call for them) only once the ring is a
	// quarter full: below that, the next look comes soon enough.
	struct timespec ts = llmcost__deadline_ms(POLL_MS);
	pthread_mutex_lock(&c->mtx);
	if (depth >= spill_depth / 2) {
		atomic_store(&c->sleeping, 1);
	}
	if (!atomic_load(&c->closing)) {
		(void) pthread_cond_timedwait(&c->wake, &c->mtx, &ts);
	}
	atomic_store(&c->sleeping, 0);
	pthread_mutex_unlock(&c->mtx);
	return (atomic_load(&c->closing) ? -1 : 1);
}

uint64_t
llmcost__spool_spill_ring(llmcost_client *c)
{
	llmcost__spool *s = c->spool;
	uint64_t lost = 0;

	for (;;) {
		llmcost__batch *b = NULL;
		uint32_t n;
		int rv = llmcost__batch_take(c, c->cfg.batch_max, &b, &n);
		c->taken += n;
		if (rv != 0) {
			lost += n;
			continue;
		}
		if (n == 0) {
			llmcost__batch_free(b);
			return (lost);
		}
		b->first = c->taken - n;
		lost += keep(c, s, b);
		llmcost__batch_free(b);
	}
}

uint32_t
llmcost__spool_settled(llmcost_client *c, const llmcost__batch *b,
    const llmcost__outcome *out, int stopping)
{
	llmcost__spool *s = c->spool;
	if (s == NULL || b->n == 0) {
		return (0);
	}
	if (b->spool_end != 0) {
		pthread_mutex_lock(&s->mtx);
		s->inflight = 0;
		if (out->stored + out->refused >= b->n) {
			ack_to(c, s, b->spool_end);
		}
		pthread_mutex_unlock(&s->mtx);
		// Not delivered: it stays in the file, for the next try or
		// the next process.
		return (out->stored + out->refused >= b->n ? 0 : out->lost);
	}
	if (!stopping || out->lost != b->n) {
		return (0);
	}
	return (b->n - keep(c, s, b));
}

uint64_t
llmcost__spool_oldest(llmcost__spool *s)
{
	return (s == NULL ? UINT64_MAX : atomic_load(&s->oldest));
}

void
llmcost__spool_counters_get(llmcost__spool *s, llmcost__spool_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL) {
		return;
	}
	out->written = atomic_load(&s->written);
	out->replayed = atomic_load(&s->replayed);
	out->dropped = atomic_load(&s->dropped);
	out->corrupt = atomic_load(&s->corrupt);
	out->bytes = atomic_load(&s->bytes);
}
