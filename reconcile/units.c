/*
 * units.c — sizes with binary units ("2GiB"): parsing with helpful
 * corrections, and formatting.
 *
 * Only binary units are accepted on purpose: "2G" and "2GB" mean different
 * things to different tools (qemu-img: GiB; disks vendors: 10^9), so we ask
 * the user to say which.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "reconcile/model.h"

struct unit {
	const char *name;
	unsigned shift;
};

static const struct unit units[] = {
	{ "B", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
};

static const struct unit *unit_exact(const char *s)
{
	size_t i;
	for (i = 0; i < VF_ARRAY_SIZE(units); i++)
		if (!strcmp(s, units[i].name))
			return &units[i];
	return NULL;
}

/* "G", "GB", "gib", "Gi", "g" -> "GiB"; NULL when it is no unit we know. */
static const char *unit_guess(const char *s)
{
	static const char *const names[] = { "KiB", "MiB", "GiB", "TiB" };
	static const char letters[] = "KMGT";
	const char *p = strchr(letters, toupper((unsigned char)s[0]));
	char rest[8];
	size_t i, n = strlen(s);

	if (!s[0] || !p || n > 3)
		return NULL;
	for (i = 1; i < n; i++)
		rest[i - 1] = (char)tolower((unsigned char)s[i]);
	rest[n - 1] = '\0';
	if (!strcmp(rest, "") || !strcmp(rest, "b") || !strcmp(rest, "i") || !strcmp(rest, "ib"))
		return names[p - letters];
	return NULL;
}

/*
 * "1.5GiB", p after the '.' and v the whole part: a fraction, with the
 * exact value in the next smaller unit as the hint when there is one.
 */
static enum vf_size_status size_fraction(const char *p, uint64_t v, bool overflow, char **hint)
{
	const char *frac = p, *q;
	const struct unit *u;
	uint64_t num = v, den = 1;

	while (isdigit((unsigned char)*p) && den < 1000000000) {
		num = num * 10 + (uint64_t)(*p - '0');
		den *= 10;
		p++;
	}
	if (p == frac || isdigit((unsigned char)*p))
		return VF_SIZE_SYNTAX;
	q = p;
	while (*q == ' ')
		q++;
	u = unit_exact(q);
	if (!u || u->shift == 0)
		return VF_SIZE_SYNTAX;
	if (hint && (num * 1024) % den == 0 && !overflow)
		*hint = xasprintf("%" PRIu64 "%s", num * 1024 / den, units[u->shift / 10 - 1].name);
	return VF_SIZE_FRACTION;
}

enum vf_size_status vf_size_parse(const char *text, uint64_t *bytes, char **hint)
{
	const char *p = text, *digits, *unit_text;
	const struct unit *u;
	uint64_t v = 0;
	bool overflow = false;

	if (hint)
		*hint = NULL;
	if (!*p)
		return VF_SIZE_EMPTY;
	if (*p == '-')
		return VF_SIZE_NEGATIVE;
	digits = p;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
		p++;
	}
	if (p == digits)
		return VF_SIZE_SYNTAX;
	if (*p == '.')
		return size_fraction(p + 1, v, overflow, hint);
	unit_text = p;
	if (*unit_text == ' ')
		unit_text++;
	if (!*unit_text) {
		/* A bare 2 is likely GiB; a bare 2048 likely MiB. */
		if (hint)
			*hint = xasprintf("%.*s%s", (int)(p - digits), digits,
					  !overflow && v >= 512 ? "MiB" : "GiB");
		return VF_SIZE_NO_UNIT;
	}
	u = unit_exact(unit_text);
	if (!u) {
		const char *guess = unit_guess(unit_text);
		if (!guess)
			return VF_SIZE_SYNTAX;
		if (hint)
			*hint = xasprintf("%.*s%s", (int)(p - digits), digits, guess);
		return VF_SIZE_BAD_UNIT;
	}
	if (overflow || (u->shift && v > (UINT64_MAX >> u->shift)))
		return VF_SIZE_OVERFLOW;
	if (v == 0)
		return VF_SIZE_ZERO;
	*bytes = v << u->shift;
	return VF_SIZE_OK;
}

void vf_size_format(uint64_t bytes, char *buf, size_t len)
{
	size_t i = VF_ARRAY_SIZE(units);

	while (--i > 0) {
		uint64_t mask = ((uint64_t)1 << units[i].shift) - 1;
		if (bytes && !(bytes & mask)) {
			snprintf(buf, len, "%" PRIu64 " %s", bytes >> units[i].shift, units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 " B", bytes);
}
