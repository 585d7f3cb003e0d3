// serve.js: a real `vigil serve` for the browser tests: the binary of this
// build on a free loopback port, a fresh SQLite file in a temporary folder,
// the bundled protocols, and the simulated clock (time moves only when a
// test says so).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../..");
export const vigilBin = process.env.VIGIL_BIN || join(repo, "build/vigil");

// Runs `vigil ARGS` to completion (stdin: input); returns {status, stdout, stderr}.
export function vigil(args, input) {
  const r = spawnSync(vigilBin, args, { input, encoding: "utf8", timeout: 30000 });
  if (r.error) throw r.error;
  return r;
}

// users: {name: {role, password}}, created in the fresh database before
// the server starts (vigil user add); protocols: the folder of protocol
// folders to serve (the bundled ones by default).
export async function startServer({ users = {}, extraArgs = [], env = {}, protocols = join(repo, "protocols") } = {}) {
  const root = mkdtempSync(join(tmpdir(), "vigil-browser-"));
  const dbPath = join(root, "vigil.db");
  for (const [name, u] of Object.entries(users)) {
    const r = vigil(["user", "add", name, "--role", u.role, "--password-stdin", "--db", dbPath], u.password + "\n");
    if (r.status !== 0) throw new Error(`vigil user add ${name}: ${r.stderr}`);
  }
  const args = ["serve", "--db", dbPath, "--protocols", protocols, ...extraArgs];
  let run = await launch([...args, "--listen", "127.0.0.1:0"], env);
  const port = run.port;
  async function halt() {
    if (run.child.exitCode === null) {
      const exited = new Promise((r) => run.child.once("exit", r));
      run.child.kill("SIGTERM");
      await exited;
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    db: dbPath,
    root,
    log: () => run.log(),
    // Stops the server, keeping its database: the workstation cannot reach it.
    halt,
    // Starts it again on the same port and database.
    async resume() {
      await halt();
      run = await launch([...args, "--listen", `127.0.0.1:${port}`], env);
    },
    async stop() {
      await halt();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

// Spawns `vigil ARGS` (in the folder cwd) and waits for its "listening"
// line: {child, port, log()}.
export async function launch(args, env, cwd) {
  const child = spawn(vigilBin, args, { env: { ...process.env, ...env }, cwd, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const port = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`vigil serve did not start:\n${log}`)), 15000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      for (const line of log.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const j = JSON.parse(line);
          if (j.msg === "listening") {
            clearTimeout(timer);
            res(j.port);
          }
        } catch (err) {
          // a line still being written
        }
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`vigil serve exited with ${code}:\n${log}`));
    });
  });
  return { child, port, log: () => log };
}

// A client of server's API signing in as users ({name: {password}}) on
// first use: api(user, method, path, body) is the answer's JSON, and fails
// the test on a status other than 2xx.
export function apiClient(server, users) {
  const tokens = new Map();
  return async function api(user, method, path, body) {
    if (!tokens.has(user)) {
      const r = await fetch(server.url + "/api/v1/session", { method: "POST", body: JSON.stringify({ user, password: users[user].password }) });
      tokens.set(user, (await r.json()).token);
    }
    const r = await fetch(server.url + "/api/v1" + path, { method, headers: { Authorization: `Bearer ${tokens.get(user)}` }, body: body && JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
}

// What a clinician's override names in `items` (docs/safety.md V1): each
// required item it passes unrecorded, as the visit lists them now; get(path)
// is an API GET's JSON. For a test that overrides past them on purpose.
export async function unrecordedItems(get, id) {
  return ((await get(`/visits/${id}`)).gate.unrecorded || []).map((x) => x.item);
}

// Debian's chromium (install-deps installs it); VIGIL_CHROMIUM overrides.
export function chromiumPath() {
  for (const p of [process.env.VIGIL_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && spawnSync(p, ["--version"], { encoding: "utf8" }).status === 0) return p;
  }
  return null;
}

// Debian's chromium, or the test program ends here as skipped (exit 77,
// ctest's SKIP_RETURN_CODE).
export function chromiumOrSkip() {
  const exe = chromiumPath();
  if (!exe) {
    console.log("SKIP: no chromium (scripts/install-deps installs Debian's)");
    process.exit(77);
  }
  return exe;
}
