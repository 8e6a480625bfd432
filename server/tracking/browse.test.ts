import { describe, expect, it } from "vitest";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { uploadArtifact } from "./artifacts";
import { browseRuns, childRuns, experimentColumns } from "./browse";
import { createExperiment, encodeOffset } from "./experiments";
import { historyPointCounts } from "./history";
import { logBatch } from "./logging";
import { previewRunArtifact } from "./preview";
import { createRun } from "./runs";
import { deleteView, listViews, saveView } from "./views";

const db = demoDatabase();

function body(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

async function fixture() {
  const ctx = await ctxFor(db(), DEMO.ds);
  const { experiment_id: experimentId } = await createExperiment(ctx, { name: `browse-${Math.random().toString(36).slice(2)}` });
  const runIds: string[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await createRun(ctx, { experiment_id: experimentId, run_name: `r${i}`, start_time: 1_700_000_000_000 + i, tags: [] });
    runIds.push(run.info.run_id);
    await logBatch(ctx, {
      run_id: run.info.run_id,
      params: [{ key: "depth", value: String(i % 2 ? 3 : 9) }],
      tags: [{ key: "stage", value: i < 3 ? "sweep" : "final" }],
      metrics: [{ key: "auc", value: 0.5 + i / 10, step: 0 }, ...Array.from({ length: 10 }, (_, s) => ({ key: "loss", value: 1 / (s + 1), step: s }))],
    });
  }
  const child = await createRun(ctx, { experiment_id: experimentId, run_name: "child", tags: [{ key: "mlflow.parentRunId", value: runIds[0]! }] });
  return { ctx, experimentId, runIds, childId: child.info.run_id };
}

describe("run browser services", () => {
  it("pages runs as flat rows with filter, sort and totals", async () => {
    const { ctx, experimentId } = await fixture();
    const page = await browseRuns(ctx, { experimentId, filter: "params.depth = '9' or tags.stage = 'final'", orderBy: ["metrics.auc DESC"], pageSize: 2 });
    expect(page.total).toBe(4);
    expect(page.runs.map((r) => r.run_name)).toEqual(["r4", "r3"]);
    expect(page.runs[0]).toMatchObject({ params: { depth: "9" }, metrics: { auc: 0.9, loss: 0.1 }, tags: { stage: "final" } });
    const next = await browseRuns(ctx, { experimentId, filter: "params.depth = '9' or tags.stage = 'final'", orderBy: ["metrics.auc DESC"], pageSize: 2, pageToken: page.next_page_token! });
    expect(next.runs.map((r) => r.run_name)).toEqual(["r2", "r0"]);
    expect(next.next_page_token).toBeNull();
    await expect(browseRuns(ctx, { experimentId, filter: "metrics.auc >", pageSize: 10 })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(browseRuns(ctx, { experimentId, pageSize: 10, pageToken: encodeOffset(1).slice(1) })).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("lists the keys available as columns and the children of a run", async () => {
    const { ctx, experimentId, runIds, childId } = await fixture();
    expect(await experimentColumns(ctx, experimentId)).toMatchObject({ params: ["depth"], metrics: ["auc", "loss"], tags: expect.arrayContaining(["stage", "mlflow.runName"]) });
    expect((await childRuns(ctx, runIds[0]!)).map((c) => c.run_id)).toEqual([childId]);
    expect(await historyPointCounts(ctx, runIds)).toEqual({ auc: 1, loss: 10 });
    // A refused batch (a param changing value) adds none of its keys to the column list.
    await expect(logBatch(ctx, { run_id: runIds[0]!, params: [{ key: "depth", value: "99" }], tags: [{ key: "ghost_tag", value: "x" }], metrics: [{ key: "ghost", value: 1 }] }))
      .rejects.toMatchObject({ code: "invalid_input" });
    const after = await experimentColumns(ctx, experimentId);
    expect(after.metrics).not.toContain("ghost");
    expect(after.tags).not.toContain("ghost_tag");
  });

  it("saves, lists and deletes a user's views", async () => {
    const { ctx, experimentId } = await fixture();
    const view = await saveView(ctx, { experimentId, name: "Deep", state: { filter: "params.depth = '9'", order: "metrics.auc DESC", cols: ["params.depth"] } });
    await saveView(ctx, { experimentId, name: "Deep", state: { filter: "params.depth = '3'", order: "", cols: [] } });
    const views = await listViews(ctx, experimentId);
    expect(views).toHaveLength(1);
    expect(views[0]).toMatchObject({ id: view.id, name: "Deep", state: { filter: "params.depth = '3'" } });
    // Another user of the same team sees none of them and cannot delete them.
    const mle = await ctxFor(db(), DEMO.mle);
    expect(await listViews(mle, experimentId)).toEqual([]);
    await expect(deleteView(mle, view.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(saveView(ctx, { experimentId, name: " ", state: { filter: "", order: "", cols: [] } })).rejects.toMatchObject({ code: "invalid_input" });
    await deleteView(ctx, view.id);
    expect(await listViews(ctx, experimentId)).toEqual([]);
  });

  it("previews text as text — HTML and SVG too, never rendered — and images as bytes", async () => {
    const { ctx, experimentId, runIds } = await fixture();
    const root = `${experimentId}/${runIds[0]}/artifacts`;
    await uploadArtifact(ctx, `${root}/page.html`, body("<script>alert(1)</script>"));
    await uploadArtifact(ctx, `${root}/pic.svg`, body("<svg onload='alert(1)'/>"));
    await uploadArtifact(ctx, `${root}/data.csv`, body("a,b\n1,2\n"));
    await uploadArtifact(ctx, `${root}/weights.bin`, body("\u0000\u0001"));
    await uploadArtifact(ctx, `${root}/img.png`, body("\u0089PNG fake"));
    const html = await previewRunArtifact(ctx, runIds[0]!, "page.html");
    expect(html.headers.get("content-type")).toContain("application/json");
    expect(await html.json()).toMatchObject({ kind: "text", text: "<script>alert(1)</script>" });
    expect(await (await previewRunArtifact(ctx, runIds[0]!, "pic.svg")).json()).toMatchObject({ kind: "text" });
    expect(await (await previewRunArtifact(ctx, runIds[0]!, "data.csv")).json()).toMatchObject({ kind: "csv", text: "a,b\n1,2\n" });
    expect(await (await previewRunArtifact(ctx, runIds[0]!, "weights.bin")).json()).toMatchObject({ kind: "binary", text: null });
    const png = await previewRunArtifact(ctx, runIds[0]!, "img.png");
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(png.headers.get("x-content-type-options")).toBe("nosniff");
    await expect(previewRunArtifact(ctx, runIds[0]!, "missing.txt")).rejects.toMatchObject({ code: "not_found" });
    await expect(previewRunArtifact(ctx, runIds[0]!, "../../etc/passwd")).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("refuses another team's actor everywhere", async () => {
    const { experimentId, runIds } = await fixture();
    const fraud = await ctxFor(db(), DEMO.dsFraud);
    await expect(browseRuns(fraud, { experimentId, pageSize: 10 })).rejects.toMatchObject({ code: "not_found" });
    await expect(experimentColumns(fraud, experimentId)).rejects.toMatchObject({ code: "not_found" });
    await expect(listViews(fraud, experimentId)).rejects.toMatchObject({ code: "not_found" });
    await expect(saveView(fraud, { experimentId, name: "x", state: { filter: "", order: "", cols: [] } })).rejects.toMatchObject({ code: "not_found" });
    await expect(historyPointCounts(fraud, runIds)).rejects.toMatchObject({ code: "not_found" });
    await expect(previewRunArtifact(fraud, runIds[0]!, "page.html")).rejects.toMatchObject({ code: "not_found" });
    expect(await childRuns(fraud, runIds[0]!)).toEqual([]);
  });
});
