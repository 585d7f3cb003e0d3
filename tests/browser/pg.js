// pg.js: a throw-away PostgreSQL for the browser tests of a node of a
// cluster, as tests/pg_cluster.c makes one for the C tests: initdb in a fresh
// temporary folder, the server on 127.0.0.1 at a free port, removed
// afterwards. The binaries are under pg_config --bindir, else
// /usr/lib/postgresql/<version>/bin (Debian puts none of them on PATH);
// initdb refuses to run as root, so a root test runs it and the server as
// the user postgres (Debian's package makes it) through runuser.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function bindir() {
  const r = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const dirs = [];
  if (r.status === 0) dirs.push(r.stdout.trim());
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) for (const v of readdirSync(base).sort().reverse()) dirs.push(join(base, v, "bin"));
  return dirs.find((d) => existsSync(join(d, "initdb"))) || null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function userId(name) {
  const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

// Starts one; resolves to {uri, stop()}, or null when PostgreSQL is not
// installed (the caller skips).
export async function startPostgres() {
  const bin = bindir();
  if (!bin) return null;
  const root = mkdtempSync(join(tmpdir(), "vigil-pg-"));
  const as = [];
  if (process.getuid() === 0) {
    const uid = userId("postgres");
    if (uid === null) throw new Error("pg.js: running as root, and no user postgres to run initdb as");
    chownSync(root, uid, uid);
    chmodSync(root, 0o700);
    as.push("runuser", "-u", "postgres", "--");
  }
  const run = (what, args) => {
    const cmd = [...as, join(bin, what), ...args];
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: 120000 });
    if (r.status !== 0) throw new Error(`pg.js: ${cmd.join(" ")} failed:\n${r.stderr}${r.stdout}`);
  };
  const port = await freePort();
  const data = join(root, "data");
  run("initdb", ["-D", data, "-A", "trust", "-U", "vigil", "--no-sync", "-E", "UTF8", "--locale=C"]);
  run("pg_ctl", ["-D", data, "-l", join(root, "server.log"), "-w", "-t", "60", "-o",
    `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${root} -c max_connections=20 -c shared_buffers=16MB`,
    "start"]);
  return {
    uri: `postgresql://vigil@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
