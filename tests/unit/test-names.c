/* Names, MAC and IPv4 syntax, derived bridge names, edit distance. */
#include <stdlib.h>
#include <string.h>

#include "reconcile/model.h"
#include "tests/tap.h"

int main(void)
{
	static const char *const good[] = { "a", "web1", "Web-1.prod_x", "0abc",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc" /* 63 */ };
	static const char *const bad[] = { "", "-a", ".a", "_a", "a b", "a/b", "a'b", "a;b",
		"wéb", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd" /* 64 */ };
	static const char *const keys[] = { "name", "memory", "cpus", "disks", "nics" };
	struct vf_arena arena = VF_ARENA_INIT;
	uint8_t mac[6];
	uint32_t a;
	unsigned p;
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(good); i++)
		ok(vf_name_valid(good[i]), "name '%s' is valid", good[i]);
	for (i = 0; i < VF_ARRAY_SIZE(bad); i++)
		ok(!vf_name_valid(bad[i]), "name '%s' is invalid", bad[i]);

	ok(vf_mac_parse("52:54:00:12:34:56", mac) && mac[0] == 0x52 && mac[5] == 0x56, "mac parses");
	ok(vf_mac_parse("52:54:00:AB:cd:Ef", mac) && mac[3] == 0xab && mac[5] == 0xef, "mac is case-insensitive");
	ok(!vf_mac_parse("52:54:00:12:34", mac), "short mac rejected");
	ok(!vf_mac_parse("52:54:00:12:34:567", mac), "long mac rejected");
	ok(!vf_mac_parse("52-54-00-12-34-56", mac), "dashes rejected");

	ok(vf_ipv4_parse("10.77.0.1", &a, NULL, false) && a == 0x0a4d0001, "ipv4 parses");
	ok(vf_ipv4_parse("10.77.0.1/24", &a, &p, true) && p == 24, "ipv4/prefix parses");
	ok(!vf_ipv4_parse("10.77.0.1/33", &a, &p, true), "prefix 33 rejected");
	{
		char buf[16];
		is_str(vf_ipv4_format(0x0a4d0001, buf), "10.77.0.1", "ipv4 formats");
		is_str(vf_ipv4_format(0xffffffff, buf), "255.255.255.255", "the longest ipv4 fits");
	}
	ok(!vf_ipv4_parse("10.77.0.256", &a, NULL, false), "octet 256 rejected");
	ok(!vf_ipv4_parse("10.77.0", &a, NULL, false), "three octets rejected");
	ok(!vf_ipv4_parse("010.1.1.1", &a, NULL, false), "leading zero rejected");
	ok(!vf_ipv4_parse("10.77.0.1", &a, &p, true), "missing prefix rejected");

	is_str(vf_network_bridge_name(&arena, "prod"), "br-prod", "short bridge name");
	ok(strlen(vf_network_bridge_name(&arena, "a-very-long-network-name")) == 15,
	   "long names derive a 15-byte bridge name");
	ok(strcmp(vf_network_bridge_name(&arena, "production-a"),
		  vf_network_bridge_name(&arena, "production-b")) != 0,
	   "derived names of similar networks differ");

	is_int(vf_edit_distance("memroy", "memory", 3), 2, "transposition costs 2");
	is_str(vf_nearest("memroy", keys, VF_ARRAY_SIZE(keys)), "memory", "nearest key to memroy");
	is_str(vf_nearest("cpu", keys, VF_ARRAY_SIZE(keys)), "cpus", "nearest key to cpu");
	is_str(vf_nearest("zzzzzz", keys, VF_ARRAY_SIZE(keys)), NULL, "no suggestion for nonsense");
	vf_arena_release(&arena);
	return tap_done();
}
