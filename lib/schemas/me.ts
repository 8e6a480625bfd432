export type MeDto = {
  user: { id: string; email: string; name: string; is_admin: boolean };
  teams: { slug: string; name: string; role: string }[];
  token?: { id: string; team: string };
};
