// Runs a service call for a page: access errors render the 404 / 403 pages instead of redirecting.
import { forbidden, notFound } from "next/navigation";
import { isAppError } from "../errors";

export async function forPage<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (isAppError(err) && err.code === "not_found") notFound();
    if (isAppError(err) && err.code === "forbidden") forbidden();
    throw err;
  }
}
