/*
 * host.h — what the files of `virtform host` share, and nothing else:
 * cmd/host.c (the dispatcher, host show, the context below, host plan),
 * cmd/host-apply.c (snapshot, execute, verify, roll back: host apply) and
 * cmd/host-confirm.c (the pending change, its watcher and expiry: host
 * confirm).  Private to them, as cmd/run.h is to plan, apply and destroy.
 *
 * Functions that return -1 "reported" have printed the error on stderr
 * and kept it in x->errors for the --json error document.
 */
#ifndef VF_CMD_HOST_H
#define VF_CMD_HOST_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "providers/hostnet/links.h"
#include "reconcile/hostnet.h"

/* ---- cmd/host.c: the context of host plan, apply and confirm -------------- */

/* Where the desired links come from. */
enum vf_hostcmd_source { VF_HOSTCMD_SOURCE_CONFIG, VF_HOSTCMD_SOURCE_SPEC, VF_HOSTCMD_SOURCE_LAST_CONFIRMED };

/*
 * One host command's state: the host-local files, the lock, the desired
 * and observed links, the plan, and the errors reported so far (for the
 * --json error document).  Everything is released by vf_hostcmd_release.
 */
struct vf_hostcmd {
	const struct vf_cmd *cmd;
	bool json;                  /* --json: one document on stdout */
	FILE *progress;             /* what people read: stdout, or stderr with --json */
	struct vf_buf errors;       /* every error message reported, one per line */
	char *host;                 /* the host's name once known (--host or the spec) */
	/* host-local files, absolute paths */
	char *state_file, *dir, *pending_path, *confirmed_path, *lock_path;
	int lock_fd;
	/* desired links and their spec */
	struct vf_config *config;
	json_t *spec;               /* vf_hostnet_spec_json of desired: what is confirmed */
	struct vf_host_links desired, observed;
	struct vf_hostnet_plan plan;
	struct vf_hostnet_owned owned;
	struct vf_link_list list;
	struct vf_netlink *nl;
	bool no_delete;
};

/* Zero x for cmd; progress goes to stdout, or to stderr with json. */
void vf_hostcmd_init(struct vf_hostcmd *x, const struct vf_cmd *cmd, bool json);
/* Free everything x holds and close the lock (which releases it). */
void vf_hostcmd_release(struct vf_hostcmd *x);
/* Keep msg as one more line of x->errors (without printing it). */
void vf_hostcmd_errors_append(struct vf_hostcmd *x, const char *msg);
/* "virtform host SUB: error: MSG" on stderr, and MSG kept.  Returns -1. */
__attribute__((format(printf, 2, 3)))
int vf_hostcmd_report(struct vf_hostcmd *x, const char *fmt, ...);
/* Set x->host to a copy of name (NULL: not known). */
void vf_hostcmd_set_name(struct vf_hostcmd *x, const char *name);
/* Print doc on stdout (the one --json document).  0 or -1. */
int vf_hostcmd_print_doc(json_t *doc);
/* {"host", "status": "error", "error"} on stdout, for a failure with --json. */
void vf_hostcmd_print_error_doc(struct vf_hostcmd *x);
/* x's host-local files: state_file (made absolute), the others beside it.  0 or -1 reported. */
int vf_hostcmd_paths(struct vf_hostcmd *x, const char *state_file);
/* Open and lock path (made if missing), waiting up to wait_s s.  The fd, or -1 with *error. */
int vf_hostcmd_lock_open(const char *path, const char *dir, double wait_s, char **error);
/* Take x's lock (hostnet.lock), waiting up to 30 s.  0, or -1 reported. */
int vf_hostcmd_lock(struct vf_hostcmd *x);
/* Read a JSON file, or NULL: *missing when it does not exist, else *error. */
json_t *vf_hostcmd_json_file_read(const char *path, const char *what, bool *missing, char **error);
/* x->desired, x->spec and x->host from a host spec; --host must match.  0 or -1 reported. */
int vf_hostcmd_desired_from_spec(struct vf_hostcmd *x, json_t *spec, const char *what,
		      const char *host_name);
/* x->desired and x->spec from --host NAME [CONFIG] or --spec FILE|-.  0 or -1 reported. */
int vf_hostcmd_desired_load(struct vf_hostcmd *x, enum vf_hostcmd_source src, const char *spec_path,
		 const char *host_name, int argc, char **argv);
/* A live link's kind as the engine's records (struct vf_host_link) have it. */
enum vf_host_link_kind vf_hostcmd_link_kind(enum vf_link_kind kind);
/* A link's bond options as one JSON object {"miimon": "100", ...} (a new reference). */
json_t *vf_hostcmd_bond_options_json(const struct vf_link *l);
/* Read the records and links, build x->plan (no deletes with no_delete).  0 or -1 reported. */
int vf_hostcmd_plan_build(struct vf_hostcmd *x);

/* ---- cmd/host-apply.c: snapshot, steps, rollback -------------------------- */

struct vf_hostcmd_snap;
struct vf_hostcmd_step;

/*
 * The changes one apply made and how to undo them.  Built while applying,
 * or from the pending file (a watcher's rollback): everything is owned.
 */
struct vf_hostcmd_applier {
	struct vf_netlink *nl;
	struct vf_link_list *list;  /* the links as last read */
	struct vf_hostcmd_snap *snaps;
	size_t n_snaps;
	struct vf_hostcmd_step *steps;
	size_t n_steps, alloc_steps;
	size_t action;              /* the action being applied */
};

/* Free what a holds and zero it. */
void vf_hostcmd_applier_release(struct vf_hostcmd_applier *a);
/* Append the formatted problem to *problems ("A; B"; malloc'd, NULL: none yet). */
__attribute__((format(printf, 2, 3)))
void vf_hostcmd_problem_add(char **problems, const char *fmt, ...);
/* Undo a's steps backwards, compare with the snapshot: NULL, or what differs (malloc'd). */
char *vf_hostcmd_rollback(struct vf_hostcmd_applier *a);
/* Fill a (zeroed) with a pending file's snapshot and steps.  0, or -1 with *error. */
int vf_hostcmd_applier_from_json(struct vf_hostcmd_applier *a, const json_t *pending, char **error);

/* `virtform host apply`. */
extern const struct vf_cmd vf_hostcmd_apply;

/* ---- cmd/host-confirm.c: pending changes, the watcher, expiry ------------- */

/* The wall clock (CLOCK_REALTIME), in seconds. */
double vf_hostcmd_now_real(void);
/* Format t as local time "2026-11-27 10:00:05 UTC" into buf; returns buf. */
const char *vf_hostcmd_time_text(json_int_t t, char *buf, size_t size);
/* The kernel's boot id (malloc'd): tells a pending change from before a restart. */
char *vf_hostcmd_boot_id(void);
/* This process's network namespace, "net:[4026531840]" (malloc'd). */
char *vf_hostcmd_netns_id(void);
/* The start time of process pid (malloc'd; "" if gone): tells a recycled pid. */
char *vf_hostcmd_proc_start(pid_t pid);
/* A new confirmation token, 32 hex digits.  0, or -1 with *error. */
int vf_hostcmd_token_new(char out[33], char **error);
/* The string member key of o, or "". */
const char *vf_hostcmd_jstr(const json_t *o, const char *key);
/* The integer member key of o, or 0. */
json_int_t vf_hostcmd_jint(const json_t *o, const char *key);
/* Fork the watcher that rolls back token's change at fire_at.  Its pid, or -1 with *error. */
pid_t vf_hostcmd_watcher_start(struct vf_hostcmd *x, const char *token, double fire_at, int *go_fd,
		    char **error);
/* Refuse an apply while a change awaits confirmation; roll back an expired one: 0, -1 reported. */
int vf_hostcmd_pending_check(struct vf_hostcmd *x);

/* `virtform host confirm`. */
extern const struct vf_cmd vf_hostcmd_confirm;

#endif
