// Runs inside a job's sandbox when CAIRN_JOB_NETWORK=cairn-only (server/compute/sandbox.ts): the job has a
// network namespace of its own (only its loopback), so this listens on 127.0.0.1:<port> there and pipes each
// connection to the unix socket the server relays to Cairn's API, then runs the job's command with stdio
// inherited, passes SIGTERM/SIGINT/SIGHUP on, and exits with its exit code (128 + n when a signal ended it).
// Usage: node sandbox-forwarder.mjs <socket> <port> -- <command> [args...]
import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";

const [socket, port, separator, ...command] = process.argv.slice(2);
if (!socket || !/^\d+$/.test(port ?? "") || separator !== "--" || command.length === 0) {
  console.error("[cairn] sandbox-forwarder: usage: <socket> <port> -- <command> [args...]");
  process.exit(125);
}

const server = net.createServer((client) => {
  const upstream = net.connect(socket);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
});
server.on("error", (err) => {
  console.error(`[cairn] could not forward 127.0.0.1:${port} to Cairn inside the sandbox: ${err.message}`);
  process.exit(125);
});
server.listen(Number(port), "127.0.0.1", () => {
  const child = spawn(command[0], command.slice(1), { stdio: "inherit" });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
    process.on(signal, () => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    });
  }
  child.on("error", (err) => {
    console.error(`[cairn] could not start ${command[0]}: ${err.message}`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => {
    process.exit(signal ? 128 + (os.constants.signals[signal] ?? 0) : (code ?? 1));
  });
});
