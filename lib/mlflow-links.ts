// MLflow's UI addresses are hash routes ("<tracking URI>/#/experiments/16/runs/<id>"): the mlflow client
// prints them after every run ("View run … at: …"), and people paste them. The browser never sends the part
// after "#", so the portal maps it to its own page in the page itself (components/shell/mlflow-hash-links.tsx).

const seg = (s: string) => encodeURIComponent(decodeURIComponent(s));

/**
 * The Cairn path for an MLflow UI hash ("#/experiments/16/runs/abc…"), or null when the hash is not one of
 * MLflow's routes. Only well-formed ids are mapped; the result is always a path on this site.
 */
export function mlflowHashToPath(hash: string): string | null {
  const raw = hash.replace(/^#/, "");
  if (!raw.startsWith("/")) return null;
  const [pathPart = "", query = ""] = raw.split("?", 2);
  const parts = pathPart.split("/").filter(Boolean);
  try {
    const [head, a, b, c, d] = parts;
    if (head === "experiments" && a && /^\d+$/.test(a)) {
      // #/experiments/16/runs/<run>[/artifacts/...] — the run; #/experiments/16[/...] — the experiment
      if (b === "runs" && c && /^[0-9a-f]{32}$/i.test(c)) return `/runs/${c.toLowerCase()}`;
      return `/experiments/${a}`;
    }
    if (head === "models" && a) {
      // #/models/<name>/versions/<v> — the version; #/models/<name> — the model
      if (b === "versions" && c && /^\d+$/.test(c)) return `/models/${seg(a)}/versions/${c}`;
      return `/models/${seg(a)}`;
    }
    if (head === "models" && !a) return "/models";
    if ((head === "experiments" && !a) || head === undefined) return "/experiments";
    if (head === "compare-runs" || head === "compare-experiments") {
      // #/compare-runs?runs=["a","b"]&experiments=["16"]
      const runsParam = new URLSearchParams(query).get("runs");
      const ids = runsParam ? (JSON.parse(runsParam) as unknown) : [];
      const valid = Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && /^[0-9a-f]{32}$/i.test(x)).slice(0, 20) : [];
      return valid.length ? `/compare?runs=${valid.map((x) => x.toLowerCase()).join(",")}` : "/experiments";
    }
    if (head === "metric" || d !== undefined) return null;
  } catch {
    return null; // malformed percent-encoding or JSON: not a link we can follow
  }
  return null;
}
