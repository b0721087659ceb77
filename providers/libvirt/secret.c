/*
 * secret.c — the libvirt secrets behind a storage domain's iSCSI CHAP
 * login, and the sealed values apply opens (CHAP secrets here, the VM
 * graphics password in domain.c).
 */
#include <stdlib.h>
#include <string.h>

#include "providers/libvirt/internal.h"
#include "reconcile/cloudinit.h"

/*
 * A storage domain's CHAP secret is a libvirt secret (usage type iscsi,
 * usage target "virtform/PROJECT/NAME", private, persistent) that the
 * pool's <auth> names.  Its value is the opened sealed value, set with
 * virSecretSetValue and wiped from virtform's memory at once; its
 * description records the keyed hash of that value ("virtform chap hash
 * HEX"), which observe reads back to plan "(sealed value changed)".  The
 * value is set before the hash is written: after a crash in between, the
 * old hash makes the next plan set it again.
 */

#define CHAP_DESCRIPTION "virtform chap hash "
#define CHAP_PENDING "virtform chap (value not set yet)"

/* The iscsi secret named usage: 1 found, 0 none, -1 error. */
static int chap_find(struct op *op, const char *usage, virSecretPtr *sec)
{
	*sec = virSecretLookupByUsage(op->secrets, VIR_SECRET_USAGE_TYPE_ISCSI, usage);
	return vf_op_found(op, *sec, VIR_ERR_NO_SECRET, "look up the CHAP secret");
}

/* Define the secret named usage (uuid: redefine that one); NULL on failure. */
static virSecretPtr chap_define(struct op *op, const char *usage, const char *uuid,
				const char *description)
{
	char *xml, *xml_error = NULL;
	virSecretPtr sec;

	xml = vf_xml_secret_format(usage, uuid, description, &xml_error);
	if (!xml) {
		vf_op_failf(op, "cannot define the CHAP secret: %s", xml_error);
		free(xml_error);
		return NULL;
	}
	sec = virSecretDefineXML(op->secrets, xml, 0);
	free(xml);
	if (!sec)
		vf_op_fail(op, "define the CHAP secret");
	return sec;
}

/* A sealed value needs the key, which apply was not given: op fails. */
int vf_libvirt_sealed_no_key(struct op *op, const char *what)
{
	return vf_op_failf(op, "%s: cannot open the sealed value: no secret key was given "
			   "(--secret-key FILE or VIRTFORM_SECRET_KEY)", what);
}

/* Open ref (what names it) into *clear; on failure op fails with the
 * opener's first diagnostic (FILE:LINE:COL when it has one).  0 or -1. */
int vf_libvirt_sealed_open(struct op *op, const struct vf_secret_key *key,
			   const struct vf_secret_ref *ref, const char *what, struct vf_secret *clear)
{
	struct vf_diags d = { 0 };
	int rc = 0;

	if (vf_secret_open(key, ref, what, clear, &d) < 0) {
		const struct vf_diag *g = d.n ? &d.items[0] : NULL;
		if (g && g->pos.line)
			vf_op_failf(op, "%s:%u:%u: %s", g->pos.file, g->pos.line, g->pos.col,
				    g->message);
		else
			vf_op_failf(op, "%s", g ? g->message : "cannot open the sealed value");
		rc = -1;
	}
	vf_diags_release(&d);
	return rc;
}

/* Make the CHAP secret of pool spec p hold its opened sealed value. */
int vf_libvirt_chap_set(struct op *op, const struct vf_pool_spec *p)
{
	const struct vf_secret_key *key = vf_cloudinit_key();
	struct vf_secret clear = { 0 };
	char uuid[VIR_UUID_STRING_BUFLEN], hex[VF_SECRET_HASH_HEX], *description;
	virSecretPtr sec = NULL, again;
	int found, set, rc = -1;

	if (!key)
		return vf_libvirt_sealed_no_key(op, p->chap_what);
	found = chap_find(op, p->chap_usage, &sec);
	if (found < 0)
		return -1;
	if (!found && !(sec = chap_define(op, p->chap_usage, NULL, CHAP_PENDING)))
		return -1;
	if (virSecretGetUUIDString(sec, uuid) < 0) {
		vf_op_fail(op, "read the CHAP secret's uuid");
		goto out;
	}
	if (vf_libvirt_sealed_open(op, key, p->chap_sealed, p->chap_what, &clear) < 0)
		goto out;
	vf_secret_hash(key, p->chap_what, &clear, hex);
	set = virSecretSetValue(sec, clear.data, clear.len, 0);
	vf_secret_wipe(&clear);
	if (set < 0) {
		vf_op_fail(op, "set the CHAP secret's value");
		goto out;
	}
	hex[16] = '\0';
	description = xasprintf(CHAP_DESCRIPTION "%s", hex);
	again = chap_define(op, p->chap_usage, uuid, description);
	free(description);
	if (!again)
		goto out;
	virSecretFree(again);
	rc = 0;
out:
	virSecretFree(sec);
	return rc;
}

/*
 * Undefine the CHAP secret named usage, when it is one virtform made (its
 * usage starts "virtform/" and its description is virtform's); gone
 * already is fine.
 */
int vf_libvirt_chap_delete(struct op *op, const char *usage)
{
	struct vf_arena arena = VF_ARENA_INIT;
	const char *uuid, *seen_usage, *description;
	char *xml, *xml_error = NULL;
	virSecretPtr sec;
	int found, rc = -1;

	if (!usage || strncmp(usage, "virtform/", 9))
		return 0;
	found = chap_find(op, usage, &sec);
	if (found <= 0)
		return found;
	xml = virSecretGetXMLDesc(sec, 0);
	if (!xml) {
		vf_op_fail(op, "read the CHAP secret");
		goto out;
	}
	if (vf_xml_secret_parse(xml, &arena, &uuid, &seen_usage, &description, &xml_error) < 0) {
		vf_op_failf(op, "cannot read the CHAP secret: %s", xml_error);
		goto out;
	}
	if (!description || strncmp(description, "virtform chap ", 14)) {
		rc = 0;             /* not ours: left alone */
		goto out;
	}
	if (virSecretUndefine(sec) == 0 || last_error_was(VIR_ERR_NO_SECRET))
		rc = 0;
	else
		vf_op_fail(op, "undefine the CHAP secret");
out:
	free(xml_error);
	free(xml);
	vf_arena_release(&arena);
	virSecretFree(sec);
	return rc;
}
