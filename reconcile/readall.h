/*
 * readall.h — reading what a file descriptor holds into a buffer the
 * caller gives: the configuration loader's (malloc'd, sized from fstat)
 * and the key reader's (locked memory, a fixed bound).  Each reports its
 * own errors; this only loops over read(2).
 */
#ifndef VF_READALL_H
#define VF_READALL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Read fd into buf until end of file or until cap bytes are read,
 * retrying on EINTR.  Returns the number of bytes read, or -1 with errno
 * set on a read error.  A return of cap means the file holds cap bytes or
 * more: give one byte more than the most expected to tell "too large" (or
 * "grew while read") from a file that fits.
 */
ssize_t vf_read_upto(int fd, void *buf, size_t cap);

#endif
