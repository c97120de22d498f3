/* dir: a host directory, read-only, confined to its root.  Every lookup
 * goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to
 * the root fd, so "..", absolute symlinks and symlinks leading out are
 * refused by the kernel even if a key slipped past kv_key_valid.
 *
 * Reads keep up to DIR_CACHE files open, so a repeated get costs one
 * pread instead of a confined open, fstat, pread and close.  The cache is
 * dropped whole when inotify reports any change to a cached file or to the
 * entries of a directory on its path; inotify is read at most once per
 * DIR_RECHECK_NS, so a change on disk is served within a millisecond.
 * Without inotify (or past its watch limit) reads simply go uncached. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "services/kvd/kvd.h"

#define DIR_CACHE 512		/* open fds at most: half the default limit */
#define DIR_PROBE 8
#define DIR_RECHECK_NS 1000000ull
/* Directories: only their entries.  A mask with events "on children"
 * (IN_MODIFY, IN_ATTRIB...) would make every read of every file below
 * take and drop a reference on its parent dentry in fsnotify: 15% of
 * kvd's time in bench/kv.  Files get their own watch instead. */
#define DIR_WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			IN_DELETE_SELF | IN_MOVE_SELF)
#define FILE_WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE)

struct dir_ent {
	char *key;		/* NULL: empty slot */
	int fd;
	int wd;			/* the file's inotify watch */
	uint64_t size;
};

struct kv_dir {
	struct kv_store base;
	int rootfd;
	int ifd;		/* inotify; -1: no cache */
	uint64_t checked_ns;	/* when ifd was last drained */
	unsigned tmp_seq;	/* read-write: temporary file names */
	struct dir_ent cache[DIR_CACHE];
};

/* Read-write: the names of values being written.  Keys with a segment
 * starting with it are refused and listings leave such names out. */
#define DIR_TMP_PREFIX ".kvd-tmp-"

static bool
reserved(const struct kv_dir *d, const char *key)
{
	size_t n = sizeof(DIR_TMP_PREFIX) - 1;

	if (!d->base.rw)
		return false;
	for (const char *p = key;; p++) {
		if (strncmp(p, DIR_TMP_PREFIX, n) == 0)
			return true;
		if ((p = strchr(p, '/')) == NULL)
			return false;
	}
}

/* Open key beneath the root; -errno as the kernel says, but -EACCES for
 * a resolution that would leave the root. */
static int
dir_openat_raw(struct kv_dir *d, const char *key, int flags)
{
	struct open_how how = {
		/* openat2 refuses O_PATH with any flag it ignores. */
		.flags = (uint64_t)(flags | O_CLOEXEC |
				    ((flags & O_PATH) ? 0 : O_NOCTTY)),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	/* Our own check as well as the kernel's: never hand it "..". */
	if (!kv_key_valid(key))
		return -EINVAL;
	if (reserved(d, key))
		return -EACCES;
	fd = syscall(SYS_openat2, d->rootfd, key[0] ? key : ".", &how,
		     sizeof(how));
	if (fd >= 0)
		return (int)fd;
	return errno == EXDEV || errno == ELOOP ? -EACCES : -errno;
}

/* dir_openat_raw, but a value on the path (ENOTDIR) means nothing is
 * bound below it: -ENOENT. */
static int
dir_openat(struct kv_dir *d, const char *key, int flags)
{
	int fd = dir_openat_raw(d, key, flags);

	return fd == -ENOTDIR ? -ENOENT : fd;
}

/* fstat a key, confined; kind from the file type (NONE for specials). */
static int
dir_stat(struct kv_dir *d, const char *key, struct stat *st, int *kind)
{
	int fd = dir_openat(d, key, O_PATH);

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	*kind = S_ISREG(st->st_mode) ? KV_KIND_VALUE
	      : S_ISDIR(st->st_mode) ? KV_KIND_DICT : KV_KIND_NONE;
	return 0;
}

static int
dir_exists(struct kv_store *s, const char *key, int *kind)
{
	struct stat st;
	int r = dir_stat((struct kv_dir *)s, key, &st, kind);

	if (r == -ENOENT) {
		*kind = KV_KIND_NONE;
		return 0;
	}
	return r;
}

static int
dir_size(struct kv_store *s, const char *key, uint64_t *size)
{
	struct stat st;
	int kind, r;

	if ((r = dir_stat((struct kv_dir *)s, key, &st, &kind)) < 0)
		return r;
	if (kind == KV_KIND_DICT)
		return -EISDIR;
	if (kind != KV_KIND_VALUE)
		return -ENOENT;
	*size = (uint64_t)st.st_size;
	return 0;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Drop entry e; its file's watch goes too unless another entry (the same
 * file under another key, through a symlink) still needs it. */
static void
cache_drop(struct kv_dir *d, struct dir_ent *e)
{
	bool shared = false;

	free(e->key);
	e->key = NULL;
	close(e->fd);
	for (unsigned i = 0; i < DIR_CACHE && !shared; i++)
		shared = d->cache[i].key != NULL && d->cache[i].wd == e->wd;
	/* Its IN_IGNORED is skipped by cache_check. */
	if (!shared)
		inotify_rm_watch(d->ifd, e->wd);
}

static void
cache_flush(struct kv_dir *d)
{
	for (unsigned i = 0; i < DIR_CACHE; i++)
		if (d->cache[i].key != NULL)
			cache_drop(d, &d->cache[i]);
}

/* Drop every cached file if anything changed under a watched directory
 * or in a cached file; inotify is read at most once per DIR_RECHECK_NS. */
static void
cache_check(struct kv_dir *d)
{
	char buf[4096] __attribute__((aligned(8)));
	uint64_t now = mono_ns();
	bool changed = false;
	ssize_t n;

	if (now - d->checked_ns < DIR_RECHECK_NS)
		return;
	d->checked_ns = now;
	while ((n = read(d->ifd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i + (ssize_t)sizeof(struct inotify_event) <= n;) {
			struct inotify_event ev;

			memcpy(&ev, buf + i, sizeof(ev));
			/* A watch we removed ourselves is no change. */
			if (!(ev.mask & IN_IGNORED))
				changed = true;
			i += (ssize_t)sizeof(ev) + ev.len;
		}
	}
	if (changed)
		cache_flush(d);
}

/* The entry for key if cached (*hit), else the slot to fill: an empty
 * one among key's DIR_PROBE slots, or the first of them to evict. */
static struct dir_ent *
cache_slot(struct kv_dir *d, const char *key, bool *hit)
{
	uint32_t h = 2166136261u;
	struct dir_ent *empty = NULL;

	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (unsigned i = 0; i < DIR_PROBE; i++) {
		struct dir_ent *e = &d->cache[(h + i) % DIR_CACHE];

		if (e->key == NULL) {
			if (empty == NULL)
				empty = e;
		} else if (strcmp(e->key, key) == 0) {
			*hit = true;
			return e;
		}
	}
	*hit = false;
	return empty != NULL ? empty : &d->cache[h % DIR_CACHE];
}

/* Watch the root and every directory on key's path: a file rewritten, or
 * a directory on the way renamed or replaced, then shows in inotify.
 * Returns 0, or -1 if any watch could not be added. */
static int
watch_path(struct kv_dir *d, const char *key)
{
	char prefix[KV_KEY_MAX + 1], proc[64];
	size_t len = strlen(key);

	for (size_t i = 0; i <= len; i++) {
		int fd, wd;

		if (i != 0 && key[i] != '/')
			continue;
		if (i == len)
			break;		/* the file itself: its directory covers it */
		memcpy(prefix, key, i);
		prefix[i] = '\0';
		if ((fd = dir_openat(d, prefix, O_PATH | O_DIRECTORY)) < 0)
			return -1;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		wd = inotify_add_watch(d->ifd, proc, DIR_WATCH_MASK);
		close(fd);
		if (wd < 0)
			return -1;
	}
	return 0;
}

static int
read_fd(int fd, uint64_t off, void *buf, size_t len, uint64_t size)
{
	size_t got = 0;

	while (got < len && off + got < size) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int)got;
}

static int
dir_read(struct kv_store *s, const char *key, uint64_t off, void *buf,
	 size_t len, uint64_t *size)
{
	struct kv_dir *d = (struct kv_dir *)s;
	struct dir_ent *e = NULL;
	bool watched = false, hit;
	struct stat st;
	int fd, r;

	if (d->ifd >= 0 && kv_key_valid(key)) {
		cache_check(d);
		e = cache_slot(d, key, &hit);
		if (hit) {
			*size = e->size;
			return read_fd(e->fd, off, buf, len, e->size);
		}
		/* Watch before opening: a change in between is then seen. */
		watched = watch_path(d, key) == 0;
	}
	/* O_NONBLOCK: a FIFO put in the tree must not stall the daemon. */
	if ((fd = dir_openat(d, key, O_RDONLY | O_NONBLOCK)) < 0)
		return fd == -EISDIR ? -EISDIR : fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -ENOENT;
		goto out;
	}
	*size = (uint64_t)st.st_size;
	r = read_fd(fd, off, buf, len, *size);
	if (r >= 0 && watched) {
		char proc[64], *k;
		int wd;

		/* The file's own watch, then its size again: a write
		 * before the watch is in that size, one after it in
		 * inotify. */
		/* Evict first: the entry leaving may be this very file
		 * under another key, and take the watch with it. */
		if (e->key != NULL)
			cache_drop(d, e);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if ((wd = inotify_add_watch(d->ifd, proc, FILE_WATCH_MASK)) < 0)
			goto out;
		if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != *size ||
		    (k = strdup(key)) == NULL) {
			/* Changing under us: serve it uncached this time. */
			bool shared = false;

			for (unsigned i = 0; i < DIR_CACHE && !shared; i++)
				shared = d->cache[i].key != NULL &&
					 d->cache[i].wd == wd;
			if (!shared)
				inotify_rm_watch(d->ifd, wd);
			goto out;
		}
		*e = (struct dir_ent){ .key = k, .fd = fd, .wd = wd,
				       .size = *size };
		return r;
	}
out:
	close(fd);
	return r;
}

static int
dir_list(struct kv_store *s, const char *key, struct kv_entry **ents,
	 size_t *n)
{
	struct kv_dir *d = (struct kv_dir *)s;
	size_t klen = strlen(key), cap = 0;
	char path[KV_KEY_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int fd, kind;

	if ((fd = dir_openat(d, key, O_RDONLY | O_DIRECTORY)) < 0) {
		if (fd == -ENOTDIR)
			return -ENOTDIR;
		if (fd == -ENOENT) {
			int r = dir_stat(d, key, &st, &kind);

			return r == 0 && kind == KV_KIND_VALUE ? -ENOTDIR : fd;
		}
		return fd;
	}
	if ((dir = fdopendir(fd)) == NULL) {
		int e = -errno;

		close(fd);
		return e;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t nl = strlen(de->d_name);

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (d->base.rw && strncmp(de->d_name, DIR_TMP_PREFIX,
					   sizeof(DIR_TMP_PREFIX) - 1) == 0))
			continue;
		if (klen + 1 + nl + 1 > sizeof(path))
			continue;	/* not addressable as a key */
		if (klen)
			memcpy(path, key, klen), path[klen] = '/';
		memcpy(path + (klen ? klen + 1 : 0), de->d_name, nl + 1);
		/* Kind through the confined lookup: a symlink out is skipped. */
		if (dir_stat(d, path, &st, &kind) < 0 || kind == KV_KIND_NONE)
			continue;
		if (*n == cap) {
			struct kv_entry *e;

			cap = cap ? cap * 2 : 16;
			if ((e = realloc(*ents, cap * sizeof(*e))) == NULL)
				goto nomem;
			*ents = e;
		}
		if (((*ents)[*n].name = strdup(de->d_name)) == NULL)
			goto nomem;
		(*ents)[*n].kind = kind;
		(*n)++;
	}
	closedir(dir);
	return 0;
nomem:
	closedir(dir);
	return -ENOMEM;
}

static int
dir_last_modified(struct kv_store *s, const char *key, int64_t *ns)
{
	struct stat st;
	int kind, r;

	if ((r = dir_stat((struct kv_dir *)s, key, &st, &kind)) < 0)
		return r;
	if (kind == KV_KIND_NONE)
		return -ENOENT;
	*ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

/* --- read-write ------------------------------------------------------
 *
 * Every write works in a directory opened beneath the root (openat2, as
 * reads), on its last path component only, with calls that never follow
 * a final symlink (O_CREAT|O_EXCL, renameat, unlinkat, mkdirat): a write
 * cannot land outside the root.  A set writes a temporary file next to
 * the value, fsyncs it, renames it over the value and fsyncs the
 * directory (and any directory it had to create, and their parents): it
 * returns once the value is durable, and a crash leaves the old value or
 * the new one, never a torn one.  Dictionaries are directories; one that a
 * remove or rename leaves empty is removed, as a dictionary exists only
 * while something is stored below it.  Our own writes drop the fd cache at
 * once; other writers' within a millisecond (inotify), as for reads. */

/* Split key into its directory key (in dbuf) and its last segment. */
static const char *
split_key(const char *key, char dbuf[KV_KEY_MAX])
{
	const char *slash = strrchr(key, '/');

	if (slash == NULL) {
		dbuf[0] = '\0';
		return key;
	}
	memcpy(dbuf, key, (size_t)(slash - key));
	dbuf[slash - key] = '\0';
	return slash + 1;
}

/*
 * Open the directory at dkey ("" is the root) for writing in it; with
 * create, make the missing ones on the way, durably.  Returns the fd,
 * -ENOTDIR if a value is on the path, -ENOENT, -EACCES, -errno.
 */
static int
wdir_open(struct kv_dir *d, const char *dkey, bool create)
{
	char prefix[KV_KEY_MAX];
	size_t len = strlen(dkey);
	int fd, pfd = -1;

	fd = dir_openat_raw(d, dkey, O_RDONLY | O_DIRECTORY);
	if (!create || fd != -ENOENT)
		return fd;
	/* Walk from the root, creating what is missing. */
	for (size_t i = 0; i <= len; i++) {
		if (i != 0 && i != len && dkey[i] != '/')
			continue;
		memcpy(prefix, dkey, i);
		prefix[i] = '\0';
		fd = dir_openat_raw(d, prefix, O_RDONLY | O_DIRECTORY);
		if (fd == -ENOENT && pfd >= 0) {
			const char *leaf = strrchr(prefix, '/');

			leaf = leaf ? leaf + 1 : prefix;
			if (mkdirat(pfd, leaf, 0755) < 0 && errno != EEXIST) {
				fd = -errno;
			} else if (fsync(pfd) < 0) {
				fd = -errno;
			} else {
				fd = dir_openat_raw(d, prefix,
						    O_RDONLY | O_DIRECTORY);
			}
		}
		if (pfd >= 0)
			close(pfd);
		if (fd < 0)
			return fd;
		pfd = fd;
	}
	return pfd;
}

/* Kind of key, following symlinks inside the root as reads do. */
static int
kind_of(struct kv_dir *d, const char *key, int *kind)
{
	struct stat st;
	int r = dir_stat(d, key, &st, kind);

	if (r == -ENOENT) {
		*kind = KV_KIND_NONE;
		return 0;
	}
	return r;
}

/* Remove directory name in pfd and everything below it.  Never follows
 * a symlink: a link is removed, not what it points at. */
static int
rm_tree(int pfd, const char *name)
{
	struct dirent *de;
	bool again = true;
	DIR *dir;
	int fd, r = 0;

	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC)) < 0)
		return -errno;
	if ((dir = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Removing while reading may skip names: read until a pass
	 * removes nothing. */
	while (again && r == 0) {
		again = false;
		rewinddir(dir);
		while (r == 0 && (de = readdir(dir)) != NULL) {
			struct stat st;

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			again = true;
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				r = errno == ENOENT ? 0 : -errno;
			else if (S_ISDIR(st.st_mode))
				r = rm_tree(fd, de->d_name);
			else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT)
				r = -errno;
		}
	}
	closedir(dir);
	if (r == 0 && unlinkat(pfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* Remove the directories on dkey's path that are left empty, deepest
 * first, durably; stops at the first one that is not empty. */
static void
prune(struct kv_dir *d, const char *dkey)
{
	char dir[KV_KEY_MAX], parent[KV_KEY_MAX];
	int pfd;

	snprintf(dir, sizeof(dir), "%s", dkey);
	while (dir[0] != '\0') {
		const char *leaf = split_key(dir, parent);

		if ((pfd = wdir_open(d, parent, false)) < 0)
			return;
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) < 0) {
			close(pfd);
			return;
		}
		fsync(pfd);
		close(pfd);
		memcpy(dir, parent, strlen(parent) + 1);
	}
}

static int
dir_set(struct kv_store *s, const char *key, const void *val, size_t len)
{
	struct kv_dir *d = (struct kv_dir *)s;
	char dkey[KV_KEY_MAX], tmp[64];
	const char *leaf = split_key(key, dkey);
	size_t off = 0;
	int pfd, fd, kind, r;

	if (reserved(d, key))
		return -EACCES;
	cache_flush(d);
	/* Confined, as a read would see it: a link out is refused. */
	if ((r = kind_of(d, key, &kind)) < 0)
		return r;
	if (kind == KV_KIND_DICT)
		return -EISDIR;
	if ((pfd = wdir_open(d, dkey, true)) < 0)
		return pfd;
	snprintf(tmp, sizeof(tmp), DIR_TMP_PREFIX "%d-%u", (int)getpid(),
		 d->tmp_seq++);
	if ((fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			 0644)) < 0) {
		r = -errno;
		close(pfd);
		return r;
	}
	while (r == 0 && off < len) {
		ssize_t n = write(fd, (const char *)val + off, len - off);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	/* The bytes before the name: a crash never shows a torn value. */
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(pfd, tmp, pfd, leaf) < 0)
		r = -errno;
	if (r != 0)
		unlinkat(pfd, tmp, 0);
	/* The new name itself. */
	else if (fsync(pfd) < 0)
		r = -errno;
	close(pfd);
	return r;
}

static int
dir_remove(struct kv_store *s, const char *key)
{
	struct kv_dir *d = (struct kv_dir *)s;
	char dkey[KV_KEY_MAX];
	const char *leaf = split_key(key, dkey);
	struct stat st;
	int pfd, r = 0;

	if (reserved(d, key))
		return -EACCES;
	cache_flush(d);
	if ((pfd = wdir_open(d, dkey, false)) < 0)
		return pfd == -ENOTDIR ? -ENOENT : pfd;
	if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = rm_tree(pfd, leaf);
	else if (unlinkat(pfd, leaf, 0) < 0)
		r = -errno;
	if (r == 0 && fsync(pfd) < 0)
		r = -errno;
	close(pfd);
	if (r == 0)
		prune(d, dkey);
	return r;
}

static int
dir_rename(struct kv_store *s, const char *src, const char *dst)
{
	struct kv_dir *d = (struct kv_dir *)s;
	char sdir[KV_KEY_MAX], ddir[KV_KEY_MAX];
	const char *sleaf = split_key(src, sdir), *dleaf = split_key(dst, ddir);
	int spfd, dpfd, sk, dk, r;

	if (reserved(d, src) || reserved(d, dst))
		return -EACCES;
	cache_flush(d);
	if ((r = kind_of(d, src, &sk)) < 0)
		return r;
	if (sk == KV_KIND_NONE)
		return -ENOENT;
	if ((r = kind_of(d, dst, &dk)) < 0)
		return r;
	/* Replace like with like only. */
	if (dk != KV_KIND_NONE && dk != sk)
		return dk == KV_KIND_DICT ? -EISDIR : -ENOTDIR;
	if ((dpfd = wdir_open(d, ddir, true)) < 0)
		return dpfd;
	if ((spfd = wdir_open(d, sdir, false)) < 0) {
		close(dpfd);
		return spfd;
	}
	if (sk == KV_KIND_DICT && dk == KV_KIND_DICT) {
		/* Swap, then remove the old dictionary now at src: dst is
		 * never missing. */
		if (renameat2(spfd, sleaf, dpfd, dleaf, RENAME_EXCHANGE) < 0)
			r = -errno;
		else
			r = rm_tree(spfd, sleaf);
	} else if (renameat(spfd, sleaf, dpfd, dleaf) < 0) {
		r = -errno;
	}
	if (r == 0 && (fsync(dpfd) < 0 || fsync(spfd) < 0))
		r = -errno;
	close(spfd);
	close(dpfd);
	if (r == 0)
		prune(d, sdir);
	return r;
}

static void
dir_close(struct kv_store *s)
{
	struct kv_dir *d = (struct kv_dir *)s;

	cache_flush(d);
	if (d->ifd >= 0)
		close(d->ifd);
	close(d->rootfd);
	free(d);
}

static const struct kv_store_ops dir_ops = {
	.name = "dir",
	.exists = dir_exists,
	.size = dir_size,
	.read = dir_read,
	.list = dir_list,
	.last_modified = dir_last_modified,
	.close = dir_close,
};

static const struct kv_store_ops dir_rw_ops = {
	.name = "dir",
	.exists = dir_exists,
	.size = dir_size,
	.read = dir_read,
	.list = dir_list,
	.last_modified = dir_last_modified,
	.set = dir_set,
	.remove = dir_remove,
	.rename = dir_rename,
	.close = dir_close,
};

static int
dir_open(const char *root, bool rw, struct kv_store **out);

int
kv_dir_open(const char *root, struct kv_store **out)
{
	return dir_open(root, false, out);
}

int
kv_dir_open_rw(const char *root, struct kv_store **out)
{
	return dir_open(root, true, out);
}

static int
dir_open(const char *root, bool rw, struct kv_store **out)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH };
	struct kv_dir *d;
	long probe;
	int fd;

	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	/* Refuse to serve without the kernel's confinement. */
	if ((probe = syscall(SYS_openat2, fd, ".", &how, sizeof(how))) < 0) {
		int e = errno == ENOSYS ? -ENOSYS : -errno;

		close(fd);
		return e;
	}
	close((int)probe);
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	d->base.ops = rw ? &dir_rw_ops : &dir_ops;
	d->base.rw = rw;
	d->rootfd = fd;
	/* No inotify: serve uncached. */
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	*out = &d->base;
	return 0;
}
