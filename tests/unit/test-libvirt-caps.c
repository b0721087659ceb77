/*
 * The libvirt provider's capabilities parsing: host CPU model and arch by
 * XPath, absent elements as "", malformed XML as an error — without a
 * hypervisor.
 */
#include <stdlib.h>

#include "providers/libvirt/facts.h"
#include "tests/tap.h"

static const char caps[] =
	"<capabilities>\n"
	"  <host>\n"
	"    <uuid>0f6e5cd4-4b1c-4a36-9bd3-3b9a3c1e0001</uuid>\n"
	"    <cpu>\n"
	"      <arch>x86_64</arch>\n"
	"      <model>Skylake-Client-IBRS</model>\n"
	"      <vendor>Intel</vendor>\n"
	"      <topology sockets='1' dies='1' cores='4' threads='2'/>\n"
	"    </cpu>\n"
	"  </host>\n"
	"  <guest>\n"
	"    <os_type>hvm</os_type>\n"
	"    <arch name='i686'><model>decoy</model></arch>\n"
	"  </guest>\n"
	"</capabilities>\n";

int main(void)
{
	struct vf_host_facts facts = { 0 };
	char *error = NULL;

	is_int(vf_libvirt_parse_capabilities(caps, &facts, &error), 0, "capabilities parse");
	is_str(facts.cpu_model, "Skylake-Client-IBRS", "host CPU model");
	is_str(facts.arch, "x86_64", "host arch, not a guest's");
	ok(error == NULL, "no error");

	is_int(vf_libvirt_parse_capabilities("<capabilities><host><cpu><arch>aarch64</arch></cpu></host></capabilities>",
					     &facts, &error), 0, "no model element");
	is_str(facts.cpu_model, "", "absent model is empty");
	is_str(facts.arch, "aarch64", "arch still read");

	is_int(vf_libvirt_parse_capabilities("<capabilities><host>", &facts, &error), -1,
	       "malformed XML is an error");
	ok(error != NULL, "with a message: %s", error ? error : "(none)");
	free(error);
	return tap_done();
}
