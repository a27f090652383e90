// Shared by the store's schema and layout tests: raw LMDB access to a
// store file (the store closed meanwhile), one write transaction at a
// time, to read or plant what an older or newer version would have
// written.  Static inline, like store_fixture.h.
#ifndef LLMCOST_RAW_LMDB_H
#define LLMCOST_RAW_LMDB_H

#include <lmdb.h>

#include "testutil.h"

typedef struct raw {
	MDB_env *env;
	MDB_txn *txn;
} raw;

// Opens the store at path and begins a write transaction.
static inline void
raw_begin(raw *w, const char *path)
{
	LLMCOST_PASS(mdb_env_create(&w->env));
	LLMCOST_PASS(mdb_env_set_maxdbs(w->env, 16));
	LLMCOST_PASS(mdb_env_set_mapsize(w->env, 1ull << 30));
	LLMCOST_PASS(mdb_env_open(w->env, path, 0, 0600));
	LLMCOST_PASS(mdb_txn_begin(w->env, NULL, 0, &w->txn));
}

// Commits and closes.
static inline void
raw_end(raw *w)
{
	LLMCOST_PASS(mdb_txn_commit(w->txn));
	mdb_env_close(w->env);
}

// The schema version in `info`, as the store at path holds it.
static inline uint32_t
raw_get_schema(const char *path)
{
	raw w;
	MDB_dbi info;
	MDB_val k = { 6, "schema" }, v;
	uint32_t schema = 0;

	raw_begin(&w, path);
	LLMCOST_PASS(mdb_dbi_open(w.txn, "info", 0, &info));
	LLMCOST_PASS(mdb_get(w.txn, info, &k, &v));
	assert_int_equal(v.mv_size, sizeof(schema));
	memcpy(&schema, v.mv_data, sizeof(schema));
	raw_end(&w);
	return (schema);
}

// Writes schema as the version in `info`, in w's transaction.
static inline void
raw_set_schema(raw *w, uint32_t schema)
{
	MDB_dbi info;
	MDB_val k = { 6, "schema" }, v = { sizeof(schema), &schema };
	LLMCOST_PASS(mdb_dbi_open(w->txn, "info", 0, &info));
	LLMCOST_PASS(mdb_put(w->txn, info, &k, &v, 0));
}

#endif // LLMCOST_RAW_LMDB_H
