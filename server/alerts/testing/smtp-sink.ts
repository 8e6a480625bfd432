// A local SMTP sink for tests (node:net): answers the dialogue (a multi-line greeting and EHLO reply, as real
// servers send), records each session's commands and the DATA lines as they came on the wire (dot-stuffing
// kept), and each message's envelope. `refuse.rcpt` makes it refuse recipients containing that text (550).
import net from "node:net";
import type { AddressInfo } from "node:net";

export type SinkSession = { commands: string[]; data: string[] };
export type SinkMessage = { from: string; to: string[]; data: string };

export function smtpSink() {
  const sessions: SinkSession[] = [];
  const messages: SinkMessage[] = [];
  const refuse = { rcpt: "" };
  const server = net.createServer((socket) => {
    const session: SinkSession = { commands: [], data: [] };
    sessions.push(session);
    socket.setEncoding("utf8");
    let from = "";
    let to: string[] = [];
    let data: string[] | null = null;
    let buffer = "";
    socket.write("220-sink ready\r\n220 ESMTP\r\n");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (data !== null) {
          if (line === ".") {
            messages.push({ from, to, data: data.map((l) => `${l}\n`).join("") });
            data = null;
            socket.write("250 2.0.0 queued\r\n");
          } else {
            data.push(line);
            session.data.push(line);
          }
          continue;
        }
        session.commands.push(line);
        if (/^EHLO /i.test(line)) socket.write("250-sink\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");
        else if (/^MAIL FROM:/i.test(line)) { from = line.slice(10).replace(/[<>]/g, ""); to = []; socket.write("250 ok\r\n"); }
        else if (/^RCPT TO:/i.test(line) && refuse.rcpt && line.includes(refuse.rcpt)) socket.write("550 5.1.1 no such mailbox\r\n");
        else if (/^RCPT TO:/i.test(line)) { to.push(line.slice(8).replace(/[<>]/g, "")); socket.write("250 ok\r\n"); }
        else if (/^DATA$/i.test(line)) { data = []; socket.write("354 end with .\r\n"); }
        else if (/^QUIT$/i.test(line)) socket.end("221 bye\r\n");
        else socket.write("250 ok\r\n");
      }
    });
  });
  return { server, sessions, messages, refuse, url: () => `smtp://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
