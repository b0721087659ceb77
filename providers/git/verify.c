/*
 * verify.c — a commit's SSH signature checked by OpenSSH (repo.h:
 * vf_git_verify_ssh), the way `git verify-commit` does with
 * gpg.format=ssh:
 *
 *   ssh-keygen -Y find-principals -s SIG -f ALLOWED        -> PRINCIPAL
 *   ssh-keygen -Y verify -f ALLOWED -I PRINCIPAL -n git -s SIG < PAYLOAD
 *
 * The signature and the payload go to files in a private directory (0700)
 * that is removed afterwards; ssh-keygen runs by fork/exec, its arguments
 * never through a shell.  GPG signatures are refused as not supported:
 * verifying them well needs a keyring policy virtform does not have yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "providers/git/repo.h"

#define SSH_SIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define PGP_SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define OUTPUT_MAX 8192

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	return close(fd);
}

/*
 * Run argv (argv[0] looked up in PATH) with stdin from stdin_path (NULL:
 * /dev/null); its stdout and stderr together in *output (malloc'd, at most
 * OUTPUT_MAX bytes).  The exit status, or -1 when it could not run.
 */
static int run(char *const argv[], const char *stdin_path, char **output)
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

int vf_git_verify_ssh(const char *signature, const char *payload, size_t payload_len,
		      const char *allowed_signers, char **principal, char **error)
{
	const char *tmp = getenv("TMPDIR");
	char *dir, *sig_path = NULL, *payload_path = NULL, *out = NULL, *line, *save = NULL;
	int rc = -1, st;

	*principal = NULL;
	if (!strncmp(signature, PGP_SIG_BEGIN, strlen(PGP_SIG_BEGIN))) {
		*error = xstrdup("it is signed with GPG; virtform verifies SSH signatures only "
				 "(GPG is not supported yet): sign with an SSH key "
				 "(git -c gpg.format=ssh commit -S)");
		return -1;
	}
	if (strncmp(signature, SSH_SIG_BEGIN, strlen(SSH_SIG_BEGIN))) {
		*error = xstrdup("its signature is in a format virtform does not know (neither SSH "
				 "nor GPG)");
		return -1;
	}
	if (access(allowed_signers, R_OK) < 0) {
		*error = xasprintf("cannot read the allowed signers file '%s': %s", allowed_signers,
				   strerror(errno));
		return -1;
	}
	dir = xasprintf("%s/virtform-verify.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		*error = xasprintf("cannot create a temporary directory '%s': %s", dir,
				   strerror(errno));
		free(dir);
		return -1;
	}
	sig_path = xasprintf("%s/commit.sig", dir);
	payload_path = xasprintf("%s/commit.payload", dir);
	if (write_file(sig_path, signature, strlen(signature)) < 0 ||
	    write_file(payload_path, payload, payload_len) < 0) {
		*error = xasprintf("cannot write to '%s': %s", dir, strerror(errno));
		goto out;
	}
	{
		char *argv[] = { "ssh-keygen", "-Y", "find-principals", "-s", sig_path, "-f",
				 (char *)allowed_signers, NULL };
		st = run(argv, NULL, &out);
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
				 "-I", line, "-n", "git", "-s", sig_path, NULL };
		if (!*line)
			continue;
		st = run(argv, payload_path, &vout);
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
	if (payload_path)
		unlink(payload_path);
	if (sig_path)
		unlink(sig_path);
	rmdir(dir);
	free(payload_path);
	free(sig_path);
	free(dir);
	free(out);
	return rc;
}
