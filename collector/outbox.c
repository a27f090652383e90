// DESIGN: "once per budget, threshold and window" is a key: the
// budget's name, the window's identity and the threshold.  Recording a
// crossing is an insert with MDB_NOOVERWRITE, so however often an
// evaluation sees the same crossing (every commit, every restart), it
// is queued once; and the delivery state of each webhook is written
// back right after its post, so a restart resumes where delivery
// stopped, and a webhook that answered 2xx is not posted to again.  The
// only resend left is a crash between a 2xx and its write: each post
// carries the alert's id (X-Llmcost-Alert-Id) for the receiver to drop
// it.  The outbox is its own LMDB environment (alerts.mdb): alerts
// never contend with ingest for data.mdb's single writer, and the data
// store's layout stays its own.  Records are fixed-size structs with a
// version, as store_run is; the number of pending ones is capped.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "llmcost_common.h"
#include "outbox.h"

struct outbox {
	MDB_env *env;
	MDB_dbi dbi;
	pthread_mutex_t wlock; // one write transaction at a time
};

#define KEY_MAX (BUDGET_NAME_MAX + 1 + 8 + 2)

static size_t
make_key(const outbox_rec *r, unsigned char *k)
{
	size_t n = strlen(r->name);
	memcpy(k, r->name, n + 1);
	uint64_t w = (uint64_t) r->window_id;
	for (int i = 0; i < 8; i++) {
		k[n + 1 + i] = (unsigned char) (w >> (56 - 8 * i));
	}
	k[n + 9] = (unsigned char) (r->threshold >> 8);
	k[n + 10] = (unsigned char) r->threshold;
	return (n + 11);
}

int
outbox_open(outbox **op, const char *dir, char *err, size_t errsz)
{
	char path[LLMCOST__PATH_MAX + 16];
	MDB_txn *txn;
	int rc;
	outbox *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		snprintf(err, errsz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	snprintf(path, sizeof(path), "%s/" OUTBOX_FILE, dir);
	if ((rc = mdb_env_create(&o->env)) != 0
	    || (rc = mdb_env_set_mapsize(o->env, (size_t) 64 << 20)) != 0
	    || (rc = mdb_env_set_maxdbs(o->env, 2)) != 0
	    || (rc = mdb_env_open(o->env, path, MDB_NOSUBDIR, 0600)) != 0) {
		snprintf(err, errsz, "cannot open the alert outbox %s: %s",
		    path, mdb_strerror(rc));
		if (o->env != NULL) {
			mdb_env_close(o->env);
		}
		free(o);
		return (LLMCOST_ESTORE);
	}
	if ((rc = mdb_txn_begin(o->env, NULL, 0, &txn)) != 0
	    || (rc = mdb_dbi_open(txn, "alerts", MDB_CREATE, &o->dbi)) != 0
	    || (rc = mdb_txn_commit(txn)) != 0) {
		snprintf(err, errsz, "cannot open the alert outbox %s: %s",
		    path, mdb_strerror(rc));
		mdb_env_close(o->env);
		free(o);
		return (LLMCOST_ESTORE);
	}
	pthread_mutex_init(&o->wlock, NULL);
	*op = o;
	return (0);
}

void
outbox_close(outbox *o)
{
	if (o != NULL) {
		mdb_env_close(o->env);
		pthread_mutex_destroy(&o->wlock);
		free(o);
	}
}

// Copies a record out of LMDB's map (values may be unaligned).
static int
rec_of(const MDB_val *v, outbox_rec *r)
{
	if (v->mv_size != sizeof(*r)) {
		return (LLMCOST_ESTORE);
	}
	memcpy(r, v->mv_data, sizeof(*r));
	return (r->version == 1 ? 0 : LLMCOST_ESTORE);
}

static int
count_in(MDB_txn *txn, MDB_dbi dbi, uint64_t counts[6])
{
	MDB_cursor *c;
	MDB_val k, v;
	outbox_rec r;
	int rc;

	memset(counts, 0, 6 * sizeof(counts[0]));
	if (mdb_cursor_open(txn, dbi, &c) != 0) {
		return (LLMCOST_ESTORE);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (rec_of(&v, &r) == 0 && r.state < 6) {
			counts[r.state]++;
		}
	}
	mdb_cursor_close(c);
	return (rc == MDB_NOTFOUND ? 0 : LLMCOST_ESTORE);
}

int
outbox_record(outbox *o, outbox_rec *recs, size_t n, int *isnew)
{
	unsigned char kb[KEY_MAX];
	uint64_t counts[6];
	MDB_txn *txn;
	int rc = 0;

	pthread_mutex_lock(&o->wlock);
	if (mdb_txn_begin(o->env, NULL, 0, &txn) != 0) {
		pthread_mutex_unlock(&o->wlock);
		return (LLMCOST_ESTORE);
	}
	if (count_in(txn, o->dbi, counts) != 0) {
		rc = LLMCOST_ESTORE;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		MDB_val k = { make_key(&recs[i], kb), kb };
		MDB_val v;
		isnew[i] = 0;
		if (mdb_get(txn, o->dbi, &k, &v) == 0) {
			continue;
		}
		if (recs[i].state == OUTBOX_PENDING
		    && counts[OUTBOX_PENDING] >= OUTBOX_MAX_PENDING) {
			recs[i].state = OUTBOX_DROPPED;
		}
		v.mv_size = sizeof(recs[i]);
		v.mv_data = &recs[i];
		if (mdb_put(txn, o->dbi, &k, &v, MDB_NOOVERWRITE) != 0) {
			rc = LLMCOST_ESTORE;
			break;
		}
		counts[recs[i].state < 6 ? recs[i].state : 0]++;
		isnew[i] = 1;
	}
	if (rc == 0 && mdb_txn_commit(txn) != 0) {
		rc = LLMCOST_ESTORE;
	} else if (rc != 0) {
		mdb_txn_abort(txn);
	}
	pthread_mutex_unlock(&o->wlock);
	if (rc != 0) {
		memset(isnew, 0, n * sizeof(*isnew));
	}
	return (rc);
}

int
outbox_next(outbox *o, outbox_rec *out)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	outbox_rec r;
	int rc, found = 0;

	if (mdb_txn_begin(o->env, NULL, MDB_RDONLY, &txn) != 0) {
		return (LLMCOST_ESTORE);
	}
	if (mdb_cursor_open(txn, o->dbi, &c) != 0) {
		mdb_txn_abort(txn);
		return (LLMCOST_ESTORE);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (rec_of(&v, &r) == 0 && r.state == OUTBOX_PENDING
		    && (!found || r.next_ns < out->next_ns)) {
			*out = r;
			found = 1;
		}
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND) {
		return (LLMCOST_ESTORE);
	}
	return (found ? 0 : LLMCOST_ENOTFOUND);
}

int
outbox_update(outbox *o, const outbox_rec *r)
{
	unsigned char kb[KEY_MAX];
	MDB_txn *txn;
	MDB_val k = { make_key(r, kb), kb };
	MDB_val v = { sizeof(*r), (void *) r };
	int rc;

	pthread_mutex_lock(&o->wlock);
	if ((rc = mdb_txn_begin(o->env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_put(txn, o->dbi, &k, &v, 0)) == 0) {
			rc = mdb_txn_commit(txn);
		} else {
			mdb_txn_abort(txn);
		}
	}
	pthread_mutex_unlock(&o->wlock);
	return (rc == 0 ? 0 : LLMCOST_ESTORE);
}

int
outbox_counts(outbox *o, uint64_t counts[6])
{
	MDB_txn *txn;
	if (mdb_txn_begin(o->env, NULL, MDB_RDONLY, &txn) != 0) {
		return (LLMCOST_ESTORE);
	}
	int rv = count_in(txn, o->dbi, counts);
	mdb_txn_abort(txn);
	return (rv);
}

int
outbox_prune(outbox *o, int64_t before)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	outbox_rec r;
	int rc;

	pthread_mutex_lock(&o->wlock);
	if (mdb_txn_begin(o->env, NULL, 0, &txn) != 0) {
		pthread_mutex_unlock(&o->wlock);
		return (LLMCOST_ESTORE);
	}
	if (mdb_cursor_open(txn, o->dbi, &c) != 0) {
		mdb_txn_abort(txn);
		pthread_mutex_unlock(&o->wlock);
		return (LLMCOST_ESTORE);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (rec_of(&v, &r) != 0
		    || (r.state != OUTBOX_PENDING && r.window_to < before)) {
			if (mdb_cursor_del(c, 0) != 0) {
				break;
			}
		}
	}
	mdb_cursor_close(c);
	rc = rc == MDB_NOTFOUND ? mdb_txn_commit(txn)
	                        : (mdb_txn_abort(txn), -1);
	pthread_mutex_unlock(&o->wlock);
	return (rc == 0 ? 0 : LLMCOST_ESTORE);
}
