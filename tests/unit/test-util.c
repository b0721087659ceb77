/* The shared helpers of reconcile/util.h: growable strings (plain and
 * secret), FNV-1a fed piece by piece, the monotonic clock, lock waits,
 * VF_FIND_BY and VF_FREE_MANY. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "reconcile/secret.h"
#include "reconcile/util.h"
#include "tests/tap.h"

/* VF_APPEND: a zeroed slot, counted, also once the array has moved;
 * VF_FREE_MANY frees each (valgrind/ASan would see a leak) and takes NULL. */
static void test_append_free_many(void)
{
	struct item { int a; char *s; } *items = NULL, *it;
	size_t n = 0, alloc = 0, i;
	bool zeroed = true, counted = true;
	char *p = xstrdup("p"), *q = xstrdup("q");

	for (i = 0; i < 100; i++) {
		it = VF_APPEND(items, n, alloc);
		zeroed = zeroed && it->a == 0 && !it->s;
		counted = counted && n == i + 1 && it == &items[i];
		it->a = (int)i + 1;
	}
	ok(zeroed && counted && alloc >= n, "VF_APPEND returns the new slot, zeroed and counted");
	ok(items[0].a == 1 && items[99].a == 100, "and earlier slots keep their values as it grows");
	n = 10;
	it = VF_APPEND(items, n, alloc);
	ok(n == 11 && it == &items[10] && it->a == 0, "a slot used before is zeroed again");
	VF_FREE_MANY(p, NULL, q, items);
	ok(1, "VF_FREE_MANY frees each pointer, NULL too");
}

int main(void)
{
	struct vf_buf b = VF_BUF_INIT, s;
	struct vf_secret sec;
	char path[] = "/tmp/vf-test-util-XXXXXX";
	char *d;
	int i, fd, fd2;
	double t0;

	is_str(b.buf, "", "a new buffer is the empty string");
	is_int(b.alloc, 0, "and owns nothing");
	vf_buf_release(&b);
	is_str(b.buf, "", "releasing an empty buffer is harmless");

	vf_buf_addsep(&b, ", ", "a");
	vf_buf_addsep(&b, ", ", "b");
	vf_buf_addf(&b, " (%d)", 2);
	vf_buf_addch(&b, '!');
	is_str(b.buf, "a, b (2)!", "adds, separators and formats");
	is_int(b.len, strlen(b.buf), "len follows the string");
	for (i = 0; i < 1000; i++)
		vf_buf_addf(&b, "%0300d", i);
	is_int(b.len, 9 + 300000, "a long formatted add grows the buffer");
	ok(b.buf[b.len] == '\0' && b.alloc > b.len, "the NUL stays after len");
	vf_buf_setlen(&b, 4);
	vf_buf_adds(&b, " x \n\t");
	vf_buf_rtrim(&b);
	is_str(b.buf, "a, b x", "setlen cuts and rtrim drops white space");
	d = vf_buf_detach(&b);
	is_str(d, "a, b x", "detach hands the string over");
	is_str(b.buf, "", "and resets the buffer");
	free(d);
	d = vf_buf_detach(&b);
	ok(d && !strcmp(d, ""), "detaching an empty buffer gives a malloc'd \"\"");
	free(d);

	vf_buf_init_secret(&s);
	for (i = 0; i < 100; i++)
		vf_buf_adds(&s, "secret text ");
	ok(!s.failed && s.len == 1200, "a secret buffer grows in locked memory");
	ok(vf_secret_from_buf(&s, &sec) == 0 && sec.len == 1200 && sec.data[1200] == 0,
	   "and becomes a vf_secret");
	ok(s.secret && s.len == 0 && s.alloc == 0, "leaving the buffer empty and secret");
	vf_secret_wipe(&sec);
	ok(vf_secret_from_buf(&s, &sec) == 0 && sec.len == 0 && sec.data && !sec.data[0],
	   "an empty secret buffer gives an empty secret");
	vf_secret_wipe(&sec);

	is_int(vf_hash_bytes("", 0) == VF_HASH_INIT, 1, "FNV-1a of nothing is the offset basis");
	ok(vf_hash_bytes("a", 1) == 0xaf63dc4c8601ec8cull, "FNV-1a-64 of 'a' is the reference value");
	ok(vf_hash_add(vf_hash_add(VF_HASH_INIT, "ab", 2), "c", 1) == vf_hash_bytes("abc", 3),
	   "hashing piece by piece is hashing the whole");
	ok(vf_hash_str(vf_hash_str(VF_HASH_INIT, "ab"), "c")
	   != vf_hash_str(vf_hash_str(VF_HASH_INIT, "a"), "bc"), "vf_hash_str separates strings");

	t0 = vf_now();
	ok(t0 > 0 && vf_now() >= t0, "the monotonic clock does not go back");

	fd = mkstemp(path);
	fd2 = open(path, O_RDWR);
	ok(fd >= 0 && fd2 >= 0 && vf_flock_wait(fd, 0) == 0, "a free lock is taken at once");
	t0 = vf_now();
	errno = 0;
	ok(vf_flock_wait(fd2, 0.2) < 0 && errno == EWOULDBLOCK, "a held lock times out with EWOULDBLOCK");
	close(fd);
	ok(vf_flock_wait(fd2, 1) == 0, "a released lock is taken");
	close(fd2);
	unlink(path);
	test_append_free_many();

	{
		struct named { const char *name; char tag[8]; } v[] = {
			{ "eth0", "a" }, { "br0", "b" }, { "eth0", "c" },
		};
		const struct named *cv = v;
		char *many[3] = { xstrdup("x"), NULL, xstrdup("y") };
		size_t none = 0;

		ok(VF_FIND_BY(v, VF_ARRAY_SIZE(v), name, "br0") == &v[1], "VF_FIND_BY finds by name");
		ok(VF_FIND_BY(v, VF_ARRAY_SIZE(v), name, "eth0") == &v[0], "the first of two");
		ok(VF_FIND_BY(v, VF_ARRAY_SIZE(v), tag, "c") == &v[2], "by an array member too");
		ok(!VF_FIND_BY(cv, VF_ARRAY_SIZE(v), name, "lo"), "NULL when none");
		ok(!VF_FIND_BY(cv, none, name, "eth0"), "and in an empty list");
		/* frees both strings and passes the NULL over: the ASan build
		 * (make asan) reports a leak or a double free */
		VF_FREE_MANY(many[0], many[1], many[2]);
		ok(vf_str_in((const char *const[]){ "a", "br0" }, 2, "br0"), "vf_str_in finds a string");
		ok(!vf_str_in((const char *const[]){ "a", "br0" }, 2, "br"), "and not a prefix of one");
		ok(!vf_str_in(NULL, 0, "a"), "nor anything in an empty list");
	}

	vf_buf_add_shell_quoted(&b, "it's a $HOME `x` \\ \"q\"");
	is_str(b.buf, "'it'\\''s a $HOME `x` \\ \"q\"'",
	       "shell quoting: one word in single quotes, ' written '\\''");
	vf_buf_setlen(&b, 0);
	vf_buf_add_shell_quoted(&b, "");
	vf_buf_add_shell_quoted(&b, "''");
	is_str(b.buf, "''" "''\\'''\\'''", "the empty word is '', quotes only are still one word");
	vf_buf_release(&b);
	return tap_done();
}
