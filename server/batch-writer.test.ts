// The batch writer on a real database: rows written a moment later in INSERTs of at most `batch` rows, tracked
// work awaited by flush, the row and byte bounds dropping (and counting) what does not fit, and a batch the
// database refuses dropped without losing the next one.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { createTestDatabase } from "@/db/test-db";
import type { TestDatabase } from "@/db/test-db";
import { createBatchWriter } from "./batch-writer";

let database: TestDatabase;
const db = (): Db => database.db;
const inserts: number[] = [];

type Row = { id: number; note: string };
const rowsOf = async () => ((await db().execute(sql`select id, note from batch_writer_probe order by id`)) as unknown as { rows: Row[] }).rows;

beforeAll(async () => {
  database = await createTestDatabase();
  await db().execute(sql`create table batch_writer_probe (id int primary key, note text not null check (note <> 'refuse'))`);
});
afterAll(async () => {
  await database?.close();
});

const writer = createBatchWriter<Row>({
  name: `test-${Math.random()}`, what: "probe rows", batch: 3, flushMs: 20, limits: { rows: 100, bytes: 1000 }, sizeOf: (r) => r.note.length,
  insert: async (d, rows) => {
    inserts.push(rows.length);
    const values = sql.join(rows.map((r) => sql`(${r.id}, ${r.note})`), sql`, `);
    await d.execute(sql`insert into batch_writer_probe (id, note) values ${values}`);
  },
});

describe("createBatchWriter", () => {
  it("writes what was pushed a moment later, in INSERTs of at most `batch` rows", async () => {
    expect(writer.push(db(), [1, 2, 3, 4, 5, 6, 7].map((id) => ({ id, note: "x" })))).toBe(0);
    expect(await rowsOf()).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await rowsOf()).map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(inserts.splice(0)).toEqual([3, 3, 1]);
  });

  it("waits for tracked work before flushing, so what it pushes is written", async () => {
    writer.track(new Promise<void>((resolve) => setTimeout(() => { writer.push(db(), [{ id: 10, note: "late" }]); resolve(); }, 30)));
    writer.track(Promise.reject(new Error("work that failed is not waited on twice")));
    await writer.flush();
    expect((await rowsOf()).map((r) => r.id)).toContain(10);
  });

  it("drops and counts rows beyond the row or byte bounds", async () => {
    const before = writer.dropped();
    const previous = writer.setLimits({ rows: 2, bytes: 1000 });
    try {
      expect(writer.push(db(), [{ id: 20, note: "a" }, { id: 21, note: "b" }, { id: 22, note: "c" }])).toBe(1);
      writer.setLimits({ rows: 100, bytes: 5 });
      expect(writer.push(db(), [{ id: 23, note: "toolong" }])).toBe(1);
      await writer.flush();
    } finally {
      writer.setLimits(previous);
    }
    expect(writer.dropped() - before).toBe(2);
    const ids = (await rowsOf()).map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining([20, 21]));
    expect(ids).not.toContain(22);
    expect(ids).not.toContain(23);
  });

  it("drops a batch the database refuses and writes the next one", async () => {
    inserts.length = 0;
    writer.push(db(), [{ id: 30, note: "ok" }, { id: 31, note: "refuse" }, { id: 32, note: "ok" }, { id: 33, note: "ok" }]);
    await writer.flush();
    const ids = (await rowsOf()).map((r) => r.id);
    expect(ids).not.toContain(30);
    expect(ids).toContain(33);
    expect(inserts).toEqual([3, 1]);
  });
});
