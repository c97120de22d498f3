/* store_client_internal.h - the client's reply decoders, for the fuzzer
 * and unit tests.  Each takes a reply payload of len bytes (not
 * NUL-terminated) from a possibly hostile store. */
#ifndef RING_STORE_CLIENT_INTERNAL_H
#define RING_STORE_CLIENT_INTERNAL_H

#include <stddef.h>

#include "morgana/store.h"

/* XS_ERROR payload -> -errno (-EIO for names we don't know). */
int ring_store_decode_error(const char *p, size_t len);
/* XS_WATCH_EVENT payload -> malloc'd path and token; 0, -EPROTO, -ENOMEM */
int ring_store_decode_event(const char *p, size_t len, char **path,
			    char **token);
/* XS_GET_PERMS payload -> malloc'd array; 0, -EPROTO, -ENOMEM. */
int ring_store_decode_perms(const char *p, size_t len,
			    struct ring_store_perm **out, unsigned *n);
/* XS_DIRECTORY payload -> names as ring_store_directory; 0, -EPROTO,
 * -ENOMEM. */
int ring_store_decode_names(const char *p, size_t len, char ***names,
			    unsigned *n);

#endif
