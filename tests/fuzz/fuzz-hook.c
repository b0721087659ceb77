/*
 * fuzz-hook.c — fuzz target: the git hook input, the "OLD NEW REF" lines
 * git writes on a pre-receive hook's stdin, through the real `virtform
 * hook pre-receive` (cmd/hook.c, providers/git/hook.c, libgit2) in a real
 * bare repository made once per process (protected refs: eight patterns in
 * its virtform.protectedRefs, main among them): main at commit C1,
 * pushed commits C2 (a child, valid) and C3 (its child, an invalid
 * configuration) that no ref holds, an unrelated root C4 (a rewind),
 * and a ref to a tree.  The commits are made with fixed authors and
 * dates, so their ids are the same in every run: the seed corpus and the
 * dictionary (tests/fuzz/hook.dict) use them.
 *
 * post-receive is not fuzzed: it runs `virtform sync`, which contacts
 * hosts; it reads its input with the same code (each_protected).
 */
#include <ftw.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "cmd/cmd.h"
#include "reconcile/util.h"
#include "tests/fuzz/fuzz.h"

/* The ids the seeds and the dictionary use (checked at start). */
#define C1 "b709e4f2802bdb9704e996fb2565403935a89d40"

static char dir[] = "/tmp/vf-fuzz-hook.XXXXXX";
static bool verbose;        /* VF_FUZZ_VERBOSE set: the hook's output is shown */

static const char good1[] =
	"version: 1\n"
	"project: fuzz\n"
	"clusters: [{name: local}]\n"
	"hosts: [{name: h1, uri: \"qemu:///system\"}]\n"
	"networks:\n"
	"  - {name: lan, mode: nat, ipv4: {address: 192.168.150.1/24}}\n"
	"vms:\n"
	"  - {name: web1, cpus: 1, memory: 512MiB, nics: [{network: lan}]}\n";
static const char good2[] =
	"version: 1\n"
	"project: fuzz\n"
	"clusters: [{name: local}]\n"
	"hosts: [{name: h1, uri: \"qemu:///system\"}]\n"
	"vms:\n"
	"  - {name: web1, cpus: 2, memory: 1GiB}\n"
	"  - {name: web2, cpus: 1, memory: 256MiB}\n";
static const char bad3[] =
	"version: 1\n"
	"hosts: [{name: h1, uri: \"qemu:///system\"}]\n"
	"vms:\n"
	"  - {name: web1, cpus: 0, memory: 1GiB, nics: [{network: nowhere}]}\n";

static void check(int rc, const char *what)
{
	if (rc < 0) {
		const git_error *e = git_error_last();
		fprintf(stderr, "fuzz-hook: %s: %s\n", what, e ? e->message : "?");
		abort();
	}
}

static void commit(git_repository *repo, const char *text, const git_oid *parent_id,
		   const char *message, git_time_t when, git_oid *id, git_oid *tree_id)
{
	git_signature *sig;
	git_treebuilder *tb;
	git_tree *tree;
	git_commit *parent = NULL;
	git_oid blob;

	check(git_signature_new(&sig, "Fuzz", "fuzz@example.invalid", when, 0), "signature");
	check(git_blob_create_from_buffer(&blob, repo, text, strlen(text)), "blob");
	check(git_treebuilder_new(&tb, repo, NULL), "treebuilder");
	check(git_treebuilder_insert(NULL, tb, "virtform.yaml", &blob, GIT_FILEMODE_BLOB), "insert");
	check(git_treebuilder_write(tree_id, tb), "tree");
	check(git_tree_lookup(&tree, repo, tree_id), "tree lookup");
	if (parent_id)
		check(git_commit_lookup(&parent, repo, parent_id), "parent");
	check(git_commit_create(id, repo, NULL, sig, sig, NULL, message, tree, parent ? 1 : 0,
				(const git_commit **)&parent), "commit");
	git_commit_free(parent);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_signature_free(sig);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void cleanup(void)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	git_repository *repo;
	git_reference *ref;
	git_config *cfg;
	git_oid c1, c2, c3, c4, t1, t;
	char hex[GIT_OID_HEXSZ + 1];

	if (!mkdtemp(dir))
		abort();
	/* no user or system git configuration: the same repository everywhere */
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	git_libgit2_init();
	check(git_repository_init(&repo, dir, 1), "init");
	commit(repo, good1, NULL, "C1: web1 on lan\n", 1700000000, &c1, &t1);
	commit(repo, good2, &c1, "C2: web2\n", 1700000100, &c2, &t);
	commit(repo, bad3, &c2, "C3: an invalid configuration\n", 1700000200, &c3, &t);
	commit(repo, good2, NULL, "C4: an unrelated root\n", 1700000300, &c4, &t);
	check(git_reference_create(&ref, repo, "refs/heads/main", &c1, 1, NULL), "main");
	git_reference_free(ref);
	check(git_reference_create(&ref, repo, "refs/tags/tree", &t1, 1, NULL), "tag");
	git_reference_free(ref);
	check(git_repository_config(&cfg, repo), "config");
	/* eight patterns: exactly the first allocation of the list they are
	 * read into (VF_GROW), so a read past its end is found */
	check(git_config_set_string(cfg, "virtform.protectedRefs",
				    "main, refs/heads/release-* refs/tags/v* prod stage-? "
				    "refs/heads/hotfix/* refs/heads/[0-9]* refs/notes/*"),
	      "protectedRefs");
	git_config_free(cfg);
	git_repository_free(repo);
	git_oid_tostr(hex, sizeof(hex), &c1);
	if (strcmp(hex, C1))
		fprintf(stderr, "fuzz-hook: warning: C1 is %s, not %s: the seeds and the "
			"dictionary name other commits\n", hex, C1);
	if (getenv("VF_FUZZ_HOOK_IDS")) {
		const git_oid *ids[] = { &c1, &c2, &c3, &c4, &t1 };
		size_t i;
		for (i = 0; i < VF_ARRAY_SIZE(ids); i++) {
			git_oid_tostr(hex, sizeof(hex), ids[i]);
			printf("%s\n", hex);
		}
	}
	setenv("GIT_DIR", dir, 1);
	verbose = getenv("VF_FUZZ_VERBOSE") != NULL;
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { "hook", "pre-receive", NULL };
	FILE *in, *out, *saved_stdin = stdin, *saved_stdout = stdout, *saved_stderr = stderr;
	char *copy;

	/* the hook reads stdin: make it the input */
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	in = size ? fmemopen(copy, size, "r") : fopen("/dev/null", "r");
	/* its own stdout: the hook sets its buffering */
	out = fopen("/dev/null", "w");
	if (!in || !out)
		abort();
	stdin = in;
	if (!verbose) {
		stdout = out;
		stderr = fuzz_null();
	}
	optind = 0;
	vf_cmd_hook.run(2, argv);
	stdin = saved_stdin;
	stdout = saved_stdout;
	stderr = saved_stderr;
	fclose(in);
	fclose(out);
	free(copy);
	return 0;
}
