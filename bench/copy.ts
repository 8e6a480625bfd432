// A minimal `COPY … FROM STDIN` for node-postgres without extra packages (pg-copy-streams is not a
// dependency). It is a "submittable" query, as pg-copy-streams' is: pg hands it the connection when the
// query is at the head of the client's queue; on CopyInResponse we stream the chunks, honouring the
// socket's back-pressure, then CopyDone; the server answers CommandComplete and ReadyForQuery.
import { once } from "node:events";
import type pg from "pg";

type CopyConnection = pg.Connection & {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
};

class CopyFromStdin implements pg.Submittable {
  callback?: (err: Error | null, rowCount: number) => void;
  private error: Error | null = null;
  private rowCount = 0;

  constructor(private readonly text: string, private readonly chunks: Iterable<Buffer>) {}

  submit(connection: pg.Connection): void {
    (connection as CopyConnection).query(this.text);
  }

  handleCopyInResponse(connection: pg.Connection): void {
    void this.stream(connection as CopyConnection);
  }

  private async stream(connection: CopyConnection): Promise<void> {
    try {
      for (const chunk of this.chunks) {
        connection.sendCopyFromChunk(chunk);
        if (connection.stream.writableNeedDrain) await once(connection.stream, "drain");
      }
      connection.endCopyFrom();
    } catch (err) {
      connection.sendCopyFail(err instanceof Error ? err.message : String(err));
    }
  }

  handleCommandComplete(msg: { text?: string }): void {
    const m = /COPY (\d+)/.exec(msg.text ?? "");
    if (m) this.rowCount = Number(m[1]);
  }

  handleError(err: Error): void {
    this.error = err;
  }

  handleReadyForQuery(): void {
    this.callback?.(this.error, this.rowCount);
  }

  // Messages a COPY never produces, present so an unexpected one cannot crash the client.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** Streams text-format COPY data (already encoded as chunks) into `text` (a `COPY … FROM STDIN`). */
export function copyFromStdin(client: pg.Client, text: string, chunks: Iterable<Buffer>): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = new CopyFromStdin(text, chunks);
    q.callback = (err, rowCount) => (err ? reject(err) : resolve(rowCount));
    client.query(q);
  });
}
