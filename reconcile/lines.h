/*
 * lines.h — a growable array of malloc'd message lines: a plan's
 * warnings, a saved plan's stale problems, the desired state's notes.
 * One way to add a formatted line, instead of a private copy per list.
 *
 * A list is (char **lines, size_t n, size_t alloc), zero-initialized;
 * its owner frees each line and the array.  Allocation failure exits, as
 * the x* functions do (util.h).
 */
#ifndef VF_LINES_H
#define VF_LINES_H

#include <stdarg.h>
#include <stddef.h>

/* Append fmt, formatted, as a new line at (*lines)[(*n)++]. */
void vf_lines_addf(char ***lines, size_t *n, size_t *alloc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void vf_lines_vaddf(char ***lines, size_t *n, size_t *alloc, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif
