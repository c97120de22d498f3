/* sqlite: a read-write store in one table.  Dictionaries are implicit (a
 * key is a dictionary when some key lies under key + "/"), as in the image
 * stores, and every change is one IMMEDIATE transaction.
 *
 * Durability: journal_mode=WAL with synchronous=FULL makes sqlite fsync the
 * WAL at every commit, so when set/remove/rename return 0 the change
 * survives a crash of the process or of the machine.  (NORMAL would only
 * fsync at checkpoints: a power cut could lose acknowledged writes.) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "morgana/log.h"
#include "services/kvd/kvd.h"
#include "services/kvd/kvd_index.h"

struct kv_sqlite {
	struct kv_store base;
	sqlite3 *db;
	bool batch;	/* inside kv_store_batch_begin's transaction */
};

static int
sq_err(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:	return -ENOSPC;
	case SQLITE_NOMEM:	return -ENOMEM;
	case SQLITE_TOOBIG:	return -EFBIG;
	case SQLITE_READONLY:	return -EROFS;
	}
	ring_log(RING_LOG_WARN, "msg=\"sqlite error\" rc=%d err=\"%s\"", rc,
		 sqlite3_errmsg(db));
	return -EIO;
}

static int
exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_err(db, rc);
}

/* Prepare sql and bind the text arguments (NULL ends them). */
static int
prep(sqlite3 *db, sqlite3_stmt **st, const char *sql, const char *a,
     const char *b)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return sq_err(db, rc);
	if ((a && sqlite3_bind_text(*st, 1, a, -1, SQLITE_TRANSIENT)) ||
	    (b && sqlite3_bind_text(*st, 2, b, -1, SQLITE_TRANSIENT))) {
		sqlite3_finalize(*st);
		return -ENOMEM;
	}
	return 0;
}

/* The range [key "/", key "0") holds exactly the keys under key. */
static void
range(const char *key, char lo[KV_KEY_MAX + 1], char hi[KV_KEY_MAX + 1])
{
	size_t n = strlen(key);

	memcpy(lo, key, n);
	memcpy(hi, key, n);
	lo[n] = '/';
	hi[n] = '/' + 1;
	lo[n + 1] = hi[n + 1] = '\0';
}

/* One row, one integer column: 1 and *v if a row, 0 if none, -errno. */
static int
query_int(sqlite3 *db, const char *sql, const char *a, const char *b,
	  int64_t *v)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = prep(db, &st, sql, a, b)) < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (v)
			*v = sqlite3_column_int64(st, 0);
		r = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = sq_err(db, rc);
	}
	sqlite3_finalize(st);
	return r;
}

static int
kind_of(struct kv_sqlite *q, const char *key, int *kind)
{
	char lo[KV_KEY_MAX + 1], hi[KV_KEY_MAX + 1];
	int r;

	*kind = KV_KIND_NONE;
	if (key[0] == '\0') {
		*kind = KV_KIND_DICT;
		return 0;
	}
	if ((r = query_int(q->db, "SELECT 1 FROM kv WHERE key = ?1", key,
			   NULL, NULL)) < 0)
		return r;
	if (r == 1) {
		*kind = KV_KIND_VALUE;
		return 0;
	}
	range(key, lo, hi);
	if ((r = query_int(q->db, "SELECT 1 FROM kv WHERE key >= ?1 AND "
			   "key < ?2 LIMIT 1", lo, hi, NULL)) < 0)
		return r;
	if (r == 1)
		*kind = KV_KIND_DICT;
	return 0;
}

static int
sq_exists(struct kv_store *s, const char *key, int *kind)
{
	return kind_of((struct kv_sqlite *)s, key, kind);
}

static int
need_value(struct kv_sqlite *q, const char *key)
{
	int kind, r;

	if ((r = kind_of(q, key, &kind)) < 0)
		return r;
	return kind == KV_KIND_VALUE ? 0 : kind == KV_KIND_DICT ? -EISDIR
							       : -ENOENT;
}

static int
sq_size(struct kv_store *s, const char *key, uint64_t *size)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	int64_t v;
	int r;

	if ((r = need_value(q, key)) < 0)
		return r;
	if ((r = query_int(q->db, "SELECT length(value) FROM kv WHERE key = ?1",
			   key, NULL, &v)) < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*size = (uint64_t)v;
	return 0;
}

static int
sq_read(struct kv_store *s, const char *key, uint64_t off, void *buf,
	size_t len, uint64_t *size)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	sqlite3_stmt *st;
	int r, rc, n;

	if ((r = need_value(q, key)) < 0)
		return r;
	if (off > INT64_MAX - 1 || len > INT32_MAX)
		return -EINVAL;
	if ((r = prep(q->db, &st, "SELECT substr(value, ?2, ?3), "
		      "length(value) FROM kv WHERE key = ?1", key, NULL)) < 0)
		return r;
	sqlite3_bind_int64(st, 2, (int64_t)off + 1);
	sqlite3_bind_int64(st, 3, (int64_t)len);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);

		n = sqlite3_column_bytes(st, 0);
		*size = (uint64_t)sqlite3_column_int64(st, 1);
		if ((size_t)n > len)
			n = (int)len;
		if (n > 0)
			memcpy(buf, p, (size_t)n);
		r = n;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : sq_err(q->db, rc);
	}
	sqlite3_finalize(st);
	return r;
}

static int
sq_list(struct kv_store *s, const char *key, struct kv_entry **ents,
	size_t *n)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	char lo[KV_KEY_MAX + 1], hi[KV_KEY_MAX + 1];
	struct kv_idx ix = { 0 };
	sqlite3_stmt *st;
	int r, rc, kind;

	if ((r = kind_of(q, key, &kind)) < 0)
		return r;
	if (kind != KV_KIND_DICT)
		return kind == KV_KIND_VALUE ? -ENOTDIR : -ENOENT;
	range(key, lo, hi);
	if (key[0] == '\0')
		r = prep(q->db, &st, "SELECT key FROM kv", NULL, NULL);
	else
		r = prep(q->db, &st, "SELECT key FROM kv WHERE key >= ?1 AND "
			 "key < ?2", lo, hi);
	if (r < 0)
		return r;
	/* Reuse the image stores' child computation over the keys below. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *k = strdup((const char *)sqlite3_column_text(st, 0));

		if (k == NULL || (r = kv_idx_add(&ix, k, KV_KIND_VALUE, 0, 0,
						 0)) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(q->db, rc);
	sqlite3_finalize(st);
	if (r == 0)
		r = kv_idx_finish(&ix) < 0 ? -EIO : 0;
	if (r == 0)
		r = kv_idx_list(&ix, key, ents, n);
	kv_idx_free(&ix);
	return r;
}

static int
sq_last_modified(struct kv_store *s, const char *key, int64_t *ns)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	char lo[KV_KEY_MAX + 1], hi[KV_KEY_MAX + 1];
	int kind, r;

	if ((r = kind_of(q, key, &kind)) < 0)
		return r;
	if (kind == KV_KIND_VALUE)
		r = query_int(q->db, "SELECT mtime FROM kv WHERE key = ?1", key,
			      NULL, ns);
	else if (kind == KV_KIND_DICT && key[0] == '\0')
		r = query_int(q->db, "SELECT max(mtime) FROM kv", NULL, NULL,
			      ns);
	else if (kind == KV_KIND_DICT) {
		range(key, lo, hi);
		r = query_int(q->db, "SELECT max(mtime) FROM kv WHERE key >= ?1"
			      " AND key < ?2", lo, hi, ns);
	} else
		return -ENOENT;
	if (r == 0 && kind == KV_KIND_DICT && key[0] == '\0') {
		*ns = 0;	/* an empty store */
		return 0;
	}
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

/* No value may sit on the path to key ("a" blocks "a/b"). */
static int
check_parents(struct kv_sqlite *q, const char *key)
{
	char buf[KV_KEY_MAX];
	size_t n = strlen(key);
	int r;

	memcpy(buf, key, n + 1);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		r = query_int(q->db, "SELECT 1 FROM kv WHERE key = ?1", buf,
			      NULL, NULL);
		*p = '/';
		if (r != 0)
			return r < 0 ? r : -ENOTDIR;
	}
	return 0;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Inside a batch each change is a savepoint, so a failed one is undone
 * alone and the others still commit together. */
static int
begin(struct kv_sqlite *q)
{
	return exec(q->db, q->batch ? "SAVEPOINT op" : "BEGIN IMMEDIATE");
}

/* Commit r == 0, roll back otherwise.  COMMIT returns after the WAL fsync
 * (synchronous=FULL), which is what makes the caller's ack honest; inside
 * a batch that happens at batch_end. */
static int
end(struct kv_sqlite *q, int r)
{
	if (q->batch) {
		if (r < 0)
			exec(q->db, "ROLLBACK TO op");
		int r2 = exec(q->db, "RELEASE op");
		return r < 0 ? r : r2;
	}
	if (r == 0)
		r = exec(q->db, "COMMIT");
	if (r < 0)
		exec(q->db, "ROLLBACK");
	return r;
}

static int
sq_batch_begin(struct kv_store *s)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	int r;

	if (q->batch)
		return -EBUSY;
	if ((r = exec(q->db, "BEGIN IMMEDIATE")) < 0)
		return r;
	q->batch = true;
	return 0;
}

static int
sq_batch_end(struct kv_store *s, bool commit)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	int r = 0;

	if (!q->batch)
		return -EINVAL;
	q->batch = false;
	/* One COMMIT, one WAL fsync, for every change of the batch. */
	if (commit)
		r = exec(q->db, "COMMIT");
	if (!commit || r < 0)
		exec(q->db, "ROLLBACK");
	return r;
}

static int
step_done(struct kv_sqlite *q, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st), r;

	r = rc == SQLITE_DONE ? 0 : sq_err(q->db, rc);
	sqlite3_finalize(st);
	return r;
}

static int
sq_set(struct kv_store *s, const char *key, const void *val, size_t len)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	sqlite3_stmt *st;
	int r, kind;

	if (len > INT32_MAX)
		return -EFBIG;
	if ((r = begin(q)) < 0)
		return r;
	if ((r = check_parents(q, key)) == 0 &&
	    (r = kind_of(q, key, &kind)) == 0 && kind == KV_KIND_DICT)
		r = -EISDIR;
	if (r == 0 && (r = prep(q->db, &st, "INSERT OR REPLACE INTO kv "
				"(key, value, mtime) VALUES (?1, ?2, ?3)", key,
				NULL)) == 0) {
		sqlite3_bind_blob(st, 2, len ? val : "", (int)len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ns());
		r = step_done(q, st);
	}
	return end(q, r);
}

static int
delete_tree(struct kv_sqlite *q, const char *key)
{
	char lo[KV_KEY_MAX + 1], hi[KV_KEY_MAX + 1];
	sqlite3_stmt *st;
	int r;

	range(key, lo, hi);
	if ((r = prep(q->db, &st, "DELETE FROM kv WHERE key = ?3 OR "
		      "(key >= ?1 AND key < ?2)", lo, hi)) < 0)
		return r;
	sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
	return step_done(q, st);
}

static int
sq_remove(struct kv_store *s, const char *key)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	int r, kind;

	if ((r = begin(q)) < 0)
		return r;
	if ((r = kind_of(q, key, &kind)) == 0 && kind == KV_KIND_NONE)
		r = -ENOENT;
	if (r == 0)
		r = delete_tree(q, key);
	return end(q, r);
}

static int
sq_rename(struct kv_store *s, const char *src, const char *dst)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;
	char lo[KV_KEY_MAX + 1], hi[KV_KEY_MAX + 1];
	int r, sk, dk;
	sqlite3_stmt *st;

	if ((r = begin(q)) < 0)
		return r;
	if ((r = kind_of(q, src, &sk)) == 0 && sk == KV_KIND_NONE)
		r = -ENOENT;
	if (r == 0)
		r = check_parents(q, dst);
	if (r == 0)
		r = kind_of(q, dst, &dk);
	/* Replace like with like only. */
	if (r == 0 && dk != KV_KIND_NONE && dk != sk)
		r = dk == KV_KIND_DICT ? -EISDIR : -ENOTDIR;
	if (r == 0 && dk != KV_KIND_NONE)
		r = delete_tree(q, dst);
	if (r == 0 && sk == KV_KIND_VALUE &&
	    (r = prep(q->db, &st, "UPDATE kv SET key = ?2 WHERE key = ?1", src,
		      dst)) == 0)
		r = step_done(q, st);
	if (r == 0 && sk == KV_KIND_DICT) {
		range(src, lo, hi);
		/* Bytes, not characters: substr over the key as a BLOB. */
		if ((r = prep(q->db, &st, "UPDATE kv SET key = ?3 || "
			      "CAST(substr(CAST(key AS BLOB), ?4) AS TEXT) "
			      "WHERE key >= ?1 AND key < ?2", lo, hi)) == 0) {
			sqlite3_bind_text(st, 3, dst, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 4, (int64_t)strlen(src) + 1);
			r = step_done(q, st);
		}
	}
	return end(q, r);
}

static void
sq_close(struct kv_store *s)
{
	struct kv_sqlite *q = (struct kv_sqlite *)s;

	sqlite3_close(q->db);
	free(q);
}

static const struct kv_store_ops sqlite_ops = {
	.name = "sqlite",
	.exists = sq_exists,
	.size = sq_size,
	.read = sq_read,
	.list = sq_list,
	.last_modified = sq_last_modified,
	.set = sq_set,
	.remove = sq_remove,
	.rename = sq_rename,
	.batch_begin = sq_batch_begin,
	.batch_end = sq_batch_end,
	.close = sq_close,
};

int
kv_sqlite_open(const char *path, struct kv_store **out)
{
	struct kv_sqlite *q = calloc(1, sizeof(*q));
	sqlite3_stmt *st;
	int rc, r;

	if (q == NULL)
		return -ENOMEM;
	q->base.ops = &sqlite_ops;
	q->base.rw = true;
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = q->db ? sq_err(q->db, rc) : -ENOMEM;
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 5000);
	/* journal_mode answers with the mode it got; anything but wal means
	 * the durability argument above does not hold. */
	if ((r = prep(q->db, &st, "PRAGMA journal_mode=WAL", NULL, NULL)) < 0)
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		sqlite3_finalize(st);
		r = -EIO;
		goto fail;
	}
	sqlite3_finalize(st);
	if ((r = exec(q->db, "PRAGMA synchronous=FULL")) < 0 ||
	    (r = exec(q->db, "CREATE TABLE IF NOT EXISTS kv ("
		      "key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL, "
		      "mtime INTEGER NOT NULL) WITHOUT ROWID")) < 0)
		goto fail;
	*out = &q->base;
	return 0;
fail:
	sqlite3_close(q->db);
	free(q);
	return r;
}
