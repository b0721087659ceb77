/*
 * tap.h — a minimal Test Anything Protocol producer for C unit tests.
 *
 *   ok(cond, "name %d", i);  is_int(got, want, "name");  is_str(got, want, "name");
 *   return tap_done();       prints the plan, exit status 0 only if all passed
 *
 * Header-only on purpose: each test is one .c file linked with libvirtform.a.
 */
#ifndef VF_TAP_H
#define VF_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	return cond;
}

#define is_int(got, want, ...) do {                                             \
	long long g_ = (long long)(got), w_ = (long long)(want);                \
	if (!ok(g_ == w_, __VA_ARGS__))                                         \
		printf("#   got: %lld\n#  want: %lld\n", g_, w_);               \
} while (0)

#define is_str(got, want, ...) do {                                             \
	const char *g_ = (got), *w_ = (want);                                   \
	if (!ok(g_ && w_ ? !strcmp(g_, w_) : g_ == w_, __VA_ARGS__))            \
		printf("#   got: '%s'\n#  want: '%s'\n", g_ ? g_ : "(null)",    \
		       w_ ? w_ : "(null)");                                     \
} while (0)

__attribute__((unused))
static void diag(const char *s)
{
	printf("# %s\n", s);
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
