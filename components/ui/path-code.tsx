import { Fragment } from "react";
import { cn } from "./cn";

/** A URL path in code type that may wrap only after a "/", never inside an id or a name. */
export function PathCode({ path, className }: { path: string; className?: string }) {
  const parts = path.split("/");
  return (
    <code className={cn("font-mono text-xs [overflow-wrap:normal] [word-break:keep-all]", className)}>
      {parts.map((p, i) => (
        <Fragment key={i}>{p}{i < parts.length - 1 && <>/<wbr /></>}</Fragment>
      ))}
    </code>
  );
}
