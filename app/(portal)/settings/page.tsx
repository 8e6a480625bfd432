import { redirect } from "next/navigation";

/** Settings opens on API tokens; Security is its other tab. */
export default function SettingsPage() {
  redirect("/settings/tokens");
}
