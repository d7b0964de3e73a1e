// Bundles the CLI into one CommonJS file (and the shared-counter store into another, see below): one module to load at start-up instead of hundreds,
// which Node's compile cache keeps compiled between runs (see bin/mcpgate.js). The bundle holds
// every runtime dependency, so the package declares none (README, "Install"): their licence
// notices go beside it in dist/THIRD_PARTY_LICENSES.txt. No source map: it was 2.6 MB, more than
// the bundle, and the bundle is not minified, so its stack traces already point at readable code.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = new URL("..", import.meta.url);
const rootDir = fileURLToPath(root);
const { version } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));

rmSync(new URL("dist", root), { recursive: true, force: true });
const bundle = (entry, outfile, options = {}) =>
  build({
    ...options,
    absWorkingDir: rootDir,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: false,
    // The licence texts below cover every bundled package; inline legal comments would repeat them.
    legalComments: "none",
    metafile: true,
    define: { MCPGATE_VERSION: JSON.stringify(version) },
    logLevel: "warning",
  });
// The shared-counter store and its Redis client (ioredis) are a bundle of their own, loaded only
// by a policy with scope: global limits (src/cli/store-link.ts): every other start-up skips them.
// Its whitespace is minified (470 KB -> 290 KB; names kept, so stack traces still read).
const [main, store] = await Promise.all([bundle("src/cli/index.ts", "dist/mcpgate.cjs"), bundle("src/store/store.ts", "dist/store.cjs", { minifyWhitespace: true, minifySyntax: true })]);
const inputs = [...Object.keys(main.metafile.inputs), ...Object.keys(store.metafile.inputs)];
writeFileSync(new URL("dist/THIRD_PARTY_LICENSES.txt", root), thirdPartyLicenses(inputs));

/** The directory of the package an input path belongs to, or undefined for mcpgate's own sources. */
function packageDir(input) {
  const at = input.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  const rest = input.slice(at + "node_modules/".length).split("/");
  const name = rest[0].startsWith("@") ? rest.slice(0, 2).join("/") : rest[0];
  return resolve(rootDir, input.slice(0, at), "node_modules", name);
}

/** Each bundled package's name, version, licence and LICENSE text, sorted by name. */
function thirdPartyLicenses(inputs) {
  const dirs = [...new Set(inputs.map(packageDir).filter((dir) => dir !== undefined))];
  const sections = dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const file = existsSync(dir) ? readdirSync(dir).find((name) => /^licen[cs]e(\.(md|txt))?$/i.test(name)) : undefined;
    if (file === undefined) throw new Error(`build: expected a LICENSE file in ${dir} (bundled package ${pkg.name}), found none`);
    const text = readFileSync(join(dir, file), "utf8").trim();
    return { name: pkg.name, text: `${pkg.name}@${pkg.version} (${pkg.license})\n${"-".repeat(60)}\n${text}\n` };
  });
  sections.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const head = `dist/mcpgate.cjs and dist/store.cjs bundle the following ${sections.length} packages; their licence notices follow.\n\n`;
  return head + sections.map((section) => section.text).join("\n\n");
}
