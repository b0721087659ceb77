/*
 * hostnet-records.c — the host-local ownership records: which links
 * virtform created and for what, read from and written to the state file
 * (atomically; see hostnet.h).
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/hostnet-internal.h"

int vf_hostnet_owned_from_json(const json_t *doc, const char *what,
			       struct vf_hostnet_owned *out, char **error)
{
	json_t *links, *l;
	size_t i;

	memset(out, 0, sizeof(*out));
	links = json_object_get(doc, "links");
	if (!json_is_array(links)) {
		*error = xasprintf("%s: no \"links\" array", what);
		return -1;
	}
	json_array_foreach(links, i, l) {
		const char *name = json_string_value(json_object_get(l, "name"));
		const char *owner = json_string_value(json_object_get(l, "owner"));

		if (!name) {
			*error = xasprintf("%s: links[%zu] has no name", what, i);
			vf_hostnet_owned_release(out);
			return -1;
		}
		vf_hostnet_owned_add(out, name, owner);
	}
	return 0;
}

int vf_hostnet_owned_read(const char *path, struct vf_hostnet_owned *out, char **error)
{
	json_error_t je;
	json_t *doc;
	char *what;
	int rc;

	memset(out, 0, sizeof(*out));
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	doc = json_load_file(path, 0, &je);
	if (!doc) {
		*error = xasprintf("cannot read host network state '%s': %s", path, je.text);
		return -1;
	}
	what = xasprintf("host network state '%s'", path);
	rc = vf_hostnet_owned_from_json(doc, what, out, error);
	free(what);
	json_decref(doc);
	return rc;
}

json_t *vf_hostnet_owned_json(const struct vf_hostnet_owned *o)
{
	json_t *doc = json_object(), *links = json_array();
	size_t i;

	for (i = 0; i < o->n; i++)
		json_array_append_new(links, json_pack("{s:s, s:s}", "name", o->names[i],
						       "owner", o->owners[i]));
	json_object_set_new(doc, "links", links);
	return doc;
}

void vf_hostnet_owned_release(struct vf_hostnet_owned *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->names[i]);
		free(o->owners[i]);
	}
	free(o->names);
	free(o->owners);
	memset(o, 0, sizeof(*o));
}

void vf_hostnet_owned_add(struct vf_hostnet_owned *o, const char *name, const char *owner)
{
	VF_GROW(o->names, o->n + 1, o->alloc);
	o->owners = xrealloc(o->owners, o->alloc * sizeof(*o->owners));
	o->names[o->n] = xstrdup(name);
	o->owners[o->n++] = xstrdup(owner ? owner : "?");
}

int vf_hostnet_write_json(const char *path, const json_t *doc, const char *what,
			  char **error)
{
	char *copy = xstrdup(path), *dir = dirname(copy), *why;
	char *body = json_dumps(doc, JSON_INDENT(2)), *text;
	int rc = -1;

	if (!body) {
		*error = xasprintf("cannot write %s '%s': out of memory", what, path);
		free(copy);
		return -1;
	}
	text = xasprintf("%s\n", body);
	free(body);
	why = vf_private_dir_check(dir, "the host network state directory", true);
	if (why) {
		*error = xasprintf("cannot write %s '%s': %s", what, path, why);
		free(why);
		goto out;
	}
	if (vf_write_file_atomic(path, text, strlen(text), 0600) < 0) {
		*error = xasprintf("cannot write %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(text);
	free(copy);
	return rc;
}

int vf_hostnet_owned_write(const char *path, const struct vf_hostnet_owned *o, char **error)
{
	json_t *doc = vf_hostnet_owned_json(o);
	int rc = vf_hostnet_write_json(path, doc, "host network state", error);

	json_decref(doc);
	return rc;
}

const char *vf_hostnet_owned_by(const struct vf_hostnet_owned *o, const char *name)
{
	size_t i;

	for (i = 0; o && i < o->n; i++)
		if (!strcmp(o->names[i], name))
			return o->owners[i];
	return NULL;
}
