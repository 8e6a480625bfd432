// The review found /api/v1/models/%FF answering 500: malformed percent-encoding in a path segment is a 400.
import { describe, expect, it } from "vitest";
import { GET as modelGET } from "@/app/api/v1/models/[name]/route";
import { POST as deployPOST } from "@/app/api/v1/models/[name]/deploy/route";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();

describe("no 500 for malformed input", () => {
  it("a model name with malformed percent-encoding answers 400, on read and deploy", async () => {
    const token = await tokenFor(db(), DEMO.mle, "churn");
    for (const name of ["%FF", "%E0%A4%A", "%"]) {
      const read = await call(modelGET, { token, path: `/api/v1/models/${name}`, params: { name } });
      expect(read.status, name).toBe(400);
      expect(read.json).toMatchObject({ error: { code: "invalid_input", message: expect.stringContaining("percent-encoding") } });
      const deploy = await call(deployPOST, { token, method: "POST", path: `/api/v1/models/${name}/deploy`, params: { name }, body: { environment: "staging" } });
      expect(deploy.status, name).toBe(400);
    }
  });
});
