/* dir: a host directory, read-only, confined to its root.  Every lookup
 * goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to
 * the root fd, so "..", absolute symlinks and symlinks leading out are
 * refused by the kernel even if a key slipped past kv_key_valid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "services/kvd/kvd.h"

struct kv_dir {
	struct kv_store base;
	int rootfd;
};

static int
dir_openat(struct kv_dir *d, const char *key, int flags)
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
	fd = syscall(SYS_openat2, d->rootfd, key[0] ? key : ".", &how,
		     sizeof(how));
	if (fd >= 0)
		return (int)fd;
	switch (errno) {
	case EXDEV:	/* resolution would leave the root */
	case ELOOP:
		return -EACCES;
	case ENOTDIR:	/* a value on the path: nothing is bound below it */
		return -ENOENT;
	}
	return -errno;
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

static int
dir_read(struct kv_store *s, const char *key, uint64_t off, void *buf,
	 size_t len, uint64_t *size)
{
	struct stat st;
	size_t got = 0;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO put in the tree must not stall the daemon. */
	if ((fd = dir_openat((struct kv_dir *)s, key,
			     O_RDONLY | O_NONBLOCK)) < 0)
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
	while (got < len && off + got < *size) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r = (int)got;
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
		    strcmp(de->d_name, "..") == 0)
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

static void
dir_close(struct kv_store *s)
{
	struct kv_dir *d = (struct kv_dir *)s;

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

int
kv_dir_open(const char *root, struct kv_store **out)
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
	d->base.ops = &dir_ops;
	d->base.rw = false;
	d->rootfd = fd;
	*out = &d->base;
	return 0;
}
