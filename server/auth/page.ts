// Runs a service call for a page: access errors render the 404 / 403 pages instead of redirecting.
import { forbidden, notFound } from "next/navigation";
import { isAppError } from "../errors";

export async function forPage<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    // A page address naming no valid object (a version "abc", a comparison without versions) is not found, not a 500.
    if (isAppError(err) && (err.code === "not_found" || err.code === "invalid_input")) notFound();
    if (isAppError(err) && err.code === "forbidden") forbidden();
    throw err;
  }
}
