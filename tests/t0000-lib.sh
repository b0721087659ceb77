#!/bin/sh
# The test library itself: assertions fail when they should.
. "$(dirname "$0")/lib.sh"

test_expect 'expect_contains finds a substring' 'expect_contains "hello world" "lo wo"'
test_expect 'expect_contains rejects a missing one' '! expect_contains "hello" "xyz"'
test_expect 'expect_rc compares exit status' 'rc=3 out= err=; expect_rc 3 && ! expect_rc 0'
test_done
