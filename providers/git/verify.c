/*
 * verify.c — a commit's signature checked against the keys an operator
 * trusts (repo.h: vf_git_verify_commit), the way `git verify-commit` does:
 *
 *   SSH (gpg.format=ssh), by OpenSSH against an allowed-signers file:
 *     ssh-keygen -Y find-principals -s SIG -f ALLOWED        -> PRINCIPAL
 *     ssh-keygen -Y verify -f ALLOWED -I PRINCIPAL -n git -s SIG < PAYLOAD
 *   OpenPGP, by gpgv against a keyring holding only the trusted keys (an
 *   ASCII-armored export is turned into a keyring by gpg --dearmor first):
 *     gpgv --homedir EMPTY --status-fd 1 --keyring KEYRING SIG PAYLOAD
 *   and only a GOODSIG with a VALIDSIG counts: an expired or revoked key, a
 *   bad signature, an unknown key are refused, each with its reason.
 *
 * The signature, the payload and anything gpg makes go to a private
 * directory (0700) that is removed afterwards; the tools run by fork/exec,
 * their arguments never through a shell; gpgv gets an empty home of its
 * own, so no user's keyring or trust database ever counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "providers/git/internal.h"

#define SSH_SIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define PGP_SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define OUTPUT_MAX 16384

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -1;
	if (vf_write_all(fd, data, len) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* internal.h; at most OUTPUT_MAX bytes of output. */
int vf_git_run(char *const argv[], const char *stdin_path, char **output)
{
	int pipefd[2], status, in;
	size_t n = 0;
	pid_t pid;

	*output = xcalloc(1, OUTPUT_MAX + 1);
	in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(in);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(in);
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in);
	close(pipefd[1]);
	for (;;) {
		char buf[1024];
		ssize_t r = read(pipefd[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n < OUTPUT_MAX) {
			size_t k = (size_t)r < OUTPUT_MAX - n ? (size_t)r : OUTPUT_MAX - n;
			memcpy(*output + n, buf, k);
			n += k;
		}
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The output's lines joined by "; ", without a trailing newline. */
static void one_line(char *s)
{
	size_t n;

	for (n = strlen(s); n && (s[n - 1] == '\n' || s[n - 1] == '\r'); n--)
		s[n - 1] = '\0';
	for (; *s; s++)
		if (*s == '\n')
			*s = ';';
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* A private scratch directory for one verification: its path, or NULL. */
static char *scratch_make(char **error)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/virtform-verify.XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (mkdtemp(dir))
		return dir;
	*error = xasprintf("cannot create a temporary directory '%s': %s", dir, strerror(errno));
	free(dir);
	return NULL;
}

static void scratch_remove(char *dir)
{
	if (!dir)
		return;
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

static int verify_ssh(const char *dir, const char *sig_path, const char *payload_path,
		      const char *allowed_signers, char **principal, char **error)
{
	char *out = NULL, *line, *save = NULL;
	int rc = -1, st;

	if (access(allowed_signers, R_OK) < 0) {
		*error = xasprintf("cannot read the allowed signers file '%s': %s", allowed_signers,
				   strerror(errno));
		return -1;
	}
	{
		char *argv[] = { "ssh-keygen", "-Y", "find-principals", "-s", (char *)sig_path,
				 "-f", (char *)allowed_signers, NULL };
		st = vf_git_run(argv, NULL, &out);
	}
	if (st < 0 || st == 127) {
		*error = xstrdup("cannot run ssh-keygen (OpenSSH 8.2 or later is needed to "
				 "verify SSH signatures): install openssh-client");
		goto out;
	}
	if (st != 0) {
		one_line(out);
		*error = xasprintf("its key is not in the allowed signers file '%s'%s%s",
				   allowed_signers, *out ? ": " : "", out);
		goto out;
	}
	/* every principal the key is allowed for; the first that verifies */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *vout = NULL;
		char *argv[] = { "ssh-keygen", "-Y", "verify", "-f", (char *)allowed_signers,
				 "-I", line, "-n", "git", "-s", (char *)sig_path, NULL };
		if (!*line)
			continue;
		st = vf_git_run(argv, payload_path, &vout);
		if (st == 0) {
			*principal = xstrdup(line);
			free(vout);
			rc = 0;
			goto out;
		}
		one_line(vout);
		free(*error);
		*error = xasprintf("its signature does not verify for '%s' with the allowed "
				   "signers file '%s': %s", line, allowed_signers, vout);
		free(vout);
	}
	if (!*error)
		*error = xasprintf("no principal of the allowed signers file '%s' matches its "
				   "signature", allowed_signers);
out:
	free(out);
	return rc;
}

/* The rest of the status line that starts with "[GNUPG:] KEYWORD ", or NULL. */
static const char *gpg_status(const char *out, const char *keyword, char *buf, size_t size)
{
	char prefix[64];
	const char *p = out, *end;
	size_t n;

	snprintf(prefix, sizeof(prefix), "[GNUPG:] %s ", keyword);
	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)))
			continue;
		p += strlen(prefix);
		end = strchr(p, '\n');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n >= size)
			n = size - 1;
		memcpy(buf, p, n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/* Is the file an ASCII-armored OpenPGP block (an export with -a)? */
static bool armored(const char *path)
{
	static const char begin[] = "-----BEGIN PGP";
	char head[sizeof(begin) - 1];
	FILE *f = fopen(path, "re");
	bool yes;

	if (!f)
		return false;
	yes = fread(head, 1, sizeof(head), f) == sizeof(head) && !memcmp(head, begin, sizeof(head));
	fclose(f);
	return yes;
}

/*
 * An ASCII-armored keyring made binary for gpgv, in dir (gpg --dearmor
 * with home as its home): *keyring replaced by the binary one.  -1 with
 * *error when gpg cannot do it.
 */
static int dearmor(const char *dir, const char *home, char **keyring, const char *keyring_arg,
		   char **error)
{
	char *bin = xasprintf("%s/keyring.gpg", dir), *out = NULL;
	char *argv[] = { "gpg", "--homedir", (char *)home, "--batch", "--quiet", "--no-tty",
			 "--dearmor", "--output", bin, *keyring, NULL };
	int st = vf_git_run(argv, NULL, &out);

	free(*keyring);
	*keyring = bin;
	if (st != 0) {
		one_line(out);
		*error = st < 0 || st == 127
			? xstrdup("cannot run gpg to read an ASCII-armored keyring: install "
				  "gnupg, or give a binary keyring (gpg --export KEYID > FILE)")
			: xasprintf("cannot read the GPG keyring '%s': %s", keyring_arg, out);
	}
	free(out);
	return st != 0 ? -1 : 0;
}

/*
 * gpgv's verdict from its status lines (out) and exit status st: 0 with
 * *principal ("NAME <MAIL> (FINGERPRINT)"), or -1 with *error saying
 * what is wrong with the signature.
 */
static int gpg_verdict(char *out, int st, const char *keyring_arg, char **principal,
		       char **error)
{
	char fpr[256], good[512], bad[512];

	if (gpg_status(out, "EXPKEYSIG", bad, sizeof(bad))) {
		*error = xasprintf("it is signed by an expired key (%s)", bad);
	} else if (gpg_status(out, "REVKEYSIG", bad, sizeof(bad))) {
		*error = xasprintf("it is signed by a revoked key (%s)", bad);
	} else if (gpg_status(out, "EXPSIG", bad, sizeof(bad))) {
		*error = xasprintf("its signature has expired (%s)", bad);
	} else if (gpg_status(out, "BADSIG", bad, sizeof(bad))) {
		*error = xasprintf("its signature does not match the commit: BAD signature by %s",
				   bad);
	} else if (gpg_status(out, "NO_PUBKEY", bad, sizeof(bad))) {
		*error = xasprintf("its key %s is not in the GPG keyring '%s'", bad, keyring_arg);
	} else if (st == 0 && gpg_status(out, "GOODSIG", good, sizeof(good)) &&
		   gpg_status(out, "VALIDSIG", fpr, sizeof(fpr))) {
		const char *uid = strchr(good, ' ');
		char *sp = strchr(fpr, ' ');
		if (sp)
			*sp = '\0';
		*principal = xasprintf("%s (%s)", uid ? uid + 1 : good, fpr);
		return 0;
	} else {
		one_line(out);
		*error = xasprintf("its GPG signature does not verify with the keyring '%s': %s",
				   keyring_arg, out);
	}
	return -1;
}

static int verify_gpg(const char *dir, const char *sig_path, const char *payload_path,
		      const char *keyring_arg, char **principal, char **error)
{
	char *keyring = realpath(keyring_arg, NULL), *home = NULL, *out = NULL;
	int rc = -1, st;

	/* gpgv looks a name without a slash up in its home: always a full path */
	if (!keyring) {
		*error = xasprintf("cannot read the GPG keyring '%s': %s", keyring_arg,
				   strerror(errno));
		return -1;
	}
	home = xasprintf("%s/gnupg", dir);
	if (mkdir(home, 0700) < 0) {
		*error = xasprintf("cannot create '%s': %s", home, strerror(errno));
		goto out;
	}
	if (armored(keyring) && dearmor(dir, home, &keyring, keyring_arg, error) < 0)
		goto out;
	{
		char *argv[] = { "gpgv", "--homedir", home, "--status-fd", "1", "--keyring", keyring,
				 (char *)sig_path, (char *)payload_path, NULL };
		st = vf_git_run(argv, NULL, &out);
	}
	if (st < 0 || st == 127)
		*error = xstrdup("cannot run gpgv to verify a GPG signature: install gpgv");
	else
		rc = gpg_verdict(out, st, keyring_arg, principal, error);
out:
	free(out);
	free(home);
	free(keyring);
	return rc;
}

static int verify_signature(const char *signature, const char *payload, size_t payload_len,
			    const struct vf_git_trust *t, char **principal, char **error)
{
	bool ssh = !strncmp(signature, SSH_SIG_BEGIN, strlen(SSH_SIG_BEGIN));
	bool gpg = !strncmp(signature, PGP_SIG_BEGIN, strlen(PGP_SIG_BEGIN));
	char *dir, *sig_path, *payload_path;
	int rc = -1;

	if (!ssh && !gpg) {
		*error = xstrdup("its signature is in a format virtform does not know (neither SSH "
				 "nor OpenPGP; X.509 is not supported)");
		return -1;
	}
	if (ssh && !t->allowed_signers) {
		*error = xstrdup("it is signed with an SSH key, and only GPG keys are trusted: "
				 "give --allowed-signers FILE to trust SSH keys");
		return -1;
	}
	if (gpg && !t->gpg_keyring) {
		*error = xstrdup("it is signed with GPG, and only SSH keys are trusted: give "
				 "--gpg-keyring FILE (gpg --export KEYID > FILE) to trust GPG keys");
		return -1;
	}
	dir = scratch_make(error);
	if (!dir)
		return -1;
	sig_path = xasprintf("%s/commit.sig", dir);
	payload_path = xasprintf("%s/commit.payload", dir);
	if (write_file(sig_path, signature, strlen(signature)) < 0 ||
	    write_file(payload_path, payload, payload_len) < 0)
		*error = xasprintf("cannot write to '%s': %s", dir, strerror(errno));
	else if (ssh)
		rc = verify_ssh(dir, sig_path, payload_path, t->allowed_signers, principal, error);
	else
		rc = verify_gpg(dir, sig_path, payload_path, t->gpg_keyring, principal, error);
	free(sig_path);
	free(payload_path);
	scratch_remove(dir);
	return rc;
}

int vf_git_verify_commit(struct vf_git_repo *r, const struct vf_git_commit *c,
			 const struct vf_git_trust *t, char **principal, char **error)
{
	char *sig = NULL, *payload = NULL;
	size_t len;
	int found;

	*principal = NULL;
	*error = NULL;
	found = vf_git_signature(r, c, &sig, &payload, &len, error);
	if (found > 0)
		found = verify_signature(sig, payload, len, t, principal, error) < 0 ? -1 : 1;
	free(sig);
	free(payload);
	return found;
}

const char *vf_git_sign_hint(const struct vf_git_trust *t)
{
	if (t->allowed_signers && t->gpg_keyring)
		return "sign it with an allowed SSH key (git -c gpg.format=ssh commit -S) or a "
		       "key of the GPG keyring (git commit -S)";
	if (t->gpg_keyring)
		return "sign it with a key of the GPG keyring (git commit -S)";
	return "sign it with an allowed SSH key (git -c gpg.format=ssh commit -S)";
}
