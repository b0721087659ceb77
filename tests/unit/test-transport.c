/* The transport policy (reconcile/transport.h): what a configuration's uri
 * may say, and the libvirt connect path refusing the rest whoever asks. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "providers/libvirt/conn.h"
#include "reconcile/transport.h"
#include "tests/tap.h"

static void allowed(const char *uri, bool insecure_ok)
{
	char *why = NULL, *hint = NULL;

	ok(vf_transport_check(uri, insecure_ok, &why, &hint) == 0 && !why && !hint,
	   "allowed: %s%s (%s)", uri, insecure_ok ? " (insecure_transport)" : "",
	   why ? why : "");
	free(why);
	free(hint);
}

static void refused(const char *uri, bool insecure_ok, const char *risk)
{
	char *why = NULL, *hint = NULL;
	int rc = vf_transport_check(uri, insecure_ok, &why, &hint);

	ok(rc == -1 && why && strstr(why, risk) && hint && *hint, "refused: %s: %s", uri,
	   why ? why : "(allowed)");
	free(why);
	free(hint);
}

int main(void)
{
	virConnectPtr conn;
	char *error = NULL;

	allowed("qemu:///system", false);
	allowed("qemu:///session", false);
	allowed("qemu+unix:///system", false);
	allowed("qemu+ssh://root@hyper1.abc.local/system", false);
	allowed("qemu+ssh://root@hyper1.abc.local:2222/system?no_tty=1", false);
	allowed("qemu+libssh2://root@h/system?known_hosts_verify=normal&sshauth=agent,privkey", false);
	allowed("qemu+tls://hyper1/system?mode=direct&proxy=native", false);
	allowed("qemu://hyper1/system", false);
	allowed("qemu+tcp://169.254.77.11/system", true);
	allowed("test:///default", false);

	refused("qemu+tcp://169.254.77.11/system", false, "clear text");
	refused("qemu+ext:///system?command=/bin/sh", true, "runs a program");
	refused("qemu+ssh://h/system?COMMAND=/bin/sh", false, "runs a program");
	refused("qemu+ssh://h/system?no_tty=1&%63ommand=/bin/sh", false, "runs a program");
	refused("qemu+ssh://h/system?netcat=/tmp/nc", false, "program");
	refused("qemu+ssh://h/system?socket=/tmp/s", false, "socket");
	refused("qemu+libssh://h/system?keyfile=/etc/virtform/secret.key", false, "key file");
	refused("qemu+libssh://h/system?known_hosts=/srv/repo/kh", false, "host keys");
	refused("qemu+libssh://h/system?known_hosts_verify=ignore", false, "host key check");
	refused("qemu+libssh://h/system?known_hosts_verify=auto", false, "host key check");
	refused("qemu+tls://h/system?no_verify=1", false, "TLS certificate check");
	refused("qemu+tls://h/system?no_verify=0", false, "TLS certificate check");
	refused("qemu+tls://h/system?pkipath=/srv/repo/pki", false, "certificate directory");
	refused("qemu+tls://h/system?tls_priority=NORMAL:%2BVERS-SSL3.0", false, "weaken TLS");
	refused("qemu+ssh://h/system?name=test:///etc/shadow", false, "another driver URI");
	refused("qemu+ssh://h/system?no_tty=0", false, "terminal");
	refused("qemu+ssh://h/system?mode=other", false, "not a value");
	refused("qemu+ssh://h/system?sshauth=agent,gssapi", false, "not a value");
	refused("qemu+ssh://h/system?whatever=1", false, "not one virtform allows");
	refused("qemu+ssh://h/system?no_tty=1;command=/bin/sh", false, "';'");
	refused("qemu+ssh://h/system#x", false, "fragment");
	refused("qemu+ssh://-oProxyCommand=x/system", false, "ssh option");
	refused("qemu+ssh://-l@h/system", false, "ssh option");
	refused("qemu:///embed?root=/tmp/r", false, "not /system");
	refused("qemu+fd:///system", false, "transport 'fd'");
	refused("xen:///system", false, "driver 'xen'");
	refused("test:///etc/passwd", false, "read a file");
	refused("test://h/default", false, "no host");
	ok(vf_transport_is_clear("qemu+tcp://h/system") && !vf_transport_is_clear("qemu+tls://h/system"),
	   "only qemu+tcp is clear text");

	/* the connect path asks the same policy: the program never runs */
	unlink("/tmp/vf-transport-ran");
	conn = vf_libvirt_open("qemu+ext:///system?command=/bin/touch%20/tmp/vf-transport-ran",
			       1, &error);
	ok(!conn && error && strstr(error, "refused: ") && strstr(error, "runs a program"),
	   "vf_libvirt_open refuses an ext URI: %s", error ? error : "(opened)");
	ok(access("/tmp/vf-transport-ran", F_OK) != 0, "and ran nothing");
	free(error);
	error = NULL;
	conn = vf_libvirt_open("test:///default", 1, &error);
	ok(conn != NULL, "vf_libvirt_open opens test:///default: %s", error ? error : "");
	if (conn)
		virConnectClose(conn);
	free(error);
	return tap_done();
}
