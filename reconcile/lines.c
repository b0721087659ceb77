/*
 * lines.c — a growable array of message lines (lines.h).
 */
#include "reconcile/lines.h"
#include "reconcile/util.h"

void vf_lines_vaddf(char ***lines, size_t *n, size_t *alloc, const char *fmt, va_list ap)
{
	vf_grow((void **)lines, sizeof(**lines), *n + 1, alloc);
	(*lines)[(*n)++] = xvasprintf(fmt, ap);
}

void vf_lines_addf(char ***lines, size_t *n, size_t *alloc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vf_lines_vaddf(lines, n, alloc, fmt, ap);
	va_end(ap);
}
