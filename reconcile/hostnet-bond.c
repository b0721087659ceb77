/*
 * hostnet-bond.c — the bond options virtform sets: their canonical values
 * and what the kernel would refuse or do otherwise in a bond's options,
 * checked before anything changes (see hostnet.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/hostnet-internal.h"

/*
 * The bond options virtform sets, with the kernel's rules that can be
 * checked before anything changes: the values it takes and the modes it
 * accepts the option in (it refuses the others).  providers/hostnet/links.c
 * has the same table with the netlink attributes; keep the two in step.
 */
enum {
	MODE_RR = 1 << 0, MODE_AB = 1 << 1, MODE_XOR = 1 << 2, MODE_BROADCAST = 1 << 3,
	MODE_8023AD = 1 << 4, MODE_TLB = 1 << 5, MODE_ALB = 1 << 6, MODE_ALL = 0x7f,
};
static const char *const bond_mode_names[] = {
	"balance-rr", "active-backup", "balance-xor", "broadcast",
	"802.3ad", "balance-tlb", "balance-alb",
};
static const char *const lacp_rates[] = { "slow", "fast", NULL };
static const char *const ad_selects[] = { "stable", "bandwidth", "count", NULL };
static const char *const xmit_hash_policies[] = {
	"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac", NULL,
};
static const char *const primary_reselects[] = { "always", "better", "failure", NULL };

struct bond_option {
	const char *name;
	const char *const *values;  /* enumeration, by kernel number; NULL: a number or link */
	bool link;                  /* a link name (primary) */
	unsigned modes;             /* the modes the kernel accepts it in */
};

static const struct bond_option bond_options[] = {
	{ "miimon", NULL, false, MODE_ALL },
	{ "updelay", NULL, false, MODE_ALL },
	{ "downdelay", NULL, false, MODE_ALL },
	{ "arp_interval", NULL, false, MODE_RR | MODE_AB | MODE_XOR | MODE_BROADCAST },
	{ "lacp_rate", lacp_rates, false, MODE_8023AD },
	{ "ad_select", ad_selects, false, MODE_8023AD },
	{ "xmit_hash_policy", xmit_hash_policies, false, MODE_ALL },
	{ "primary", NULL, true, MODE_AB | MODE_TLB | MODE_ALB },
	{ "primary_reselect", primary_reselects, false, MODE_AB | MODE_TLB | MODE_ALB },
	{ "min_links", NULL, false, MODE_ALL },
};

bool vf_hostnet_bond_mode_known(const char *mode)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(bond_mode_names); i++)
		if (!strcmp(bond_mode_names[i], mode))
			return true;
	return false;
}

const char *vf_hostnet_bond_option_names(void)
{
	return "miimon, updelay, downdelay, arp_interval, lacp_rate, ad_select, "
	       "xmit_hash_policy, primary, primary_reselect, min_links";
}

static const struct bond_option *bond_option_find(const char *name)
{
	return VF_FIND_BY(bond_options, VF_ARRAY_SIZE(bond_options), name, name);
}

static char *joined(const char *const *v, const char *last_sep)
{
	struct vf_buf s = VF_BUF_INIT;
	size_t i;

	for (i = 0; v[i]; i++) {
		if (i)
			vf_buf_adds(&s, v[i + 1] ? ", " : last_sep);
		vf_buf_adds(&s, v[i]);
	}
	return vf_buf_detach(&s);
}

/* A link name as the kernel takes it (the same rule as the provider's). */
bool vf_hostnet_ifname_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > VF_IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strcspn(name, "/: \t\n\v\f\r") == len;
}

int vf_hostnet_bond_option_canon(struct vf_arena *arena, const char *name, const char *value,
				 const char **canon, char **error)
{
	const struct bond_option *o = bond_option_find(name);
	size_t i;

	if (!o) {
		const char *names[VF_ARRAY_SIZE(bond_options)];
		const char *near;

		for (i = 0; i < VF_ARRAY_SIZE(bond_options); i++)
			names[i] = bond_options[i].name;
		near = vf_nearest(name, names, VF_ARRAY_SIZE(bond_options));
		if (near)
			*error = xasprintf("unknown bond option '%s'; did you mean '%s'?", name, near);
		else
			*error = xasprintf("unknown bond option '%s'; virtform sets %s", name,
					   vf_hostnet_bond_option_names());
		return -1;
	}
	if (o->link) {
		if (!vf_hostnet_ifname_ok(value)) {
			*error = xasprintf("bond option '%s': '%s' is not a link name (1 to %d bytes, "
					   "no '/', ':' or white space)", name, value, VF_IFNAME_MAX);
			return -1;
		}
		*canon = vf_arena_strdup(arena, value);
		return 0;
	}
	if (o->values) {
		for (i = 0; o->values[i]; i++)
			if (!strcmp(o->values[i], value))
				break;
		if (!o->values[i] && value[0] >= '0' && value[0] <= '9' && !value[1] &&
		    (size_t)(value[0] - '0') < i)
			i = (size_t)(value[0] - '0');   /* the kernel's number, as sysfs takes it */
		if (!o->values[i]) {
			char *list = joined(o->values, " or ");
			*error = xasprintf("bond option '%s': '%s' is not one of %s", name, value, list);
			free(list);
			return -1;
		}
		*canon = o->values[i];
		return 0;
	}
	{
		unsigned long v = 0;
		const char *p;

		for (p = value; *p >= '0' && *p <= '9' && v <= INT_MAX; p++)
			v = v * 10 + (unsigned long)(*p - '0');
		if (!*value || *p || v > INT_MAX) {
			*error = xasprintf("bond option '%s': '%s' is not a whole number 0..%d",
					   name, value, INT_MAX);
			return -1;
		}
		*canon = afmt(arena, "%lu", v);
	}
	return 0;
}

const char *vf_hostnet_label_get(const struct vf_label *l, size_t n, const char *key)
{
	const struct vf_label *found = VF_FIND_BY(l, n, key, key);
	return found ? found->value : NULL;
}

static unsigned long label_num(const struct vf_label *l, size_t n, const char *key)
{
	const char *v = vf_hostnet_label_get(l, n, key);
	return v ? strtoul(v, NULL, 10) : 0;
}

/* Option key of bond d is not for mode: say which modes (bits of
 * bond_mode_names) it is for. */
static void mode_refused(const struct vf_host_link *d, const char *key, unsigned modes,
			 const char *mode, struct vf_diags *diags)
{
	const char *names[VF_ARRAY_SIZE(bond_mode_names) + 1];
	size_t m, n = 0;
	char *list;

	for (m = 0; m < VF_ARRAY_SIZE(bond_mode_names); m++)
		if (modes & (1u << m))
			names[n++] = bond_mode_names[m];
	names[n] = NULL;
	list = joined(names, " and ");
	vf_error_at(diags, &d->pos, "remove the option, or change the mode",
		    "bond '%s': option '%s' applies only in mode %s, not %s%s",
		    d->name, key, list, mode,
		    d->bond_mode ? "" : " (the bond's mode on this host)");
	free(list);
}

/*
 * What the kernel would refuse, or do otherwise than asked, in the options
 * of bond d in mode (NULL: the kernel's default, balance-rr): an option of
 * another mode, MII and ARP monitoring together, delays without MII
 * monitoring or not a multiple of it, a primary that is not a port.
 */
void vf_hostnet_bond_options_check(const struct vf_host_link *d, const char *mode,
				    const char *host, struct vf_diags *diags)
{
	unsigned miimon = (unsigned)label_num(d->bond_options, d->n_bond_options, "miimon");
	unsigned bit = 1;
	size_t i, m;

	if (!mode)
		mode = "balance-rr";
	for (m = 0; m < VF_ARRAY_SIZE(bond_mode_names); m++)
		if (!strcmp(bond_mode_names[m], mode))
			bit = 1u << m;
	for (i = 0; i < d->n_bond_options; i++) {
		const struct vf_label *l = &d->bond_options[i];
		const struct bond_option *o = bond_option_find(l->key);

		if (!o)
			continue;
		if (!(o->modes & bit))
			mode_refused(d, l->key, o->modes, mode, diags);
		if ((!strcmp(l->key, "updelay") || !strcmp(l->key, "downdelay")) &&
		    strcmp(l->value, "0")) {
			unsigned long v = strtoul(l->value, NULL, 10);
			if (!miimon)
				vf_error_at(diags, &d->pos, "set miimon (e.g. 100) in the same options",
					    "bond '%s': option '%s' needs option 'miimon' above 0 "
					    "(the kernel counts delays in MII monitoring intervals)",
					    d->name, l->key);
			else if (v % miimon)
				vf_error_at(diags, &d->pos, "use a multiple of miimon",
					    "bond '%s': option '%s' %lu is not a multiple of miimon %u "
					    "(the kernel would round it down)", d->name, l->key, v, miimon);
		}
		if (!strcmp(l->key, "primary")) {
			for (m = 0; m < d->n_ports; m++)
				if (!strcmp(d->ports[m], l->value))
					break;
			if (m == d->n_ports)
				vf_error_at(diags, &d->pos, "name one of the bond's ports",
					    "bond '%s': option 'primary' names '%s', which is not one "
					    "of its ports on host %s", d->name, l->value, host);
		}
	}
	if (miimon && label_num(d->bond_options, d->n_bond_options, "arp_interval"))
		vf_error_at(diags, &d->pos, "keep one of them (set the other to 0, or leave it out)",
			    "bond '%s': options 'miimon' and 'arp_interval' exclude each other "
			    "(the kernel turns one off when the other is set)", d->name);
}
