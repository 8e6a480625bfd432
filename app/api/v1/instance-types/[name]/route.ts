// PUT /api/v1/instance-types/{name} — add or change an instance type (admins); DELETE removes it (204)
import { instanceTypeNameSchema, instanceTypeSchema } from "@/lib/schemas/instance-types";
import { AppError } from "@/server/errors";
import { apiRoute } from "@/server/http/api-route";
import { deleteInstanceType, saveInstanceType } from "@/server/teams/instance-types";

function nameOf(raw: string | undefined): string {
  const parsed = instanceTypeNameSchema.safeParse(raw ?? "");
  if (!parsed.success) throw new AppError("invalid_input", `Invalid instance type name: ${parsed.error.issues[0]?.message ?? "bad name"}.`, { fields: { name: parsed.error.issues.map((i) => i.message) } });
  return parsed.data;
}

export const PUT = apiRoute({ endpoint: "/api/v1/instance-types/[name]", body: instanceTypeSchema }, async ({ ctx, params, body }) => saveInstanceType(ctx, nameOf(params.name), body));

export const DELETE = apiRoute({ endpoint: "/api/v1/instance-types/[name]" }, async ({ ctx, params }) => {
  await deleteInstanceType(ctx, nameOf(params.name));
});
