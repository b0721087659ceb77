/*
 * load-cloudinit.c — a VM's cloud_init: into the model: hostname, users
 * (with sealed passwords and keys), user_data, and the free-form
 * mappings turned into JSON for the seed ISO (cloudinit.c writes it).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "reconcile/load-internal.h"

/* A plain scalar the YAML 1.2 core way: null, true/false, integer, float. */
static json_t *scalar_json(const struct vf_node *v)
{
	const char *t = v->u.text, *p = t;
	char *end;

	if (v->plain) {
		if (vf_node_is_null(v))
			return json_null();
		if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE"))
			return json_true();
		if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE"))
			return json_false();
		if (*p == '-' || *p == '+')
			p++;
		if (*p >= '0' && *p <= '9' && strspn(p, "0123456789") == strlen(p)) {
			long long n;
			errno = 0;
			n = strtoll(t, &end, 10);
			if (!errno && !*end)
				return json_integer(n);
		} else if (*p && strspn(p, "0123456789.eE+-") == strlen(p) && strpbrk(p, "0123456789")) {
			double x = strtod(t, &end);
			if (!*end)
				return json_real(x);
		}
	}
	return json_stringn(t, v->n);
}

/* A YAML subtree as JSON; NULL when a string is not UTF-8 (reported). */
static json_t *node_json(struct loader *L, const struct vf_node *v, const char *ctx)
{
	json_t *j;
	uint32_t i;

	switch (v->kind) {
	case VF_NODE_SCALAR:
		j = scalar_json(v);
		if (!j)
			ERR(L, &v->pos, NULL, "%s: not a UTF-8 string", ctx);
		return j;
	case VF_NODE_SEQ:
		j = json_array();
		for (i = 0; i < v->n; i++) {
			json_t *it = node_json(L, v->u.items[i], ctx);
			if (!it) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, it);
		}
		return j;
	default:
		j = json_object();
		for (i = 0; i < v->n; i++) {
			const struct vf_node *k = v->u.pairs[i].key;
			json_t *it;
			char *key = xstrndup(k->u.text, k->n);
			it = node_json(L, v->u.pairs[i].value, ctx);
			if (!it || json_object_set_new(j, key, it) < 0) {
				if (it)
					ERR(L, &k->pos, NULL, "%s: key is not a UTF-8 string", ctx);
				free(key);
				json_decref(j);
				return NULL;
			}
			free(key);
		}
		return j;
	}
}

/* RFC 1123 host name: labels of letters, digits and '-', dots between. */
static bool hostname_valid(const char *s)
{
	size_t label = 0, i, n = strlen(s);

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			   (c == '-' && label)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label && s[n - 1] != '-';
}

/* A login name as useradd takes it by default: [a-z_][a-z0-9_-]{0,31}. */
static bool login_valid(const char *s)
{
	size_t i;
	if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (i = 1; s[i]; i++)
		if (i >= 32 || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
				 s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* The first lines cloud-init recognizes user-data by (anything else it
 * ignores, silently: better said at validate). */
static bool user_data_recognized(const char *s)
{
	static const char *const starts[] = { "#cloud-config", "#!", "#include", "#cloud-boothook",
					      "#part-handler", "#upstart-job", "## template:",
					      "Content-Type:", "MIME-Version:" };
	size_t i;
	for (i = 0; i < VF_ARRAY_SIZE(starts); i++)
		if (!strncmp(s, starts[i], strlen(starts[i])))
			return true;
	return false;
}

/* One cloud_init user into slot (a struct vf_cloud_init_user); its name. */
static const char *load_ci_user(struct loader *L, const struct vf_node *n, void *slot,
				const char *ci_ctx, size_t idx)
{
	static const char *const keys[] = { "name", "ssh_authorized_keys", "password", "sudo",
					    "shell" };
	struct vf_cloud_init_user *u = slot;
	const struct vf_node *v;
	const char *ctx;
	size_t i;

	u->pos = n->pos;
	u->name = vf_load_get_str(L, n, "name", true, vf_load_ctx_join(L, ci_ctx, "user", NULL, idx));
	if (u->name && !login_valid(u->name)) {
		ERR(L, &vf_map_get(n, "name")->pos,
		    "a lowercase letter or '_', then up to 31 lowercase letters, digits, '_' or '-'",
		    "%s: '%s' is not a login name", vf_load_ctx_join(L, ci_ctx, "user", NULL, idx), u->name);
		u->name = NULL;
	}
	ctx = vf_load_ctx_join(L, ci_ctx, "user", u->name, idx);
	vf_load_check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));
	v = vf_map_get(n, "ssh_authorized_keys");
	if (v && vf_load_want_seq(L, v, "ssh_authorized_keys")) {
		u->ssh_authorized_keys = vf_arena_alloc(&L->c->arena, (v->n + 1) * sizeof(char *));
		for (i = 0; i < v->n; i++) {
			const struct vf_node *k = v->u.items[i];
			if (k->kind != VF_NODE_SCALAR || vf_node_is_null(k) || !k->n ||
			    strlen(k->u.text) != k->n) {
				ERR(L, &k->pos, "write one public key per entry: 'ssh-ed25519 AAAA... comment'",
				    "%s: ssh_authorized_keys entries must be strings, not %s", ctx,
				    vf_node_describe(k));
				continue;
			}
			if (strstr(k->u.text, "PRIVATE KEY")) {
				ERR(L, &k->pos, "give the public key (the .pub file), and treat this one as leaked",
				    "%s: ssh_authorized_keys entry %zu is a private key", ctx, i + 1);
				continue;
			}
			if (strchr(k->u.text, '\n')) {
				ERR(L, &k->pos, "write one public key per entry",
				    "%s: ssh_authorized_keys entry %zu spans several lines", ctx, i + 1);
				continue;
			}
			u->ssh_authorized_keys[u->n_ssh_authorized_keys++] = k->u.text;
		}
	}
	v = vf_map_get(n, "password");
	if (v)
		vf_load_sealed_only(L, v, "password", ctx, &u->password,
				    "write password: {sealed: \"...\"} with what it prints, and change the "
				    "password: a clear one committed to git stays in its history",
				    "passwords must be sealed: virtform seal --public-key virtform.pub reads "
				    "the password on stdin");
	u->sudo = vf_load_get_str(L, n, "sudo", false, ctx);
	if (u->sudo && strchr(u->sudo, '\n')) {
		ERR(L, &vf_map_get(n, "sudo")->pos, "for example \"ALL=(ALL) NOPASSWD:ALL\"",
		    "%s: sudo must be one sudoers rule, on one line", ctx);
		u->sudo = NULL;
	}
	u->shell = vf_load_get_abspath(L, n, "shell", false, ctx);
	return u->name;
}

/* hostname: given and valid, or the vm's name when that is a host name. */
static void load_ci_hostname(struct loader *L, const struct vf_node *n, struct vf_vm *vm,
			     const char *ctx)
{
	struct vf_cloud_init *ci = &vm->cloud_init;

	ci->hostname = vf_load_get_str(L, n, "hostname", false, ctx);
	if (ci->hostname && !hostname_valid(ci->hostname)) {
		ERR(L, &vf_map_get(n, "hostname")->pos,
		    "letters, digits and '-' (not first or last), up to 63 per label, labels joined by '.'",
		    "%s: hostname '%s' is not a valid host name", ctx, ci->hostname);
		ci->hostname = NULL;
	} else if (!vf_map_pair(n, "hostname") && vm->name) {
		if (hostname_valid(vm->name))
			ci->hostname = vm->name;
		else
			ERR(L, &n->pos, "give cloud_init a 'hostname:'",
			    "%s: the vm's name is not a valid host name ('_' or a trailing '.' or '-'), "
			    "so it cannot be the default hostname", ctx);
	}
}

/* user_data: the whole user-data, clear (a recognized first line) or sealed. */
static void load_ci_user_data(struct loader *L, const struct vf_node *n, struct vf_cloud_init *ci,
			      const char *ctx)
{
	const struct vf_node *v;

	v = vf_map_get(n, "user_data");
	if (v) {
		if (vf_map_pair(n, "users"))
			ERR(L, &vf_map_pair(n, "users")->key->pos,
			    "write the users in user_data, or leave user_data out and virtform writes it",
			    "%s: users and user_data exclude each other: user_data is the whole user-data",
			    ctx);
		if (v->kind == VF_NODE_MAP) {
			vf_load_get_sealed(L, v, "user_data", ctx, &ci->user_data_sealed);
		} else {
			ci->user_data = vf_load_get_str(L, n, "user_data", false, ctx);
			if (ci->user_data && !user_data_recognized(ci->user_data)) {
				ERR(L, &v->pos,
				    "start it with '#cloud-config' (YAML) or '#!' (a script); write it as a "
				    "block: 'user_data: |'",
				    "%s: cloud-init ignores user_data that does not start with a line it "
				    "recognizes", ctx);
				ci->user_data = NULL;
			}
		}
	}
}

/* network_config: a mapping with a version, kept as compact JSON text. */
static void load_ci_network_config(struct loader *L, const struct vf_node *n,
				   struct vf_cloud_init *ci, const char *ctx)
{
	const struct vf_node *v;
	char *nc;

	v = vf_map_get(n, "network_config");
	nc = xasprintf("%s: network_config", ctx);
	if (v && vf_load_want_map(L, v, nc)) {
		const struct vf_node *inner = vf_map_get(v, "network"), *ver;
		json_t *j;
		bool ok = false;

		ci->network_config_pos = v->pos;
		if (inner && inner->kind == VF_NODE_MAP && !vf_map_get(v, "version"))
			ver = vf_map_get(inner, "version") ? inner : NULL;
		else
			ver = v;
		if (!ver || !vf_map_get(ver, "version"))
			ERR(L, &v->pos, "add 'version: 2' (netplan style) or 'version: 1'",
			    "%s: network_config has no version", ctx);
		else
			vf_load_get_uint(L, ver, "version", true, 1, 2, 0, nc, &ok);
		/* kept as JSON text: the tree goes once the file is read */
		if (ver && ok && (j = node_json(L, v, nc))) {
			char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
			ci->network_config = vf_arena_strdup(&L->c->arena, text);
			free(text);
			json_decref(j);
		}
	}
	free(nc);
}

void vf_load_cloud_init(struct loader *L, const struct vf_node *vmnode, struct vf_vm *vm,
			const char *vm_ctx)
{
	static const char *const keys[] = { "hostname", "users", "user_data", "network_config" };
	static const struct vf_load_list users = {
		"users", "a cloud_init user", "user", "merge the two entries",
		sizeof(struct vf_cloud_init_user), load_ci_user,
	};
	struct vf_cloud_init *ci = &vm->cloud_init;
	const struct vf_node *n = vf_map_get(vmnode, "cloud_init");
	char *ctx;

	if (!n)
		return;
	ctx = xasprintf("%s: cloud_init", vm_ctx);
	if (!vf_load_want_map(L, n, ctx)) {
		free(ctx);
		return;
	}
	ci->given = true;
	ci->pos = n->pos;
	vf_load_check_keys(L, n, ctx, keys, VF_ARRAY_SIZE(keys));

	load_ci_hostname(L, n, vm, ctx);
	ci->users = vf_load_named_list(L, n, &users, ctx, &ci->n_users, NULL);
	load_ci_user_data(L, n, ci, ctx);
	load_ci_network_config(L, n, ci, ctx);

	free(ctx);
}
