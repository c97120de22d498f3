/*
 * morgana/ak_error.h - errors of every appkit signature.
 *
 * Every ak_* call returns 0 (or a count) on success and a negative errno on
 * failure, as the rest of Morgana does.  ak_strerror gives the message an
 * application shows for it (MirageOS's pp_error): signature-specific
 * meanings first (e.g. -ENODATA "key is unset", -ENOTCONN "device is not
 * connected"), then strerror's text.
 */
#ifndef MORGANA_AK_ERROR_H
#define MORGANA_AK_ERROR_H

/* Message for err (negative errno; a positive value is taken as -err).
 * Returns a static string; never NULL.  Thread-safe. */
const char *ak_strerror(int err);

#endif /* MORGANA_AK_ERROR_H */
