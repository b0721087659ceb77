/*
 * names.c — the small value syntaxes of the config: object names, MAC and
 * IPv4 addresses, derived bridge names, and the YAML spelling of enums.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "reconcile/model.h"

bool vf_name_valid(const char *name)
{
	size_t i;

	if (!isalnum((unsigned char)name[0]) || (unsigned char)name[0] >= 0x80)
		return false;
	for (i = 1; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];
		if (i >= VF_NAME_MAX)
			return false;
		if (!(c < 0x80 && (isalnum(c) || c == '_' || c == '.' || c == '-')))
			return false;
	}
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool vf_mac_parse(const char *text, uint8_t mac[6])
{
	int i;

	for (i = 0; i < 6; i++) {
		int hi = hexval((unsigned char)text[0]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)text[1]);
		if (hi < 0 || lo < 0)
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		text += 2;
		if (i < 5 && *text++ != ':')
			return false;
	}
	return *text == '\0';
}

bool vf_ipv4_parse(const char *text, uint32_t *addr, unsigned *prefix, bool want_prefix)
{
	uint32_t a = 0;
	int part;

	for (part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;
		while (isdigit((unsigned char)*text)) {
			if (digits && v == 0)
				return false;       /* no leading zeros: "010" */
			v = v * 10 + (unsigned)(*text++ - '0');
			if (++digits > 3 || v > 255)
				return false;
		}
		if (!digits)
			return false;
		a = a << 8 | v;
		if (part < 3 && *text++ != '.')
			return false;
	}
	if (want_prefix) {
		unsigned p = 0, digits = 0;
		if (*text++ != '/')
			return false;
		while (isdigit((unsigned char)*text)) {
			p = p * 10 + (unsigned)(*text++ - '0');
			if (++digits > 2 || p > 32)
				return false;
		}
		if (!digits)
			return false;
		*prefix = p;
	}
	if (*text)
		return false;
	*addr = a;
	return true;
}

char *vf_ipv4_format(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

const char *vf_network_bridge_name(struct vf_arena *arena, const char *name)
{
	char buf[VF_IFNAME_MAX + 1];
	uint32_t h = 2166136261u;
	const char *p;

	if (strlen(name) + 3 <= VF_IFNAME_MAX) {
		snprintf(buf, sizeof(buf), "br-%s", name);
		return vf_arena_strdup(arena, buf);
	}
	/* "br-" + 7 characters of the name + 5 hex digits of its hash = 15.
	 * FNV-1a in 32 bits, not util.h's 64-bit vf_hash_*: its low bits
	 * differ, and these names are on hosts already. */
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf, sizeof(buf), "br-%.7s%05x", name, (unsigned)(h & 0xfffff));
	return vf_arena_strdup(arena, buf);
}

#define ENUM_NAME(fn, type, ...)                                       \
	const char *fn(type v)                                         \
	{                                                              \
		static const char *const names[] = { __VA_ARGS__ };    \
		return (size_t)v < VF_ARRAY_SIZE(names) ? names[v] : "?"; \
	}

ENUM_NAME(vf_net_mode_name, enum vf_net_mode, "bridge", "nat", "isolated")
ENUM_NAME(vf_storage_type_name, enum vf_storage_type, "dir", "nfs", "logical", "iscsi",
	  "iscsi-direct")
ENUM_NAME(vf_iface_type_name, enum vf_iface_type, "ethernet", "bond", "bridge", "vlan")
ENUM_NAME(vf_vm_state_name, enum vf_vm_state, "running", "stopped")
ENUM_NAME(vf_firmware_name, enum vf_firmware, "bios", "efi")
ENUM_NAME(vf_graphics_type_name, enum vf_graphics_type, "none", "vnc", "spice")
ENUM_NAME(vf_ha_priority_name, enum vf_ha_priority, "low", "medium", "high")
ENUM_NAME(vf_scheduling_name, enum vf_scheduling, "evenly_distributed", "power_saving",
	  "vm_evenly_distributed")
ENUM_NAME(vf_image_format_name, enum vf_image_format, "qcow2", "raw")
