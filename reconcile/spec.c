/*
 * spec.c — small helpers of the resource model (spec.h) shared by the
 * engine and providers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/spec.h"

const char *vf_kind_name(enum vf_kind k)
{
	static const char *const names[VF_KIND_COUNT] = {
		[VF_KIND_STORAGE] = "storage",
		[VF_KIND_VOLUME] = "volume",
		[VF_KIND_NETWORK] = "network",
		[VF_KIND_VM] = "vm",
	};
	return (unsigned)k < VF_KIND_COUNT ? names[k] : "?";
}

int vf_kind_parse(const char *name, enum vf_kind *k)
{
	int i;

	for (i = 0; name && i < VF_KIND_COUNT; i++)
		if (!strcmp(vf_kind_name(i), name)) {
			*k = i;
			return 0;
		}
	return -1;
}

struct vf_observed_item *vf_observed_add(struct vf_observed *o, enum vf_kind kind,
					 const char *name)
{
	struct vf_observed_item *it;

	VF_GROW(o->items, o->n_items + 1, o->alloc_items);
	it = &o->items[o->n_items++];
	memset(it, 0, sizeof(*it));
	it->r.kind = kind;
	it->r.name = vf_arena_strdup(&o->arena, name);
	it->r.host = o->host;
	return it;
}

void vf_observed_free(struct vf_observed *o)
{
	if (!o)
		return;
	free(o->items);
	vf_arena_release(&o->arena);
	free(o);
}

void vf_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

char *vf_address_new(enum vf_kind kind, const char *name, const char *host)
{
	if (kind == VF_KIND_VM)
		return xasprintf("vm.%s", name);
	return xasprintf("%s.%s@%s", vf_kind_name(kind), name, host);
}
