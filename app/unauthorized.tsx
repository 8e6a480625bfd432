import Link from "next/link";
import { StatusPage } from "@/components/shell/status-page";

export default function Unauthorized() {
  return (
    <StatusPage code="401" title="Please sign in">
      Your session has ended. <Link href="/login" className="text-teal-800 underline">Sign in</Link> to continue.
    </StatusPage>
  );
}
