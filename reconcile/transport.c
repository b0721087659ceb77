/*
 * transport.c — the transport policy (transport.h): a libvirt URI parsed
 * with libxml2 (libvirt's own parser), its scheme, path and every query
 * parameter checked against an allow-list.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/uri.h>

#include "reconcile/transport.h"
#include "reconcile/util.h"

/* A query parameter virtform allows, with the values it allows. */
struct param {
	const char *name;
	const char *const *values;      /* NULL-terminated */
	bool list;                      /* a comma list of values */
};

static const char *const one[] = { "1", NULL };
static const char *const normal[] = { "normal", NULL };
static const char *const modes[] = { "auto", "legacy", "direct", NULL };
static const char *const proxies[] = { "auto", "netcat", "native", NULL };
static const char *const auths[] = { "agent", "privkey", "password", "keyboard-interactive",
				     NULL };

static const struct param allowed[] = {
	{ "no_tty", one, false },
	{ "known_hosts_verify", normal, false },
	{ "mode", modes, false },
	{ "proxy", proxies, false },
	{ "sshauth", auths, true },
};

/* A parameter refused by name: the risk, and what to do instead. */
struct refusal {
	const char *name;
	const char *risk;
	const char *instead;
};

static const struct refusal refused[] = {
	{ "command", "runs a program on the machine that runs virtform",
	  "remove it; libvirt finds ssh itself, and a jump host goes in ~/.ssh/config or "
	  "$VIRTFORM_SSH_CONFIG on the machine that runs virtform" },
	{ "netcat", "names the program the host's shell runs",
	  "remove it; proxy=native or proxy=netcat choose libvirt's own helper" },
	{ "socket", "names a socket path of the repository's choosing",
	  "remove it; libvirt uses the daemon's default socket" },
	{ "keyfile", "names a key file on the machine that runs virtform",
	  "remove it; give the key through the ssh-agent, or IdentityFile in ~/.ssh/config or "
	  "$VIRTFORM_SSH_CONFIG on the machine that runs virtform" },
	{ "pkipath", "names the certificate directory (the trusted CA) on the machine that "
		     "runs virtform",
	  "remove it; keep the CA and client certificate in libvirt's default places "
	  "(/etc/pki/CA, /etc/pki/libvirt, or ~/.pki/libvirt)" },
	{ "known_hosts", "names the file of trusted host keys on the machine that runs virtform",
	  "remove it; host keys go in ~/.ssh/known_hosts on the machine that runs virtform" },
	{ "no_verify", "turns off the TLS certificate check",
	  "remove it; give the host a certificate signed by a CA the machine that runs "
	  "virtform trusts" },
	{ "known_hosts_verify", "turns off the SSH host key check",
	  "remove it (or write known_hosts_verify=normal); add the host key to "
	  "~/.ssh/known_hosts on the machine that runs virtform" },
	{ "tls_priority", "can weaken TLS (protocol versions and ciphers)",
	  "remove it; libvirt's default TLS priority applies" },
	{ "name", "makes the host's daemon open another driver URI",
	  "remove it; the URI's path (/system) says what to open" },
	{ "no_tty", "lets ssh ask for a password on a terminal",
	  "remove it; virtform adds no_tty=1 and runs unattended" },
};

static bool in(const char *v, const char *const *values)
{
	for (; *values; values++)
		if (!strcasecmp(v, *values))
			return true;
	return false;
}

static bool value_allowed(const struct param *p, const char *v)
{
	char *copy, *item, *save = NULL;
	bool ok = true;

	if (!p->list)
		return in(v, p->values);
	copy = xstrdup(v);
	for (item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save))
		ok = in(item, p->values);
	free(copy);
	return ok && *v;
}

static int refuse(char **why, char **hint, char *w, const char *h)
{
	*why = w;
	*hint = xstrdup(h);
	return -1;
}

/* One query parameter "name=value" (escaped, len bytes).  0 or -1. */
static int check_param(const char *uri, const char *text, size_t len, char **why, char **hint)
{
	const char *eq = memchr(text, '=', len);
	char *name, *value;
	size_t i;
	int rc = 0;

	name = xmlURIUnescapeString(text, eq ? (int)(eq - text) : (int)len, NULL);
	value = eq && (size_t)(eq + 1 - text) < len
		? xmlURIUnescapeString(eq + 1, (int)(len - (size_t)(eq + 1 - text)), NULL)
		: (char *)xmlCharStrdup("");
	if (!name || !value) {
		rc = refuse(why, hint, xasprintf("uri '%s': a query parameter cannot be decoded", uri),
			    "write the parameters as name=value separated by '&'");
		goto out;
	}
	for (i = 0; i < VF_ARRAY_SIZE(allowed); i++)
		if (!strcasecmp(name, allowed[i].name) && value_allowed(&allowed[i], value))
			goto out;
	for (i = 0; i < VF_ARRAY_SIZE(refused); i++)
		if (!strcasecmp(name, refused[i].name)) {
			rc = refuse(why, hint, xasprintf("uri '%s': '%s=%s' %s", uri, name, value,
							 refused[i].risk), refused[i].instead);
			goto out;
		}
	for (i = 0; i < VF_ARRAY_SIZE(allowed); i++)
		if (!strcasecmp(name, allowed[i].name))
			break;
	if (i < VF_ARRAY_SIZE(allowed))
		rc = refuse(why, hint, xasprintf("uri '%s': '%s=%s' is not a value virtform allows",
						 uri, name, value),
			    "see docs/config.md (hosts: uri) for the values virtform allows");
	else
		rc = refuse(why, hint, xasprintf("uri '%s': parameter '%s' is not one virtform "
						 "allows (it could run a program, read a file or "
						 "weaken the transport's checks)", uri, name),
			    "remove it; virtform allows no_tty, known_hosts_verify=normal, mode, proxy "
			    "and sshauth (docs/config.md)");
out:
	xmlFree(name);
	xmlFree(value);
	return rc;
}

static int check_query(const char *uri, const char *q, char **why, char **hint)
{
	const char *end;

	if (strchr(q, ';'))
		return refuse(why, hint, xasprintf("uri '%s': ';' in the query is ambiguous", uri),
			      "separate the parameters with '&'");
	for (; *q; q = *end ? end + 1 : end) {
		end = strchr(q, '&');
		if (!end)
			end = q + strlen(q);
		if (end > q && check_param(uri, q, (size_t)(end - q), why, hint) < 0)
			return -1;
	}
	return 0;
}

static bool test_files_allowed(void)
{
	const char *e = getenv("VIRTFORM_TEST_DRIVER_FILES");

	return e && !strcmp(e, "1");
}

bool vf_transport_is_clear(const char *uri)
{
	return uri && !strncasecmp(uri, "qemu+tcp:", 9);
}

/* test:///default, libvirt's test driver: no host, no parameters, no file
 * (but virtform's own tests').  0 or -1. */
static int check_test_driver(const char *uri, xmlURIPtr u, char **why, char **hint)
{
	if (u->server || (u->query_raw && *u->query_raw))
		return refuse(why, hint, xasprintf("uri '%s': the test driver takes no host and no "
						   "parameters", uri), "write test:///default");
	if ((!u->path || strcmp(u->path, "/default")) && !test_files_allowed())
		return refuse(why, hint, xasprintf("uri '%s' makes libvirt's test driver read a file "
						   "on the machine that runs virtform", uri),
			      "write test:///default (test://FILE is for virtform's own tests: "
			      "VIRTFORM_TEST_DRIVER_FILES=1)");
	return 0;
}

/* A qemu URI's transport (after '+'): none of ext (it runs a program), an
 * unknown one, or tcp unless the host says insecure_transport.  0 or -1. */
static int check_transport(const char *uri, const char *transport, bool insecure_ok, char **why,
			   char **hint)
{
	static const char *const transports[] = { "", "unix", "ssh", "libssh", "libssh2", "tls",
						  "tcp", NULL };

	if (!strcasecmp(transport, "ext"))
		return refuse(why, hint, xasprintf("uri '%s': transport 'ext' runs a program on the "
						   "machine that runs virtform", uri),
			      "use qemu+ssh:// or qemu+tls://; a jump host goes in ~/.ssh/config or "
			      "$VIRTFORM_SSH_CONFIG on the machine that runs virtform");
	if (!in(transport, transports))
		return refuse(why, hint, xasprintf("uri '%s': transport '%s' is not one virtform "
						   "allows", uri, transport),
			      "use qemu+ssh://, qemu+tls:// or qemu:/// (docs/config.md)");
	if (!strcasecmp(transport, "tcp") && !insecure_ok)
		return refuse(why, hint, xasprintf("uri '%s': qemu+tcp sends everything in clear "
						   "text, CHAP secrets, cloud-init seeds and graphics "
						   "passwords included", uri),
			      "use qemu+tls:// or qemu+ssh://; for a lab on a private network only, "
			      "say insecure_transport: true on the host");
	return 0;
}

int vf_transport_check(const char *uri, bool insecure_ok, char **why, char **hint)
{
	xmlURIPtr u;
	const char *plus, *transport;
	char *driver = NULL;
	int rc = -1;

	*why = *hint = NULL;
	u = uri ? xmlParseURI(uri) : NULL;
	if (!u || !u->scheme) {
		refuse(why, hint, xasprintf("uri '%s' is not a URI", uri ? uri : ""),
		       "for example qemu+ssh://root@hyper1.example.com/system or qemu:///system");
		goto out;
	}
	plus = strchr(u->scheme, '+');
	driver = plus ? xstrndup(u->scheme, (size_t)(plus - u->scheme)) : xstrdup(u->scheme);
	transport = plus ? plus + 1 : "";
	if (u->fragment) {
		refuse(why, hint, xasprintf("uri '%s' has a fragment ('#')", uri), "remove it");
		goto out;
	}
	if ((u->server && u->server[0] == '-') || (u->user && u->user[0] == '-')) {
		refuse(why, hint, xasprintf("uri '%s': a host or user starting with '-' would be read "
					    "as an ssh option", uri), "write the host's name or address");
		goto out;
	}
	if (!strcasecmp(driver, "test") && !plus) {
		rc = check_test_driver(uri, u, why, hint);
		goto out;
	}
	if (strcasecmp(driver, "qemu")) {
		refuse(why, hint, xasprintf("uri '%s': driver '%s' is not one virtform manages",
					    uri, driver),
		       "write a qemu URI such as qemu+ssh://root@hyper1.example.com/system");
		goto out;
	}
	if (check_transport(uri, transport, insecure_ok, why, hint) < 0)
		goto out;
	if (!u->path || (strcmp(u->path, "/system") && strcmp(u->path, "/session"))) {
		refuse(why, hint, xasprintf("uri '%s': path '%s' is not /system or /session", uri,
					    u->path ? u->path : ""),
		       "write .../system (or .../session)");
		goto out;
	}
	if (u->query_raw && check_query(uri, u->query_raw, why, hint) < 0)
		goto out;
	rc = 0;
out:
	free(driver);
	if (u)
		xmlFreeURI(u);
	return rc;
}

/* ---- image files ---------------------------------------------------------- */

/* Has path a ".." component? */
static bool has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, "..")) != NULL) {
		if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
		p += 2;
	}
	return false;
}

/* Is path (lexically) dir or below it? */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

char *vf_image_root(const char *file, const char *dir, char **why)
{
	const char *env = getenv("VIRTFORM_IMAGE_PATH");
	char *list, *d, *save = NULL, *root = NULL;

	*why = NULL;
	if (has_dotdot(file)) {
		*why = xasprintf("'%s' has a '..' component: a configuration names no file outside "
				 "its directory", file);
		return NULL;
	}
	if (!dir && file[0] != '/') {
		/* read from git: the files have no directory on this machine, and
		 * the current one (/ for a service) would open every file to it */
		*why = xasprintf("'%s' is relative, and a configuration read from git has no "
				 "directory on the machine that runs virtform", file);
		return NULL;
	}
	if (dir && (file[0] != '/' || (dir[0] == '/' && under(file, dir))))
		return xstrdup(dir);
	list = xstrdup(env ? env : "");
	for (d = strtok_r(list, ":", &save); d && !root; d = strtok_r(NULL, ":", &save))
		if (d[0] == '/' && !has_dotdot(d) && under(file, d))
			root = xstrdup(d);
	free(list);
	if (!root)
		*why = xasprintf("'%s' is outside the configuration's directory and outside every "
				 "directory VIRTFORM_IMAGE_PATH allows: a configuration names no "
				 "file of the machine that runs virtform", file);
	return root;
}

int vf_image_open_check(const char *path, const char *root, char **real, char **why)
{
	char *r = realpath(path, NULL), *rr = root ? realpath(root, NULL) : NULL;
	int rc = -1;

	*real = *why = NULL;
	if (!r)
		*why = xasprintf("cannot read image file '%s': %s", path, strerror(errno));
	else if (!rr || !under(r, rr))
		*why = xasprintf("image file '%s' resolves to '%s', outside '%s' (a symbolic link "
				 "out of the directory it must stay in)", path, r, root ? root : "?");
	else
		rc = 0;
	if (rc == 0)
		*real = r;
	else
		free(r);
	free(rr);
	return rc;
}
