// Tests of what stands in front of Next (the front door, the fast lanes): a real node:http server wearing the front
// door, with a stand-in for Next behind it that answers 299 and records what reached it.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { putFrontDoor } from "./front-door";

export type StandIn = { server: http.Server; base: string; toNext: string[]; close: () => void };

export async function frontDoorBeforeNext(): Promise<StandIn> {
  const toNext: string[] = [];
  const server = http.createServer((req, res) => {
    toNext.push(`${req.method} ${req.url}`);
    res.writeHead(299, { "content-type": "text/plain" });
    res.end("next");
  });
  putFrontDoor(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server, toNext,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
