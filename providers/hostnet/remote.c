/*
 * remote.c — run `virtform host ...` on a host (remote.h): a child
 * process with three pipes, fed and drained with poll() under one
 * deadline; over SSH the child is the OpenSSH client.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/uri.h>

#include "providers/hostnet/remote.h"
#include "reconcile/util.h"

/* The server and user of a libvirt URI ("qemu+ssh://root@h/system");
 * NULL when it has none.  Malloc'd. */
static void uri_parts(const char *uri, char **server, char **user, int *port)
{
	xmlURIPtr u = uri ? xmlParseURI(uri) : NULL;

	*server = *user = NULL;
	*port = 0;
	if (!u)
		return;
	if (u->server && *u->server)
		*server = xstrdup(u->server);
	if (u->user && *u->user)
		*user = xstrdup(u->user);
	*port = u->port;
	xmlFreeURI(u);
}

static bool uri_is_test(const char *uri)
{
	return uri && !strncmp(uri, "test:", 5);
}

enum vf_remote_kind vf_remote_kind_of(const struct vf_host *h)
{
	char *server, *user;
	int port;
	enum vf_remote_kind k;

	if (uri_is_test(h->uri) && !h->ssh.given)
		return VF_REMOTE_NONE;
	if (h->ssh.given)
		return VF_REMOTE_SSH;
	uri_parts(h->uri, &server, &user, &port);
	k = server ? VF_REMOTE_SSH : VF_REMOTE_LOCAL;
	free(server);
	free(user);
	return k;
}

/* Destination and login of h for ssh (malloc'd; user may be NULL). */
static void ssh_target(const struct vf_host *h, char **dest, char **user)
{
	char *server, *uuser;
	int port;

	uri_parts(h->uri, &server, &uuser, &port);
	if (h->ssh.host)
		*dest = xstrdup(h->ssh.host);
	else if (h->address)
		*dest = xstrdup(h->address);
	else if (server)
		*dest = xstrdup(server);
	else
		*dest = xstrdup(h->name);
	if (h->ssh.user)
		*user = xstrdup(h->ssh.user);
	else
		*user = uuser ? xstrdup(uuser) : NULL;
	free(server);
	free(uuser);
}

char *vf_remote_describe(const struct vf_host *h)
{
	char *dest, *user, *s;

	if (vf_remote_kind_of(h) != VF_REMOTE_SSH)
		return xstrdup("this machine");
	ssh_target(h, &dest, &user);
	if (h->ssh.port)
		s = xasprintf("%s%s%s:%u", user ? user : "", user ? "@" : "", dest, h->ssh.port);
	else
		s = xasprintf("%s%s%s", user ? user : "", user ? "@" : "", dest);
	free(dest);
	free(user);
	return s;
}

void vf_remote_result_release(struct vf_remote_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* word quoted for a POSIX shell: 'it'\''s' */
static void shell_quote(char **cmd, size_t *len, const char *word)
{
	size_t need = *len + 4 * strlen(word) + 4, i;
	char *s = xrealloc(*cmd, need);

	if (*len)
		s[(*len)++] = ' ';
	s[(*len)++] = '\'';
	for (i = 0; word[i]; i++) {
		if (word[i] == '\'') {
			memcpy(s + *len, "'\\''", 4);
			*len += 4;
		} else {
			s[(*len)++] = word[i];
		}
	}
	s[(*len)++] = '\'';
	s[*len] = '\0';
	*cmd = s;
}

struct argv {
	char **v;
	size_t n, alloc;
};

static void argv_add(struct argv *a, const char *s)
{
	VF_GROW(a->v, a->n + 2, a->alloc);
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void argv_release(struct argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* The argv that runs `virtform host ARGS` on h. */
static void build_argv(const struct vf_host *h, const char *const *args, double timeout,
		       unsigned flags, struct argv *a)
{
	const char *virtform = h->ssh.virtform ? h->ssh.virtform : "virtform";
	/* the operator's ssh_config, never the repository's: its
	 * ProxyCommand runs on this machine */
	const char *ssh_config = getenv("VIRTFORM_SSH_CONFIG");
	char *dest, *user, *cmd = NULL, *s;
	size_t len = 0, i;
	/* whole seconds, rounded up, at most 30 */
	unsigned connect = timeout >= 30 ? 30 : (unsigned)timeout + (timeout > (unsigned)timeout);

	if (vf_remote_kind_of(h) != VF_REMOTE_SSH) {
		argv_add(a, "/proc/self/exe");
		argv_add(a, "host");
		for (i = 0; args[i]; i++)
			argv_add(a, args[i]);
		return;
	}
	ssh_target(h, &dest, &user);
	argv_add(a, "ssh");
	if (ssh_config && *ssh_config) {
		argv_add(a, "-F");
		argv_add(a, ssh_config);
	}
	argv_add(a, "-o");
	argv_add(a, "BatchMode=yes");
	argv_add(a, "-o");
	s = xasprintf("ConnectTimeout=%u", connect ? connect : 1);
	argv_add(a, s);
	free(s);
	if (flags & VF_REMOTE_FRESH) {
		argv_add(a, "-o");
		argv_add(a, "ControlMaster=no");
		argv_add(a, "-o");
		argv_add(a, "ControlPath=none");
	}
	if (h->ssh.port) {
		s = xasprintf("%u", h->ssh.port);
		argv_add(a, "-p");
		argv_add(a, s);
		free(s);
	}
	if (user) {
		argv_add(a, "-l");
		argv_add(a, user);
	}
	argv_add(a, "--");
	argv_add(a, dest);
	/* one string for the remote shell, every word quoted */
	shell_quote(&cmd, &len, virtform);
	shell_quote(&cmd, &len, "host");
	for (i = 0; args[i]; i++)
		shell_quote(&cmd, &len, args[i]);
	argv_add(a, cmd);
	free(cmd);
	free(dest);
	free(user);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * write(2) to a pipe whose reader may be gone, without SIGPIPE killing
 * virtform: SIGPIPE is blocked in this thread for the call and a pending
 * one (raised by this write: it is thread-directed) consumed; EPIPE comes
 * back as an error.
 */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old;
	struct timespec zero = { 0, 0 };
	ssize_t w;
	int e;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	w = write(fd, buf, len);
	e = errno;
	if (w < 0 && e == EPIPE)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

struct sink {
	char *buf;
	size_t len, alloc;
};

static bool drain(int fd, struct sink *s)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	VF_GROW(s->buf, s->len + (size_t)n + 1, s->alloc);
	memcpy(s->buf + s->len, chunk, (size_t)n);
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	return true;
}

static char *sink_take(struct sink *s, bool trim)
{
	char *r = s->buf ? s->buf : xstrdup("");

	if (trim) {
		size_t n = strlen(r);
		while (n && (r[n - 1] == '\n' || r[n - 1] == '\r' || r[n - 1] == ' '))
			r[--n] = '\0';
	}
	return r;
}

/* The last line of text (ssh's reason comes last). */
static const char *last_line(const char *text)
{
	const char *nl = strrchr(text, '\n');

	return nl ? nl + 1 : text;
}

int vf_remote_run(const struct vf_host *h, const char *const *args, const char *input,
		  double timeout, unsigned flags, struct vf_remote_result *res, char **error)
{
	struct argv a = { NULL, 0, 0 };
	struct sink out = { NULL, 0, 0 }, err = { NULL, 0, 0 };
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, exec_p[2];
	size_t in_len = input ? strlen(input) : 0, in_off = 0;
	double deadline = now() + timeout;
	bool ssh = vf_remote_kind_of(h) == VF_REMOTE_SSH, timed_out = false;
	int status = 0, exec_errno = 0;
	char *where = vf_remote_describe(h);
	pid_t pid;

	memset(res, 0, sizeof(*res));
	build_argv(h, args, timeout, flags, &a);
	if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0 ||
	    pipe2(err_p, O_CLOEXEC) < 0 || pipe2(exec_p, O_CLOEXEC) < 0) {
		*error = xasprintf("host %s: cannot make pipes: %s", h->name, strerror(errno));
		goto fail_early;
	}
	pid = fork();
	if (pid < 0) {
		*error = xasprintf("host %s: cannot fork: %s", h->name, strerror(errno));
		close(exec_p[0]);
		close(exec_p[1]);
		goto fail_early;
	}
	if (pid == 0) {
		int e;
		sigset_t none;
		/* default SIGPIPE and no blocked signal for the child; stdio
		 * from the pipes */
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in_p[0], 0) < 0 || dup2(out_p[1], 1) < 0 || dup2(err_p[1], 2) < 0)
			_exit(127);
		if (ssh)
			execvp(a.v[0], a.v);
		else
			execv(a.v[0], a.v);
		e = errno;
		if (write(exec_p[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(exec_p[1]);
	if (read(exec_p[0], &exec_errno, sizeof(exec_errno)) != (ssize_t)sizeof(exec_errno))
		exec_errno = 0;
	close(exec_p[0]);
	close(in_p[0]);
	close(out_p[1]);
	close(err_p[1]);
	in_p[0] = out_p[1] = err_p[1] = -1;
	if (!in_len) {
		close(in_p[1]);
		in_p[1] = -1;
	} else {
		fcntl(in_p[1], F_SETFL, O_NONBLOCK);
	}

	while (out_p[0] >= 0 || err_p[0] >= 0) {
		struct pollfd p[3];
		int np = 0, k, left = (int)((deadline - now()) * 1000);

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (out_p[0] >= 0)
			p[np++] = (struct pollfd){ .fd = out_p[0], .events = POLLIN };
		if (err_p[0] >= 0)
			p[np++] = (struct pollfd){ .fd = err_p[0], .events = POLLIN };
		if (in_p[1] >= 0)
			p[np++] = (struct pollfd){ .fd = in_p[1], .events = POLLOUT };
		if (poll(p, (nfds_t)np, left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (k = 0; k < np; k++) {
			if (!p[k].revents)
				continue;
			if (p[k].fd == in_p[1]) {
				ssize_t w = write_nosigpipe(in_p[1], input + in_off, in_len - in_off);
				if (w > 0)
					in_off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len ||
				    (p[k].revents & (POLLERR | POLLHUP))) {
					close(in_p[1]);
					in_p[1] = -1;
				}
			} else if (p[k].fd == out_p[0]) {
				if (!drain(out_p[0], &out)) {
					close(out_p[0]);
					out_p[0] = -1;
				}
			} else if (p[k].fd == err_p[0]) {
				if (!drain(err_p[0], &err)) {
					close(err_p[0]);
					err_p[0] = -1;
				}
			}
		}
	}
	if (timed_out)
		kill(pid, SIGKILL);   /* our own child */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (in_p[1] >= 0)
		close(in_p[1]);
	if (out_p[0] >= 0)
		close(out_p[0]);
	if (err_p[0] >= 0)
		close(err_p[0]);
	res->out = sink_take(&out, false);
	res->err = sink_take(&err, true);
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	argv_release(&a);

	if (exec_errno) {
		*error = xasprintf("host %s: cannot run %s: %s%s", h->name, ssh ? "ssh" : "virtform",
				   strerror(exec_errno),
				   ssh ? "; install the OpenSSH client (Debian: openssh-client)" : "");
		goto fail;
	}
	if (timed_out) {
		*error = xasprintf("host %s: 'virtform host %s' on %s did not finish within %.0f s",
				   h->name, args[0], where, timeout);
		goto fail;
	}
	if (ssh && res->status == 255) {
		*error = xasprintf("host %s: cannot reach %s over ssh: %s", h->name, where,
				   *res->err ? last_line(res->err) : "ssh failed");
		goto fail;
	}
	if (res->status == 127 || res->status == 126) {
		*error = xasprintf("host %s: cannot run virtform on %s%s%s%s", h->name, where,
				   *res->err ? ": " : "", last_line(res->err),
				   ssh ? "; install virtform there or give its path as ssh: "
					 "{virtform: PATH}" : "");
		goto fail;
	}
	free(where);
	return 0;

fail_early:
	for (int i = 0; i < 2; i++) {
		if (in_p[i] >= 0)
			close(in_p[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	argv_release(&a);
fail:
	vf_remote_result_release(res);
	free(where);
	return -1;
}
