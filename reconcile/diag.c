/*
 * diag.c — collecting and rendering diagnostics (see diag.h).
 */
#include <stdlib.h>
#include <string.h>

#include "reconcile/diag.h"
#include "reconcile/util.h"

void vf_diag_add(struct vf_diags *d, enum vf_severity sev, const struct vf_pos *pos,
		 const char *hint, const char *fmt, ...)
{
	struct vf_diag *g;
	va_list ap;

	VF_GROW(d->items, d->n + 1, d->alloc);
	g = &d->items[d->n++];
	g->severity = sev;
	g->seq = d->n - 1;
	if (pos) {
		g->pos = *pos;
		g->pos.file = pos->file ? xstrdup(pos->file) : NULL;
	} else {
		memset(&g->pos, 0, sizeof(g->pos));
	}
	va_start(ap, fmt);
	g->message = xvasprintf(fmt, ap);
	va_end(ap);
	g->hint = hint ? xstrdup(hint) : NULL;
	if (sev == VF_SEVERITY_ERROR)
		d->n_errors++;
}

static int diag_cmp(const void *pa, const void *pb)
{
	const struct vf_diag *a = pa, *b = pb;
	int c = strcmp(a->pos.file ? a->pos.file : "", b->pos.file ? b->pos.file : "");

	if (c)
		return c;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	/* qsort is not stable: equal positions keep the order found */
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void vf_diags_sort(struct vf_diags *d)
{
	if (d->n > 1)
		qsort(d->items, d->n, sizeof(*d->items), diag_cmp);
}

void vf_diags_print(const struct vf_diags *d, FILE *out)
{
	size_t i;
	for (i = 0; i < d->n; i++) {
		const struct vf_diag *g = &d->items[i];
		const char *sev = g->severity == VF_SEVERITY_ERROR ? "error" : "warning";
		/* a name, a value, a file name: whatever the config holds,
		 * never a control character to the terminal or the CI log */
		if (g->pos.file) {
			vf_fputs_text(g->pos.file, out);
			if (g->pos.line)
				fprintf(out, ":%u:%u", g->pos.line, g->pos.col);
			fputs(": ", out);
		}
		fprintf(out, "%s: ", sev);
		vf_fputs_text(g->message, out);
		if (g->hint) {
			fputs("; ", out);
			vf_fputs_text(g->hint, out);
		}
		fputc('\n', out);
	}
}

void vf_diags_release(struct vf_diags *d)
{
	size_t i;
	for (i = 0; i < d->n; i++) {
		free((char *)d->items[i].pos.file);
		free(d->items[i].message);
		free(d->items[i].hint);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}
