// What the wrapped server's environment is: the gateway's own, less what npm set for mcpgate's
// package. Run as `npx -y mcpgate ... -- npx -y some-server`, the outer npx exports its flags
// (npm_config_package above all) and its lifecycle variables; an inner npx reading them would run
// mcpgate's package instead of the server's. Everything else (the client config's `env`) passes on.

/** Variables npm/npx set for the package it runs, never meant for a process that package starts. */
const OUTER_NPM = /^npm_(?:config_(?:package|yes|call|user_agent)|command|execpath|node_execpath|lifecycle_.*|package_.*)$/;

/** Whether npm (npx, npm exec, npm run) started this process: only then are its variables stripped. */
function startedByNpm(env: NodeJS.ProcessEnv): boolean {
  return env.npm_command !== undefined || env.npm_lifecycle_event !== undefined;
}

/** Whether `name` is one of the variables npm set for mcpgate's own run (npm_config_package, npm_lifecycle_event, ...). */
export function isOuterNpmVariable(name: string): boolean {
  return OUTER_NPM.test(name);
}

/** The server's environment: `env` without npm's variables for mcpgate's own run. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!startedByNpm(env)) return env;
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!isOuterNpmVariable(name)) kept[name] = value;
  return kept;
}
