/*
 * host-apply.c — `virtform host apply`: carry the plan of `host plan` out
 * on this machine's links.  Snapshot the links the plan touches, execute
 * its actions over netlink, read the links back and verify them; when an
 * action or the verification fails, undo every step in reverse order from
 * the snapshot.  On success write the ownership records and the last
 * confirmed spec, or with --confirm-timeout keep the change pending (the
 * pending file and its watcher: cmd/host-confirm.c).
 *
 * The snapshot, the steps, the rollback and their JSON for the pending
 * file are cmd/host-snapshot.c's (a watcher rolls a change back from the
 * file alone: vf_hostcmd_rollback() serves both).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/host.h"
#include "cmd/host-snapshot.h"
#include "providers/hostnet/links.h"
#include "reconcile/hostnet.h"
#include "reconcile/json-stream.h"
#include "reconcile/util.h"

/* ---- host apply: the actions carried out, and verified --------------------- */

static const char apply_usage[] =
	"usage: virtform host apply (--host NAME [CONFIG] | --spec FILE|- | --last-confirmed)\n"
	"                           [--auto-approve] [--no-delete] [--confirm-timeout SECONDS]\n"
	"                           [--json] [--state-file FILE]\n"
	"\n"
	"Converge this machine's links (of the network namespace virtform runs\n"
	"in) to host NAME of CONFIG, or to a host spec: show the plan of 'virtform\n"
	"host plan', ask for confirmation, then carry it out over netlink.  Before\n"
	"changing anything, the links the plan touches are recorded; after, they\n"
	"are read back and verified (every desired link exists, is up, has its\n"
	"master, MTU and bond options).  When an action or the verification fails,\n"
	"every change is undone in reverse order and the command says what failed\n"
	"(\"rolled back: ...\").  On success the links virtform created or adopted\n"
	"are recorded in the state file, and the desired links are kept as the\n"
	"last confirmed state (" VF_HOSTNET_CONFIRMED_NAME " beside it).\n"
	"\n"
	"Options:\n"
	"      --host NAME          the host of CONFIG this machine is\n"
	"      --spec FILE|-        the desired links from a host spec (JSON; '-': stdin),\n"
	"                           as 'virtform plan' and 'apply' send it\n"
	"      --last-confirmed     the desired links from the last confirmed spec\n"
	"                           (at boot: contrib/systemd/virtform-hostnet.service);\n"
	"                           implies --auto-approve; none yet is a note, exit 0\n"
	"      --auto-approve       do not ask (needed without a terminal)\n"
	"      --no-delete          leave out the deletes (a replace stays)\n"
	"      --confirm-timeout S  keep the change only if 'virtform host confirm --token\n"
	"                           TOKEN' comes within S seconds (1..3600); otherwise it\n"
	"                           is rolled back by itself\n"
	"      --json               progress on stderr, one JSON document on stdout\n"
	"      --state-file FILE    ownership records (default " VF_HOSTNET_STATE_FILE ")\n"
	"  -h, --help               show this help\n"
	"\n"
	"While a change waits for confirmation, another apply is refused.\n"
	"\n"
	"Exit status: 0 applied, waiting for confirmation, or nothing to do; 1 error:\n"
	"invalid configuration or spec, a change refused at plan time, a failed\n"
	"change (rolled back), a change waiting for confirmation.\n";

/* The desired bond options of d as the provider takes them. */
static struct vf_link_bond_option *bond_opts(const struct vf_label *l, size_t n)
{
	struct vf_link_bond_option *o = xcalloc(n + 1, sizeof(*o));
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(o[i].name, sizeof(o[i].name), "%s", l[i].key);
		snprintf(o[i].value, sizeof(o[i].value), "%s", l[i].value);
	}
	return o;
}

/*
 * Create link d, down: the one switch over the kinds virtform creates,
 * for a desired link (create_link) and a deleted one re-created from its
 * snapshot (the rollback).  Its bond options are set in the same request.
 */
int vf_hostcmd_link_create(struct vf_netlink *nl, const struct vf_host_link *d, char **error)
{
	struct vf_link_bond_option *opts;
	int rc;

	switch (d->kind) {
	case VF_HOST_LINK_BRIDGE:
		return vf_link_create_bridge(nl, d->name, d->mtu, d->stp, error);
	case VF_HOST_LINK_VLAN:
		return vf_link_create_vlan(nl, d->name, d->vlan_base, d->vlan_id, d->mtu, error);
	case VF_HOST_LINK_BOND:
		opts = bond_opts(d->bond_options, d->n_bond_options);
		rc = vf_link_create_bond(nl, d->name, d->bond_mode, opts, d->n_bond_options,
					 d->mtu, error);
		free(opts);
		return rc;
	default:
		*error = xasprintf("link '%s': virtform does not create a %s", d->name,
				   vf_host_link_kind_name(d->kind));
		return VF_LINK_ERR_INVALID;
	}
}

/* Create the link act wants (down), then bring it up. */
static int create_link(struct vf_hostcmd_applier *a, const struct vf_host_link *d, char **error)
{
	int rc = vf_hostcmd_link_create(a->nl, d, error);

	if (rc < 0)
		return rc;
	vf_hostcmd_step_add(a, STEP_CREATED, d->name);
	return vf_link_set_up(a->nl, d->name, true, error);
}

/* Set the bond options among act's changes ("options.NAME"), in one request. */
static int apply_bond_options(struct vf_hostcmd_applier *a, const struct vf_hostnet_action *act,
			      char **error)
{
	struct vf_link_bond_option *opts = xcalloc(act->n_changes + 1, sizeof(*opts));
	struct vf_hostcmd_step *st;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < act->n_changes; i++) {
		const struct vf_hostnet_change *c = &act->changes[i];

		if (strncmp(c->field, "options.", 8))
			continue;
		snprintf(opts[n].name, sizeof(opts[n].name), "%s", c->field + 8);
		snprintf(opts[n].value, sizeof(opts[n].value), "%s", c->after);
		n++;
	}
	if (!n) {
		free(opts);
		return 0;
	}
	/* the kernel keeps the delays in MII intervals: a new miimon changes
	 * them unless they are sent along (it applies miimon first) */
	for (i = 0; i < n && strcmp(opts[i].name, "miimon"); i++)
		;
	if (i < n && act->desired) {
		static const char *const delays[] = { "updelay", "downdelay" };
		size_t k, j;

		opts = xrealloc(opts, (n + 3) * sizeof(*opts));
		for (k = 0; k < 2; k++) {
			for (j = 0; j < act->desired->n_bond_options; j++)
				if (!strcmp(act->desired->bond_options[j].key, delays[k]))
					break;
			if (j == act->desired->n_bond_options)
				continue;
			for (i = 0; i < n && strcmp(opts[i].name, delays[k]); i++)
				;
			if (i < n)
				continue;
			snprintf(opts[n].name, sizeof(opts[n].name), "%s", delays[k]);
			snprintf(opts[n].value, sizeof(opts[n].value), "%s",
				 act->desired->bond_options[j].value);
			n++;
		}
	}
	rc = vf_link_set_bond_options(a->nl, act->name, opts, n, error);
	if (rc == 0) {
		st = vf_hostcmd_step_add(a, STEP_BOND_OPTIONS, act->name);
		st->options = xcalloc(n, sizeof(*st->options));
		for (i = 0; i < n; i++)
			st->options[i] = xstrdup(opts[i].name);
		st->n_options = n;
	}
	free(opts);
	return rc;
}

static int apply_change(struct vf_hostcmd_applier *a, const struct vf_hostnet_action *act,
			const struct vf_hostnet_change *c, char **error)
{
	struct vf_netlink *nl = a->nl;
	int rc;

	if (!strcmp(c->field, "mtu")) {
		rc = vf_link_set_mtu(nl, act->name, (unsigned)strtoul(c->after, NULL, 10), error);
		if (rc == 0)
			vf_hostcmd_step_add(a, STEP_MTU, act->name);
	} else if (!strcmp(c->field, "stp")) {
		rc = vf_link_set_bridge_stp(nl, act->name, !strcmp(c->after, "on"), error);
		if (rc == 0)
			vf_hostcmd_step_add(a, STEP_STP, act->name);
	} else if (!strcmp(c->field, "up")) {
		rc = vf_link_set_up(nl, act->name, true, error);
		if (rc == 0)
			vf_hostcmd_step_add(a, STEP_UP, act->name);
	} else if (!strcmp(c->field, "master")) {
		if (!strcmp(c->after, "(none)"))
			rc = vf_link_release(nl, act->name, error);
		else
			rc = vf_link_set_master(nl, act->name, c->after, error);
		if (rc == 0)
			vf_hostcmd_step_add(a, STEP_MASTER, act->name);
	} else if (!strncmp(c->field, "options.", 8)) {
		rc = 0;   /* all of them at once: apply_bond_options */
	} else {
		*error = xasprintf("link '%s': cannot change '%s'", act->name, c->field);
		rc = VF_LINK_ERR_INVALID;
	}
	return rc;
}

static int apply_action(struct vf_hostcmd_applier *a, const struct vf_hostnet_action *act, char **error)
{
	size_t i;
	int rc;

	switch (act->op) {
	case VF_HOSTNET_CREATE:
		return create_link(a, act->desired, error);
	case VF_HOSTNET_REPLACE:
		rc = vf_link_delete(a->nl, act->name, error);
		/* a VLAN on a bond replaced before it went with the bond */
		if (rc == VF_LINK_ERR_NOT_FOUND) {
			free(*error);
			*error = NULL;
			rc = 0;
		}
		if (rc < 0)
			return rc;
		vf_hostcmd_step_add(a, STEP_DELETED, act->name);
		return create_link(a, act->desired, error);
	case VF_HOSTNET_UPDATE:
		/* settings first (bond options before "up": some need the bond down) */
		for (i = 0; i < act->n_changes; i++) {
			if (!strcmp(act->changes[i].field, "up") &&
			    (rc = apply_bond_options(a, act, error)) < 0)
				return rc;
			rc = apply_change(a, act, &act->changes[i], error);
			if (rc < 0)
				return rc;
		}
		for (i = 0; i < act->n_changes && strcmp(act->changes[i].field, "up"); i++)
			;
		return i == act->n_changes ? apply_bond_options(a, act, error) : 0;
	case VF_HOSTNET_DELETE:
		rc = vf_link_delete(a->nl, act->name, error);
		/* a VLAN goes with its base: gone is what was asked */
		if (rc == VF_LINK_ERR_NOT_FOUND) {
			free(*error);
			*error = NULL;
			rc = 0;
		}
		if (rc == 0)
			vf_hostcmd_step_add(a, STEP_DELETED, act->name);
		return rc;
	}
	return 0;
}

void vf_hostcmd_problem_add(char **problems, const char *fmt, ...)
{
	struct vf_buf b = VF_BUF_INIT;
	va_list ap;

	if (*problems)
		vf_buf_addf(&b, "%s; ", *problems);
	va_start(ap, fmt);
	vf_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(*problems);
	*problems = vf_buf_detach(&b);
}

static bool kind_made(enum vf_host_link_kind k)
{
	return k == VF_HOST_LINK_BRIDGE || k == VF_HOST_LINK_VLAN || k == VF_HOST_LINK_BOND;
}

/*
 * The desired MTUs the kernel moved (a bridge adjusts its MTU to its
 * ports' until one is set on it): set them again.  true when it tried one
 * (the links must be read again).
 */
static bool mtus_fix(struct vf_hostcmd_applier *a, const struct vf_hostcmd *x)
{
	bool again = false;
	size_t i;

	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];
		const struct vf_link *l = vf_link_list_find(a->list, d->name);
		char *e = NULL;

		if (d->absent || !l || !d->mtu || l->mtu == d->mtu)
			continue;
		vf_hostcmd_snap_take(a, d->name);
		if (vf_link_set_mtu(a->nl, d->name, d->mtu, &e) == 0)
			vf_hostcmd_step_add(a, STEP_MTU, d->name);
		free(e);
		again = true;
	}
	return again;
}

/* How live link l (NULL: none) differs from desired d, into *problems. */
static void link_verify(const struct vf_hostcmd *x, const struct vf_host_link *d,
			const struct vf_link *l, char **problems)
{
	size_t j;

	if (d->absent) {
		if (l && !x->no_delete)
			vf_hostcmd_problem_add(problems, "link '%s' still exists", d->name);
		return;
	}
	if (!l) {
		vf_hostcmd_problem_add(problems, "link '%s' does not exist", d->name);
		return;
	}
	if (kind_made(d->kind) && !l->up)
		vf_hostcmd_problem_add(problems, "link '%s' is down", d->name);
	if (d->master && strcmp(l->master, d->master))
		vf_hostcmd_problem_add(problems, "link '%s' has master %s instead of %s", d->name,
			    l->master[0] ? l->master : "(none)", d->master);
	if (d->mtu && l->mtu != d->mtu)
		vf_hostcmd_problem_add(problems, "link '%s' has mtu %u instead of %u", d->name,
			    l->mtu, d->mtu);
	for (j = 0; d->kind == VF_HOST_LINK_BOND && j < d->n_bond_options; j++) {
		const char *have = vf_link_bond_option(l, d->bond_options[j].key);

		if (!have || strcmp(have, d->bond_options[j].value))
			vf_hostcmd_problem_add(problems, "bond '%s' has %s %s instead of %s", d->name,
				    d->bond_options[j].key, have ? have : "(none)",
				    d->bond_options[j].value);
	}
}

/*
 * After the plan: a bridge adjusts its MTU to its ports' until one is set
 * on it, so set the desired MTU again where the kernel moved it (once),
 * then check every desired link.  NULL when all is right, else what is
 * wrong (malloc'd).
 */
static char *verify(struct vf_hostcmd_applier *a, struct vf_hostcmd *x, char **error)
{
	char *problems = NULL;
	size_t i;

	if (vf_hostcmd_reread(a, error) < 0)
		return NULL;
	if (mtus_fix(a, x) && vf_hostcmd_reread(a, error) < 0)
		return NULL;
	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];

		link_verify(x, d, vf_link_list_find(a->list, d->name), &problems);
	}
	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		if (act->op == VF_HOSTNET_DELETE && vf_link_list_find(a->list, act->name))
			vf_hostcmd_problem_add(&problems, "link '%s' still exists", act->name);
	}
	return problems;
}

/* ---- host apply ----------------------------------------------------------- */

enum outcome { OUTCOME_NOT_RUN, OUTCOME_DONE, OUTCOME_FAILED, OUTCOME_ROLLED_BACK };
static const char *const outcome_names[] = { "not-run", "done", "failed", "rolled-back" };

/* What an apply did, for its --json document. */
struct result {
	const char *status;         /* unchanged, applied, pending, rolled-back, failed, error */
	enum outcome *outcomes;     /* one per plan action */
	char *error;                /* malloc'd */
	char *rollback;             /* "complete", "incomplete: ..."; malloc'd */
	json_t *confirm;            /* {"token", "timeout", "deadline"} */
};

static void print_apply_doc(struct vf_hostcmd *x, struct result *r)
{
	json_t *doc = json_object(), *changes = json_array();
	size_t i;

	for (i = 0; i < x->plan.n; i++) {
		json_t *c = vf_hostnet_action_json(&x->plan, i);
		json_object_set_new(c, "outcome",
				    json_string(outcome_names[r->outcomes ? r->outcomes[i]
									  : OUTCOME_NOT_RUN]));
		json_array_append_new(changes, c);
	}
	json_object_set_new(doc, "host", x->host ? json_string(x->host) : json_null());
	json_object_set_new(doc, "status", json_string(r->status));
	json_object_set_new(doc, "changes", changes);
	if (!r->error && x->errors.len && !strcmp(r->status, "error"))
		r->error = xstrdup(x->errors.buf);
	json_object_set_new(doc, "error", r->error ? json_string(r->error) : json_null());
	json_object_set_new(doc, "rollback", r->rollback ? json_string(r->rollback) : json_null());
	json_object_set_new(doc, "confirm", r->confirm ? json_incref(r->confirm) : json_null());
	vf_hostcmd_print_doc(doc);
	json_decref(doc);
}

/*
 * The ownership records after a successful apply: every bond, bridge and
 * vlan the config declares or derives (created or adopted); with
 * --no-delete also the links recorded before that still exist (their
 * delete comes later).
 */
static int write_records(struct vf_hostcmd *x, char **error)
{
	struct vf_hostnet_owned o = { NULL, NULL, 0, 0 };
	size_t i;
	int rc;

	for (i = 0; i < x->desired.n; i++) {
		const struct vf_host_link *d = &x->desired.items[i];

		if (!d->absent && kind_made(d->kind))
			vf_hostnet_owned_add(&o, d->name, d->owner);
	}
	for (i = 0; x->no_delete && i < x->owned.n; i++)
		if (!vf_host_links_find(&x->desired, x->owned.names[i]) &&
		    vf_link_list_find(&x->list, x->owned.names[i]))
			vf_hostnet_owned_add(&o, x->owned.names[i], x->owned.owners[i]);
	rc = vf_hostnet_owned_write(x->state_file, &o, error);
	vf_hostnet_owned_release(&o);
	return rc;
}

static int write_confirmed(struct vf_hostcmd *x, char **error)
{
	return vf_hostnet_write_json(x->confirmed_path, x->spec, "confirmed host network state",
				     error);
}

static const char *op_verb(enum vf_hostnet_op op)
{
	switch (op) {
	case VF_HOSTNET_CREATE:  return "creating";
	case VF_HOSTNET_UPDATE:  return "updating";
	case VF_HOSTNET_REPLACE: return "replacing";
	case VF_HOSTNET_DELETE:  return "deleting";
	}
	return "changing";
}

/*
 * The change is applied and verified: keep it pending confirmation.
 * Start the watcher, write the pending file (everything to roll back from
 * it alone) and the new records, then let the watcher go.  0, or -1 with
 * *error (the caller rolls back; the watcher was called off).
 */
/* The pending-change document for the state directory: what the watcher
 * and host confirm read (token, deadline, the watcher's pid), and what a
 * rollback needs (snapshot, steps, previous records). */
static json_t *pending_json(const struct vf_hostcmd *x, const struct vf_hostcmd_applier *a,
			    const char *token, double now, unsigned timeout, double deadline,
			    pid_t pid)
{
	char *bid = vf_hostcmd_boot_id(), *start = vf_hostcmd_proc_start(pid);
	char *ns = vf_hostcmd_netns_id();
	json_t *doc = json_object(), *snaps = json_array();
	size_t i;

	json_object_set_new(doc, "format", json_string("virtform-host-pending"));
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "status", json_string("pending"));
	json_object_set_new(doc, "host", json_string(x->host));
	json_object_set_new(doc, "token", json_string(token));
	json_object_set_new(doc, "applied_at", json_integer((json_int_t)now));
	json_object_set_new(doc, "timeout", json_integer(timeout));
	json_object_set_new(doc, "deadline", json_integer((json_int_t)deadline));
	json_object_set_new(doc, "pid", json_integer(pid));
	json_object_set_new(doc, "pid_start", json_string(start));
	json_object_set_new(doc, "boot_id", json_string(bid));
	json_object_set_new(doc, "netns", json_string(ns));
	json_object_set_new(doc, "spec", json_incref(x->spec));
	json_object_set_new(doc, "previous_records", vf_hostnet_owned_json(&x->owned));
	for (i = 0; i < a->n_snaps; i++)
		json_array_append_new(snaps, vf_hostcmd_snap_json(&a->snaps[i]));
	json_object_set_new(doc, "snapshot", snaps);
	json_object_set_new(doc, "steps", vf_hostcmd_steps_json(a));
	json_object_set_new(doc, "rolled_back_at", json_null());
	json_object_set_new(doc, "rollback", json_null());
	free(ns);
	free(bid);
	free(start);
	return doc;
}

static int make_pending(struct vf_hostcmd *x, struct vf_hostcmd_applier *a, unsigned timeout,
			struct result *r, char **error)
{
	char token[33];
	double now = vf_hostcmd_now_real(), deadline, fire_at;
	json_t *doc = NULL;
	int go = -1, rc = -1;
	pid_t pid;

	if (vf_hostcmd_token_new(token, error) < 0)
		return -1;
	/* a whole second: the deadline the file, people and the watcher share */
	deadline = (double)(long long)(now + timeout + 0.999);
	fire_at = vf_now() + (deadline - now);
	pid = vf_hostcmd_watcher_start(x, token, fire_at, &go, error);
	if (pid < 0)
		return -1;
	doc = pending_json(x, a, token, now, timeout, deadline, pid);
	if (vf_hostnet_write_json(x->pending_path, doc, "pending host network change", error) < 0)
		goto out;
	if (write_records(x, error) < 0) {
		unlink(x->pending_path);
		goto out;
	}
	if (write(go, "1", 1) != 1) {
		*error = xasprintf("cannot start the confirmation watcher: %s", strerror(errno));
		unlink(x->pending_path);
		goto out;
	}
	r->confirm = json_pack("{s:s, s:i, s:I}", "token", token, "timeout", (int)timeout,
			       "deadline", (json_int_t)deadline);
	rc = 0;
out:
	close(go);   /* without "1": the watcher exits */
	if (rc < 0)
		waitpid(pid, NULL, 0);
	json_decref(doc);
	return rc;
}

/* Snapshot, execute, verify, roll back on failure, record; fills r.
 * The exit status. */
/* What an apply did, for its summary line. */
struct tally {
	size_t created, updated, deleted;
};

/* The links the plan touches (a VLAN's base too), as they are now. */
static void snapshots_take(struct vf_hostcmd_applier *a, const struct vf_hostcmd *x)
{
	size_t i;

	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		vf_hostcmd_snap_take(a, act->name);
		if (act->kind == VF_HOST_LINK_VLAN && act->desired)
			vf_hostcmd_snap_take(a, act->desired->vlan_base);
	}
}

/* Carry out the plan's actions in order, up to the first that fails.
 * NULL, or what failed (malloc'd). */
static char *actions_apply(struct vf_hostcmd_applier *a, struct vf_hostcmd *x,
			   struct result *r, struct tally *t)
{
	FILE *out = x->progress;
	char *error = NULL, *failed = NULL;
	size_t i;

	fputc('\n', out);
	for (i = 0; i < x->plan.n; i++) {
		const struct vf_hostnet_action *act = &x->plan.actions[i];

		fflush(out);   /* progress before any error on stderr */
		a->action = i;
		if (apply_action(a, act, &error) < 0) {
			failed = xasprintf("%s link.%s@%s failed", op_verb(act->op), act->name,
					   x->plan.host);
			fprintf(stderr, "Error: %s\n", error);
			r->outcomes[i] = OUTCOME_FAILED;
			r->error = xstrdup(error);
			break;
		}
		r->outcomes[i] = OUTCOME_DONE;
		fprintf(out, "link.%s@%s: %s\n", act->name, x->plan.host,
			act->op == VF_HOSTNET_CREATE ? "created" :
			act->op == VF_HOSTNET_REPLACE ? "replaced" :
			act->op == VF_HOSTNET_UPDATE ? "updated" : "deleted");
		switch (act->op) {
		case VF_HOSTNET_CREATE:  t->created++; break;
		case VF_HOSTNET_UPDATE:  t->updated++; break;
		case VF_HOSTNET_REPLACE: t->created++; t->deleted++; break;
		case VF_HOSTNET_DELETE:  t->deleted++; break;
		}
	}
	free(error);
	fflush(out);
	return failed;
}

/* Read the links back and compare.  NULL, or what failed (malloc'd). */
static char *applied_verify(struct vf_hostcmd_applier *a, struct vf_hostcmd *x,
			    struct result *r)
{
	char *error = NULL, *failed = NULL, *problems;

	problems = verify(a, x, &error);
	if (error) {
		failed = xasprintf("verification failed: %s", error);
		fprintf(stderr, "Error: %s\n", error);
	} else if (problems) {
		failed = xasprintf("verification failed: %s", problems);
		fprintf(stderr, "Error: verification failed: %s\n", problems);
	}
	if (failed && !r->error)
		r->error = xstrdup(failed);
	free(problems);
	free(error);
	return failed;
}

/* Undo what was done after failed (taken); the outcomes and the
 * rollback's result into r. */
static void failure_roll_back(struct vf_hostcmd_applier *a, struct vf_hostcmd *x,
			      struct result *r, char *failed)
{
	char *problems;
	size_t i;

	fflush(x->progress);
	problems = vf_hostcmd_rollback(a);
	for (i = 0; i < x->plan.n; i++)
		if (r->outcomes[i] == OUTCOME_DONE)
			r->outcomes[i] = OUTCOME_ROLLED_BACK;
	for (i = 0; i < a->n_steps; i++)
		if (a->steps[i].undo_failed && a->steps[i].action < x->plan.n)
			r->outcomes[a->steps[i].action] = OUTCOME_DONE;
	if (problems) {
		fprintf(stderr, "rollback incomplete: %s; %s. Check the links with "
			"'virtform host show'.\n", failed, problems);
		r->status = "failed";
		r->rollback = xasprintf("incomplete: %s", problems);
		free(problems);
	} else {
		fprintf(stderr, "rolled back: %s; %zu change%s undone, the links are as "
			"they were before.\n", failed, a->n_steps, a->n_steps == 1 ? "" : "s");
		r->status = "rolled-back";
		r->rollback = xstrdup("complete");
	}
	free(failed);
}

/* The change is in: pending its confirmation, or recorded.  An exit code. */
static int applied_finish(struct vf_hostcmd *x, unsigned confirm_timeout, struct result *r,
			  const struct tally *t)
{
	FILE *out = x->progress;
	char *error = NULL;

	if (confirm_timeout) {
		char until[64];

		r->status = "pending";
		fprintf(out, "\nHost apply complete: %zu created, %zu updated, %zu deleted.\n",
			t->created, t->updated, t->deleted);
		fprintf(out, "The change is kept only if confirmed by %s: run 'virtform host "
			"confirm --token %s' within %u s, or it is rolled back.\n",
			vf_hostcmd_time_text(vf_hostcmd_jint(r->confirm, "deadline"), until, sizeof(until)),
			vf_hostcmd_jstr(r->confirm, "token"), confirm_timeout);
		return VF_EXIT_OK;
	}
	if (write_records(x, &error) < 0 || write_confirmed(x, &error) < 0) {
		vf_hostcmd_report(x, "the links are applied, but %s", error);
		r->status = "failed";
		r->error = error;
		return VF_EXIT_ERROR;
	}
	r->status = "applied";
	fprintf(out, "\nHost apply complete: %zu created, %zu updated, %zu deleted.\n",
		t->created, t->updated, t->deleted);
	return VF_EXIT_OK;
}

static int host_execute(struct vf_hostcmd *x, unsigned confirm_timeout, struct result *r)
{
	struct vf_hostcmd_applier a;
	struct tally t = { 0, 0, 0 };
	char *error = NULL, *failed;
	int rc;

	memset(&a, 0, sizeof(a));
	a.nl = x->nl;
	a.list = &x->list;
	snapshots_take(&a, x);
	failed = actions_apply(&a, x, r, &t);
	a.action = (size_t)-1;   /* verification's own MTU steps belong to no action */
	if (!failed)
		failed = applied_verify(&a, x, r);
	if (!failed && confirm_timeout && make_pending(x, &a, confirm_timeout, r, &error) < 0) {
		failed = xasprintf("keeping the change for confirmation failed: %s", error);
		fprintf(stderr, "Error: %s\n", error);
		r->error = error;
	}
	if (failed) {
		failure_roll_back(&a, x, r, failed);
		vf_hostcmd_applier_release(&a);
		return VF_EXIT_ERROR;
	}
	a.nl = NULL;   /* x's */
	rc = applied_finish(x, confirm_timeout, r, &t);
	vf_hostcmd_applier_release(&a);
	return rc;
}

/* The source options of plan and apply: exactly one of --host NAME
 * [CONFIG], --spec, --last-confirmed.  0, or -1 reported. */
static int source_check(struct vf_hostcmd *x, enum vf_hostcmd_source src, const char *spec_path,
			bool last_confirmed, const char *host_name, int argc)
{
	if (spec_path && last_confirmed)
		return vf_hostcmd_report(x, "--spec and --last-confirmed exclude each other: give one");
	if (last_confirmed && (host_name || optind < argc))
		return vf_hostcmd_report(x, "--last-confirmed takes the host and its links from the last "
			      "confirmed spec: leave out --host and CONFIG");
	(void)src;
	return 0;
}

/* host apply's options. */
struct apply_opts {
	const char *host_name, *state_file, *spec_path, *timeout_text;
	bool auto_approve, json, no_delete, last_confirmed;
};

/* 0: go on; 1: --help printed; -1: a bad option (getopt said why). */
static int apply_opts_parse(int argc, char **argv, struct apply_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->state_file = VF_HOSTNET_STATE_FILE;
	while ((c = vf_cmd_getopt(&vf_hostcmd_apply, argc, argv)) != -1) {
		switch (c) {
		case VF_OPT_HOST: o->host_name = optarg; break;
		case VF_OPT_SPEC: o->spec_path = optarg; break;
		case VF_OPT_LAST_CONFIRMED: o->last_confirmed = true; break;
		case VF_OPT_AUTO_APPROVE: o->auto_approve = true; break;
		case VF_OPT_NO_DELETE: o->no_delete = true; break;
		case VF_OPT_CONFIRM_TIMEOUT: o->timeout_text = optarg; break;
		case VF_OPT_JSON: o->json = true; break;
		case VF_OPT_STATE_FILE: o->state_file = optarg; break;
		case 'h': fputs(apply_usage, stdout); return 1;
		default: return -1;
		}
	}
	return 0;
}

/* --confirm-timeout into *timeout (left 0 without one).  0, or -1 reported. */
static int confirm_timeout_parse(struct vf_hostcmd *x, const char *text, unsigned *timeout)
{
	char *end;
	unsigned long t;

	if (!text)
		return 0;
	errno = 0;
	t = strtoul(text, &end, 10);
	if (errno || end == text || *end || t < 1 || t > 3600 || text[0] == '-') {
		vf_hostcmd_report(x, "--confirm-timeout '%s' is not a whole number of seconds in "
				  "1..3600", text);
		return -1;
	}
	*timeout = (unsigned)t;
	return 0;
}

/*
 * --last-confirmed: the desired links from the last confirmed spec.  0
 * loaded; 1 there is none (nothing to apply); -1 reported.
 */
static int last_confirmed_load(struct vf_hostcmd *x)
{
	char *error = NULL, *what;
	bool missing;
	json_t *doc = vf_hostcmd_json_file_read(x->confirmed_path, "confirmed host network state",
						&missing, &error);

	if (!doc && missing) {
		fprintf(x->progress, "No confirmed host network state in %s: nothing to apply.\n",
			x->dir);
		free(error);
		return 1;
	}
	if (!doc) {
		vf_hostcmd_report(x, "%s", error);
		free(error);
		return -1;
	}
	what = xasprintf("the last confirmed host spec '%s'", x->confirmed_path);
	vf_hostcmd_desired_from_spec(x, doc, what, NULL);
	free(what);
	json_decref(doc);
	return x->spec ? 0 : -1;
}

/* The operator said yes on the terminal (reported when not). */
static bool apply_approved(struct vf_hostcmd *x)
{
	if (!isatty(STDIN_FILENO)) {
		vf_hostcmd_report(x, "no terminal to confirm on: review the plan and give "
				  "--auto-approve to apply without asking");
		return false;
	}
	if (!vf_confirm(x->progress, "Apply these changes to this host's links?")) {
		fprintf(x->progress, "Apply cancelled; nothing was changed.\n");
		vf_hostcmd_errors_append(x, "apply cancelled; nothing was changed");
		return false;
	}
	return true;
}

/* The work of host apply once its options are read; an exit code. */
static int host_apply(struct vf_hostcmd *x, const struct apply_opts *o, int argc, char **argv,
		      struct result *r)
{
	bool auto_approve = o->auto_approve;
	unsigned timeout = 0;
	char *error = NULL;

	if (confirm_timeout_parse(x, o->timeout_text, &timeout) < 0)
		return VF_EXIT_ERROR;
	if (source_check(x, VF_HOSTCMD_SOURCE_CONFIG, o->spec_path, o->last_confirmed,
			 o->host_name, argc) < 0 ||
	    vf_hostcmd_paths(x, o->state_file) < 0 || vf_hostcmd_lock(x) < 0 ||
	    vf_hostcmd_pending_check(x) < 0)
		return VF_EXIT_ERROR;
	if (o->last_confirmed) {
		switch (last_confirmed_load(x)) {
		case 1:
			r->status = "unchanged";
			return VF_EXIT_OK;
		case -1:
			return VF_EXIT_ERROR;
		}
		auto_approve = true;
	} else if (vf_hostcmd_desired_load(x, o->spec_path ? VF_HOSTCMD_SOURCE_SPEC
							   : VF_HOSTCMD_SOURCE_CONFIG,
					   o->spec_path, o->host_name, argc, argv) < 0) {
		return VF_EXIT_ERROR;
	}
	if (vf_hostcmd_plan_build(x) < 0)
		return VF_EXIT_ERROR;
	r->outcomes = xcalloc(x->plan.n + 1, sizeof(*r->outcomes));
	vf_hostnet_plan_print(&x->plan, x->progress);
	if (!x->plan.n) {
		/* converged: record what is ours (adopted links), and that this
		 * spec is what the host has */
		if (write_records(x, &error) < 0 || write_confirmed(x, &error) < 0) {
			vf_hostcmd_report(x, "%s", error);
			free(error);
			return VF_EXIT_ERROR;
		}
		r->status = "unchanged";
		return VF_EXIT_OK;
	}
	if (!auto_approve && !apply_approved(x))
		return VF_EXIT_ERROR;
	return host_execute(x, timeout, r);
}

static int host_apply_run(int argc, char **argv)
{
	struct result r = { "error", NULL, NULL, NULL, NULL };
	struct apply_opts o;
	struct vf_hostcmd x;
	int rc;

	switch (apply_opts_parse(argc, argv, &o)) {
	case 1: return VF_EXIT_OK;
	case -1: return VF_EXIT_ERROR;
	}
	vf_hostcmd_init(&x, &vf_hostcmd_apply, o.json);
	x.no_delete = o.no_delete;
	vf_hostcmd_set_name(&x, o.host_name);
	rc = host_apply(&x, &o, argc, argv, &r);
	fflush(x.progress);
	if (o.json)
		print_apply_doc(&x, &r);
	free(r.outcomes);
	free(r.error);
	free(r.rollback);
	json_decref(r.confirm);
	vf_hostcmd_release(&x);
	return rc;
}

const struct vf_cmd vf_hostcmd_apply = VF_CMD("host apply",
	"converge this machine's links, verified, rolled back on failure", apply_usage,
	host_apply_run, .options = VF_OPTS(VF_OPT_HOST, VF_OPT_SPEC, VF_OPT_LAST_CONFIRMED,
					   VF_OPT_AUTO_APPROVE, VF_OPT_NO_DELETE,
					   VF_OPT_CONFIRM_TIMEOUT, VF_OPT_JSON, VF_OPT_STATE_FILE));
