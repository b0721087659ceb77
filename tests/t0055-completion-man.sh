#!/bin/sh
# One source for what a command accepts: every long option of every command
# and subcommand (its descriptor's longopts, as `virtform completion --list`
# prints them) appears in its usage, in its manual page and in the bash and
# zsh completion; the committed contrib/completion/ scripts are what
# `virtform completion` prints; bash accepts its script; man renders every
# page without a warning.
. "$(dirname "$0")/lib.sh"

"$VIRTFORM" completion --list >"$TMP/list" || exit 1
"$VIRTFORM" completion bash >"$TMP/virtform.bash"
"$VIRTFORM" completion zsh >"$TMP/_virtform"
mkdir "$TMP/man"
"$VIRTFORM" help --man >"$TMP/man/virtform.1"
cut -f1 "$TMP/list" | grep -v ' ' | while read -r c; do
	"$VIRTFORM" help --man "$c" >"$TMP/man/virtform-$c.1"
done

# has_option TEXT_FILE OPT: --OPT is in the file as a word of its own
has_option() {
	grep -Eq -e "(^|[^a-z-])$2([^a-z-]|\$)" "$1" || { echo "no $2 in $1"; return 1; }
}

# block FILE INDENT WORD: the lines of case branch "WORD)" at INDENT tabs,
# up to its ";;" line; a one-line branch ("WORD) DATA ;;"): its DATA
block() {
	awk -v head="$(printf '%*s' "$2" '' | tr ' ' '\t')$3)" -v tabs="$2" '
		BEGIN { close_line = sprintf("%*s", tabs + 1, ""); gsub(/ /, "\t", close_line)
			close_line = close_line ";;" }
		!on && index($0, head) == 1 && (length($0) == length(head) ||
						substr($0, length(head) + 1, 1) == " ") {
			rest = substr($0, length(head) + 2)
			if (rest ~ / ;;$/) { print substr(rest, 1, length(rest) - 3); exit }
			if (rest != "") print rest
			on = 1; next }
		on && $0 == close_line { exit }
		on { print }' "$1"
}

# completion_block FILE NAME: the branch of "plan" or of "host show"
completion_block() {
	case "$2" in
	*" "*) block "$1" 1 "${2%% *}" >"$TMP/parent"; block "$TMP/parent" 2 "${2#* }" ;;
	*) block "$1" 1 "$2" ;;
	esac
}

# check_every WHAT: for each command or subcommand and option, run
# "check_$WHAT NAME OPT"; fails (listing them) if any check failed
check_every() {
	fails=0
	while IFS='	' read -r name opts; do
		for o in $opts; do
			"check_$1" "$name" "$o" || fails=$((fails + 1))
		done
	done <"$TMP/list"
	[ "$fails" -eq 0 ]
}

check_usage() {
	# shellcheck disable=SC2086  # "host show": two words
	"$VIRTFORM" $1 --help >"$TMP/usage" && has_option "$TMP/usage" "$2" ||
		{ echo "  (usage of $1)"; return 1; }
}

check_man() {
	# the roff source read back: "\-\-json" is --json, "\e" a backslash
	sed 's/\\-/-/g; s/\\e/\\/g' "$TMP/man/virtform-${1%% *}.1" >"$TMP/page"
	has_option "$TMP/page" "$2" || { echo "  (man page of $1)"; return 1; }
}

check_bash() {
	completion_block "$TMP/virtform.bash" "$1" | grep -E 'opts=' >"$TMP/branch"
	has_option "$TMP/branch" "$2" || { echo "  (bash completion of $1)"; return 1; }
}

check_zsh() {
	completion_block "$TMP/_virtform" "$1" >"$TMP/branch"
	grep -Eq -e "'\\*?$2(=|')" "$TMP/branch" || { echo "zsh completion of $1: no $2"; return 1; }
}

test_expect 'every command and subcommand has its options listed' '
	[ "$(wc -l <"$TMP/list")" -ge 20 ] && grep -q "^host show	.*--json" "$TMP/list" &&
	grep -q "^plan	.*--detailed-exitcode" "$TMP/list"'

test_expect 'every long option is in its usage' 'check_every usage'
test_expect 'every long option is in its manual page' 'check_every man'
test_expect 'every long option is in the bash completion' 'check_every bash'
test_expect 'every long option is in the zsh completion' 'check_every zsh'

test_expect 'contrib/completion/ is what virtform completion prints (make completion)' '
	cmp "$TOP/contrib/completion/virtform.bash" "$TMP/virtform.bash" &&
	cmp "$TOP/contrib/completion/_virtform" "$TMP/_virtform"'

test_expect 'bash accepts the bash completion script' 'bash -n "$TMP/virtform.bash"'

test_expect 'the bash completion completes commands, subcommands and options' '
	cat >"$TMP/try.bash" <<-\EOF
	. "$1"
	try() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_virtform; echo "${COMPREPLY[*]}"; }
	try virtform pl
	try virtform host ""
	try virtform host plan --detailed
	try virtform hook --ref main pre-r
	EOF
	bash "$TMP/try.bash" "$TMP/virtform.bash" >"$TMP/got" &&
	printf "%s\n" plan "show plan apply confirm" --detailed-exitcode pre-receive >"$TMP/want" &&
	diff "$TMP/want" "$TMP/got"'

test_expect 'a manual page escapes what roff would read as requests' '
	grep -q "^\\.SH \"OPTIONS\"" "$TMP/man/virtform-plan.1" &&
	grep -q "\\\\-\\\\-json" "$TMP/man/virtform-plan.1" &&
	! grep -n "^[^.]*[^\\\\]-" "$TMP/man/virtform-plan.1" | grep -v "^[0-9]*:\\.\\\\\""'

test_expect 'man renders every page without a warning' '
	command -v man >/dev/null || { echo "man is missing: contrib/deps.sh installs man-db"; exit 1; }
	for p in "$TMP"/man/*.1; do
		MANWIDTH=80 man --warnings -E UTF-8 -l "$p" >"$TMP/rendered" 2>"$TMP/warnings" &&
		[ ! -s "$TMP/warnings" ] && grep -q "NAME" "$TMP/rendered" ||
			{ echo "$p:"; cat "$TMP/warnings"; exit 1; }
	done'

test_done
