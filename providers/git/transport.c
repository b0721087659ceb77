/*
 * transport.c — how a fetch authenticates and whom it trusts (repo.h:
 * struct vf_git_auth), for libgit2's remote callbacks:
 *
 *   - SSH (ssh://, git+ssh://, user@host:path): the client key is the
 *     --git-ssh-key file, else the ssh-agent's keys ($SSH_AUTH_SOCK), else
 *     ~/.ssh/id_ed25519, id_ecdsa or id_rsa; each is offered once, so a
 *     refused key is an error, never a loop.  The server's host key must be
 *     in the known hosts file (--git-known-hosts, else ~/.ssh/known_hosts,
 *     else /etc/ssh/ssh_known_hosts), as OpenSSH's StrictHostKeyChecking
 *     yes would have it (libgit2 only reads ~/.ssh/known_hosts, and before
 *     1.5.1 nothing): virtform checks the raw key libssh2 saw.  The lookup is
 *     OpenSSH's own (ssh-keygen -F, which knows hashed names and
 *     [host]:port), run without a shell; a key listed @revoked is refused.
 *   - HTTPS: libgit2's certificate check stands; a user name and password
 *     (a token) come from $VIRTFORM_GIT_USERNAME and $VIRTFORM_GIT_PASSWORD
 *     only, never from the command line, where ps would show them.
 *
 * The callbacks' errors are kept in the context and become the fetch's
 * error (libgit2 would only say "user rejected").
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "providers/git/internal.h"
#include "reconcile/secret.h"

static void set_error(struct vf_git_fetch_ctx *ctx, char *msg)
{
	free(ctx->error);
	ctx->error = msg;
}

/* $HOME/rest, or NULL without $HOME (malloc'd). */
static char *home_file(const char *rest)
{
	const char *home = getenv("HOME");

	return home && *home ? xasprintf("%s/%s", home, rest) : NULL;
}

/* The first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that is readable. */
static char *default_key(void)
{
	static const char *const names[] = { ".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = home_file(names[i]);
		if (p && access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* An SSH key for user, offered once: --git-ssh-key, else the ssh-agent,
 * else the first default key (ctx->ssh_what says which, for the error
 * when the server refuses it). */
static int ssh_key(git_credential **out, const char *user, struct vf_git_fetch_ctx *ctx)
{
	const struct vf_git_auth *a = ctx->auth;
	char *key;
	int rc;

	if (ctx->ssh_offered) {
		set_error(ctx, xasprintf("the server refused the SSH key%s%s for user "
					 "'%s': give a key it accepts (--git-ssh-key FILE "
					 "or VIRTFORM_GIT_SSH_KEY)",
					 ctx->ssh_what ? " " : "",
					 ctx->ssh_what ? ctx->ssh_what : "", user));
		return GIT_EUSER;
	}
	ctx->ssh_offered = true;
	if (a && a->ssh_key) {
		if (access(a->ssh_key, R_OK) < 0) {
			set_error(ctx, xasprintf("cannot read the SSH key '%s': %s",
						 a->ssh_key, strerror(errno)));
			return GIT_EUSER;
		}
		ctx->ssh_what = xasprintf("'%s'", a->ssh_key);
		return git_credential_ssh_key_new(out, user, NULL, a->ssh_key, NULL);
	}
	if (getenv("SSH_AUTH_SOCK") && *getenv("SSH_AUTH_SOCK")) {
		ctx->ssh_what = xstrdup("of the ssh-agent");
		return git_credential_ssh_key_from_agent(out, user);
	}
	key = default_key();
	if (!key) {
		set_error(ctx, xstrdup("the server asks for an SSH key, and there is none: "
				       "give --git-ssh-key FILE (or VIRTFORM_GIT_SSH_KEY), "
				       "run an ssh-agent, or put one in ~/.ssh/id_ed25519"));
		return GIT_EUSER;
	}
	ctx->ssh_what = xasprintf("'%s'", key);
	rc = git_credential_ssh_key_new(out, user, NULL, key, NULL);
	free(key);
	return rc;
}

/* A user name and password (a token) from the environment, offered once. */
static int user_password(git_credential **out, const char *user, struct vf_git_fetch_ctx *ctx)
{
	const char *name = getenv("VIRTFORM_GIT_USERNAME");
	const char *password = vf_secret_env(VF_GIT_PASSWORD_ENV);

	if (ctx->userpass_offered || !password || !*password) {
		set_error(ctx, xasprintf("the server %s: set VIRTFORM_GIT_USERNAME and "
					 "VIRTFORM_GIT_PASSWORD (a token) in the environment",
					 ctx->userpass_offered ? "refused the user name and "
					 "password" : "asks for a user name and password"));
		return GIT_EUSER;
	}
	ctx->userpass_offered = true;
	return git_credential_userpass_plaintext_new(out, name && *name ? name : user, password);
}

static int credentials(git_credential **out, const char *url, const char *user_from_url,
		       unsigned int allowed, void *payload)
{
	struct vf_git_fetch_ctx *ctx = payload;
	const char *user = user_from_url && *user_from_url ? user_from_url : "git";

	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return ssh_key(out, user, ctx);
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
		return user_password(out, user, ctx);
	set_error(ctx, xstrdup("the server asks for credentials virtform cannot give (it "
			       "gives an SSH key, or a user name and password)"));
	return GIT_EUSER;
}

/* OpenSSH's name of a raw host key type; NULL: one virtform does not know. */
static const char *key_type_name(git_cert_ssh_raw_type_t t)
{
	switch (t) {
	case GIT_CERT_SSH_RAW_TYPE_RSA: return "ssh-rsa";
	case GIT_CERT_SSH_RAW_TYPE_DSS: return "ssh-dss";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519: return "ssh-ed25519";
	default: return NULL;
	}
}

/*
 * The port of an ssh:// URL (22 without one, or for user@host:path).
 * IPv6 literals are bracketed in URLs: [::1]:2222.
 */
static unsigned url_port(const char *url)
{
	const char *p = strstr(url, "://"), *slash, *colon;
	unsigned long port;
	char *end;

	if (!p)
		return 22;
	p += 3;
	slash = strchr(p, '/');
	if (strchr(p, '@') && (!slash || strchr(p, '@') < slash))
		p = strchr(p, '@') + 1;
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			return 22;
	}
	colon = strchr(p, ':');
	if (!colon || (slash && colon > slash))
		return 22;
	port = strtoul(colon + 1, &end, 10);
	return port > 0 && port <= 65535 && (*end == '/' || !*end) ? (unsigned)port : 22;
}

enum lookup { KNOWN, MISMATCH, REVOKED, UNKNOWN, LOOKUP_ERROR };

/*
 * Look the host (pattern: "host" or "[host]:port") up in file with
 * ssh-keygen -F; KNOWN when a line of it carries this type and key.
 */
static enum lookup lookup(const char *file, const char *pattern, const char *type,
			  const char *key, char **error)
{
	char *argv[] = { "ssh-keygen", "-F", (char *)pattern, "-f", (char *)file, NULL };
	char *out = NULL, *line, *save = NULL;
	enum lookup found = UNKNOWN;
	bool revoked_seen = false;
	int st = vf_git_run(argv, NULL, &out);

	if (st < 0 || st == 127) {
		*error = xstrdup("cannot run ssh-keygen to check the server's host key: install "
				 "openssh-client");
		free(out);
		return LOOKUP_ERROR;
	}
	/* exit 1: not found (or an unreadable file: ssh-keygen says so) */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { 0 }, *s2 = NULL, *w;
		size_t n = 0;
		bool revoked = false;
		if (*line == '#' || !*line)
			continue;
		for (w = strtok_r(line, " \t", &s2); w && n < 4; w = strtok_r(NULL, " \t", &s2))
			f[n++] = w;
		if (n && f[0][0] == '@') {
			revoked = !strcmp(f[0], "@revoked");
			if (!revoked)
				continue;          /* @cert-authority: not a host key */
			memmove(f, f + 1, 3 * sizeof(*f));
			n--;
		}
		if (n < 3)
			continue;
		if (!strcmp(f[1], type) && !strcmp(f[2], key)) {
			if (revoked)
				revoked_seen = true;
			else if (found != REVOKED)
				found = KNOWN;
		} else if (!revoked && found == UNKNOWN) {
			found = MISMATCH;
		}
	}
	free(out);
	return revoked_seen ? REVOKED : found;
}

/*
 * The known hosts files to read: --git-known-hosts alone, else the user's
 * and the system's that exist (malloc'd, into files).  How many, or -1
 * with *error when there is none to read.
 */
static int known_hosts_files(const struct vf_git_auth *a, const char *host, char *files[2],
			     char **error)
{
	char *user;
	int n = 0;

	if (a && a->known_hosts) {
		if (access(a->known_hosts, R_OK) < 0) {
			*error = xasprintf("cannot read the known hosts file '%s': %s",
					   a->known_hosts, strerror(errno));
			return -1;
		}
		files[n++] = xstrdup(a->known_hosts);
		return n;
	}
	user = home_file(".ssh/known_hosts");
	if (user && access(user, R_OK) == 0)
		files[n++] = user;
	else
		free(user);
	if (access("/etc/ssh/ssh_known_hosts", R_OK) == 0)
		files[n++] = xstrdup("/etc/ssh/ssh_known_hosts");
	if (!n)
		*error = xasprintf("cannot check the host key of '%s': no known hosts file "
				   "(~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts); give "
				   "--git-known-hosts FILE (or VIRTFORM_GIT_KNOWN_HOSTS)", host);
	return n ? n : -1;
}

/* Why a host key is refused (res: REVOKED, MISMATCH or UNKNOWN), with
 * what to do about it (malloc'd). */
static char *refusal(enum lookup res, const char *host, unsigned port, const char *pattern,
		     const char *type, char *const files[], int n)
{
	const char *system = n > 1 ? ", /etc/ssh/ssh_known_hosts" : "";

	if (res == REVOKED)
		return xasprintf("the host key of '%s' (%s) is marked @revoked in the known "
				 "hosts; refusing to fetch", pattern, type);
	if (res == MISMATCH)
		return xasprintf("the host key of '%s' does not match the known hosts (%s%s): "
				 "someone may be in the middle, or the host was reinstalled; "
				 "check its %s key's fingerprint and fix the entry; refusing to "
				 "fetch", pattern, files[0], system, type);
	return xasprintf("the host '%s' is not in the known hosts (%s%s): add its key "
			 "after checking its fingerprint (ssh-keyscan -t %s %s%s%s >> "
			 "FILE), or give --git-known-hosts FILE; refusing to fetch",
			 pattern, files[0], system, type, port == 22 ? "" : "-p ",
			 port == 22 ? "" : "PORT ", host);
}

int vf_git_check_hostkey(const char *url, const char *host, const char *type,
			 const unsigned char *hostkey, size_t len, const struct vf_git_auth *a,
			 char **error)
{
	char *files[2] = { NULL, NULL }, *pattern, *key, *lookup_error = NULL;
	unsigned port = url_port(url);
	enum lookup res = UNKNOWN;
	size_t b64;
	int i, n, rc = -1;

	*error = NULL;
	n = known_hosts_files(a, host, files, error);
	if (n < 0)
		return -1;
	pattern = port == 22 ? xstrdup(host) : xasprintf("[%s]:%u", host, port);
	b64 = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	key = xmalloc(b64);
	sodium_bin2base64(key, b64, hostkey, len, sodium_base64_VARIANT_ORIGINAL);
	/* the user's file first, then the system's, as ssh reads them */
	for (i = 0; i < n && (res == UNKNOWN || res == MISMATCH); i++) {
		enum lookup r = lookup(files[i], pattern, type, key, &lookup_error);
		if (r == LOOKUP_ERROR || r == KNOWN || r == REVOKED || res == UNKNOWN)
			res = r;
	}
	if (res == KNOWN) {
		rc = 0;
	} else if (res == LOOKUP_ERROR) {
		*error = lookup_error;
		lookup_error = NULL;
	} else {
		*error = refusal(res, host, port, pattern, type, files, n);
	}
	free(lookup_error);
	free(key);
	free(pattern);
	for (i = 0; i < n; i++)
		free(files[i]);
	return rc;
}

/*
 * libgit2 has checked ~/.ssh/known_hosts itself by then (valid; 1.5.1
 * and later): this check replaces it, with the file the operator named,
 * the system's file, hashed names, ports and @revoked.
 */
static int check_host(git_cert *cert, int valid, const char *host, void *payload)
{
	struct vf_git_fetch_ctx *ctx = payload;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	const char *type;
	char *error = NULL;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH;        /* TLS: libgit2's own verification */
	type = hk->type & GIT_CERT_SSH_RAW ? key_type_name(hk->raw_type) : NULL;
	if (!type) {
		set_error(ctx, xasprintf("cannot check the host key of '%s': libgit2 did not give "
					 "it in a form virtform knows", host));
		return GIT_EUSER;
	}
	if (vf_git_check_hostkey(ctx->url, host, type, (const unsigned char *)hk->hostkey,
				 hk->hostkey_len, ctx->auth, &error) < 0) {
		set_error(ctx, error);
		return GIT_EUSER;
	}
	return 0;
}

void vf_git_fetch_ctx_init(struct vf_git_fetch_ctx *ctx, const char *url,
			   const struct vf_git_auth *auth, git_remote_callbacks *cb)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->url = url;
	ctx->auth = auth;
	cb->credentials = credentials;
	cb->certificate_check = check_host;
	cb->payload = ctx;
}

void vf_git_fetch_ctx_release(struct vf_git_fetch_ctx *ctx)
{
	free(ctx->error);
	free(ctx->ssh_what);
	memset(ctx, 0, sizeof(*ctx));
}
