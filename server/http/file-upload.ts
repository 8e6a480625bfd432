// A file sent to a REST route either as the raw request body (scripts: `curl --data-binary @code.zip
// -H 'content-type: application/zip'`) or as one field of a multipart form (browsers).
import { AppError } from "../errors";

export type FileUpload = { filename?: string; body: ReadableStream<Uint8Array> };

type Options = {
  /** Content types accepted for a raw body. */
  rawTypes: readonly string[];
  /** The multipart field that holds the file. */
  field: string;
  /** Refuse before reading a body whose declared length is over this (the service still counts bytes). */
  maxBytes: number;
  tooLarge: () => AppError;
};

const EMPTY = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

export async function fileUpload(req: Request, filename: string | undefined, opts: Options): Promise<FileUpload> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (type === "multipart/form-data") {
    // A form adds its boundaries and headers around the file; allow for them.
    if (declared > opts.maxBytes + 64 * 1024) throw opts.tooLarge();
    let form: FormData;
    try {
      form = await req.formData();
    } catch {
      throw new AppError("invalid_input", "The multipart form could not be read; send the file as a form field named \"file\".");
    }
    const file = form.get(opts.field);
    if (file === null || typeof file === "string") {
      throw new AppError("invalid_input", `The form has no file in the field "${opts.field}"; send the archive as that field.`, { fields: { [opts.field]: ["Required"] } });
    }
    return { filename: filename ?? file.name, body: file.stream() };
  }
  if (opts.rawTypes.includes(type)) {
    if (declared > opts.maxBytes) throw opts.tooLarge();
    return { filename, body: req.body ?? EMPTY() };
  }
  throw new AppError(
    "invalid_input",
    `Content-Type "${type || "none"}" is not accepted. Send the file as the body with Content-Type ${opts.rawTypes.join(", ")} (and a filename query parameter), or as multipart/form-data with a "${opts.field}" field.`,
  );
}
