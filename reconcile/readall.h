/*
 * readall.h — reading what a file descriptor holds into a buffer the
 * caller gives: the configuration loader's (malloc'd, sized from fstat)
 * and the key reader's (locked memory, a fixed bound).  Each reports its
 * own errors; this only loops over read(2).
 */
#ifndef VF_READALL_H
#define VF_READALL_H

#include <stddef.h>

/*
 * Read fd to its end into buf, which holds max + 1 bytes, retrying on
 * EINTR.  0: *len bytes read and buf[*len] is a NUL; -1: a read error,
 * errno set; 1: the file holds more than max bytes (too large, or it grew
 * while read).  The caller closes fd.
 */
int vf_read_whole(int fd, char *buf, size_t max, size_t *len);

#endif
