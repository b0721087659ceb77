/*
 * yaml.h — a YAML document as a tree of positioned nodes, built with
 * libyaml's event parser.
 *
 * Why not yaml_parser_load(): we need every node's position for errors,
 * duplicate-key detection, YAML 1.1 merge keys ("<<: *defaults") and a
 * bound on alias expansion (a "billion laughs" document must fail fast, not
 * hang), all of which are easiest while the tree is built.
 *
 * Ownership: every node lives in the arena passed to vf_yaml_parse(), and
 * every scalar's text in its text arena — so a loader can keep the texts
 * (names, paths) and drop the tree once it has read it; nodes are never
 * freed individually.  An alias is the
 * very node its anchor names (the tree is a DAG), so positions inside
 * aliased content point at the anchor's definition.
 */
#ifndef VF_YAML_H
#define VF_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/diag.h"
#include "reconcile/util.h"

/* Bounds on hostile input. */
#define VF_YAML_MAX_DEPTH 128
#define VF_YAML_MAX_EXPANSION 1000000  /* nodes reachable through aliases */

enum vf_node_kind {
	VF_NODE_SCALAR,
	VF_NODE_SEQ,
	VF_NODE_MAP,
};

struct vf_node;

struct vf_pair {
	struct vf_node *key;     /* always a scalar */
	struct vf_node *value;
};

struct vf_node {
	struct vf_pos pos;
	union {
		const char *text;        /* scalar: NUL-terminated; may contain NULs */
		struct vf_node **items;  /* seq */
		struct vf_pair *pairs;   /* map */
	} u;
	uint32_t n;                      /* scalar: text length (files are at most
					  * VF_CONFIG_FILE_MAX); seq: items; map: pairs */
	uint8_t kind;                    /* enum vf_node_kind */
	bool plain;                      /* scalar: unquoted (may be a number, bool, null) */
};                                       /* 32 bytes: 10,000 VMs make half a million */

/*
 * Parse one YAML document from buf (len bytes, not necessarily
 * NUL-terminated) read from file.  Errors go to diags with positions in
 * file.  Returns the root node, or NULL on error or for an empty document
 * (*empty is then set to true when there was simply nothing in it).
 */
struct vf_node *vf_yaml_parse(struct vf_arena *arena, struct vf_arena *text_arena,
			      const char *file, const char *buf, size_t len,
			      struct vf_diags *diags, bool *empty);

/* A plain "", "~", "null", "Null" or "NULL". */
bool vf_node_is_null(const struct vf_node *n);

/* The value of key in map n, or NULL (and for a key node, *keyp). */
struct vf_node *vf_map_get(const struct vf_node *map, const char *key);
struct vf_pair *vf_map_pair(const struct vf_node *map, const char *key);

/* "a string", "a list", "a mapping", "null", "an integer", ... for messages. */
const char *vf_node_describe(const struct vf_node *n);

#endif
