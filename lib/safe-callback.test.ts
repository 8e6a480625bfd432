import { describe, expect, it } from "vitest";
import { safeCallbackPath, safeRedirectUrl } from "./safe-callback";

describe("callback paths after sign-in", () => {
  it("keeps same-origin paths with their query and fragment", () => {
    for (const path of ["/", "/experiments/3", "/runs/abc?tab=metrics#loss", "/experiments/1?filter=metrics.loss%20%3C%201", "/models/a%2Fb"]) {
      expect(safeCallbackPath(path)).toBe(path);
    }
  });

  it("sends everything else to /: other origins, schemes, //, /\\, control characters and whitespace, raw or encoded", () => {
    const hostile = [
      "/\t/evil.example", // the review's %2F%09%2Fevil.example, as the login page receives it
      "/\n", "\n", "/\r\nSet-Cookie:x=1", "/ /evil.example", "/\u00a0/evil.example", "/\u2028x",
      "//evil.example", "/\\evil.example", "/\\/evil.example", "/a\\b",
      "https://evil.example/", "http:evil.example", "javascript:alert(1)", "evil.example", " /x", "",
      "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example", "/%09/evil.example", "/x?next=%0Aa", "/x#%0D",
      "/100%", "/" + "a".repeat(3000),
    ];
    for (const raw of hostile) expect(safeCallbackPath(raw), JSON.stringify(raw)).toBe("/");
    expect(safeCallbackPath(undefined)).toBe("/");
    expect(safeCallbackPath(["//evil.example", "/ok"])).toBe("/");
    expect(safeCallbackPath(["/ok"])).toBe("/ok");
  });

  it("refuses dot segments that resolve to //host", () => {
    for (const path of ["/.//evil.example", "/..//evil.example", "/%2e%2e//evil", "/a/..//evil.example"]) expect(safeCallbackPath(path)).toBe("/");
  });

  it("next-auth's redirect callback stays on the base URL", () => {
    const base = "https://cairn.example";
    expect(safeRedirectUrl("/runs/1?x=1", base)).toBe("https://cairn.example/runs/1?x=1");
    expect(safeRedirectUrl("https://cairn.example/jobs", base)).toBe("https://cairn.example/jobs");
    expect(safeRedirectUrl("https://cairn.example", base)).toBe("https://cairn.example");
    for (const url of [
      "/\t/evil.example", "//evil.example", "https://evil.example/jobs", "https://cairn.example.evil.example/",
      "https://cairn.example//evil.example", "https://cairn.example/\t/evil.example", "https://cairn.example\t/x", "\n", "not a url", "",
    ]) {
      expect(safeRedirectUrl(url, base), JSON.stringify(url)).toBe(base);
    }
  });
});
