/* Sizes with binary units: accepted forms, corrections, overflow. */
#include <stdlib.h>

#include "reconcile/model.h"
#include "tests/tap.h"

static void parses(const char *text, unsigned long long want)
{
	uint64_t got = 0;
	char *hint = NULL;
	enum vf_size_status st = vf_size_parse(text, &got, &hint);
	ok(st == VF_SIZE_OK && got == want, "'%s' is %llu bytes", text, want);
	ok(hint == NULL, "'%s' has no hint", text);
	free(hint);
}

static void fails(const char *text, enum vf_size_status want, const char *want_hint)
{
	uint64_t got = 12345;
	char *hint = NULL;
	enum vf_size_status st = vf_size_parse(text, &got, &hint);
	is_int(st, want, "'%s' is rejected with status %d", text, want);
	is_str(hint, want_hint, "'%s' hint", text);
	is_int(got, 12345, "'%s' leaves the output alone", text);
	free(hint);
}

int main(void)
{
	char buf[64];

	parses("1B", 1);
	parses("512MiB", 512ull << 20);
	parses("2GiB", 2ull << 30);
	parses("2 GiB", 2ull << 30);
	parses("20GiB", 20ull << 30);
	parses("1KiB", 1024);
	parses("16TiB", 16ull << 40);
	parses("16777215TiB", 16777215ull << 40);

	fails("2G", VF_SIZE_BAD_UNIT, "2GiB");
	fails("2GB", VF_SIZE_BAD_UNIT, "2GiB");
	fails("2gib", VF_SIZE_BAD_UNIT, "2GiB");
	fails("512M", VF_SIZE_BAD_UNIT, "512MiB");
	fails("1k", VF_SIZE_BAD_UNIT, "1KiB");
	fails("2", VF_SIZE_NO_UNIT, "2GiB");
	fails("2048", VF_SIZE_NO_UNIT, "2048MiB");
	fails(" 2GiB", VF_SIZE_SYNTAX, NULL);
	fails("+2GiB", VF_SIZE_SYNTAX, NULL);
	fails("1.5GiB", VF_SIZE_FRACTION, "1536MiB");
	fails("0.5 TiB", VF_SIZE_FRACTION, "512GiB");
	fails("1.1KiB", VF_SIZE_FRACTION, NULL);
	fails("0GiB", VF_SIZE_ZERO, NULL);
	fails("-1GiB", VF_SIZE_NEGATIVE, NULL);
	fails("16777216TiB", VF_SIZE_OVERFLOW, NULL);
	fails("99999999999TiB", VF_SIZE_OVERFLOW, NULL);
	fails("99999999999999999999999B", VF_SIZE_OVERFLOW, NULL);
	fails("", VF_SIZE_EMPTY, NULL);
	fails("GiB", VF_SIZE_SYNTAX, NULL);
	fails("2PiB", VF_SIZE_SYNTAX, NULL);
	fails("2 GiB extra", VF_SIZE_SYNTAX, NULL);
	fails("0x10GiB", VF_SIZE_SYNTAX, NULL);

	vf_size_format(2ull << 30, buf, sizeof(buf));
	is_str(buf, "2 GiB", "2 GiB formats as such");
	vf_size_format(1536ull << 20, buf, sizeof(buf));
	is_str(buf, "1536 MiB", "1.5 GiB formats in MiB");
	vf_size_format(1000, buf, sizeof(buf));
	is_str(buf, "1000 B", "1000 bytes stay bytes");
	return tap_done();
}
