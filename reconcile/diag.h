/*
 * diag.h — diagnostics: every problem found in user input, collected deep
 * down and rendered once at the edge (cmd/), gcc-style:
 *
 *     FILE:LINE:COL: error: MESSAGE; HINT
 *
 * LINE and COL are 1-based.  A diagnostic without a position (an unreadable
 * file, an empty directory) renders as "FILE: error: MESSAGE".  Messages are
 * lowercase, quote the subject, and say what to do in the hint.
 */
#ifndef VF_DIAG_H
#define VF_DIAG_H

#include <stdio.h>
#include <stddef.h>

/* A position in a config file.  file is owned elsewhere (the loader keeps
 * every file name alive as long as the config); line 0 means "no position". */
struct vf_pos {
	const char *file;
	unsigned line;  /* 1-based, 0 = unknown */
	unsigned col;   /* 1-based */
};

enum vf_severity {
	VF_SEVERITY_ERROR,
	VF_SEVERITY_WARNING,
};

struct vf_diag {
	enum vf_severity severity;
	struct vf_pos pos;   /* pos.file is copied: diags outlive the config */
	char *message;
	char *hint;          /* may be NULL */
	size_t seq;          /* order found, for a stable sort */
};

/* A growable list; zero-initialize it ({0}), free with vf_diags_release. */
struct vf_diags {
	struct vf_diag *items;
	size_t n, alloc;
	size_t n_errors;
};

void vf_diag_add(struct vf_diags *d, enum vf_severity sev, const struct vf_pos *pos,
		 const char *hint, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define vf_error_at(d, pos, hint, ...) vf_diag_add((d), VF_SEVERITY_ERROR, (pos), (hint), __VA_ARGS__)

/* Sort by file, line, column (stable), so output does not depend on the
 * order checks ran in. */
void vf_diags_sort(struct vf_diags *d);
void vf_diags_print(const struct vf_diags *d, FILE *out);
void vf_diags_release(struct vf_diags *d);

#endif
