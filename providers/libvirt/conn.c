/*
 * conn.c — libvirt setup, connections and error translation for the
 * libvirt provider (see conn.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "providers/libvirt/conn.h"
#include "reconcile/transport.h"
#include "reconcile/util.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;

/*
 * libvirt's default handler prints every error to stderr; ours are read
 * with virGetLastError() where they are understood and turned into one
 * message.  The global handler also covers errors raised on a connection,
 * and the last error is thread-local, so no per-connection handler
 * (virConnSetErrorFunc) is needed.
 */
static void silent_error_func(void *user_data, virErrorPtr error)
{
	(void)user_data;
	(void)error;
}

static void init(void)
{
	/* libxml2 wants its global state set up before threads use it. */
	xmlInitParser();
	init_status = virInitialize();
	virSetErrorFunc(NULL, silent_error_func);
}

int vf_libvirt_init(char **error)
{
	pthread_once(&init_once, init);
	if (init_status < 0) {
		*error = xstrdup("cannot initialize libvirt");
		return -1;
	}
	return 0;
}

void vf_libvirt_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!size)
		return;
	if (!src)
		src = "";
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

char *vf_libvirt_error(const char *what)
{
	virErrorPtr err = virGetLastError();
	const char *msg = err && err->message ? err->message : "unknown libvirt error";
	char *text, *p;

	text = xasprintf("%s: %s", what, msg);
	/* One line: libvirt passes through multi-line text (ssh, qemu). */
	for (p = text; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	while (p > text && p[-1] == ' ')
		*--p = '\0';
	virResetLastError();
	return text;
}

char *vf_libvirt_uri_unattended(const char *uri)
{
	const char *sep = strstr(uri, "://"), *query;
	size_t scheme_len;

	if (!sep)
		return xstrdup(uri);
	scheme_len = (size_t)(sep - uri);
	if (scheme_len < 4 || strncmp(sep - 4, "+ssh", 4))
		return xstrdup(uri);         /* not ssh (libssh/libssh2 differ) */
	query = strchr(sep, '?');
	if (query && (strstr(query, "?no_tty=") || strstr(query, "&no_tty=")))
		return xstrdup(uri);         /* the user said */
	return xasprintf("%s%cno_tty=1", uri, query ? '&' : '?');
}

/* Any credential request fails instead of prompting on a terminal. */
static int no_prompt(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
	(void)cred;
	(void)ncred;
	(void)cbdata;
	return -1;
}

virConnectPtr vf_libvirt_open(const char *uri, int readonly, char **error)
{
	static int credtypes[] = { VIR_CRED_AUTHNAME, VIR_CRED_PASSPHRASE };
	virConnectAuth auth = { credtypes, VF_ARRAY_SIZE(credtypes), no_prompt, NULL };
	virConnectPtr conn;
	char *real_uri, *why, *hint;

	/* the policy again (validate asked it with the host's
	 * insecure_transport): never a program, a chosen file or a weaker
	 * check, whoever calls */
	if (vf_transport_check(uri, true, &why, &hint) < 0) {
		*error = xasprintf("refused: %s; %s", why, hint);
		free(why);
		free(hint);
		return NULL;
	}
	if (vf_libvirt_init(error) < 0)
		return NULL;
	real_uri = vf_libvirt_uri_unattended(uri);
	conn = virConnectOpenAuth(real_uri, &auth, readonly ? VIR_CONNECT_RO : 0);
	free(real_uri);
	if (!conn)
		*error = vf_libvirt_error("cannot connect");
	return conn;
}
