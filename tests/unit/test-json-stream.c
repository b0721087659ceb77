/*
 * The JSON stream writer and reader (reconcile/json-stream.c): what the
 * writer prints is byte for byte json_dumpf() of the whole tree with
 * JSON_INDENT(2) (nested values re-indented, empty containers, strings
 * with line breaks and non-ASCII text); the one-a-line form parses back
 * to the same values; the reader hands back each member and element as
 * jansson parses it, with numbers right before a comma (jansson reads one
 * character past them), and places its errors where jansson would
 * (FILE:LINE:COL of a truncated or damaged document).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "reconcile/json-stream.h"
#include "reconcile/util.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/vf-test-json-stream.XXXXXX";

/* What f printed into a memory stream. */
static char *captured(void (*f)(FILE *, void *), void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	f(m, arg);
	fclose(m);
	return text;
}

static json_t *sample(void)
{
	return json_pack("{s:i, s:s, s:[{s:s, s:o, s:[], s:{}, s:[i, b, n]}, {}, []], s:{s:[s]}, "
			 "s:[], s:{}, s:I}",
			 "format_version", 1, "project", "p\nq \"quoted\" \xc3\xa9t\xc3\xa9",
			 "changes", "address", "vm.a", "nested", json_pack("{s:{s:[i]}}", "x", "y", 2),
			 "empty_array", "empty_object", "list", 3, 1,
			 "summary", "warnings", "w\tone",
			 "skipped", "none", "big", (json_int_t)1 << 40);
}

/* The sample written member by member, "changes" element by element. */
static void write_sample(FILE *out, void *arg)
{
	json_t *doc = arg, *v;
	struct vf_jsonw w;
	const char *key;
	size_t i;

	vf_jsonw_init(&w, out);
	vf_jsonw_object(&w, NULL);
	json_object_foreach(doc, key, v) {
		if (!strcmp(key, "changes")) {
			json_t *c;
			vf_jsonw_array(&w, key);
			json_array_foreach(v, i, c)
				vf_jsonw_value(&w, NULL, json_incref(c));
			vf_jsonw_end(&w);
		} else if (!strcmp(key, "summary")) {
			vf_jsonw_object(&w, key);
			vf_jsonw_value(&w, "warnings", json_incref(json_object_get(v, "warnings")));
			vf_jsonw_end(&w);
		} else if (!strcmp(key, "empty_object")) {
			vf_jsonw_object(&w, key);
			vf_jsonw_end(&w);
		} else {
			vf_jsonw_value(&w, key, json_incref(v));
		}
	}
	vf_jsonw_end(&w);
	fputc('\n', out);
	ok(vf_jsonw_finish(&w) == 0, "the writer says the document is complete");
}

static void dump_sample(FILE *out, void *arg)
{
	json_dumpf(arg, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
}

static void write_lines(FILE *out, void *arg)
{
	json_t *doc = arg, *c;
	struct vf_jsonw w;
	size_t i;

	vf_jsonw_init(&w, out);
	vf_jsonw_object(&w, NULL);
	vf_jsonw_array(&w, "changes");
	json_array_foreach(json_object_get(doc, "changes"), i, c)
		vf_jsonw_line(&w, NULL, json_incref(c));
	vf_jsonw_end(&w);
	vf_jsonw_end(&w);
}

static void test_writer(void)
{
	json_t *doc = sample(), *back;
	char *a = captured(write_sample, doc), *b = captured(dump_sample, doc), *c;

	is_str(a, b, "written piece by piece: exactly what json_dumpf prints of the whole");
	c = captured(write_lines, doc);
	back = json_loads(c, 0, NULL);
	ok(back && json_equal(json_object_get(back, "changes"), json_object_get(doc, "changes")),
	   "one a line: the same values");
	ok(c && strstr(c, "\n    {\"address\":\"vm.a\",\"nested\":{\"x\":{\"y\":[2]}},") != NULL,
	   "each on a line of its own, compact");
	json_decref(back);
	free(a);
	free(b);
	free(c);
	json_decref(doc);
}

static int open_text(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	int fd;

	fputs(text, f);
	fclose(f);
	fd = open(path, O_RDONLY);
	free(path);
	return fd;
}

static void test_reader(void)
{
	const char *text = "{\n  \"n\": 12,\"s\" : \"a\\u00e9\",\n  \"list\": [1, {\"k\": [true]},"
			   "-3.5e2, null ],\n  \"empty\": [], \"o\": {}, \"last\": false\n}\n";
	int fd = open_text("ok.json", text);
	struct vf_jsonr r;
	json_t *whole = json_loads(text, 0, NULL), *rebuilt = json_object(), *list;
	int more;

	vf_jsonr_init(&r, fd, 0);
	ok(vf_jsonr_peek(&r) == '{' && vf_jsonr_enter(&r) == 0, "the document is an object");
	while ((more = vf_jsonr_next(&r)) > 0) {
		char *key = xstrdup(r.key);
		if (!strcmp(key, "list")) {
			list = json_array();
			vf_jsonr_enter(&r);
			while (vf_jsonr_next(&r) > 0)
				json_array_append_new(list, vf_jsonr_value(&r, 0));
			json_object_set_new(rebuilt, key, list);
		} else if (!strcmp(key, "o")) {
			vf_jsonr_skip(&r);
			json_object_set_new(rebuilt, key, json_object());
		} else {
			json_object_set_new(rebuilt, key, vf_jsonr_value(&r, 0));
		}
		free(key);
	}
	is_int(more, 0, "every member read, the object left");
	is_int(vf_jsonr_finish(&r), 0, "and nothing after it");
	ok(json_equal(whole, rebuilt), "member by member: what jansson parses of the whole");
	vf_jsonr_release(&r);
	close(fd);
	json_decref(whole);
	json_decref(rebuilt);

	/* errors: where jansson puts them in the whole document */
	{
		static const char *const bad[] = {
			"{\n  \"a\": [1, 2,\n",
			"{\n  \"a\": [1 2]\n}",
			"{\"a\": 1, \"b\": tru}",
			"{\"a\": {\"x\": 1, \"x\": 2}}",
			"{\"a\": 1}\n{}",
			"{\"caf\xc3\xa9\": 1 2}",
		};
		size_t i;

		for (i = 0; i < VF_ARRAY_SIZE(bad); i++) {
			json_error_t je;
			json_t *j = json_loads(bad[i], JSON_REJECT_DUPLICATES, &je);
			int line = 0, column = 0;
			fd = open_text("bad.json", bad[i]);
			vf_jsonr_init(&r, fd, 0);
			if (vf_jsonr_enter(&r) == 0)
				while ((more = vf_jsonr_next(&r)) > 0)
					json_decref(vf_jsonr_value(&r, JSON_REJECT_DUPLICATES));
			if (!r.failed)
				vf_jsonr_finish(&r);
			line = r.err_line;
			column = r.err_column;
			ok(!j && r.failed && line == je.line && column == je.column,
			   "damaged document %zu: an error at %d:%d, as jansson says (%d:%d: %s; "
			   "here: %s)", i, line, column, je.line, je.column, je.text, r.err_text);
			vf_jsonr_release(&r);
			close(fd);
			json_decref(j);
		}
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_writer();
	test_reader();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove the temporary directory");
		free(cmd);
	}
	return tap_done();
}
