/*
 * readall.c — the read(2) loop behind whole-file reads (readall.h).
 */
#include <errno.h>
#include <unistd.h>

#include "reconcile/readall.h"

int vf_read_whole(int fd, char *buf, size_t max, size_t *len)
{
	size_t got = 0;

	while (got <= max) {
		ssize_t r = read(fd, buf + got, max + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got > max)
		return 1;
	buf[got] = '\0';
	*len = got;
	return 0;
}
