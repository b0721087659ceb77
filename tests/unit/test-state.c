/*
 * The state's intent journal (state.h: the journal, pending): its round
 * trip through state.json, states written before it, the notes the plan
 * shows; the journal file replayed after a crash at each step (after a
 * begin record, after an end record, after a save's rename but before the
 * journal's removal, in the middle of a record's write); the executor's
 * journal around each action (apply.c), seen from inside a fake provider
 * that replays a copy of the state directory while the action "runs";
 * O(1) removal; and what vf_state_sync makes of an interrupted apply's
 * marks.
 *
 * No host is contacted: the provider here is a fake; the libvirt one is
 * used only for its pure diff hints.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/engine.h"
#include "providers/libvirt/provider.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-state.XXXXXX";

static char *dir_new(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return xstrdup("");
	m = open_memstream(&text, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return text;
}

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* Copy file from to to, bytes as they are; nothing when from is missing. */
static void file_copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "r"), *out;
	char buf[4096];
	size_t n;

	if (!in)
		return;
	out = fopen(to, "w");
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(out);
	fclose(in);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static int state_open(struct vf_state *s, const char *dir)
{
	char *error = NULL;
	int rc = vf_state_open(s, dir, 0, "test", &error);

	if (rc < 0)
		printf("# %s\n", error);
	free(error);
	return rc;
}

static int state_save(struct vf_state *s)
{
	char *error = NULL;
	int rc = vf_state_save(s, &error);

	if (rc < 0)
		printf("# %s\n", error);
	free(error);
	return rc;
}

/*
 * What a crash now would leave: state.json and the journal of dir, copied
 * into a fresh directory to (malloc'd path).
 */
static char *crash_copy(const char *dir, const char *name)
{
	char *to = dir_new(name), *cmd = xasprintf("rm -rf '%s'", to), *a, *b;

	if (system(cmd) != 0)
		diag("could not clear a crash copy");
	free(cmd);
	mkdir(to, 0700);
	a = xasprintf("%s/state.json", dir);
	b = xasprintf("%s/state.json", to);
	file_copy(a, b);
	free(a);
	free(b);
	a = xasprintf("%s/journal", dir);
	b = xasprintf("%s/journal", to);
	file_copy(a, b);
	free(a);
	free(b);
	return to;
}

/* Do the entries of a and b say the same, pending marks included? */
static bool same_entries(const struct vf_state *a, const struct vf_state *b)
{
	size_t i;

#define SAME(f) ((!x->f && !y->f) || (x->f && y->f && !strcmp(x->f, y->f)))
	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct vf_state_entry *x = &a->entries[i];
		const struct vf_state_entry *y = vf_state_find(b, x->address);
		if (!y || x->kind != y->kind || x->protect != y->protect || x->keep != y->keep ||
		    !SAME(name) || !SAME(host) || !SAME(pool) || !SAME(uuid) || !SAME(spec) ||
		    !SAME(pending) || !SAME(pending_since))
			return false;
	}
#undef SAME
	return true;
}

/*
 * Crash now: does the state a copy of s's directory opens with say the
 * same as s in memory?  The copy's journal is folded into its state.json.
 */
static bool crash_replays(const struct vf_state *s, const char *name)
{
	char *copy = crash_copy(s->dir, name), *journal = xasprintf("%s/journal", copy);
	struct vf_state c;
	bool yes = state_open(&c, copy) == 0 && same_entries(s, &c) && !file_exists(journal);

	vf_state_close(&c);
	free(journal);
	free(copy);
	return yes;
}

static void test_round_trip(void)
{
	char *dir = dir_new("round-trip"), *text;
	struct vf_state s;
	struct vf_state_entry vol = {
		.address = "volume.img@h1", .kind = VF_KIND_VOLUME, .name = "img", .host = "h1",
		.pool = "s", .pending = "create", .pending_since = "2024-05-01T10:00:00Z",
	};
	struct vf_state_entry net = {
		.address = "network.n@h1", .kind = VF_KIND_NETWORK, .name = "n", .host = "h1",
		.spec = "0123456789abcdef",
	};
	const struct vf_state_entry *e;
	const char *action = NULL;

	ok(state_open(&s, dir) == 0, "a new state opens");
	s.project = xstrdup("t");
	vf_state_put(&s, &vol);
	vf_state_put(&s, &net);
	ok(state_save(&s) == 0, "a state with a pending entry saves");
	vf_state_close(&s);

	{
		char *path = xasprintf("%s/state.json", dir);
		text = file_read(path);
		free(path);
	}
	is_int(count(text, "\"pending\""), 1, "only the pending entry has a pending key");
	is_int(count(text, "\"pending_since\""), 1, "... and a pending_since");
	ok(text[strlen(text) - 1] == '\n', "state.json ends with a newline");
	free(text);

	ok(state_open(&s, dir) == 0, "the state opens again");
	e = vf_state_find(&s, "volume.img@h1");
	ok(e != NULL, "the pending entry is back");
	is_str(e ? e->pending : NULL, "create", "pending survives save and open");
	is_str(e ? e->pending_since : NULL, "2024-05-01T10:00:00Z", "pending_since survives too");
	is_str(e ? e->pool : NULL, "s", "the rest of the entry too");
	e = vf_state_find(&s, "network.n@h1");
	ok(e && !e->pending && !e->pending_since, "an entry never pending has no pending");
	is_str(e ? e->spec : NULL, "0123456789abcdef", "the spec hash survives save and open");
	e = vf_state_find(&s, "volume.img@h1");
	ok(e && !e->spec, "an entry without a spec hash has none");
	ok(vf_state_interrupted(&s, "volume.img@h1", &action), "vf_state_interrupted: yes");
	is_str(action, "create", "... during a create");
	ok(!vf_state_interrupted(&s, "network.n@h1", NULL), "vf_state_interrupted: not the network");
	ok(!vf_state_interrupted(&s, "volume.nope@h1", NULL), "... nor an unknown address");

	/* cleared: the entry is replaced by a copy of itself without the mark */
	{
		struct vf_state_entry c = *vf_state_find(&s, "volume.img@h1");
		c.pending = NULL;
		c.pending_since = NULL;
		vf_state_put(&s, &c);
	}
	e = vf_state_find(&s, "volume.img@h1");
	ok(e && !e->pending && !strcmp(e->name, "img") && !strcmp(e->host, "h1"),
	   "put from a copy of the entry itself keeps its fields, clears the mark");
	ok(vf_state_find(&s, "network.n@h1") != NULL, "the other entry is still found");
	ok(state_save(&s) == 0, "saves");
	vf_state_close(&s);
	{
		char *path = xasprintf("%s/state.json", dir);
		text = file_read(path);
		free(path);
	}
	is_int(count(text, "pending"), 0, "cleared entries are not written with a pending key");
	free(text);
	free(dir);
}

static void test_old_format(void)
{
	char *dir = dir_new("old"), *path;
	struct vf_state s;
	char **notes = NULL;
	size_t n = 0, alloc = 0;

	mkdir(dir, 0700);
	path = xasprintf("%s/state.json", dir);
	file_write(path,
		   "{\n  \"format_version\": 1,\n  \"project\": \"t\",\n  \"serial\": 7,\n"
		   "  \"resources\": [\n"
		   "    {\"address\": \"vm.a\", \"kind\": \"vm\", \"name\": \"a\", \"host\": \"h1\","
		   " \"protect\": true},\n"
		   "    {\"address\": \"storage.s@h1\", \"kind\": \"storage\", \"name\": \"s\","
		   " \"host\": \"h1\"}\n  ]\n}\n");
	ok(state_open(&s, dir) == 0, "a state.json from before the journal loads");
	is_int(s.n, 2, "with its entries");
	ok(vf_state_find(&s, "vm.a") && vf_state_find(&s, "vm.a")->protect, "and their flags");
	ok(!vf_state_interrupted(&s, "vm.a", NULL) && !vf_state_interrupted(&s, "storage.s@h1", NULL),
	   "nothing in it is pending");
	vf_state_interrupted_notes(&s, &notes, &n, &alloc);
	is_int(n, 0, "no interruption note");
	is_int(s.serial, 7, "the serial is read");
	vf_state_close(&s);
	free(path);
	path = xasprintf("%s/journal", dir);
	ok(!file_exists(path), "opening it makes no journal");
	free(notes);
	free(path);
	free(dir);
}

static void test_notes(void)
{
	struct vf_state s = { .lock_fd = -1 };
	struct vf_state_entry a = {
		.address = "volume.img@h1", .kind = VF_KIND_VOLUME, .name = "img", .host = "h1",
		.pool = "s", .pending = "create", .pending_since = "2024-05-01T10:00:00Z",
	};
	struct vf_state_entry b = {
		.address = "vm.a", .kind = VF_KIND_VM, .name = "a", .host = "h2", .pending = "start",
	};
	char **notes = NULL;
	size_t n = 1, alloc = 0, i;

	notes = xcalloc(1, sizeof(*notes));
	alloc = 1;
	notes[0] = xstrdup("an earlier warning");
	vf_state_put(&s, &a);
	vf_state_put(&s, &b);
	vf_state_interrupted_notes(&s, &notes, &n, &alloc);
	is_int(n, 3, "one note per pending entry, after the warnings there were");
	is_str(n > 1 ? notes[1] : NULL,
	       "an earlier apply was interrupted (since 2024-05-01T10:00:00Z) during create of "
	       "volume.img@h1; this plan completes it", "the note names time, action and address");
	is_str(n > 2 ? notes[2] : NULL,
	       "an earlier apply was interrupted during start of vm.a; this plan completes it",
	       "without pending_since the note still reads");
	for (i = 0; i < n; i++)
		free(notes[i]);
	free(notes);
	vf_state_close(&s);
}

/* ---- the journal file, replayed after a crash at each step ---- */

static int begin(struct vf_state *s, struct vf_state_entry e, const char *action)
{
	char *error = NULL;
	int rc;

	e.pending = (char *)action;
	e.pending_since = "2024-05-01T10:00:00Z";
	rc = vf_state_journal_begin(s, &e, &error);
	if (rc == 0)
		rc = vf_state_journal_sync(s, &error);
	if (rc < 0)
		printf("# %s\n", error);
	free(error);
	return rc;
}

static int end(struct vf_state *s, const char *address, bool okay, const struct vf_state_entry *e)
{
	char *error = NULL;
	int rc = vf_state_journal_end(s, address, okay, e, &error);

	if (rc < 0)
		printf("# %s\n", error);
	free(error);
	return rc;
}

static void test_journal(void)
{
	char *dir = dir_new("journal"), *copy, *path, *jpath, *text, *jbegin, *jend, *line;
	struct vf_state s, c;
	struct vf_state_entry vol = {
		.address = "volume.img@h1", .kind = VF_KIND_VOLUME, .name = "img", .host = "h1",
		.pool = "s", .keep = true,
	};
	struct vf_state_entry net = {
		.address = "network.n@h1", .kind = VF_KIND_NETWORK, .name = "n", .host = "h1",
		.spec = "0123456789abcdef",
	};
	struct vf_state_entry vm = {
		.address = "vm.x", .kind = VF_KIND_VM, .name = "x", .host = "h1",
	};
	const struct vf_state_entry *e;
	const char *action = NULL;
	json_t *record;
	uint64_t serial;
	size_t lines = 0;
	char *save = NULL;

	path = xasprintf("%s/state.json", dir);
	jpath = xasprintf("%s/journal", dir);
	ok(state_open(&s, dir) == 0, "journal: a new state opens");
	s.project = xstrdup("t");
	vf_state_put(&s, &net);
	ok(state_save(&s) == 0, "... and saves (the state an apply starts from)");
	serial = s.serial;
	ok(!file_exists(jpath), "no journal before the first record");

	/* a create claims its object: begin record, synced */
	ok(begin(&s, vol, "create") == 0, "a begin record is appended and synced");
	ok(file_exists(jpath), "the journal is made by its first record");
	is_int(s.serial, serial, "journal records leave the serial alone");
	text = file_read(path);
	ok(!strstr(text, "volume.img@h1"), "state.json is not rewritten by a record");
	free(text);
	jbegin = file_read(jpath);
	is_int(count(jbegin, "\n"), 1, "one record, one line");
	record = json_loads(jbegin, 0, NULL);
	ok(json_is_object(record), "a record is a JSON object");
	is_str(json_string_value(json_object_get(record, "event")), "begin", "... an event: begin");
	is_str(json_string_value(json_object_get(record, "address")), "volume.img@h1",
	       "... its address");
	is_str(json_string_value(json_object_get(record, "action")), "create", "... its action");
	is_str(json_string_value(json_object_get(record, "since")), "2024-05-01T10:00:00Z",
	       "... since when");
	is_int(json_integer_value(json_object_get(record, "serial")), serial,
	       "... the serial of the state.json it applies to");
	is_str(json_string_value(json_object_get(json_object_get(record, "entry"), "pool")), "s",
	       "... and the entry a new claim needs (pool too)");
	json_decref(record);

	copy = crash_copy(dir, "journal-crash-begin");
	ok(state_open(&c, copy) == 0, "crash after a begin record: the state opens");
	ok(vf_state_interrupted(&c, "volume.img@h1", &action) && !strcmp(action, "create"),
	   "... the create is interrupted (pending create)");
	e = vf_state_find(&c, "volume.img@h1");
	ok(e && e->pool && !strcmp(e->pool, "s") && e->keep && e->host && !strcmp(e->host, "h1"),
	   "... its claim has kind, name, host, pool and flags");
	is_str(e ? e->pending_since : NULL, "2024-05-01T10:00:00Z", "... and since when");
	ok(same_entries(&s, &c), "... exactly what the apply had in memory");
	is_int(c.serial, serial + 1, "... folded into state.json by the open (one save)");
	vf_state_close(&c);
	{
		char *cj = xasprintf("%s/journal", copy), *cs = xasprintf("%s/state.json", copy);
		ok(!file_exists(cj), "... which removed the journal");
		text = file_read(cs);
		ok(strstr(text, "\"pending\": \"create\"") != NULL,
		   "... state.json now has the pending mark");
		free(text);
		ok(state_open(&c, copy) == 0 && vf_state_interrupted(&c, "volume.img@h1", NULL) &&
		   c.serial == serial + 1, "opened again: the same, no further save");
		vf_state_close(&c);
		free(cj);
		free(cs);
	}
	free(copy);

	/* the create ends */
	ok(end(&s, "volume.img@h1", true, &vol) == 0, "an end record is appended");
	ok(!vf_state_interrupted(&s, "volume.img@h1", NULL), "... the mark is cleared in memory");
	ok(crash_replays(&s, "journal-crash-end"),
	   "crash after an end record: the entry is recorded, not pending");
	jend = file_read(jpath);

	/* a delete */
	ok(begin(&s, net, "delete") == 0, "begin of a delete");
	copy = crash_copy(dir, "journal-crash-delete");
	ok(state_open(&c, copy) == 0 && vf_state_interrupted(&c, "network.n@h1", &action) &&
	   !strcmp(action, "delete"), "crash during a delete: pending delete");
	vf_state_close(&c);
	free(copy);
	ok(end(&s, "network.n@h1", true, NULL) == 0 && !vf_state_find(&s, "network.n@h1"),
	   "a delete's end drops the entry");
	ok(crash_replays(&s, "journal-crash-delete-end"), "crash after it: no entry");

	/* a VM create that fails: its journal-only entry goes */
	ok(begin(&s, vm, "create") == 0 && end(&s, "vm.x", false, NULL) == 0 &&
	   !vf_state_find(&s, "vm.x"), "a failed VM create: begin, then an end with no entry");
	ok(crash_replays(&s, "journal-crash-failed"), "crash after it: no entry");
	text = file_read(jpath);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		record = json_loads(line, 0, NULL);
		if (json_is_object(record))
			lines++;
		json_decref(record);
	}
	is_int(lines, 6, "six records, each a line of JSON");
	ok(strstr(jend, "\"result\":\"ok\"") != NULL, "an end record says how it ended");
	free(text);

	/* a write cut short by the crash: the last line has no newline */
	copy = crash_copy(dir, "journal-torn");
	{
		char *cj = xasprintf("%s/journal", copy);
		size_t half = strlen(jend) - strlen(jbegin);
		file_write(cj, jbegin);
		text = xasprintf("%.*s", (int)(half / 2), jend + strlen(jbegin));
		{
			FILE *f = fopen(cj, "a");
			fputs(text, f);
			fclose(f);
		}
		free(text);
		ok(state_open(&c, copy) == 0, "a torn last line: the state opens");
		ok(vf_state_interrupted(&c, "volume.img@h1", NULL),
		   "... the torn end record is ignored, the begin before it is applied");
		vf_state_close(&c);

		/* a line that is not a record, then records (a fresh copy: the
		 * open above folded the journal into the copy's state.json) */
		free(copy);
		free(cj);
		copy = crash_copy(dir, "journal-garbage");
		cj = xasprintf("%s/journal", copy);
		text = xasprintf("%s%s", jbegin, "not json at all\n");
		file_write(cj, text);
		free(text);
		{
			FILE *f = fopen(cj, "a");
			fputs(jend + strlen(jbegin), f);
			fclose(f);
		}
		ok(state_open(&c, copy) == 0 && vf_state_find(&c, "volume.img@h1") &&
		   !vf_state_interrupted(&c, "volume.img@h1", NULL),
		   "a line that is no record is skipped; the records after it are applied");
		vf_state_close(&c);
		free(cj);
	}
	free(copy);

	/* the save: state.json first, then the journal goes */
	serial = s.serial;
	ok(state_save(&s) == 0, "the save at the end of the apply");
	is_int(s.serial, serial + 1, "... one serial more");
	ok(!file_exists(jpath), "... the journal is removed");
	text = file_read(path);
	ok(strstr(text, "volume.img@h1") && !strstr(text, "network.n@h1") && !strstr(text, "vm.x"),
	   "... state.json has what it recorded");
	is_int(count(text, "pending"), 0, "... nothing pending");
	free(text);

	/* killed between the save's rename and the journal's removal: the
	 * journal (here only its begin record, which would mark the volume
	 * pending again) names the older serial and is skipped */
	file_write(jpath, jbegin);
	vf_state_close(&s);
	ok(state_open(&s, dir) == 0, "crash between state.json's rename and the journal's removal");
	ok(vf_state_find(&s, "volume.img@h1") && !vf_state_interrupted(&s, "volume.img@h1", NULL),
	   "... the older records are skipped (the volume is not pending again)");
	is_int(s.serial, serial + 1, "... no save for them");
	ok(!file_exists(jpath), "... and the stale journal is removed");

	/* records after that save name the new serial */
	ok(begin(&s, net, "create") == 0, "a record after the save");
	record = NULL;
	text = file_read(jpath);
	record = json_loads(text, 0, NULL);
	is_int(json_integer_value(json_object_get(record, "serial")), serial + 1,
	       "... names the new serial");
	json_decref(record);
	free(text);
	ok(crash_replays(&s, "journal-crash-second"), "... and is replayed on top of it");

	/* a journal that cannot be written: the begin fails */
	vf_state_close(&s);
	ok(state_open(&s, dir) == 0, "the state opens (folding the last record in)");
	mkdir(jpath, 0700);
	{
		char *error = NULL;
		struct vf_state_entry b = vm;
		b.pending = "create";
		b.pending_since = "T";
		ok(vf_state_journal_begin(&s, &b, &error) < 0 && error &&
		   strstr(error, "cannot create the journal"), "a journal that cannot be made: "
		   "the begin fails, naming it");
		if (error)
			printf("#   %s\n", error);
		free(error);
	}
	rmdir(jpath);
	vf_state_close(&s);

	free(jbegin);
	free(jend);
	free(jpath);
	free(path);
	free(dir);
}

/* ---- removal: O(1), the map stays right ---- */

static void test_remove(void)
{
	struct vf_state s = { .lock_fd = -1 };
	char addr[32], name[32];
	size_t i, found = 0, gone = 0;

	for (i = 0; i < 300; i++) {
		struct vf_state_entry e = { .address = addr, .kind = VF_KIND_NETWORK, .name = name,
					    .host = "h1" };
		snprintf(addr, sizeof(addr), "network.n%zu@h1", i);
		snprintf(name, sizeof(name), "n%zu", i);
		vf_state_put(&s, &e);
	}
	for (i = 0; i < 300; i += 3) {
		snprintf(addr, sizeof(addr), "network.n%zu@h1", i);
		vf_state_remove(&s, addr);
	}
	vf_state_remove(&s, "network.nope@h1");
	is_int(s.n, 200, "removals: 100 of 300 gone");
	/* one removed comes back */
	{
		struct vf_state_entry e = { .address = "network.n3@h1", .kind = VF_KIND_NETWORK,
					    .name = "again", .host = "h1" };
		vf_state_put(&s, &e);
	}
	for (i = 0; i < 300; i++) {
		const struct vf_state_entry *e;
		snprintf(addr, sizeof(addr), "network.n%zu@h1", i);
		e = vf_state_find(&s, addr);
		if (e && !strcmp(e->address, addr))
			found++;
		else if (!e)
			gone++;
	}
	is_int(found, 201, "every entry left (and the one put back) is found by its address");
	is_int(gone, 99, "no removed one is");
	is_str(vf_state_find(&s, "network.n3@h1") ? vf_state_find(&s, "network.n3@h1")->name : NULL,
	       "again", "the one put back is the new entry");
	for (i = 0; i < 300; i++) {
		snprintf(addr, sizeof(addr), "network.n%zu@h1", i);
		vf_state_remove(&s, addr);
	}
	is_int(s.n, 0, "all removed");
	ok(!vf_state_find(&s, "network.n1@h1"), "none found");
	vf_state_close(&s);
}

/* ---- the executor's journal, with a fake provider ---- */

static const char config_text[] =
	"version: 1\n"
	"project: t\n"
	"clusters: [{name: c}]\n"
	"hosts:\n"
	"  - {name: h1, uri: 'test:///default'}\n"
	"networks:\n"
	"  - {name: n, mode: isolated, ipv4: {address: 10.9.0.1/24}}\n"
	"storage_domains:\n"
	"  - {name: s, type: dir, path: /srv/s}\n"
	"images:\n"
	"  - {name: img, file: %s, storage: s, format: raw}\n"
	"vms:\n"
	"  - name: a\n"
	"    host: h1\n"
	"    cpus: 1\n"
	"    memory: 64MiB\n"
	"    disks: [{name: root, storage: s, image: img}]\n"
	"    nics: [{network: n}]\n"
	"  - name: b\n"
	"    host: h1\n"
	"    cpus: 1\n"
	"    memory: 64MiB\n";

static struct vf_config *load(void)
{
	char *image = xasprintf("%s/img.raw", tmpdir);
	char *text = xasprintf(config_text, image);
	char *path = xasprintf("%s/c.yaml", tmpdir);
	struct vf_diags d = { 0 };
	struct vf_config *c;

	file_write(image, "not really an image\n");
	file_write(path, text);
	c = vf_config_load(path, &d);
	if (!c)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	free(path);
	free(text);
	free(image);
	return c;
}

static void views_empty(const struct vf_config *c, struct vf_views *v)
{
	size_t i;

	v->n = c->n_hosts;
	v->hosts = xcalloc(c->n_hosts, sizeof(*v->hosts));
	for (i = 0; i < c->n_hosts; i++) {
		v->hosts[i].host = &c->hosts[i];
		v->hosts[i].observed = xcalloc(1, sizeof(struct vf_observed));
		v->hosts[i].observed->host = c->hosts[i].name;
		v->hosts[i].observed->memory_total = 8ull << 30;
	}
}

static void views_release(struct vf_views *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		v->hosts[i].observed->host = NULL;    /* the config's */
	vf_views_release(v);
}

/* What the fake provider saw, and what it is told to fail. */
static struct {
	pthread_mutex_t lock;        /* the executor runs several actions at once */
	const char *state_dir;
	const char *fail;            /* address whose action fails */
	size_t calls, journaled;     /* actions run; seen pending after a "crash" first */
	char *missing;               /* the first action that was not */
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Was address pending action in what a crash now would leave (state.json
 * and the journal, copied and opened as the next run would)?
 */
static bool on_disk_pending(const char *address, const char *action)
{
	char *copy = crash_copy(fake.state_dir, "exec-crash");
	struct vf_state c;
	const char *was = NULL;
	bool yes = state_open(&c, copy) == 0 && vf_state_interrupted(&c, address, &was) &&
		   !strcmp(was, action) && vf_state_find(&c, address)->pending_since;

	vf_state_close(&c);
	free(copy);
	return yes;
}

static struct vf_session *fake_open(const char *uri, char **error)
{
	static int session;

	return (struct vf_session *)&session;
}

static void fake_close(struct vf_session *s)
{
}

static int fake_apply(struct vf_session *s, const struct vf_action *a, char **error)
{
	int rc = 0;

	pthread_mutex_lock(&fake.lock);
	fake.calls++;
	if (on_disk_pending(a->address, vf_action_type_name(a->type)))
		fake.journaled++;
	else if (!fake.missing)
		fake.missing = xstrdup(a->address);
	if (fake.fail && !strcmp(fake.fail, a->address)) {
		*error = xasprintf("%s: cannot %s: told to fail", a->address,
				   vf_action_type_name(a->type));
		rc = -1;
	}
	pthread_mutex_unlock(&fake.lock);
	return rc;
}

static const struct vf_provider fake_provider = {
	.name = "fake",
	.session_open = fake_open,
	.session_close = fake_close,
	.apply = fake_apply,
};

struct run {
	struct vf_config *c;
	struct vf_views views;
	struct vf_desired desired;
	struct vf_plan plan;
	struct vf_state state;
};

static int run_plan(struct run *r, const char *dir)
{
	struct vf_plan_opts o = { 0 };
	struct vf_diags d = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	r->c = load();
	if (!r->c || state_open(&r->state, dir) < 0)
		return -1;
	views_empty(r->c, &r->views);
	rc = vf_desired_build(r->c, &r->views, &r->state, false, &r->desired, &d,
			      &r->plan.warnings, &r->plan.n_warnings, &r->plan.alloc_warnings);
	if (rc == 0)
		rc = vf_plan_build(r->c, &r->desired, &r->views, &r->state, &vf_provider_libvirt, &o,
				   &r->plan, &d);
	if (rc)
		vf_diags_print(&d, stdout);
	vf_diags_release(&d);
	return rc;
}

static void run_release(struct run *r)
{
	vf_plan_free(&r->plan);
	vf_desired_release(&r->desired);
	views_release(&r->views);
	vf_state_close(&r->state);
	vf_config_free(r->c);
}

/*
 * Apply r's plan with the fake provider; its output as TAP comments, and
 * in *output when output is not NULL (malloc'd).
 */
static int apply_out(struct run *r, char **output)
{
	struct vf_apply_opts o = { .parallelism = 4 };
	struct vf_apply_result res;
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	int rc;

	o.out = open_memstream(&text, &len);
	fake.state_dir = r->state.dir;
	fake.calls = fake.journaled = 0;
	free(fake.missing);
	fake.missing = NULL;
	rc = vf_apply(r->c, &r->plan, &fake_provider, &r->state, &o, &res);
	fclose(o.out);
	if (output)
		*output = xstrdup(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("#   %s\n", line);
	free(text);
	return rc;
}

static int apply(struct run *r)
{
	return apply_out(r, NULL);
}

static bool plan_has(const struct vf_plan *p, const char *address)
{
	size_t i;

	for (i = 0; i < p->n_actions; i++)
		if (!strcmp(p->actions[i].address, address))
			return true;
	return false;
}

static void test_executor(void)
{
	char *dir = dir_new("exec"), *path = xasprintf("%s/state.json", dir), *text;
	struct run r;
	uint64_t serial0;
	size_t i;

	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		free(path);
		free(dir);
		return;
	}
	ok(plan_has(&r.plan, "vm.a") && plan_has(&r.plan, "volume.img@h1"),
	   "the fixture plans VMs and an image");
	serial0 = r.state.serial;
	ok(apply(&r) == 0, "apply succeeds");
	is_int(fake.calls, r.plan.n_actions, "every action ran");
	is_int(fake.journaled, r.plan.n_actions,
	       "each was pending after a crash (state.json + journal) when its provider call ran");
	if (fake.missing)
		printf("#   first not journaled: %s\n", fake.missing);
	is_int(r.state.serial - serial0, 1,
	       "one save, at the end: each action is journaled, not saved");
	text = file_read(path);
	is_int(count(text, "pending"), 0, "after the run nothing is pending on disk");
	free(text);
	{
		char *jpath = xasprintf("%s/journal", dir);
		ok(!file_exists(jpath), "... and the journal is gone, folded into state.json");
		free(jpath);
	}
	for (i = 0; i < r.plan.n_actions; i++)
		if (!vf_state_find(&r.state, r.plan.actions[i].address))
			break;
	is_int(i, r.plan.n_actions, "every created object is recorded, VMs too");
	run_release(&r);

	/* failures: a VM create and an image create */
	free(dir);
	free(path);
	dir = dir_new("exec-fail");
	path = xasprintf("%s/state.json", dir);
	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		goto out;
	}
	fake.fail = "vm.b";
	ok(apply(&r) < 0, "apply with a failing VM create fails");
	ok(!vf_state_find(&r.state, "vm.b"),
	   "the failed VM create leaves no record (a domain defined anyway has its marker)");
	text = file_read(path);
	ok(!strstr(text, "\"vm.b\""), "... on disk either");
	is_int(count(text, "pending"), 0, "a failure leaves nothing pending");
	free(text);
	run_release(&r);

	free(dir);
	dir = dir_new("exec-fail-image");
	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		goto out;
	}
	fake.fail = "volume.img@h1";
	ok(apply(&r) < 0, "apply with a failing image create fails");
	ok(vf_state_find(&r.state, "volume.img@h1") &&
	   !vf_state_find(&r.state, "volume.img@h1")->pending,
	   "the failed create's claim stays, not pending (the failure is known)");
	ok(!vf_state_find(&r.state, "vm.a"), "what waits on it is not attempted: no record");
	fake.fail = NULL;
	run_release(&r);

	/* a journal that cannot be written: nothing is started */
	free(dir);
	dir = dir_new("exec-no-journal");
	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		goto out;
	}
	{
		char *jpath = xasprintf("%s/journal", dir), *output = NULL;
		mkdir(jpath, 0700);
		ok(apply_out(&r, &output) < 0, "apply with a journal that cannot be made fails");
		is_int(fake.calls, 0, "... and runs no action");
		ok(output && strstr(output, "not started: cannot record it in the state first: "
					    "cannot create the journal"), "... saying why");
		ok(!vf_state_find(&r.state, "vm.b") && !vf_state_find(&r.state, "network.n@h1"),
		   "... and records nothing");
		rmdir(jpath);
		free(output);
		free(jpath);
	}
	run_release(&r);
out:
	free(path);
	free(dir);
}

/* ---- vf_state_sync after an interrupted apply ---- */

static void test_sync(void)
{
	struct run r;
	char *dir = dir_new("sync");
	struct vf_state_entry e;
	struct vf_observed_item *it;
	struct vf_observed *o;

	if (run_plan(&r, dir) < 0) {
		ok(0, "the fixture plans");
		free(dir);
		return;
	}
	o = r.views.hosts[0].observed;
	/* what a run killed at several points leaves */
	memset(&e, 0, sizeof(e));
	e = (struct vf_state_entry){ .address = "vm.a", .kind = VF_KIND_VM, .name = "a",
				     .host = "h1", .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* never defined */
	e = (struct vf_state_entry){ .address = "vm.b", .kind = VF_KIND_VM, .name = "b",
				     .host = "h1", .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* defined, not started */
	e = (struct vf_state_entry){ .address = "volume.img@h1", .kind = VF_KIND_VOLUME,
				     .name = "img", .host = "h1", .pool = "s",
				     .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* upload cut short */
	e = (struct vf_state_entry){ .address = "volume.a-root@h1", .kind = VF_KIND_VOLUME,
				     .name = "a-root", .host = "h1", .pool = "s",
				     .pending = "create", .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* clone made */
	e = (struct vf_state_entry){ .address = "network.n@h1", .kind = VF_KIND_NETWORK,
				     .name = "n", .host = "h1", .pending = "create",
				     .pending_since = "T" };
	vf_state_put(&r.state, &e);          /* never defined */

	it = vf_observed_add(o, VF_KIND_VM, "b");
	it->detailed = true;
	it->r.u.vm.marker.project = "t";
	it = vf_observed_add(o, VF_KIND_VM, "a");      /* someone else's "a" */
	it->detailed = true;
	it = vf_observed_add(o, VF_KIND_STORAGE, "s");
	it->detailed = true;
	it->r.u.pool.active = true;
	it = vf_observed_add(o, VF_KIND_VOLUME, "img");
	it->r.u.vol.pool = "s";
	it = vf_observed_add(o, VF_KIND_VOLUME, "a-root");
	it->r.u.vol.pool = "s";

	ok(vf_state_sync(&r.state, r.c, &r.desired, &r.views), "sync changes the state");
	ok(!vf_state_find(&r.state, "vm.a"),
	   "a VM create cut short before define: its record is dropped (the plan creates it)");
	ok(!vf_state_interrupted(&r.state, "vm.b", NULL) && vf_state_find(&r.state, "vm.b"),
	   "a VM found by its marker: recorded, no longer pending");
	ok(vf_state_interrupted(&r.state, "volume.img@h1", NULL),
	   "an interrupted upload stays pending until the plan's replace is done");
	ok(vf_state_find(&r.state, "volume.a-root@h1") &&
	   !vf_state_interrupted(&r.state, "volume.a-root@h1", NULL),
	   "a clone that was made: managed, no longer pending");
	ok(!vf_state_find(&r.state, "network.n@h1"), "a network never defined: pruned");
	ok(!vf_state_sync(&r.state, r.c, &r.desired, &r.views), "a second sync changes nothing");
	run_release(&r);
	free(dir);
}

int main(void)
{
	char *cmd;

	if (!mkdtemp(tmpdir)) {
		printf("Bail out! cannot create %s\n", tmpdir);
		return 1;
	}
	test_round_trip();
	test_old_format();
	test_notes();
	test_journal();
	test_remove();
	test_executor();
	test_sync();
	free(fake.missing);
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove the scratch directory");
	free(cmd);
	return tap_done();
}
