/*
 * fault.h — fault injection for crash tests: kill -9 the process at a
 * named point of an apply, so tests can check that the next apply
 * converges (tests/t3330-crash-lab.sh).
 *
 *   VIRTFORM_TEST_KILL=POINT:ADDRESS
 *
 * vf_fault_point(POINT, ADDRESS) raises SIGKILL when both match (ADDRESS
 * "*" matches any).  Unset (always, outside tests): a getenv and nothing
 * else.  Points:
 *
 *   volume-upload   after the first chunk of an image upload was sent
 *   volume-create   right after a volume was created, before anything else
 *   define          right after a domain was defined, before it is started
 *   start           right after a domain was started, before the state knows
 */
#ifndef VF_FAULT_H
#define VF_FAULT_H

void vf_fault_point(const char *point, const char *address);

#endif
