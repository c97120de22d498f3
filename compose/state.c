/* The run state in sqlite. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "compose/state.h"

struct compose_state {
	sqlite3 *db;
};

static const char schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE services(name TEXT PRIMARY KEY, idx INTEGER, state TEXT,"
	" pid INTEGER, domid INTEGER, started_at INTEGER, restarts INTEGER,"
	" status TEXT, rings TEXT);";

int
compose_state_open(const char *path, int create, struct compose_state **out)
{
	struct compose_state *st;
	int flags = SQLITE_OPEN_READWRITE;

	if (create) {
		unlink(path);
		flags |= SQLITE_OPEN_CREATE;
	} else if (access(path, F_OK) < 0) {
		return -ENOENT;
	}
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(st->db, 2000);
	/* The run state describes live processes: after a host crash it is
	 * stale whatever was synced, so no fsync per update (three each,
	 * ~10 ms, on every state change while starting). */
	sqlite3_exec(st->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	if (create && sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	*out = st;
	return 0;
fail:
	sqlite3_close(st->db);
	free(st);
	return -EIO;
}

void
compose_state_close(struct compose_state *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

int
compose_state_set_meta(struct compose_state *st, const char *key,
		       const char *value)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO meta VALUES(?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(s);
	return rc;
}

int
compose_state_get_meta(struct compose_state *st, const char *key, char *buf,
		       size_t len)
{
	sqlite3_stmt *s;
	int rc = -ENOENT;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key=?",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(s, 0);

		snprintf(buf, len, "%s", v ? (const char *)v : "");
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int
compose_state_put(struct compose_state *st, const struct compose_state_svc *v)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO services VALUES(?,?,?,?,?,?,?,?,?)",
			       -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(s, 1, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, v->idx);
	sqlite3_bind_text(s, 3, v->state, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, (int)v->pid);
	sqlite3_bind_int(s, 5, v->domid);
	sqlite3_bind_int64(s, 6, v->started_at);
	sqlite3_bind_int(s, 7, (int)v->restarts);
	sqlite3_bind_text(s, 8, v->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, v->rings, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(s);
	return rc;
}

static void
col(sqlite3_stmt *s, int i, char *buf, size_t len)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	snprintf(buf, len, "%s", v ? (const char *)v : "");
}

int
compose_state_list(struct compose_state *st, struct compose_state_svc **out,
		   size_t *n)
{
	struct compose_state_svc *a = NULL, *na;
	sqlite3_stmt *s;
	size_t cnt = 0;
	int rc = 0, r;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT name,idx,state,pid,domid,started_at,restarts,"
			       "status,rings FROM services ORDER BY idx", -1, &s,
			       NULL) != SQLITE_OK)
		return -EIO;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		struct compose_state_svc *v;

		if (!(na = realloc(a, (cnt + 1) * sizeof(*a)))) {
			rc = -ENOMEM;
			break;
		}
		a = na;
		v = &a[cnt++];
		memset(v, 0, sizeof(*v));
		col(s, 0, v->name, sizeof(v->name));
		v->idx = sqlite3_column_int(s, 1);
		col(s, 2, v->state, sizeof(v->state));
		v->pid = sqlite3_column_int(s, 3);
		v->domid = (uint16_t)sqlite3_column_int(s, 4);
		v->started_at = sqlite3_column_int64(s, 5);
		v->restarts = (unsigned)sqlite3_column_int(s, 6);
		col(s, 7, v->status, sizeof(v->status));
		col(s, 8, v->rings, sizeof(v->rings));
	}
	if (!rc && r != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(s);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	*n = cnt;
	return 0;
}
