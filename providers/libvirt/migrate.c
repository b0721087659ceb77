/*
 * migrate.c — move one VM to another host (migrate.h): live with
 * libvirt's peer-to-peer migration when it runs, cold (define there,
 * undefine here) when it is stopped.
 *
 * A live migration blocks in virDomainMigrateToURI3 for as long as the
 * memory takes to copy, so that call runs on a thread of its own while
 * the calling thread watches the job (virDomainGetJobInfo on the same
 * connection: libvirt's connections take calls from several threads):
 * it reports progress, sets the maximum downtime once the job exists
 * (libvirt has no typed parameter for it) and, past the timeout, aborts
 * the job (the guest keeps running on the source) or switches to
 * post-copy when that is allowed.
 *
 * Messages: every step reports through a struct op whose subject is
 * "migrating ADDRESS from A to B failed", so libvirt's errors read
 * "migrating vm.web1 from lab1 to lab2 failed: cannot migrate: ...";
 * where the VM is afterwards is appended once, at the end.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/uri.h>

#include "providers/libvirt/internal.h"
#include "providers/libvirt/migrate.h"

#define PROGRESS_INTERVAL_MS 500

/* One migration: the caller's request and what the two threads share. */
struct migration {
	struct op op;
	struct vf_action a;             /* only its address: the messages' subject */
	const struct vf_migrate_request *req;
	const struct vf_migrate_settings *set;
	struct vf_migrate_result *res;
	virDomainPtr dom;               /* on the source */
	virConnectPtr dest;
	/* the live migration's thread: params in, rc and error out */
	virTypedParameterPtr params;
	int n_params;
	unsigned flags;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int rc;
	char *thread_error;
};

/* The host part of a libvirt URI ("qemu+tcp://10.0.0.2/system": "10.0.0.2"); NULL: none. */
static char *uri_host(const char *uri)
{
	xmlURIPtr u = xmlParseURI(uri);
	char *host = u && u->server && *u->server ? xstrdup(u->server) : NULL;

	xmlFreeURI(u);
	return host;
}

/* The migration's typed parameters and flags, from the settings. */
static int live_params(struct migration *m)
{
	const struct vf_migrate_settings *set = m->set;
	int max = 0;
	char *host = set->address ? xstrdup(set->address) : uri_host(m->req->to_uri);
	char *mig_uri = NULL;
	int rc = 0;

	m->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
		   VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_ABORT_ON_ERROR;
	if (set->auto_converge)
		m->flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (set->post_copy)
		m->flags |= VIR_MIGRATE_POSTCOPY;
	if (set->copy_storage)
		m->flags |= VIR_MIGRATE_NON_SHARED_DISK;
	/* the memory goes to the destination's address, not to the name it
	 * calls itself (which the source may not resolve) */
	if (host) {
		mig_uri = xasprintf(strchr(host, ':') ? "tcp://[%s]" : "tcp://%s", host);
		rc = virTypedParamsAddString(&m->params, &m->n_params, &max, VIR_MIGRATE_PARAM_URI,
					     mig_uri);
	}
	if (rc == 0 && set->bandwidth)
		rc = virTypedParamsAddULLong(&m->params, &m->n_params, &max,
					     VIR_MIGRATE_PARAM_BANDWIDTH, set->bandwidth);
	free(mig_uri);
	free(host);
	return rc < 0 ? vf_op_fail(&m->op, "set the migration's parameters") : 0;
}

static void *migrate_thread(void *arg)
{
	struct migration *m = arg;
	int rc = virDomainMigrateToURI3(m->dom, m->req->to_uri, m->params,
					(unsigned)m->n_params, m->flags);
	char *error = rc < 0 ? vf_libvirt_error("cannot migrate") : NULL;

	pthread_mutex_lock(&m->lock);
	m->rc = rc;
	m->thread_error = error;
	m->done = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Wait up to ms for the migration thread; true when it has finished. */
static bool wait_done(struct migration *m, unsigned ms)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (!m->done && pthread_cond_timedwait(&m->cond, &m->lock, &until) == 0)
		;
	done = m->done;
	pthread_mutex_unlock(&m->lock);
	return done;
}

/*
 * One look at the running job: progress, the downtime once the job
 * exists, and the timeout.  Errors here are not the migration's: the job
 * may have ended between two calls (its own result decides).
 */
static void watch_job(struct migration *m, double start, bool *downtime_set, bool *acted)
{
	const struct vf_migrate_settings *set = m->set;
	virDomainJobInfo info;
	struct vf_migrate_progress p;

	if (virDomainGetJobInfo(m->dom, &info) == 0 && info.type != VIR_DOMAIN_JOB_NONE) {
		if (set->max_downtime_ms && !*downtime_set)
			*downtime_set = virDomainMigrateSetMaxDowntime(m->dom, set->max_downtime_ms,
								       0) == 0;
		m->res->processed = info.dataProcessed;
		p = (struct vf_migrate_progress){ info.dataProcessed, info.dataTotal,
						  info.dataRemaining, vf_now() - start };
		if (set->progress && info.dataTotal)
			set->progress(&p, set->progress_data);
	}
	virResetLastError();
	if (!set->timeout || *acted || vf_now() - start < set->timeout)
		return;
	/* past the timeout: a post-copy switch ends it on the destination;
	 * otherwise the job is cancelled and the guest runs on here */
	*acted = true;
	m->res->timed_out = true;
	if (set->post_copy ? virDomainMigrateStartPostCopy(m->dom, 0) : virDomainAbortJob(m->dom))
		virResetLastError();
}

/* The live migration: its thread runs, this one watches until it ends. */
static int migrate_live(struct migration *m)
{
	const struct vf_migrate_settings *set = m->set;
	unsigned interval = set->progress_interval_ms ? set->progress_interval_ms
						      : PROGRESS_INTERVAL_MS;
	double start = vf_now();
	bool downtime_set = false, acted = false;
	pthread_condattr_t attr;
	pthread_t thread;

	if (live_params(m) < 0) {
		virTypedParamsFree(m->params, m->n_params);
		return -1;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&m->lock, NULL);
	if (pthread_create(&thread, NULL, migrate_thread, m)) {
		vf_op_failf(&m->op, "cannot start the migration's thread");
		goto out;
	}
	while (!wait_done(m, interval))
		watch_job(m, start, &downtime_set, &acted);
	pthread_join(thread, NULL);
	m->res->seconds = vf_now() - start;
	if (m->rc < 0) {
		free(*m->op.error);
		*m->op.error = m->res->timed_out
			       ? xasprintf("%s: timed out after %u s (%s)", op_address(&m->op),
					   set->timeout, m->thread_error)
			       : xasprintf("%s: %s", op_address(&m->op), m->thread_error);
	}
out:
	free(m->thread_error);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	virTypedParamsFree(m->params, m->n_params);
	return *m->op.error ? -1 : 0;
}

/* Undefine a stopped domain, keeping its NVRAM (a cold move does not
 * carry it: it stays on the source for the operator). */
static int undefine_keep_nvram(virDomainPtr dom)
{
	if (virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM) == 0)
		return 0;
	if (virGetLastErrorCode() != VIR_ERR_INVALID_ARG &&
	    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
		return -1;
	return virDomainUndefine(dom);
}

/*
 * The cold move: the same inactive definition (uuid, marker, pending
 * changes, the secure parts such as a graphics password) defined on the
 * destination, its autostart copied, then the source undefined.  When
 * the source cannot be undefined (or the VM was started meanwhile), the
 * copy goes again, so the VM is defined on one host only.
 */
static int migrate_cold(struct migration *m, int autostart)
{
	virDomainPtr copy = NULL;
	char *xml = virDomainGetXMLDesc(m->dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
	double start = vf_now();
	int rc = -1;

	if (!xml)
		return vf_op_fail(&m->op, "read the domain");
	copy = virDomainDefineXML(m->dest, xml);
	if (!copy) {
		vf_op_fail(&m->op, "define the domain on the destination");
		goto out;
	}
	if (virDomainSetAutostart(copy, autostart) < 0) {
		vf_op_fail(&m->op, "set autostart on the destination");
	} else if (vf_libvirt_object_active(vf_libvirt_vm_ops.object, m->dom) != 0) {
		vf_op_failf(&m->op, "it was started meanwhile");
	} else if (undefine_keep_nvram(m->dom) < 0) {
		vf_op_fail(&m->op, "undefine the domain on the source");
	} else {
		rc = 0;
	}
	if (rc < 0 && virDomainUndefine(copy) < 0)
		virResetLastError();    /* the copy stays: the message says where the VM is */
	m->res->seconds = vf_now() - start;
out:
	if (copy)
		virDomainFree(copy);
	free(xml);
	return rc;
}

/*
 * After a live migration, on the destination: the autostart, which
 * migration leaves behind, and the figures of the completed job (data
 * sent, the guest's pause), which the source forgot with the domain.
 */
static int finish_live(struct migration *m, int autostart)
{
	virDomainPtr there = virDomainLookupByName(m->dest, m->req->name);
	virTypedParameterPtr stats = NULL;
	unsigned long long v;
	int type, n = 0, rc = 0;

	if (there && virDomainGetJobStats(there, &type, &stats, &n,
					  VIR_DOMAIN_JOB_STATS_COMPLETED) == 0) {
		if (virTypedParamsGetULLong(stats, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &v) == 1)
			m->res->processed = v;
		if (virTypedParamsGetULLong(stats, n, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
			m->res->downtime_ms = v;
		virTypedParamsFree(stats, n);
	}
	virResetLastError();            /* figures only: a driver may not keep them */
	if (autostart && (!there || virDomainSetAutostart(there, 1) < 0))
		rc = vf_op_fail(&m->op, "set autostart on the destination");
	if (there)
		virDomainFree(there);
	return rc;
}

/* After a failure: where the VM is now, appended to the message. */
static void say_where(struct migration *m)
{
	const char *from = m->req->from;
	char *text = *m->op.error;
	int active = m->dom ? virDomainIsActive(m->dom) : 0;

	m->res->on_source = !m->dom || active >= 0;
	virResetLastError();            /* gone (or unreadable): said below */
	if (!m->dom)
		*m->op.error = xasprintf("%s; nothing was moved", text);
	else if (active > 0)
		*m->op.error = xasprintf("%s; it still runs on %s", text, from);
	else if (active == 0)
		*m->op.error = xasprintf("%s; it is still defined on %s, stopped", text, from);
	else
		*m->op.error = xasprintf("%s; it is no longer on %s: look for it on %s", text,
					 from, m->req->to);
	free(text);
}

int vf_libvirt_migrate(struct vf_session *s, const struct vf_migrate_request *req,
		       const struct vf_migrate_settings *set, struct vf_migrate_result *res,
		       char **error)
{
	struct vf_migrate_result ignored;
	struct vf_resource owner = { .kind = VF_KIND_VM, .name = req->name };
	struct migration m = { .req = req, .set = set, .res = res ? res : &ignored };
	void *dom = NULL;
	int found, active, autostart = 0, rc = -1;

	*error = NULL;
	memset(m.res, 0, sizeof(*m.res));
	m.a = (struct vf_action){ .kind = VF_KIND_VM, .name = req->name };
	m.a.address = xasprintf("migrating %s from %s to %s failed", req->address, req->from,
				req->to);
	m.op = (struct op){ s->conn, &m.a, error, s->secrets };
	owner.u.vm.marker.project = req->project;
	found = vf_libvirt_object_find(&m.op, vf_libvirt_vm_ops.object, &owner, &dom);
	if (found == 0)
		vf_op_failf(&m.op, "domain '%s' does not exist on %s", req->name, req->from);
	if (found <= 0)
		goto out;
	m.dom = dom;
	m.dest = vf_libvirt_open(req->to_uri, 0, error);
	if (!m.dest) {
		char *why = *error;
		*error = xasprintf("%s: %s", m.a.address, why);
		free(why);
		goto out;
	}
	active = vf_libvirt_object_active(vf_libvirt_vm_ops.object, dom);
	m.res->live = active > 0;
	if (active < 0 || virDomainGetAutostart(dom, &autostart) < 0)
		vf_op_fail(&m.op, "read the domain's state");
	else if (active)
		rc = migrate_live(&m) < 0 ? -1 : finish_live(&m, autostart);
	else
		rc = migrate_cold(&m, autostart);
out:
	if (rc < 0)
		say_where(&m);
	if (m.dest)
		virConnectClose(m.dest);
	if (dom)
		virDomainFree(dom);
	free((char *)m.a.address);
	return rc;
}
