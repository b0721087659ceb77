/*
 * run-internal.h — what run.c and run-saved.c share and no command
 * calls: the steps of an apply that apply FILE takes too.
 */
#ifndef VF_CMD_RUN_INTERNAL_H
#define VF_CMD_RUN_INTERNAL_H

#include "cmd/run.h"

/* error (malloc'd) said as the command's error, and freed: VF_EXIT_ERROR. */
int vf_run_error_said(const struct vf_cmd *cmd, char *error);

/* The planner's options from the command's. */
struct vf_plan_opts vf_run_plan_opts(const struct vf_run_opts *o);

/* Bring the state up to date before anything changes (vf_state_sync):
 * 0 or VF_EXIT_ERROR (said). */
int vf_run_sync_state(const struct vf_cmd *cmd, struct vf_run *run);

/* Carry out run's plan (the host links around the actions) and print the
 * summary; the exit status. */
int vf_run_execute(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run);

/* apply FILE: the saved plan made again with its recorded options and
 * carried out when it is the same; the exit status. */
int vf_run_apply_saved(const struct vf_cmd *cmd, struct vf_run_opts *o, const char *file);

#endif
