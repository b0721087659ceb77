/*
 * cpu.h — the cluster CPU model, provider side (cpu.c): a host's CPU as
 * libvirt reports it, the baseline of several hosts' CPUs, a CPU (the
 * cluster's model) checked against a host with the features it lacks,
 * and whether a change of the cluster model lowers it.  Not wired into
 * plan/state yet; the engine reaches it through vf_libvirt_cpu_cluster.
 *
 * What libvirt does on each driver (libvirt 9.0, measured):
 *   qemu: domain capabilities give the host-model CPU (model, vendor,
 *         required and disabled features); the hypervisor CPU baseline
 *         (migratable) and compare APIs work; compare with
 *         FAIL_INCOMPATIBLE names the missing features in its message.
 *         Baselining CPUs of different vendors fails ("CPU vendors do
 *         not match"): a mixed cluster needs a named model.
 *   test: no domain capabilities and no hypervisor CPU API.  Here the
 *         host's CPU is capabilities' <host><cpu>, the baseline is
 *         libvirt's older host CPU baseline (from its CPU map, no
 *         hypervisor), and a check is computed from the feature lists
 *         that baseline expands (vf_cpu_diff).
 * Domain capabilities and the hypervisor CPU calls need a read-write
 * connection ("read only access prevents ..."); the host CPU baseline
 * does not.
 *
 * XML is parsed and written with libxml2 only (xml-internal.h).  Every
 * function returns 0 (or as documented), -1 with *error set to a
 * malloc'd one-line message (caller frees).  Private to the libvirt
 * provider, except for what vf_libvirt_cpu_cluster hands the engine.
 */
#ifndef VF_PROVIDER_LIBVIRT_CPU_H
#define VF_PROVIDER_LIBVIRT_CPU_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/libvirt/conn.h"
#include "reconcile/util.h"

/* A list of feature names, in the owner's arena. */
struct vf_cpu_features {
	const char **v;
	size_t n, alloc;
};

/*
 * A CPU as libvirt describes it.  xml is the document given to libvirt:
 * a guest CPU (<cpu mode='custom' match='exact'>, features with a
 * policy) for a host-model, a baseline or a named model; a host CPU
 * (<cpu><arch>, features without policy) from capabilities (the test
 * driver).  Strings live in arena; release with vf_cpu_release.
 */
struct vf_cpu {
	struct vf_arena arena;
	char *xml;                       /* malloc'd */
	const char *model;               /* "Haswell-noTSX"; NULL: none */
	const char *vendor;              /* "Intel"; NULL: any */
	const char *arch;                /* "x86_64"; NULL: not said */
	struct vf_cpu_features required; /* policy require/force/optional, or none */
	struct vf_cpu_features disabled; /* policy disable/forbid */
};
void vf_cpu_release(struct vf_cpu *c);

/* Parse a <cpu> document (guest or host) into c, which owns a copy of xml. */
int vf_cpu_parse(const char *xml, struct vf_cpu *c, char **error);

/*
 * The host-model CPU of a domain capabilities document
 * (/domainCapabilities/cpu/mode[@name='host-model'], its arch from
 * /domainCapabilities/arch), as a guest CPU.  An error when the document
 * has none or says it is not supported.
 */
int vf_cpu_from_domcaps(const char *domcaps, struct vf_cpu *c, char **error);

/* The host CPU of a capabilities document (/capabilities/host/cpu). */
int vf_cpu_from_capabilities(const char *caps, struct vf_cpu *c, char **error);

/* The named model ("Haswell-noTSX") as a guest CPU, vendor left open. */
int vf_cpu_named(const char *model, struct vf_cpu *c, char **error);

/*
 * A host's CPU: its host-model from domain capabilities; on a driver
 * without them (test), capabilities' host CPU.
 */
int vf_cpu_host_model(virConnectPtr conn, struct vf_cpu *c, char **error);

/*
 * The baseline of n CPUs, computed by conn's libvirt: the hypervisor
 * CPU baseline with VIR_CONNECT_BASELINE_CPU_MIGRATABLE (arch from the
 * first CPU that says it); on a driver without it, the host CPU
 * baseline (host CPUs only).  out is the result, a guest CPU.
 */
int vf_cpu_baseline(virConnectPtr conn, const struct vf_cpu *cpus, size_t n,
		    struct vf_cpu *out, char **error);

/* Whether a CPU can run where it was checked, and if not why. */
struct vf_cpu_verdict {
	bool compatible;
	char *reason;                     /* malloc'd; NULL when compatible:
					   * "missing features: pni, svm", or
					   * libvirt's words (a vendor) */
	struct vf_cpu_features missing;   /* in arena; may be empty when the
					   * reason is not a feature */
	struct vf_arena arena;
};
void vf_cpu_verdict_release(struct vf_cpu_verdict *v);

/*
 * Can host (its conn; host is its CPU, as vf_cpu_host_model read it)
 * run want?  libvirt's hypervisor CPU compare with
 * VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE; the missing features are
 * read from its message.  On a driver without that API, vf_cpu_diff of
 * want against host.  -1 only when the question could not be asked.
 */
int vf_cpu_check(virConnectPtr conn, const struct vf_cpu *want, const struct vf_cpu *host,
		 struct vf_cpu_verdict *v, char **error);

/*
 * Fill v (zeroed) from libvirt's message for an incompatible CPU:
 * incompatible, the features after "required features: " (", "
 * separated) and "missing features: ..." as the reason, or else the text
 * after "host CPU: " (a vendor that differs).  Separate to be tested
 * without a hypervisor.
 */
void vf_cpu_read_incompatible(const char *message, struct vf_cpu_verdict *v);

/*
 * Does have provide everything want does?  Both expanded to their full
 * feature lists by conn's CPU map (host CPU baseline with
 * EXPAND_FEATURES; a guest CPU's disabled features taken out after);
 * missing: want's features have lacks, sorted; a different vendor is
 * incompatible too.  Needs no hypervisor: works on the test driver.
 */
int vf_cpu_diff(virConnectPtr conn, const struct vf_cpu *want, const struct vf_cpu *have,
		struct vf_cpu_verdict *v, char **error);

/*
 * The cluster's effective model: setting NULL or "auto" is the baseline
 * of the n hosts' CPUs; anything else names a model.
 */
int vf_cpu_cluster_model(virConnectPtr conn, const char *setting, const struct vf_cpu *hosts,
			 size_t n, struct vf_cpu *model, char **error);

/*
 * Does changing the cluster model from old to new lower it (running VMs
 * would lose features: they keep old until restarted)?  1 with
 * v->missing the features lost, 0 not, -1 error.  The plan shows a
 * lowering and the VMs that need a restart; it never happens silently.
 */
int vf_cpu_lowers(virConnectPtr conn, const struct vf_cpu *old_model,
		  const struct vf_cpu *new_model, struct vf_cpu_verdict *v, char **error);

/*
 * For the engine: the cluster of the n hosts at uris (read-write
 * connections, each host's CPU read on its own), its model by setting
 * (computed on the first host), and each host checked against it on its
 * own connection.  hosts[i].reason is what `hosts` prints and the
 * scheduler's CPU filter takes (vf_sched_host.cpu_incompatible).
 * Release with vf_cpu_cluster_release.
 */
struct vf_cpu_cluster {
	struct vf_cpu model;
	struct vf_cpu_verdict *hosts;     /* n_hosts of them, in uris order */
	size_t n_hosts;
};
int vf_libvirt_cpu_cluster(const char *const *uris, size_t n, const char *setting,
			   struct vf_cpu_cluster *out, char **error);
void vf_cpu_cluster_release(struct vf_cpu_cluster *c);

#endif
