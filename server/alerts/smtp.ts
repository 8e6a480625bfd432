// A small SMTP client on node:net for alert emails (no SMTP package is installed): EHLO, MAIL FROM, RCPT TO,
// DATA with dot-stuffing, QUIT. Plain SMTP only — no AUTH, no STARTTLS — for a relay on the host or the local
// network (README, "Alerts"). Every reply is checked; an unexpected one fails the send with the server's words.
import net from "node:net";
import os from "node:os";

export type Mail = { from: string; to: string[]; subject: string; text: string };

/** smtp://host:port (port 25 when absent) → where to connect; anything else is refused with what to write. */
export function parseSmtpUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`CAIRN_SMTP_URL "${url}" is not a URL; write smtp://host:port`);
  }
  if (u.protocol !== "smtp:") throw new Error(`CAIRN_SMTP_URL must start with smtp:// (got ${u.protocol}); TLS and authentication are not supported`);
  return { host: u.hostname, port: u.port ? Number(u.port) : 25 };
}

/** A header value without line breaks (no header injection through a rule name). */
const headerSafe = (s: string) => s.replace(/[\r\n]+/g, " ");
const addressSafe = (s: string) => {
  if (/[\r\n<>]/.test(s)) throw new Error(`"${s}" is not a plain email address`);
  return s;
};

/** The message as DATA carries it: headers, a blank line, the body with CRLF line ends and leading dots doubled. */
export function messageData(mail: Mail, now = new Date()): string {
  const headers = [
    `From: ${addressSafe(mail.from)}`,
    `To: ${mail.to.map(addressSafe).join(", ")}`,
    `Subject: ${headerSafe(mail.subject)}`,
    `Date: ${now.toUTCString()}`,
    `Message-ID: <${now.getTime()}.${Math.random().toString(36).slice(2)}@${os.hostname() || "cairn"}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
  ];
  const body = mail.text.replace(/\r?\n/g, "\r\n").split("\r\n").map((line) => (line.startsWith(".") ? `.${line}` : line)).join("\r\n");
  return `${headers.join("\r\n")}\r\n\r\n${body}\r\n.\r\n`;
}

/** Sends one message; resolves when the server accepted it (250 after DATA). */
export function sendMail(url: string, mail: Mail, opts: { timeoutMs?: number; heloName?: string } = {}): Promise<void> {
  const { host, port } = parseSmtpUrl(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setEncoding("utf8");
    socket.setTimeout(opts.timeoutMs ?? 10_000, () => socket.destroy(new Error(`SMTP server ${host}:${port} did not answer in time`)));
    let buffer = "";
    let settled = false;
    const waiters: ((reply: { code: number; text: string }) => void)[] = [];
    const replies: { code: number; text: string }[] = [];
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.end();
        resolve();
      }
    };
    socket.on("error", (err) => finish(new Error(`SMTP ${host}:${port}: ${err.message}`)));
    socket.on("close", () => finish(new Error(`SMTP server ${host}:${port} closed the connection`)));
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let lines: string[] = [];
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        // A multi-line reply continues with "250-…" and ends with "250 …".
        if (/^\d{3}(?: |$)/.test(line)) {
          const reply = { code: Number(line.slice(0, 3)), text: lines.join("\n") };
          lines = [];
          const w = waiters.shift();
          if (w) w(reply);
          else replies.push(reply);
        }
      }
      if (lines.length) buffer = `${lines.join("\n")}\n${buffer}`;
    });
    const next = () => new Promise<{ code: number; text: string }>((r) => {
      const ready = replies.shift();
      if (ready) r(ready);
      else waiters.push(r);
    });
    const expect = async (want: number, what: string) => {
      const reply = await next();
      if (reply.code !== want) throw new Error(`SMTP ${what} refused: ${reply.text}`);
    };
    const command = async (line: string, want: number, what = line.split(":")[0]!) => {
      socket.write(`${line}\r\n`);
      await expect(want, what);
    };
    (async () => {
      await expect(220, "greeting");
      await command(`EHLO ${opts.heloName ?? (os.hostname() || "cairn")}`, 250, "EHLO");
      await command(`MAIL FROM:<${addressSafe(mail.from)}>`, 250);
      for (const to of mail.to) await command(`RCPT TO:<${addressSafe(to)}>`, 250);
      await command("DATA", 354);
      socket.write(messageData(mail));
      await expect(250, "message");
      // Accepted: say goodbye without waiting for the 221 (the message is the server's now).
      settled = true;
      socket.end("QUIT\r\n");
      resolve();
    })().catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
}
