// mcpgate's exit codes, in one place, so scripts that gate on them (and the README) can rely on them.

/** Success: a valid policy, an allowed call, a clean session. */
export const EXIT_OK = 0;
/** `explain`: the call would be denied. */
export const EXIT_DENY = 1;
/** The policy (or the file asked for) is not valid; also a command that failed at its job. */
export const EXIT_INVALID = 1;
/** The command line itself is wrong: nothing was attempted. */
export const EXIT_USAGE = 2;
/** `explain`: the call would need a human's approval. */
export const EXIT_APPROVE = 3;
/** An error of mcpgate itself (EX_SOFTWARE). */
export const EXIT_INTERNAL = 70;
/** The server could not be started (as a shell says for a command not found). */
export const EXIT_NOT_STARTED = 127;
