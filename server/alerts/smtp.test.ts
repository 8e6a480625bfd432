// The SMTP client against a sink started here (node:net): the dialogue in order, a multi-line EHLO reply, a body
// line starting with "." doubled on the wire (dot-stuffing) so the message does not end early, no header
// injection through the subject, and a refusal or a closed port failing the send with the server's words.
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageData, parseSmtpUrl, sendMail } from "./smtp";
import { smtpSink } from "./testing/smtp-sink";

const sink = smtpSink();
const sessions = sink.sessions;
let url = "";

beforeAll(async () => {
  await new Promise<void>((r) => sink.server.listen(0, "127.0.0.1", r));
  url = sink.url();
});
afterAll(() => new Promise<void>((r) => sink.server.close(() => r())));

describe("the SMTP client", () => {
  it("speaks EHLO, MAIL FROM, RCPT TO for each recipient, DATA with dot-stuffing, and QUIT", async () => {
    sessions.length = 0;
    await sendMail(url, { from: "cairn@example.com", to: ["a@example.com", "b@example.com"], subject: "[FIRING] X\r\nBcc: evil@example.com", text: "first\n.hidden line\n..two dots\nlast" });
    await new Promise((r) => setTimeout(r, 50));
    const [s] = sessions;
    expect(s!.commands.map((c) => c.split(" ")[0])).toEqual(["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"]);
    expect(s!.commands).toContain("MAIL FROM:<cairn@example.com>");
    expect(s!.commands).toContain("RCPT TO:<b@example.com>");
    // On the wire, lines starting with "." are doubled; the headers keep the subject on one line.
    expect(s!.data).toEqual(expect.arrayContaining(["first", "..hidden line", "...two dots", "last", "Subject: [FIRING] X Bcc: evil@example.com"]));
    expect(s!.data.some((l) => l.startsWith("Bcc:"))).toBe(false);
  });

  it("fails with the server's words when a recipient is refused, and when nothing listens", async () => {
    sink.refuse.rcpt = "nobody@example.com";
    await expect(sendMail(url, { from: "cairn@example.com", to: ["nobody@example.com"], subject: "s", text: "t" })).rejects.toThrow(/RCPT TO refused: 550 5\.1\.1 no such mailbox/);
    sink.refuse.rcpt = "";
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(sendMail(`smtp://127.0.0.1:${port}`, { from: "c@example.com", to: ["a@example.com"], subject: "s", text: "t" })).rejects.toThrow(/ECONNREFUSED/);
    await expect(sendMail(url, { from: "c@example.com", to: ["a@example.com>\r\nRCPT TO:<x@example.com"], subject: "s", text: "t" })).rejects.toThrow(/not a plain email address/);
  });

  it("reads smtp://host:port only", () => {
    expect(parseSmtpUrl("smtp://mail.internal:2525")).toEqual({ host: "mail.internal", port: 2525 });
    expect(parseSmtpUrl("smtp://mail.internal")).toEqual({ host: "mail.internal", port: 25 });
    expect(() => parseSmtpUrl("smtps://mail.internal")).toThrow(/must start with smtp:\/\//);
    expect(messageData({ from: "a@b.c", to: ["d@e.f"], subject: "s", text: "." })).toMatch(/\r\n\.\.\r\n\.\r\n$/);
  });
});
