"use client";

import { useEffect } from "react";
import { mlflowHashToPath } from "@/lib/mlflow-links";

/**
 * Opens what an MLflow UI link names ("<cairn>/#/experiments/16/runs/<id>", as the mlflow client prints it):
 * the fragment never reaches the server, so the page maps it here. Signed out, the login page keeps it as
 * the place to go after signing in.
 */
export function MlflowHashLinks() {
  useEffect(() => {
    follow();
    // A link pasted into a tab already on this site changes only the fragment: no new page load.
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  return null;
}

function follow(): void {
  const target = mlflowHashToPath(window.location.hash);
  if (!target) return;
  const here = new URL(window.location.href);
  if (here.pathname === "/login") {
    here.hash = "";
    here.searchParams.set("callbackUrl", target);
    window.history.replaceState(null, "", here);
    const field = document.querySelector<HTMLInputElement>("form input[name=callbackUrl]");
    if (field) field.value = target;
    return;
  }
  window.location.replace(target);
}
