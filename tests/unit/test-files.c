/*
 * The files virtform keeps and the text it prints (reconcile/util.h):
 * vf_write_file_atomic and vf_atomic_* (a new file at an unguessable
 * name, never a planted one; the mode asked for; nothing left behind on
 * failure), vf_private_dir_check (what it refuses and what it says), and
 * vf_escape_text (every control character escaped, everything else as
 * is).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reconcile/util.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-files.XXXXXX";

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Entries of dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static void test_atomic(void)
{
	char *path = xasprintf("%s/state.json", tmpdir);
	char *victim = xasprintf("%s/victim", tmpdir);
	char *planted = xasprintf("%s/state.json.tmp", tmpdir);
	char *planted_pid = xasprintf("%s/state.json.tmp.%ld", tmpdir, (long)getpid());
	char *ro = xasprintf("%s/ro", tmpdir);
	char *ro_path = xasprintf("%s/ro/f", tmpdir);
	struct vf_atomic a;
	struct stat st;
	int fd, rc;

	fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0 && write(fd, "precious", 8) == 8 && close(fd) == 0, "a file to protect");
	/* every name the old writers used, pointing at it */
	ok(symlink(victim, planted) == 0 && symlink(victim, planted_pid) == 0,
	   "symlinks planted at the predictable temporary names (NAME.tmp, NAME.tmp.PID)");

	rc = vf_write_file_atomic(path, "one\n", 4, 0640);
	ok(rc == 0 && !strcmp(slurp(path) ? slurp(path) : "", "one\n"), "the file is written");
	memset(&st, 0, sizeof(st));
	lstat(path, &st);
	ok(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640,
	   "a regular file with the mode asked for (%04o), whatever the umask",
	   (unsigned)(st.st_mode & 07777));
	ok(!strcmp(slurp(victim), "precious"), "the planted symlink's target is untouched");
	ok(count_prefixed(tmpdir, ".state.json.") == 0, "no temporary file is left");

	rc = vf_write_file_atomic(path, "two\n", 4, 0600);
	ok(rc == 0 && !strcmp(slurp(path), "two\n"), "a second write replaces the first");

	/* a temporary file cannot be made: -1, errno, the old file intact */
	mkdir(ro, 0500);
	fd = open(ro_path, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	if (geteuid() != 0) {
		errno = 0;
		rc = vf_write_file_atomic(ro_path, "x", 1, 0600);
		ok(rc < 0 && errno == EACCES, "an unwritable directory: -1 with errno");
	} else {
		/* root writes anywhere: a path whose directory is missing */
		char *missing = xasprintf("%s/no/such/f", tmpdir);
		errno = 0;
		rc = vf_write_file_atomic(missing, "x", 1, 0600);
		ok(rc < 0 && errno == ENOENT, "a missing directory: -1 with errno (%s)",
		   strerror(errno));
		free(missing);
	}

	/* begin, abort: nothing there afterwards */
	ok(vf_atomic_begin(&a, path, 0600) == 0 && a.fd >= 0 && a.tmp &&
	   !strncmp(a.tmp, tmpdir, strlen(tmpdir)), "begin opens a temporary file beside the path");
	ok(a.tmp && strstr(a.tmp, "/.state.json.") && lstat(a.tmp, &st) == 0,
	   "named .NAME.XXXXXX (%s)", a.tmp ? strrchr(a.tmp, '/') + 1 : "?");
	ok(write(a.fd, "three\n", 6) == 6, "written to");
	vf_atomic_abort(&a);
	ok(!a.tmp && a.fd == -1 && count_prefixed(tmpdir, ".state.json.") == 0 &&
	   !strcmp(slurp(path), "two\n"), "abort removes it; the file keeps its content");
	vf_atomic_abort(&a);
	ok(!a.tmp && a.fd == -1, "abort twice is a no-op");

	ok(vf_atomic_begin(&a, path, 0600) == 0 && write(a.fd, "four\n", 5) == 5 &&
	   vf_atomic_commit(&a) == 0 && !strcmp(slurp(path), "four\n") && !a.tmp,
	   "begin, write, commit");
	free(path);
	free(victim);
	free(planted);
	free(planted_pid);
	free(ro);
	free(ro_path);
}

static void test_private_dir(void)
{
	char *dir = xasprintf("%s/state", tmpdir), *file = xasprintf("%s/file", tmpdir);
	char *err;
	struct stat st;
	int fd;

	err = vf_private_dir_check(dir, "the state directory", true);
	ok(!err && stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
	   "a missing directory is made, mode 0700");
	free(err);
	chmod(dir, 0755);
	err = vf_private_dir_check(dir, "the state directory", false);
	ok(!err, "0755 is private enough (others read, they cannot write)");
	free(err);
	chmod(dir, 0777);
	err = vf_private_dir_check(dir, "the state directory", false);
	ok(err && strstr(err, "is writable by its group and others (mode 0777)") &&
	   strstr(err, "chmod go-w"), "0777 is refused, the error says chmod go-w (%s)",
	   err ? err : "accepted");
	free(err);
	chmod(dir, 01777);
	err = vf_private_dir_check(dir, "the state directory", false);
	ok(err != NULL, "so is a sticky 1777 directory (others still create files in it)");
	free(err);
	chmod(dir, 0720);
	err = vf_private_dir_check(dir, "the state directory", false);
	ok(err && strstr(err, "writable by its group (mode 0720)"), "0720: its group (%s)",
	   err ? err : "accepted");
	free(err);
	chmod(dir, 0702);
	err = vf_private_dir_check(dir, "the state directory", false);
	ok(err && strstr(err, "writable by others (mode 0702)"), "0702: others");
	free(err);
	chmod(dir, 0700);
	if (geteuid() == 0 && chown(dir, 65534, 65534) == 0) {
		err = vf_private_dir_check(dir, "the state directory", false);
		ok(err && strstr(err, "belongs to uid 65534, not to you"),
		   "another user's directory is refused (%s)", err ? err : "accepted");
		free(err);
	} else {
		ok(1, "another user's directory: needs root to make one (not root)");
	}
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	err = vf_private_dir_check(file, "the state directory", true);
	ok(err && strstr(err, "is not a directory"), "a file is not a directory");
	free(err);
	free(dir);
	free(file);
}

static void test_escape(void)
{
	static const struct { const char *in, *out, *what; } cases[] = {
		{ "plain web-1.example", "plain web-1.example", "plain text as is" },
		{ "ev\x1b[31mil", "ev\\x1b[31mil", "ESC" },
		{ "a\tb\nc\rd", "a\\tb\\nc\\rd", "tab, newline, carriage return" },
		{ "bell\a del\x7f", "bell\\x07 del\\x7f", "BEL and DEL" },
		{ "csi \xc2\x9b end", "csi \\u009b end", "C1 (U+009B, CSI) in UTF-8" },
		{ "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x90\xa7",
		  "other UTF-8 as is" },
		{ "", "", "empty" },
	};
	size_t i;
	char *e;

	for (i = 0; i < VF_ARRAY_SIZE(cases); i++) {
		e = vf_escape_text(cases[i].in);
		ok(!strcmp(e, cases[i].out), "escape: %s (%s)", cases[i].what, e);
		free(e);
	}
	e = vf_escape_text(NULL);
	ok(!strcmp(e, "(none)"), "NULL is (none), not (null)");
	free(e);
	{
		char all[128];
		int c, clean = 1;
		for (c = 1; c < 128; c++)
			all[c - 1] = (char)c;
		all[127] = '\0';
		e = vf_escape_text(all);
		for (i = 0; e[i]; i++)
			if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] == 0x7f)
				clean = 0;
		ok(clean, "no byte below 0x20 nor 0x7f survives (%zu bytes out)", strlen(e));
		free(e);
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	umask(077);
	test_atomic();
	test_private_dir();
	test_escape();
	{
		char *cmd = xasprintf("chmod -R u+rwx '%s'; rm -rf '%s'", tmpdir, tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the scratch directory");
		free(cmd);
	}
	return tap_done();
}
