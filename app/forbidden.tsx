import { StatusPage } from "@/components/shell/status-page";

export default function Forbidden() {
  return (
    <StatusPage code="403" title="You don't have access to this page">
      Your role does not allow this. Ask a team lead or a platform admin if you need it.
    </StatusPage>
  );
}
