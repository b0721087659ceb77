/* The libvirt provider opens ssh URIs unattended (no_tty=1), others as given. */
#include <stdlib.h>

#include "providers/libvirt/conn.h"
#include "tests/tap.h"

static void check(const char *in, const char *want)
{
	char *got = vf_libvirt_uri_unattended(in);
	is_str(got, want, "%s", in);
	free(got);
}

int main(void)
{
	check("qemu+ssh://root@hyper1.abc.local/system", "qemu+ssh://root@hyper1.abc.local/system?no_tty=1");
	check("qemu+ssh://root@h/system?keyfile=/k", "qemu+ssh://root@h/system?keyfile=/k&no_tty=1");
	check("qemu+ssh://root@h/system?no_tty=0", "qemu+ssh://root@h/system?no_tty=0");
	check("qemu+ssh://h/system?keyfile=/k&no_tty=0", "qemu+ssh://h/system?keyfile=/k&no_tty=0");
	check("qemu+tcp://169.254.77.11/system", "qemu+tcp://169.254.77.11/system");
	check("qemu:///system", "qemu:///system");
	check("qemu+libssh2://h/system", "qemu+libssh2://h/system");
	check("test:///default", "test:///default");
	return tap_done();
}
