// A write in flight when a version is registered (issue 12, "approved means pinned"): the upload started before
// the registration and finishes after it. It must not land at the version's location — else MLflow's
// `models:/` downloads (get-download-uri answers that location) would hand out bytes nobody registered.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { listAudit } from "../audit/service";
import { artifactStore, uploadArtifact } from "../tracking/artifacts";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { createModel, registerVersion, runWithModel, unique } from "./test-helpers";

const db = demoDatabase();

/** A body whose last chunk is held back until `release()` is called. */
function heldBody(first: string, last: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      await gate;
      controller.enqueue(new TextEncoder().encode(last));
      controller.close();
    },
  });
  return { stream, release };
}

async function text(root: string[], rel: string): Promise<string | null> {
  const file = await artifactStore().get(root, rel);
  return file ? await new Response(file.stream).text() : null;
}

describe("a write in flight when the version is registered", () => {
  it("is refused at the moment it would land, audited, and the version's location keeps the registered bytes", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const ctx = await ctxFor(db(), DEMO.ds);
    const at = await runWithModel(token, "inflight");
    const root = ["churn", at.exp, at.run];
    const registered = await text(root, "model/MLmodel");

    // The upload of a replacement MLmodel starts (its body is streaming) ...
    const body = heldBody("artifact_path: model\nflavors:\n  python_function:\n    loader_module: evil\n", "# unregistered bytes\n");
    const upload = uploadArtifact(ctx, `${at.exp}/${at.run}/artifacts/model/MLmodel`, body.stream).then(() => "stored", (e: { code?: string; message: string }) => e);
    await new Promise((r) => setTimeout(r, 100));
    // ... the version is registered meanwhile ...
    const name = unique("inflight");
    await createModel(token, name);
    const version = await registerVersion(token, name, at);
    // ... and then the upload's last bytes arrive.
    body.release();
    const outcome = await upload;

    expect(outcome).toMatchObject({ code: "conflict", message: expect.stringContaining(`belongs to registered model ${name} version ${version.version}`) });
    expect(await text(root, "model/MLmodel")).toBe(registered);
    const { events } = await listAudit(await ctxFor(db(), DEMO.admin), { action: "artifact.write", outcome: "denied", limit: 20 });
    expect(events.some((e) => e.target === `run:${at.run}` && e.details.registered_as === `${name} v${version.version}`)).toBe(true);
  });

  it("a write that lands before the registration's copy is in the pinned copy (the digest covers it)", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const ctx = await ctxFor(db(), DEMO.ds);
    const at = await runWithModel(token, "inflight-before");
    const body = heldBody("a note ", "written before the registration\n");
    const upload = uploadArtifact(ctx, `${at.exp}/${at.run}/artifacts/model/notes.txt`, body.stream);
    body.release();
    await upload;
    const name = unique("inflight-before");
    await createModel(token, name);
    const version = await registerVersion(token, name, at);
    const notes = (version as unknown as { content_manifest?: { path: string; sha256: string }[] }).content_manifest;
    const expected = createHash("sha256").update("a note written before the registration\n").digest("hex");
    if (notes) expect(notes.some((f) => f.path.endsWith("notes.txt") && f.sha256 === expected)).toBe(true);
    expect(await text(["churn", at.exp, at.run], "model/notes.txt")).toBe("a note written before the registration\n");
  });
});
