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

/* word quoted for a POSIX shell, after a space unless first: 'it'\''s' */
static void shell_quote(struct vf_buf *cmd, const char *word)
{
	size_t i;

	if (cmd->len)
		vf_buf_addch(cmd, ' ');
	vf_buf_addch(cmd, '\'');
	for (i = 0; word[i]; i++) {
		if (word[i] == '\'')
			vf_buf_adds(cmd, "'\\''");
		else
			vf_buf_addch(cmd, word[i]);
	}
	vf_buf_addch(cmd, '\'');
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
	struct vf_buf cmd = VF_BUF_INIT;
	char *dest, *user, *s;
	size_t i;
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
	shell_quote(&cmd, virtform);
	shell_quote(&cmd, "host");
	for (i = 0; args[i]; i++)
		shell_quote(&cmd, args[i]);
	argv_add(a, cmd.buf);
	vf_buf_release(&cmd);
	free(dest);
	free(user);
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

/* Read what fd has into b; false at its end (or on an error). */
static bool drain(int fd, struct vf_buf *b)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	vf_buf_add(b, chunk, (size_t)n);
	return true;
}

/* The last line of text (ssh's reason comes last). */
static const char *last_line(const char *text)
{
	const char *nl = strrchr(text, '\n');

	return nl ? nl + 1 : text;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The child and our ends of its pipes (-1: closed). */
struct child {
	pid_t pid;
	int in, out, err;
	int exec_errno;             /* why exec failed in the child, or 0 */
};

/* In the child: stdio from the pipes, then exec; never returns. */
__attribute__((noreturn))
static void child_exec(char **argv, bool ssh, const int in_p[2], const int out_p[2],
		       const int err_p[2], int exec_fd)
{
	sigset_t none;
	int e;

	/* default SIGPIPE and no blocked signal for the child */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_p[0], 0) < 0 || dup2(out_p[1], 1) < 0 || dup2(err_p[1], 2) < 0)
		_exit(127);
	if (ssh)
		execvp(argv[0], argv);
	else
		execv(argv[0], argv);
	e = errno;
	if (write(exec_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/*
 * Start argv with three pipes; exec's failure comes back through a fourth
 * (close-on-exec, so a successful exec closes it empty).  Our stdin end is
 * non-blocking, or closed at once when there is no input.
 */
static int child_start(const struct vf_host *h, char **argv, bool ssh, bool has_input,
		       struct child *c, char **error)
{
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, exec_p[2];
	int i;

	if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0 ||
	    pipe2(err_p, O_CLOEXEC) < 0 || pipe2(exec_p, O_CLOEXEC) < 0) {
		*error = xasprintf("host %s: cannot make pipes: %s", h->name, strerror(errno));
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0) {
		*error = xasprintf("host %s: cannot fork: %s", h->name, strerror(errno));
		close(exec_p[0]);
		close(exec_p[1]);
		goto fail;
	}
	if (c->pid == 0)
		child_exec(argv, ssh, in_p, out_p, err_p, exec_p[1]);
	close(exec_p[1]);
	if (read(exec_p[0], &c->exec_errno, sizeof(c->exec_errno)) !=
	    (ssize_t)sizeof(c->exec_errno))
		c->exec_errno = 0;
	close(exec_p[0]);
	close(in_p[0]);
	close(out_p[1]);
	close(err_p[1]);
	c->in = in_p[1];
	c->out = out_p[0];
	c->err = err_p[0];
	if (!has_input)
		close_fd(&c->in);
	else
		fcntl(c->in, F_SETFL, O_NONBLOCK);
	return 0;

fail:
	for (i = 0; i < 2; i++) {
		close_fd(&in_p[i]);
		close_fd(&out_p[i]);
		close_fd(&err_p[i]);
	}
	return -1;
}

/*
 * Feed input to the child and read its output until both output pipes end
 * or the deadline passes (then true: it timed out).
 */
static bool child_pump(struct child *c, const char *input, double deadline,
		       struct vf_buf *out, struct vf_buf *err)
{
	size_t in_len = input ? strlen(input) : 0, in_off = 0;

	while (c->out >= 0 || c->err >= 0) {
		struct pollfd p[3];
		int np = 0, k, left = (int)((deadline - vf_now()) * 1000);

		if (left <= 0)
			return true;
		if (c->out >= 0)
			p[np++] = (struct pollfd){ .fd = c->out, .events = POLLIN };
		if (c->err >= 0)
			p[np++] = (struct pollfd){ .fd = c->err, .events = POLLIN };
		if (c->in >= 0)
			p[np++] = (struct pollfd){ .fd = c->in, .events = POLLOUT };
		if (poll(p, (nfds_t)np, left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (k = 0; k < np; k++) {
			if (!p[k].revents)
				continue;
			if (p[k].fd == c->in) {
				ssize_t w = write_nosigpipe(c->in, input + in_off, in_len - in_off);
				if (w > 0)
					in_off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len ||
				    (p[k].revents & (POLLERR | POLLHUP)))
					close_fd(&c->in);
			} else if (p[k].fd == c->out) {
				if (!drain(c->out, out))
					close_fd(&c->out);
			} else if (p[k].fd == c->err) {
				if (!drain(c->err, err))
					close_fd(&c->err);
			}
		}
	}
	return false;
}

/* Reap the child (killed first when it timed out); its exit status. */
static int child_finish(struct child *c, bool timed_out)
{
	int status = 0;

	if (timed_out)
		kill(c->pid, SIGKILL);   /* our own child */
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	close_fd(&c->in);
	close_fd(&c->out);
	close_fd(&c->err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Why the command did not run, from how it ended; NULL: it ran. */
static char *run_failure(const struct vf_host *h, const char *const *args, const char *where,
			 double timeout, bool ssh, bool timed_out, int exec_errno,
			 const struct vf_remote_result *res)
{
	if (exec_errno)
		return xasprintf("host %s: cannot run %s: %s%s", h->name, ssh ? "ssh" : "virtform",
				 strerror(exec_errno),
				 ssh ? "; install the OpenSSH client (Debian: openssh-client)" : "");
	if (timed_out)
		return xasprintf("host %s: 'virtform host %s' on %s did not finish within %.0f s",
				 h->name, args[0], where, timeout);
	if (ssh && res->status == 255)
		return xasprintf("host %s: cannot reach %s over ssh: %s", h->name, where,
				 *res->err ? last_line(res->err) : "ssh failed");
	if (res->status == 127 || res->status == 126)
		return xasprintf("host %s: cannot run virtform on %s%s%s%s", h->name, where,
				 *res->err ? ": " : "", last_line(res->err),
				 ssh ? "; install virtform there or give its path as ssh: "
				       "{virtform: PATH}" : "");
	return NULL;
}

int vf_remote_run(const struct vf_host *h, const char *const *args, const char *input,
		  double timeout, unsigned flags, struct vf_remote_result *res, char **error)
{
	struct argv a = { NULL, 0, 0 };
	struct vf_buf out = VF_BUF_INIT, err = VF_BUF_INIT;
	struct child c = { -1, -1, -1, -1, 0 };
	double deadline = vf_now() + timeout;
	bool ssh = vf_remote_kind_of(h) == VF_REMOTE_SSH, timed_out;
	char *where;

	memset(res, 0, sizeof(*res));
	build_argv(h, args, timeout, flags, &a);
	if (child_start(h, a.v, ssh, input && *input, &c, error) < 0) {
		argv_release(&a);
		return -1;
	}
	timed_out = child_pump(&c, input, deadline, &out, &err);
	res->status = child_finish(&c, timed_out);
	argv_release(&a);
	vf_buf_rtrim(&err);
	res->out = vf_buf_detach(&out);
	res->err = vf_buf_detach(&err);

	where = vf_remote_describe(h);
	*error = run_failure(h, args, where, timeout, ssh, timed_out, c.exec_errno, res);
	free(where);
	if (*error) {
		vf_remote_result_release(res);
		return -1;
	}
	return 0;
}
