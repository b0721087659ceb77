/*
 * readall.c — the read(2) loop behind whole-file reads (readall.h).
 */
#include <errno.h>
#include <unistd.h>

#include "reconcile/readall.h"

ssize_t vf_read_upto(int fd, void *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t r = read(fd, (char *)buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}
